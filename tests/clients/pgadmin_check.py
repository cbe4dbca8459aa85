"""pgAdmin 4 against a server, headless, as its users meet it: the browser
tree's HTTP API (the JSON the property dialogs show and the SQL the SQL tab
generates) for the database, a schema, its tables, their columns, primary
and foreign keys, unique constraints and indexes, and a view with its
columns. pgAdmin runs in desktop mode inside this process (Flask's test
client), with its configuration and storage in a temporary home directory.

Prints what pgAdmin answers as JSON, one request per line, so the test can
compare Enishi's answers with PostgreSQL's. Object OIDs differ between two
servers, so every value pgAdmin takes from an OID (node ids, `oid`,
`confrelid`, …) is replaced by the object's name; row versions (`xmin`) and
sizes are not compared.

Runs under pgAdmin's own Python environment (scripts/test makes it).

Usage: python pgadmin_check.py PORT
"""

import builtins
import contextlib
import json
import os
import sys
import tempfile

PORT = int(sys.argv[1])
SCHEMA = [
    "drop schema if exists shop cascade",
    "create schema shop",
    "create table shop.customers (id integer primary key, name text not null,"
    " email varchar(80))",
    "create table shop.orders (id integer primary key,"
    " customer_id integer references shop.customers(id),"
    " amount numeric(10,2), placed date default current_date)",
    "create view shop.big_orders as select id, amount from shop.orders where amount > 100",
]
# Keys whose values are OIDs or row versions of the server's own.
OID_KEYS = {"_id", "_pid", "oid", "confrelid", "references", "refnspoid", "relid",
            "did", "scid", "tid", "conrelid", "indrelid", "spcoid"}
# Keys whose values are transaction ids.
XID_KEYS = {"xmin"}


def pgadmin():
    home = tempfile.mkdtemp()
    os.environ["HOME"] = home
    builtins.SERVER_MODE = False
    import pgadmin4

    sys.path.insert(0, list(pgadmin4.__path__)[0])
    import config

    os.makedirs(config.DATA_DIR, exist_ok=True)
    config.CONSOLE_LOG_LEVEL = 50
    config.MASTER_PASSWORD_REQUIRED = False
    # pgAdmin announces its initialisation on stdout, which is for answers.
    with contextlib.redirect_stdout(sys.stderr):
        import pgAdmin4

    pgAdmin4.app.config["WTF_CSRF_ENABLED"] = False
    return pgAdmin4.app.test_client()


def normalized(value, names):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in XID_KEYS and isinstance(item, (int, str)):
                out[key] = "xid"
            elif key in OID_KEYS and isinstance(item, (int, str)):
                out[key] = names.get(str(item), "oid")
            elif key == "id" and isinstance(item, str) and "_" in item:
                kind, _, oid = item.rpartition("_")
                out[key] = f"{kind}_{names.get(oid, 'oid')}"
            else:
                out[key] = normalized(item, names)
        return out
    if isinstance(value, list):
        return [normalized(item, names) for item in value]
    return value


def main():
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=PORT, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        for statement in SCHEMA:
            conn.execute(statement)
    client = pgadmin()
    # OID -> the name of the object it stands for, learnt from the nodes.
    names = {}

    def request(step, path):
        response = client.get(path)
        body = response.get_json(silent=True)
        if body is None:
            body = response.get_data(as_text=True)
        print(json.dumps({"step": step, "status": response.status_code,
                          "value": normalized(body, names)}, sort_keys=True, default=str))
        return body if response.status_code == 200 and isinstance(body, dict) else {}

    def nodes(kind, base):
        found = request(f"{kind} nodes", f"/browser/{kind}/nodes/{base}/").get("data") or []
        for node in found:
            # A column's id is its number in its table, not an OID.
            if kind != "column":
                names[str(node["_id"])] = f"{kind}:{node['label']}"""
        return found

    def properties(kind, base, node):
        label = f"{kind} {node['label']}"
        request(f"{label} properties", f"/browser/{kind}/obj/{base}/{node['_id']}")
        request(f"{label} sql", f"/browser/{kind}/sql/{base}/{node['_id']}")

    response = client.post("/browser/server/obj/1/", json={
        "name": "server", "host": "127.0.0.1", "port": PORT, "db": "postgres",
        "username": "postgres", "role": None, "service": None, "connect_now": True,
        "password": "unused", "connection_params": [{"name": "sslmode", "value": "disable"}],
    })
    print(json.dumps({"step": "add server", "status": response.status_code}))
    server = response.get_json()["node"]["_id"]
    base = f"1/{server}"
    for database in nodes("database", base):
        if database["label"] != "postgres":
            continue
        properties("database", base, database)
        database_base = f"{base}/{database['_id']}"
        for schema in nodes("schema", database_base):
            if schema["label"] != "shop":
                continue
            properties("schema", database_base, schema)
            schema_base = f"{database_base}/{schema['_id']}"
            for table in nodes("table", schema_base):
                properties("table", schema_base, table)
                table_base = f"{schema_base}/{table['_id']}"
                for kind in ["column", "primary_key", "foreign_key", "unique_constraint",
                             "index"]:
                    for node in nodes(kind, table_base):
                        properties(kind, table_base, node)
            for view in nodes("view", schema_base):
                properties("view", schema_base, view)
                view_base = f"{schema_base}/{view['_id']}"
                for column in nodes("column", view_base):
                    properties("column", view_base, column)


main()
