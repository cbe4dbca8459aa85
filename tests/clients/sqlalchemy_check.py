"""SQLAlchemy 2 (over psycopg 3 and psycopg2) and pandas against a server, as
applications use them: the inspector reflecting schemas, tables, views, columns,
keys, indexes and comments; Core statements with parameters; pandas' read_sql,
read_sql_table and to_sql(if_exists='replace').

Prints what the client observes as JSON, one step per line, so the test can
compare Enishi's observations with PostgreSQL's. A step that fails prints its
SQLSTATE instead of stopping the script.

Usage: python3 sqlalchemy_check.py PORT
"""

import datetime
import decimal
import json
import sys

import pandas as pd
import sqlalchemy as sa

PORT = int(sys.argv[1])
SCHEMA = """
create schema shop;
create table shop.items (
    id bigint not null,
    name text default 'unnamed',
    price numeric(10,2),
    added date,
    primary key (id)
);
comment on table shop.items is 'things for sale';
comment on column shop.items.name is 'what the customer sees';
create table shop.orders (id integer primary key, item_id bigint, qty integer not null, note varchar(20));
create view shop.cheap as select id, name from shop.items where price < 10;
create table public.plain (a integer, b text);
"""


def sqlstate(error):
    """The SQLSTATE of a DBAPI error, whichever driver raised it."""
    orig = getattr(error, "orig", error)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or type(orig).__name__


def plain(value):
    """A JSON-friendly rendering that keeps the Python type visible."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return f"{type(value).__name__}:{value}"


def run(driver):
    url = f"postgresql+{driver}://postgres@127.0.0.1:{PORT}/postgres"
    engine = sa.create_engine(url)
    seen = []

    def step(name, thunk):
        try:
            seen.append({"driver": driver, "step": name, "value": plain(thunk())})
        except Exception as e:  # noqa: BLE001 - every failure is an observation
            seen.append({"driver": driver, "step": name, "error": sqlstate(e)})
            print(f"{driver} {name}: {str(e).splitlines()[0]}", file=sys.stderr)

    def setup():
        with engine.begin() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement)
        return "ok"

    def teardown():
        with engine.begin() as conn:
            for statement in [
                "drop view if exists shop.cheap",
                "drop table if exists shop.orders",
                "drop table if exists shop.items",
                "drop schema if exists shop",
                "drop table if exists public.plain",
                "drop table if exists public.frame",
            ]:
                conn.exec_driver_sql(statement)
        return "ok"

    step("setup", setup)
    insp = sa.inspect(engine)
    step("schema names", lambda: sorted(insp.get_schema_names()))
    step("has schema", lambda: [insp.has_schema("shop"), insp.has_schema("nope")])
    step("table names", lambda: insp.get_table_names(schema="shop"))
    step("default schema tables", lambda: insp.get_table_names())
    step("view names", lambda: insp.get_view_names(schema="shop"))
    step("has table", lambda: [insp.has_table("items", schema="shop"), insp.has_table("nope")])
    for table in ["items", "orders", "cheap"]:
        step(f"columns of {table}", lambda: [
            {k: str(v) for k, v in sorted(c.items())}
            for c in insp.get_columns(table, schema="shop")
        ])
    for table in ["items", "orders"]:
        step(f"pk of {table}", lambda: insp.get_pk_constraint(table, schema="shop"))
        step(f"foreign keys of {table}", lambda: insp.get_foreign_keys(table, schema="shop"))
        step(f"indexes of {table}", lambda: insp.get_indexes(table, schema="shop"))
        step(f"unique constraints of {table}",
             lambda: insp.get_unique_constraints(table, schema="shop"))
        step(f"check constraints of {table}",
             lambda: insp.get_check_constraints(table, schema="shop"))
        step(f"comment of {table}", lambda: insp.get_table_comment(table, schema="shop"))
    step("reflect metadata", lambda: sorted(
        (t.name, [c.name for c in t.columns], [c.name for c in t.primary_key])
        for t in _reflect(engine)
    ))

    def core():
        with engine.begin() as conn:
            conn.execute(
                sa.text("insert into shop.items (id, name, price, added) values (:id, :name, :price, :added)"),
                [
                    {"id": 1, "name": "pen", "price": decimal.Decimal("1.50"), "added": datetime.date(2024, 2, 29)},
                    {"id": 2, "name": "book", "price": decimal.Decimal("12.00"), "added": None},
                    {"id": 3, "name": None, "price": None, "added": datetime.date(2023, 1, 1)},
                ],
            )
            rows = conn.execute(
                sa.text("select id, name, price, added from shop.items where id >= :low order by id"),
                {"low": 2},
            )
            return {"keys": list(rows.keys()), "rows": [list(r) for r in rows]}

    step("core insert and select", core)
    step("view rows", lambda: _fetch(engine, "select * from shop.cheap order by id"))

    def frame_roundtrip():
        frame = pd.DataFrame({
            "n": [1, 2, 3],
            "x": [0.5, None, 2.25],
            "s": ["a", None, "c"],
            "t": pd.to_datetime(["2024-01-01 10:00", "2024-06-30 23:59:59", None], format="ISO8601"),
            "flag": [True, False, True],
        })
        written = frame.to_sql("frame", engine, if_exists="replace", index=False)
        frame.iloc[:2].to_sql("frame", engine, if_exists="replace", index=False)
        return written

    step("pandas to_sql replace", frame_roundtrip)
    step("pandas read_sql_table", lambda: _frame(pd.read_sql_table("frame", engine)))
    step("pandas read_sql", lambda: _frame(pd.read_sql(
        "select id, name, price, added from shop.items order by id", engine)))
    step("pandas read_sql with params", lambda: _frame(pd.read_sql(
        sa.text("select count(*) as n, sum(price) as total from shop.items where id < :top"),
        engine, params={"top": 3})))
    step("pandas columns of frame", lambda: [
        {k: str(v) for k, v in sorted(c.items())} for c in insp.get_columns("frame")
    ])
    step("error", lambda: _fetch(engine, "select * from shop.missing"))
    step("teardown", teardown)
    engine.dispose()
    return seen


def _reflect(engine):
    meta = sa.MetaData()
    meta.reflect(engine, schema="shop", views=True)
    return meta.sorted_tables


def _fetch(engine, sql):
    with engine.connect() as conn:
        return [list(r) for r in conn.exec_driver_sql(sql)]


def _frame(frame):
    return {
        "columns": list(frame.columns),
        "dtypes": [str(t) for t in frame.dtypes],
        "rows": frame.astype(object).where(frame.notna(), None).values.tolist(),
    }


for driver in ["psycopg", "psycopg2"]:
    for observation in run(driver):
        print(json.dumps(observation, default=str, sort_keys=True))
