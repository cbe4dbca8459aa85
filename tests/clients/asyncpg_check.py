"""asyncpg against Enishi: binary input and output for every supported type,
prepared statements, errors with SQLSTATEs. Usage: PORT."""

import asyncio
import datetime
import decimal
import sys

import asyncpg

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


async def main(port: int) -> None:
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres")
    await conn.execute(
        "create table ap (i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,"
        " n numeric(10,2), t text, v varchar(20), b boolean, d date, ts timestamp,"
        " tz timestamptz, by bytea)"
    )
    status = await conn.execute(
        "insert into ap values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)", *ROW
    )
    assert status == "INSERT 0 1", status
    row = await conn.fetchrow("select * from ap")
    assert tuple(row) == ROW, tuple(row)

    stmt = await conn.prepare("select $1::integer * 2 as doubled")
    for i in range(4):
        assert await stmt.fetchval(i) == i * 2
    assert [a.name for a in stmt.get_attributes()] == ["doubled"]

    rows = await conn.fetch("select i4 from ap where i2 = $1", -2)
    assert [r["i4"] for r in rows] == [4]

    try:
        await conn.execute("select 1/0")
        raise AssertionError("expected an error")
    except asyncpg.exceptions.DivisionByZeroError as e:
        assert e.sqlstate == "22012"

    async with conn.transaction():
        assert await conn.fetchval("select count(*) from ap") == 1

    # Decimal parameters travel in binary and are stored exactly, or refused
    # (22003) when an unconstrained numeric would round them.
    await conn.execute("create table exact_binary (id int, x numeric, y numeric(10,2))")
    insert = "insert into exact_binary values ($1, $2, $3)"
    await conn.execute(insert, 1, decimal.Decimal("-123456.0001"), decimal.Decimal("2.345"))
    await conn.execute(insert, 2, decimal.Decimal("1E+20"), None)
    try:
        await conn.execute(insert, 3, decimal.Decimal("0.123456789012345"), None)
        raise AssertionError("a value with 15 decimals was rounded")
    except asyncpg.exceptions.NumericValueOutOfRangeError as e:
        assert e.sqlstate == "22003"
    rows = await conn.fetch("select x::text, y::text from exact_binary order by id")
    assert [tuple(r) for r in rows] == [
        ("-123456.0001000000", "2.35"),
        ("100000000000000000000.0000000000", None),
    ], rows

    # asyncpg's cursor API: DECLARE, then FETCH and MOVE (cursor.forward).
    async with conn.transaction():
        cur = await conn.cursor("select g from generate_series(1, 10) as t(g) order by g")
        assert [r["g"] for r in await cur.fetch(3)] == [1, 2, 3]
        assert await cur.forward(4) == 4
        assert (await cur.fetchrow())["g"] == 8

    assert conn.get_server_version().major == 15
    await conn.close()
    print("asyncpg ok")


asyncio.run(main(int(sys.argv[1])))
