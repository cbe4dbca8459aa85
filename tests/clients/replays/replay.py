"""Replays the startup and schema-browsing statements of BI and admin tools
(DBeaver, Metabase, Grafana, pgAdmin, Superset: the *.sql files here) against
a server, over the simple query protocol as psycopg2 sends it, on one
connection per tool, after creating the fixture those statements browse.

Prints one JSON line per statement: the tool, the statement's number, and
either the result's shape (column names, and how many rows when the rows are
about the fixture's objects rather than the server's own) or the SQLSTATE of
its error. The message of an error goes to stderr.

Usage: python3 replay.py PORT
"""

import json
import pathlib
import sys

import psycopg2

PORT = int(sys.argv[1])
HERE = pathlib.Path(__file__).parent
TOOLS = ["dbeaver", "metabase", "grafana", "pgadmin", "superset"]
FIXTURE = [
    "create schema shop",
    "create table shop.items (id bigint not null primary key, name text, price numeric(10,2), added date)",
    "create table shop.orders (id integer primary key, item_id bigint, qty integer not null)",
    "create view shop.cheap as select id, name from shop.items where price < 10",
]
TEARDOWN = [
    "drop view if exists shop.cheap",
    "drop table if exists shop.orders",
    "drop table if exists shop.items",
    "drop schema if exists shop",
]


def statements(tool):
    """The statements of a replay file: separated by lines holding only `;`."""
    text = (HERE / f"{tool}.sql").read_text()
    body = "\n".join(l for l in text.splitlines() if not l.startswith("-- "))
    return [s.strip() for s in body.split("\n;\n") if s.strip().strip(";").strip()]


def connect():
    conn = psycopg2.connect(host="127.0.0.1", port=PORT, user="postgres", dbname="postgres")
    conn.autocommit = True
    return conn


def main():
    with connect() as conn, conn.cursor() as cur:
        for sql in TEARDOWN + FIXTURE:
            cur.execute(sql)
    for tool in TOOLS:
        conn = connect()
        for number, sql in enumerate(statements(tool), start=1):
            seen = {"tool": tool, "statement": number}
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    if cur.description is not None:
                        seen["columns"] = [d.name for d in cur.description]
                        rows = cur.fetchall()
                        if "shop" in sql or "items" in sql:
                            seen["rows"] = len(rows)
            except psycopg2.Error as e:
                seen["error"] = e.pgcode
                print(f"{tool} #{number}: {e.pgerror or e}".strip(), file=sys.stderr)
            print(json.dumps(seen, sort_keys=True))
        conn.close()
    with connect() as conn, conn.cursor() as cur:
        for sql in TEARDOWN:
            cur.execute(sql)


main()
