"""A loader that upserts, as pandas and SQLAlchemy load data: a frame is
written with `DataFrame.to_sql` through an upsert method (`INSERT … ON
CONFLICT (key) DO UPDATE`, in chunks), loaded twice, then loaded again with
changed and new records; a second table takes events with `ON CONFLICT DO
NOTHING`. Loading the same records twice must leave one copy of each.

Prints what the loader observes as JSON, one step per line, so the test can
compare Enishi's observations with PostgreSQL's. A step that fails prints its
SQLSTATE instead of stopping the script.

Usage: python3 loader_flow_check.py PORT
"""

import json
import sys

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

PORT = int(sys.argv[1])


def sqlstate(error):
    orig = getattr(error, "orig", error)
    return getattr(orig, "sqlstate", None) or type(orig).__name__


def rows(frame):
    """A frame's rows, a missing value as None (JSON has no NaN)."""
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def step(name, run):
    try:
        print(json.dumps({"step": name, "observed": run()}, sort_keys=True, default=str))
    except Exception as error:  # noqa: BLE001 - the observation is the error
        print(json.dumps({"step": name, "error": sqlstate(error)}, sort_keys=True))
        print(f"{name}: {error}", file=sys.stderr)


def upsert(table, conn, keys, rows):
    """pandas' `method=`: one INSERT … ON CONFLICT DO UPDATE per chunk,
    counting the rows it returns."""
    statement = pg_insert(table.table).values([dict(zip(keys, row)) for row in rows])
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={k: statement.excluded[k] for k in keys if k != "id"},
    )
    return len(conn.execute(statement.returning(table.table.c.id)).all())


def insert_new(table, conn, keys, rows):
    """pandas' `method=`: one INSERT … ON CONFLICT DO NOTHING per chunk,
    counting the rows it inserts."""
    statement = pg_insert(table.table).values([dict(zip(keys, row)) for row in rows])
    inserted = statement.on_conflict_do_nothing().returning(table.table.c.customer)
    return len(conn.execute(inserted).all())


def customers(batch):
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "name": ["ann", "bob", "cyd", "dee", "eve"],
            "balance": [10.5, 0.0, -3.25, 7.0, 100.0],
            "joined": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
            ),
        }
    )
    if batch == 2:
        frame.loc[frame.id == 2, "balance"] = 42.0
        frame.loc[frame.id == 5, "name"] = "eva"
        extra = pd.DataFrame(
            {
                "id": [6, 7],
                "name": ["fay", "gus"],
                "balance": [1.0, None],
                "joined": pd.to_datetime(["2024-02-01", "2024-02-02"]),
            }
        )
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame


def main():
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS loaded_customers")
        conn.exec_driver_sql("DROP TABLE IF EXISTS loaded_events")
        conn.exec_driver_sql(
            "CREATE TABLE loaded_customers (id bigint PRIMARY KEY, name text NOT NULL,"
            " balance double precision, joined timestamp)"
        )
        conn.exec_driver_sql(
            "CREATE TABLE loaded_events (customer bigint, kind text, at timestamp,"
            " UNIQUE (customer, kind, at))"
        )

    def load(batch):
        def run():
            written = customers(batch).to_sql(
                "loaded_customers", engine, if_exists="append", index=False,
                method=upsert, chunksize=3,
            )
            table = pd.read_sql("SELECT * FROM loaded_customers ORDER BY id", engine)
            return {
                "written": written,
                "rows": rows(table),
                "dtypes": [str(t) for t in table.dtypes],
            }

        return run

    step("first load", load(1))
    step("the same records again", load(1))
    step("changed and new records", load(2))

    def events():
        frame = pd.DataFrame(
            {
                "customer": [1, 1, 2, 3],
                "kind": ["signup", "order", "signup", "signup"],
                "at": pd.to_datetime(["2024-01-01 09:00", "2024-01-03 10:30",
                                      "2024-01-02 08:15", "2024-01-03 12:00"]),
            }
        )
        first = frame.to_sql("loaded_events", engine, if_exists="append", index=False,
                             method=insert_new)
        again = frame.to_sql("loaded_events", engine, if_exists="append", index=False,
                             method=insert_new)
        counts = pd.read_sql(
            "SELECT kind, count(*) AS n FROM loaded_events GROUP BY kind ORDER BY kind", engine
        )
        return {"first": first, "again": again, "counts": rows(counts)}

    step("events loaded twice", events)

    def replaced():
        frame = customers(2).assign(segment=lambda f: f.balance.fillna(0) > 5)
        frame.to_sql("loaded_customers_copy", engine, if_exists="replace", index=False)
        table = pd.read_sql("SELECT * FROM loaded_customers_copy ORDER BY id", engine)
        return {"rows": rows(table), "dtypes": [str(t) for t in table.dtypes]}

    step("a frame written as a new table", replaced)


if __name__ == "__main__":
    main()
