#!/usr/bin/env python3
r"""The in-process engines of Enishi's TPC-H benchmark: DuckDB and DataFusion.

Usage:
    python3 runner.py --engine duckdb --data DIR --queries DIR --mode parquet|native \
        --threads 2 --runs N [--only q01,q06]
    python3 runner.py --engine datafusion --data DIR --queries DIR --runs N

DataFusion runs with its default settings (one partition per core) over the
Parquet files registered as tables; --mode and --threads apply to DuckDB.

--data holds one <table>.parquet file per TPC-H table (as written by
`tpchgen-cli parquet`). --queries holds q01.sql ... q22.sql.

DuckDB modes:
  parquet  each table is a view over read_parquet(); every query reads the files.
  native   each table is copied into an in-memory DuckDB database with
           CREATE TABLE ... AS SELECT ... FROM read_parquet(); the time this
           takes is reported as load_s.

For each query: one first (cold) run, then --runs timed runs. A run is timed
from sending the statement until every row has been fetched into Python.
Output is JSON lines on stdout, one per query:
    {"engine": "duckdb-parquet", "query": "q01", "cold_ms": 12.3,
     "runs_ms": [10.1, 9.8, ...], "rows": 4, "checksum": "<md5 hex>"}
(a failing query prints {"engine", "query", "error"} instead), then one final line:
    {"engine": "duckdb-parquet", "peak_rss_kb": 123456, "load_s": 0.01}
The exit status is 1 if any query failed.

Checksum rule (shared by every engine in the benchmark, so that results can
be compared across engines; the Rust harness implements the same rule):
  1. Each value is rendered as text:
     - NULL                      -> "" (empty string)
     - any number (integer, decimal or floating point) -> fixed point with
       exactly 2 digits after the point, rounded half away from zero,
       no exponent, no thousands separator, "-" for negatives; a result that
       rounds to zero is "0.00", never "-0.00". Integers therefore render
       as e.g. "42.00". (One rule for all numeric types, because engines
       disagree on result types: PostgreSQL's extract() returns numeric,
       DuckDB's returns bigint.)
       A floating-point value is first converted to its shortest decimal
       representation that round-trips (Python repr(), Rust's `{}` Display
       for f64), and that decimal string is what gets rounded, e.g.
       0.125 -> "0.13", 2.675 (stored as 2.67499999...) -> repr "2.675" -> "2.68".
       Decimals are rounded from their exact value (e.g. PostgreSQL's numeric
       text), never through a float: 4054677.1050 -> "4054677.11".
       Non-finite floats render as "NaN", "Infinity", "-Infinity".
     - date                      -> YYYY-MM-DD
     - timestamp                 -> YYYY-MM-DD HH:MM:SS, plus .ffffff only if
                                    the microseconds are not zero
     - boolean                   -> "true" / "false"
     - string                    -> unchanged, unless it is a plain decimal
                                    number (e.g. Q22's country code "13"):
                                    then it is rounded like a number. Over the
                                    pg wire every value arrives as text, so the
                                    harness cannot tell '13' from 13.
  2. The values of a row are joined with "|".
  3. Rows are joined with "\n" in the order the engine returned them (every
     TPC-H query has an ORDER BY), with no trailing newline.
  4. checksum = lowercase hex MD5 of the UTF-8 bytes of that text. An empty
     result is the MD5 of the empty string.
"""

import argparse
import datetime
import decimal
import hashlib
import json
import pathlib
import re
import resource
import sys
import time

import datafusion
import duckdb

TABLES = [
    "region",
    "nation",
    "part",
    "supplier",
    "partsupp",
    "customer",
    "orders",
    "lineitem",
]

_CENT = decimal.Decimal("0.01")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# Enough precision for any DECIMAL(38, s) or HUGEINT value, so quantize() never
# runs out of digits.
_CTX = decimal.Context(prec=100)


def render_value(v):
    """Render one result value as text, following the checksum rule above."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str) and _PLAIN_NUMBER.fullmatch(v):
        v = decimal.Decimal(v)
    if isinstance(v, (int, float, decimal.Decimal)):
        if isinstance(v, float):
            # repr() is the shortest string that round-trips to the same float.
            d = decimal.Decimal(repr(v))
        else:
            d = decimal.Decimal(v)
        if d.is_nan():
            return "NaN"
        if d.is_infinite():
            return "-Infinity" if d < 0 else "Infinity"
        q = d.quantize(_CENT, rounding=decimal.ROUND_HALF_UP, context=_CTX)
        if q == 0:
            return "0.00"
        return format(q, "f")
    if isinstance(v, datetime.datetime):
        s = v.strftime("%Y-%m-%d %H:%M:%S")
        if v.microsecond:
            s += ".%06d" % v.microsecond
        return s
    if isinstance(v, datetime.date):
        return v.strftime("%Y-%m-%d")
    return str(v)


def checksum(rows):
    text = "\n".join("|".join(render_value(v) for v in row) for row in rows)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def emit(obj):
    print(json.dumps(obj), flush=True)


def load(con, data_dir, mode):
    """Register the eight tables; return the seconds it took."""
    start = time.perf_counter()
    for table in TABLES:
        path = data_dir / (table + ".parquet")
        if not path.is_file():
            sys.exit("missing data file: %s" % path)
        source = "read_parquet('%s')" % str(path).replace("'", "''")
        if mode == "parquet":
            con.execute("create view %s as select * from %s" % (table, source))
        else:
            con.execute("create table %s as select * from %s" % (table, source))
    return time.perf_counter() - start


def timed(con, sql):
    start = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return (time.perf_counter() - start) * 1000.0, rows


class DataFusion:
    """DataFusion in this process, over the Parquet files, shaped like a
    DuckDB connection for the runner's loop."""

    def __init__(self, data_dir):
        self.ctx = datafusion.SessionContext()
        for table in TABLES:
            self.ctx.register_parquet(table, str(data_dir / (table + ".parquet")))

    def timed(self, sql):
        start = time.perf_counter()
        batches = self.ctx.sql(sql).collect()
        elapsed = (time.perf_counter() - start) * 1000.0
        rows = []
        for batch in batches:
            rows.extend(zip(*(column.to_pylist() for column in batch.columns)))
        return elapsed, rows


def main():
    ap = argparse.ArgumentParser(description="Run the TPC-H queries on DuckDB or DataFusion.")
    ap.add_argument("--engine", default="duckdb", choices=["duckdb", "datafusion"])
    ap.add_argument("--data", required=True, type=pathlib.Path,
                    help="directory with <table>.parquet files")
    ap.add_argument("--queries", required=True, type=pathlib.Path,
                    help="directory with q01.sql ... q22.sql")
    ap.add_argument("--mode", default="parquet", choices=["parquet", "native"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3,
                    help="timed runs after the cold run")
    ap.add_argument("--only", default="",
                    help="comma-separated query names to run, e.g. q01,q06")
    args = ap.parse_args()

    engine = "datafusion" if args.engine == "datafusion" else "duckdb-" + args.mode
    wanted = {q.strip() for q in args.only.split(",") if q.strip()}
    query_files = sorted(args.queries.glob("q*.sql"))
    if wanted:
        query_files = [p for p in query_files if p.stem in wanted]
    if not query_files:
        sys.exit("no query files found in %s" % args.queries)

    if args.engine == "datafusion":
        start = time.perf_counter()
        engine_con = DataFusion(args.data)
        load_s = time.perf_counter() - start
        run, error = engine_con.timed, Exception
    else:
        con = duckdb.connect(":memory:")
        con.execute("set threads = %d" % args.threads)
        con.execute("set enable_progress_bar = false")
        load_s = load(con, args.data, args.mode)
        run, error = (lambda sql: timed(con, sql)), duckdb.Error

    failed = False
    for path in query_files:
        sql = path.read_text()
        try:
            cold_ms, rows = run(sql)
            runs_ms = [run(sql)[0] for _ in range(args.runs)]
        except error as e:
            failed = True
            emit({"engine": engine, "query": path.stem, "error": str(e)})
            continue
        emit({
            "engine": engine,
            "query": path.stem,
            "cold_ms": round(cold_ms, 3),
            "runs_ms": [round(ms, 3) for ms in runs_ms],
            "rows": len(rows),
            "checksum": checksum(rows),
        })

    emit({
        "engine": engine,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "load_s": round(load_s, 3),
    })
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
