"""pgcli against a server, as its users meet it: the completion refresh
(pgcli's own CompletionRefresher: search path, schemas, tables, views,
columns, foreign keys, functions, data types, casing), the completions it
then offers, and pgspecial's backslash commands (the \\d family).

Prints what pgcli observes as JSON, one step per line, so the test can
compare Enishi's observations with PostgreSQL's. A step that fails prints its
SQLSTATE (or error type) instead of stopping the script.

PostgreSQL and Enishi have different system catalogs (pg_catalog's own
relations and functions are not compared, except that the functions users
reach for are there); everything about the user's objects is.

Usage: python3 pgcli_check.py PORT
"""

import json
import sys

from pgcli.completion_refresher import CompletionRefresher
from pgcli.pgcompleter import PGCompleter
from pgcli.pgexecute import PGExecute
from pgspecial.main import PGSpecial
from prompt_toolkit.document import Document

PORT = int(sys.argv[1])
SCHEMA = [
    "create table customers (id integer primary key, name text not null, email varchar(80))",
    "create table orders (id integer primary key,"
    " customer_id integer references customers(id),"
    " amount numeric(10,2), placed date)",
    "create view big_orders as select id, amount from orders where amount > 100",
    "create schema sales",
    "create table sales.regions (code char(2) primary key, label text)",
    "create table sales.offices (id bigint primary key, region char(2),"
    " constraint office_region foreign key (region) references sales.regions (code))",
]
USER_SCHEMAS = {"public", "sales"}
# Functions pgcli's users complete; each must be listed by the function refresh.
EVERYDAY_FUNCTIONS = {"lower", "upper", "length", "count", "sum", "avg", "now", "coalesce",
                      "date_trunc", "to_char", "generate_series", "array_agg", "string_agg"}


def sqlstate(error):
    return getattr(getattr(error, "diag", None), "sqlstate", None) or type(error).__name__


def emit(step, value):
    print(json.dumps({"step": step, "value": value}, default=str, sort_keys=True))


def observe(step, compute):
    try:
        emit(step, compute())
    except Exception as error:  # noqa: BLE001 - every failure is an observation
        print(f"{step}: {error}", file=sys.stderr)
        emit(step, {"error": sqlstate(error)})


def user_rows(rows):
    return sorted([list(r) for r in rows if r[0] in USER_SCHEMAS], key=repr)


executor = PGExecute(database="postgres", user="postgres", host="127.0.0.1", port=PORT)
with executor.conn.cursor() as cur:
    for statement in SCHEMA:

        def run_setup():
            cur.execute(statement)
            return cur.statusmessage

        observe(f"setup {statement.split('(')[0].strip()}", run_setup)

# What each of the completion refresh's queries returns.
observe("search_path", lambda: executor.search_path())
observe("schemata", lambda: sorted(s for s in executor.schemata() if s in USER_SCHEMAS))
observe("tables", lambda: user_rows(executor.tables()))
observe("views", lambda: user_rows(executor.views()))
observe("table_columns", lambda: user_rows(executor.table_columns()))
observe("view_columns", lambda: user_rows(executor.view_columns()))
observe("foreignkeys", lambda: sorted(list(fk) for fk in executor.foreignkeys()))
observe(
    "functions",
    lambda: sorted(
        {f.func_name for f in executor.functions() if f.schema_name == "pg_catalog"}
        & EVERYDAY_FUNCTIONS
    ),
)
observe("user functions", lambda: sorted(
    repr(f) for f in executor.functions() if f.schema_name in USER_SCHEMAS))
observe("datatypes", lambda: user_rows(executor.datatypes()))
observe("casing", lambda: sorted(executor.casing()))

# The refresh as pgcli runs it (in its background thread, here inline), then
# the completions it offers where users ask for names.
completer = PGCompleter(smart_completion=True, pgspecial=PGSpecial(), settings={})
for name, refresh in CompletionRefresher.refreshers.items():
    observe(f"refresh {name}", lambda: refresh(completer, executor) and None)
for text in [
    "SELECT * FROM ",
    "SELECT * FROM sales.",
    "SELECT  FROM customers",
    "SELECT * FROM orders o JOIN ",
    "SELECT * FROM customers c JOIN orders o ON ",
    "SELECT * FROM big_orders WHERE ",
]:
    position = text.index("  ") + 1 if "  " in text else len(text)
    document = Document(text=text, cursor_position=position)

    def completions():
        found = completer.get_completions(document, None)
        kinds = {"table", "view", "column", "schema", "join", "fk join", "name join",
                 "datatype"}
        system = ("pg_catalog.", "information_schema.")
        return sorted(
            c.text
            for c in found
            if c.display_meta_text in kinds and not c.text.startswith(system)
        )

    observe(f"complete {text!r}", completions)

# pgspecial's backslash commands, as pgcli runs them.
special = PGSpecial()
for command in [r"\d", r"\dt", r"\dv", r"\di", r"\dn", r"\d customers", r"\d orders",
                r"\d+ orders", r"\d sales.regions", r"\d sales.offices", r"\d big_orders",
                r"\dt sales.*", r"\df", r"\dT"]:

    def run():
        out = []
        for title, rows, headers, status, *_ in executor.run(command, pgspecial=special):
            rows = [list(r) for r in rows or []]
            if command in (r"\dn",):
                rows = [r for r in rows if r[0] in USER_SCHEMAS]
            out.append({"title": title, "headers": headers, "rows": rows, "status": status})
        return out

    observe(command, run)
