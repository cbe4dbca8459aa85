"""psycopg 3's COPY against Enishi: write_row into COPY FROM STDIN, rows back
from COPY TO STDOUT in text and binary, raw CSV blocks. Usage: PORT."""

import datetime
import decimal
import sys

import psycopg

port = int(sys.argv[1])
dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"

ROWS = [
    (1, "plain", decimal.Decimal("12.50"), 1.5, True, datetime.date(2024, 2, 29),
     datetime.datetime(2024, 2, 29, 12, 34, 56, 789000), b"\x00\xff"),
    (2, None, None, None, None, None, None, None),
    (3, "tab\there\nnew line\\back", decimal.Decimal("-0.01"), -0.5, False,
     datetime.date(1999, 12, 31), datetime.datetime(1999, 12, 31, 23, 59, 59), b""),
    (4, "", decimal.Decimal("0.00"), 0.0, True, datetime.date(2000, 1, 1),
     datetime.datetime(2000, 1, 1), b"\\."),
]
TYPES = ["int4", "text", "numeric", "float8", "bool", "date", "timestamp", "bytea"]

with psycopg.connect(dsn, autocommit=True) as conn:
    cur = conn.cursor()
    cur.execute(
        "create table pc (id int, name text, amount numeric(10,2), ratio float8,"
        " ok boolean, day date, at timestamp, raw bytea)"
    )
    with cur.copy("COPY pc (id, name, amount, ratio, ok, day, at, raw) FROM STDIN") as copy:
        for row in ROWS:
            copy.write_row(row)
    assert cur.rowcount == len(ROWS), cur.rowcount

    cur.execute("select * from pc order by id")
    assert cur.fetchall() == ROWS, "rows written by COPY read back by SELECT"

    for statement in (
        "COPY (SELECT * FROM pc ORDER BY id) TO STDOUT",
        "COPY (SELECT * FROM pc ORDER BY id) TO STDOUT (FORMAT BINARY)",
    ):
        with cur.copy(statement) as copy:
            copy.set_types(TYPES)
            got = list(copy.rows())
        assert got == ROWS, (statement, got)

    # Binary COPY FROM: psycopg encodes each value in PostgreSQL's binary format.
    cur.execute(
        "create table pcb (id int, name text, amount numeric(10,2), ratio float8,"
        " ok boolean, day date, at timestamp, raw bytea)"
    )
    with cur.copy("COPY pcb FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(TYPES)
        for row in ROWS:
            copy.write_row(row)
    cur.execute("select * from pcb order by id")
    assert cur.fetchall() == ROWS, "binary COPY FROM"

    # Raw CSV, in blocks that split rows.
    with cur.copy("COPY pc (id, name) FROM STDIN WITH (FORMAT csv, HEADER)") as copy:
        copy.write(b'id,name\n10,"a, b"\n11,')
        copy.write(b'"multi\nline"\n12,\n')
    cur.execute("select id, name from pc where id >= 10 order by id")
    assert cur.fetchall() == [(10, "a, b"), (11, "multi\nline"), (12, None)]

    # Bad data: the error carries its SQLSTATE, and nothing is kept.
    try:
        with cur.copy("COPY pc (id) FROM STDIN") as copy:
            copy.write(b"20\nnot a number\n")
        raise AssertionError("bad data was accepted")
    except psycopg.errors.InvalidTextRepresentation as e:
        assert "line 2" in (e.diag.context or ""), e.diag.context
    cur.execute("select count(*) from pc where id >= 20")
    assert cur.fetchone() == (0,)

print("ok")
