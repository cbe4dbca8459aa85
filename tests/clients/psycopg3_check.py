"""psycopg 3 against Enishi: server-side parameters, binary and text results,
prepared statements, errors with SQLSTATEs, transactions. Usage: PORT."""

import datetime
import decimal
import sys

import psycopg

port = int(sys.argv[1])
dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"

ROW = (
    -2,
    4,
    8_000_000_000,
    1.5,
    -2.25,
    decimal.Decimal("12.34"),
    "text",
    "var",
    True,
    datetime.date(2024, 2, 29),
    datetime.datetime(2024, 2, 29, 12, 34, 56, 789000),
    datetime.datetime(2024, 2, 29, 10, 34, 56, tzinfo=datetime.timezone.utc),
    b"\x00\xff",
)

with psycopg.connect(dsn, autocommit=True) as conn:
    conn.execute(
        "create table ps (i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,"
        " n numeric(10,2), t text, v varchar(20), b boolean, d date, ts timestamp,"
        " tz timestamptz, by bytea)"
    )
    with conn.cursor() as cur:
        cur.execute(
            "insert into ps values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            ROW,
            prepare=True,
        )
        assert cur.rowcount == 1, cur.rowcount

    for binary in (True, False):
        with conn.cursor(binary=binary) as cur:
            cur.execute("select * from ps")
            got = cur.fetchone()
            assert got == ROW, (binary, got)
            names = [d.name for d in cur.description]
            assert names == ["i2", "i4", "i8", "f4", "f8", "n", "t", "v", "b", "d", "ts", "tz", "by"], names

    # A prepared statement reused with new parameters.
    with conn.cursor() as cur:
        for i in range(6):
            cur.execute("select %s::integer * 2", (i,), prepare=True)
            assert cur.fetchone()[0] == i * 2

    try:
        conn.execute("select * from missing_table")
        raise AssertionError("expected an error")
    except psycopg.errors.UndefinedTable as e:
        assert e.sqlstate == "42P01", e.sqlstate

    # The ParameterStatus set PostgreSQL 15 sends at start-up.
    expected_status = {
        "client_encoding": "UTF8",
        "DateStyle": "ISO, MDY",
        "default_transaction_read_only": "off",
        "in_hot_standby": "off",
        "integer_datetimes": "on",
        "IntervalStyle": "postgres",
        "is_superuser": "on",
        "server_encoding": "UTF8",
        "session_authorization": "postgres",
        "standard_conforming_strings": "on",
        "TimeZone": "UTC",
    }
    for name, value in expected_status.items():
        got = conn.info.parameter_status(name)
        assert got == value, (name, got)
    assert conn.info.parameter_status("application_name") is not None

    # A reported setting changed by SET reaches the client as ParameterStatus.
    conn.execute("set application_name = 'psycopg-check'")
    assert conn.info.parameter_status("application_name") == "psycopg-check"
    conn.execute("set timezone = 'Europe/Paris'")
    assert conn.info.parameter_status("TimeZone") == "Europe/Paris"
    conn.execute("reset timezone")
    assert conn.info.parameter_status("TimeZone") == "UTC"

    assert conn.info.parameter_status("server_version").startswith("15.")
    assert conn.info.parameter_status("client_encoding") == "UTF8"

with psycopg.connect(dsn) as conn:
    # Not autocommit: psycopg opens a transaction block itself.
    with conn.cursor() as cur:
        cur.execute("select count(*) from ps")
        assert cur.fetchone()[0] == 1
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    conn.rollback()
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    # executemany in a transaction: rows whose NULLs arrive untyped next to
    # typed values are committed together.
    rows = [
        (1, "pen", decimal.Decimal("1.50"), datetime.date(2024, 2, 29)),
        (2, "book", decimal.Decimal("12.00"), None),
        (3, None, None, None),
    ]
    conn.execute("create table many (id bigint not null, name text, price numeric(10,2), added date)")
    with conn.cursor() as cur:
        cur.executemany("insert into many values (%s, %s, %s, %s)", rows)
    conn.commit()
    got = conn.execute("select * from many order by id").fetchall()
    assert got == rows, got
    conn.rollback()

    # A server-side cursor (DECLARE … FETCH): read in pieces, with a parameter.
    with conn.cursor(name="pieces") as cur:
        cur.itersize = 2
        cur.execute("select id, name from many where id >= %s order by id", (1,))
        assert [r[0] for r in cur] == [1, 2, 3]
    with conn.cursor(name="scrolled", binary=True) as cur:
        cur.execute("select id, price from many order by id")
        assert cur.fetchone() == (1, decimal.Decimal("1.50"))
        assert cur.fetchmany(5) == [(2, decimal.Decimal("12.00")), (3, None)]
        assert cur.fetchall() == []
    conn.rollback()

with psycopg.connect(dsn, autocommit=True) as conn:
    # psycopg's type lookup (SQLAlchemy runs it for hstore on every connection):
    # to_regtype(name), by pg_type name or by format_type's spelling.
    from psycopg.types import TypeInfo

    found = TypeInfo.fetch(conn, "json")
    assert (found.name, found.oid, found.array_oid) == ("json", 114, 199), found
    found = TypeInfo.fetch(conn, "character varying")
    assert (found.name, found.oid, found.array_oid) == ("varchar", 1043, 1015), found
    assert TypeInfo.fetch(conn, "hstore") is None
    got = conn.execute("select to_regtype('no_such_type') is null, to_regtype('int4')::oid").fetchone()
    assert got == (True, 23), got

with psycopg.connect(dsn, autocommit=True) as conn:
    # Decimal parameters (sent as text) are stored as the client sent them:
    # an unconstrained numeric refuses what it would round; numeric(10,2)
    # rounds as PostgreSQL's assignment does.
    conn.execute("create table exact (id int, x numeric, y numeric(10,2))")
    insert = "insert into exact values (%s, %s, %s)"
    conn.execute(insert, (1, decimal.Decimal("0.1234567891"), decimal.Decimal("1.005")))
    conn.execute(insert, (2, decimal.Decimal("-5E-4"), None))
    try:
        conn.execute(insert, (3, decimal.Decimal("0.123456789012345"), 1))
        raise AssertionError("0.123456789012345 was stored")
    except psycopg.errors.NumericValueOutOfRange:
        pass
    # NaN is a numeric value, in both columns, and comes back as one.
    conn.execute(insert, (4, decimal.Decimal("NaN"), decimal.Decimal("NaN")))
    got = conn.execute("select id, x::text, y::text from exact order by id").fetchall()
    assert got == [
        (1, "0.1234567891", "1.01"),
        (2, "-0.0005000000", None),
        (4, "NaN", "NaN"),
    ], got
    got = conn.execute("select x, y from exact where id = 4", binary=True).fetchone()
    assert got[0].is_nan() and got[1].is_nan(), got

print("psycopg3 ok")
