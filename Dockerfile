# Enishi server image: build in a Rust image, run as a non-root user in a slim one.
#   docker build -t enishi/enishi .
#   docker run -p 5432:5432 -v $(pwd)/data:/app/data enishi/enishi

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin enishi

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin enishi \
    && mkdir -p /app/data /app/logs \
    && chown -R enishi:enishi /app
COPY --from=build /src/target/release/enishi /usr/local/bin/enishi
USER enishi
WORKDIR /app
# Listening on every interface: run with -e ENISHI_SUPERUSER_PASSWORD=…, without
# which the server refuses to start.
ENV ENISHI_HOST=0.0.0.0 \
    ENISHI_PG_PORT=5432 \
    ENISHI_PORT=8080 \
    ENISHI_METRICS_PORT=9090 \
    ENISHI_STORAGE_PATH=/app/data \
    ENISHI_LOG_DIR=/app/logs \
    RUST_LOG=info
EXPOSE 5432 8080 9090
VOLUME ["/app/data", "/app/logs"]
# Healthy while the HTTP API answers /health (the same check as docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=10s --retries=3 CMD curl -f http://localhost:8080/health || exit 1
ENTRYPOINT ["/usr/local/bin/enishi"]
