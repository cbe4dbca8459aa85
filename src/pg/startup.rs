//! What a connection may cost before it logs in.
//!
//! PostgreSQL bounds a client that has not authenticated by time
//! (`authentication_timeout`) and by what it may send (a start-up packet of at
//! most 10,000 bytes). Enishi does the same — `server.authentication_timeout_secs`
//! and [`STARTUP_BYTES_MAX`] — and counts connections that are still logging in
//! apart from logged-in ones (`server.max_startup_connections` beside
//! `server.max_connections`), so sockets that never log in cannot take the
//! places of sessions.
//!
//! Invariants: every accepted socket is counted in `enishi_connections_active`
//! by an [`OpenConnection`], and every socket that has not logged in holds a
//! [`StartupSlot`]; both give their place back when dropped, so a connection
//! task that panics or is cancelled leaks nothing.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use pgwire::error::ErrorInfo;
use pgwire::messages::PgWireBackendMessage;
use pgwire::tokio::server::{MaybeTls, PgWireMessageServerCodec};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, FramedParts};

use crate::metrics::Metrics;

/// Bytes a client may send before it has logged in: a start-up packet and the
/// two SCRAM messages, each of which pgwire caps at PostgreSQL's 10,000 bytes,
/// with room to spare. Fixed, as in PostgreSQL: no client needs more, and
/// nothing else may be sent before login (a query sent then would otherwise be
/// buffered whole, up to a gigabyte, before being ignored).
pub const STARTUP_BYTES_MAX: usize = 32 * 1024;

/// How long a refused client is given to read why before its socket closes.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// One accepted socket, counted in `enishi_connections_active` while it lives.
pub struct OpenConnection(Arc<Metrics>);

impl OpenConnection {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        metrics.connections_total.inc();
        metrics.connections_active.inc();
        Self(metrics)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections_active.dec();
    }
}

/// A connection's place under `server.max_startup_connections`, held until it
/// has logged in or has gone.
pub struct StartupSlot {
    count: Arc<AtomicU32>,
    metrics: Arc<Metrics>,
}

impl StartupSlot {
    /// A place, if fewer than `max` connections are logging in now.
    pub fn take(count: &Arc<AtomicU32>, max: u32, metrics: &Arc<Metrics>) -> Option<Self> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        metrics.connections_startup.inc();
        Some(Self {
            count: count.clone(),
            metrics: metrics.clone(),
        })
    }
}

impl Drop for StartupSlot {
    fn drop(&mut self) {
        let before = self.count.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before > 0, "a startup slot released twice");
        self.metrics.connections_startup.dec();
    }
}

/// Tells a client past `max_startup_connections` why it is refused (FATAL
/// 53300, which libpq also shows in answer to its SSLRequest) and closes.
pub async fn refuse_too_many(mut socket: TcpStream) {
    let info = ErrorInfo::new(
        "FATAL".into(),
        "53300".into(),
        "sorry, too many clients already".into(),
    );
    let mut bytes = bytes::BytesMut::new();
    if PgWireBackendMessage::ErrorResponse(info.into())
        .encode(&mut bytes)
        .is_err()
        || socket.write_all(&bytes).await.is_err()
        || socket.shutdown().await.is_err()
    {
        return;
    }
    // Read what the client sends meanwhile, so that closing does not reset
    // the connection before it has read the error.
    let mut sink = [0u8; 1024];
    let mut left = STARTUP_BYTES_MAX;
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        while left > 0 {
            match socket.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// A pgwire socket whose reads are capped at [`STARTUP_BYTES_MAX`] until
/// [`Capped::lift`], counting what pgwire already read during TLS negotiation.
pub fn capped<S>(
    socket: Framed<MaybeTls, PgWireMessageServerCodec<S>>,
) -> Framed<Capped<MaybeTls>, PgWireMessageServerCodec<S>> {
    let parts = socket.into_parts();
    let remaining = STARTUP_BYTES_MAX.saturating_sub(parts.read_buf.len());
    let mut capped = FramedParts::new(Capped::new(parts.io, remaining), parts.codec);
    capped.read_buf = parts.read_buf;
    capped.write_buf = parts.write_buf;
    Framed::from_parts(capped)
}

/// A stream that fails reads once more than a budget of bytes has arrived,
/// until the budget is lifted.
pub struct Capped<S> {
    inner: S,
    /// Bytes still allowed (None: no cap any more).
    remaining: Option<usize>,
    exceeded: bool,
}

impl<S> Capped<S> {
    pub fn new(inner: S, budget: usize) -> Self {
        Self {
            inner,
            remaining: Some(budget),
            exceeded: false,
        }
    }

    /// The client has logged in: its messages are limited by their types now.
    pub fn lift(&mut self) {
        self.remaining = None;
    }

    /// Whether reads failed because the budget ran out.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Capped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.exceeded {
            return Poll::Ready(Err(too_much()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(remaining)) = (&polled, this.remaining.as_mut()) {
            let read = buf.filled().len() - before;
            if read > *remaining {
                this.exceeded = true;
                return Poll::Ready(Err(too_much()));
            }
            *remaining -= read;
        }
        polled
    }
}

fn too_much() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("more than {STARTUP_BYTES_MAX} bytes before login"),
    )
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn places_come_back_when_a_connection_task_panics() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let count = Arc::new(AtomicU32::new(0));
        let open = OpenConnection::new(metrics.clone());
        let slot = StartupSlot::take(&count, 1, &metrics).expect("a place");
        assert!(StartupSlot::take(&count, 1, &metrics).is_none(), "one only");
        let task = tokio::spawn(async move {
            let _held = (open, slot);
            panic!("a connection task fails");
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(metrics.connections_active.get(), 0);
        assert_eq!(metrics.connections_startup.get(), 0);
        assert_eq!(count.load(Ordering::Acquire), 0);
        assert!(StartupSlot::take(&count, 1, &metrics).is_some());
    }

    #[tokio::test]
    async fn reads_past_the_budget_fail_until_lifted() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut capped = Capped::new(server, 8);
        client.write_all(b"12345").await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(capped.read(&mut buf).await.unwrap(), 5);
        client.write_all(b"6789").await.unwrap();
        assert!(capped.read(&mut buf).await.is_err());
        assert!(capped.exceeded());
        let (mut client, server) = tokio::io::duplex(64);
        let mut capped = Capped::new(server, 4);
        capped.lift();
        client.write_all(b"123456789").await.unwrap();
        assert_eq!(capped.read(&mut buf).await.unwrap(), 9);
    }
}
