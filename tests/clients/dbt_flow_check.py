"""A dbt project's life (dbt-postgres): seeds, view models, a table model,
incremental models (merge, delete+insert and append), schema tests (unique,
not_null, relationships, accepted_values) and a custom schema. `dbt seed`,
`dbt run`, a second `dbt run` that loads the next batch incrementally, and
`dbt test`; then the contents of every relation the project built.

Prints what the project observes as JSON, one step per line, so the test can
compare Enishi's observations with PostgreSQL's.

Usage: python3 dbt_flow_check.py PORT (with dbt-postgres importable)
"""

import contextlib
import json
import os
import shutil
import sys
import tempfile

import psycopg2
from dbt.cli.main import dbtRunner

PORT = sys.argv[1]
PROJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dbt_flow")
RELATIONS = [
    "library.authors",
    "library.books",
    "library.stg_authors",
    "library.stg_books",
    "library_marts.author_totals",
    "library_marts.books_merged",
    "library_marts.books_replaced",
    "library_marts.books_appended",
]


def connect():
    conn = psycopg2.connect(host="127.0.0.1", port=PORT, user="postgres", dbname="postgres")
    conn.autocommit = True
    return conn


def dbt(project, *args):
    # dbt's own log (errors included) goes to stderr: stdout is the observations.
    with contextlib.redirect_stdout(sys.stderr):
        result = dbtRunner().invoke(
            ["--quiet", "--no-use-colors", *args, "--project-dir", project, "--profiles-dir", project]
        )
    nodes = []
    if result.result is not None and hasattr(result.result, "results"):
        nodes = sorted(
            (r.node.name, str(r.status), r.adapter_response.get("rows_affected"))
            for r in result.result.results
        )
    if result.exception is not None:
        print(f"dbt {args[0]}: {result.exception!r}", file=sys.stderr)
    return {"success": result.success, "nodes": nodes}


def contents():
    out = {}
    conn = connect()
    cursor = conn.cursor()
    for relation in RELATIONS:
        try:
            cursor.execute(f"SELECT * FROM {relation} ORDER BY 1, 2")
            columns = [(d.name, d.type_code) for d in cursor.description]
            out[relation] = [columns, cursor.fetchall()]
        except psycopg2.Error as error:
            out[relation] = error.pgcode
    conn.close()
    return out


def main():
    os.environ["LIBRARY_PORT"] = PORT
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    conn = connect()
    for schema in ["library_marts", "library"]:
        conn.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.close()
    with tempfile.TemporaryDirectory() as work:
        project = os.path.join(work, "library")
        shutil.copytree(PROJECT, project)
        steps = [
            ("seed", ["seed"]),
            ("run", ["run"]),
            ("run the next batch", ["run", "--vars", "{batch: 2}"]),
            ("test", ["test", "--vars", "{batch: 2}"]),
        ]
        for name, args in steps:
            print(json.dumps({"step": name, "observed": dbt(project, *args)}, sort_keys=True))
    print(json.dumps({"step": "contents", "observed": contents()}, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
