#!/usr/bin/env bash
# Run the psql client flow against a server and write psql's normalized output.
#   tests/clients/psql/run.sh PORT OUTFILE [DBNAME]
# Compare the outputs of PostgreSQL 15 and Enishi with diff, e.g.
#   su postgres -c "/usr/lib/postgresql/15/bin/initdb -D /tmp/psqlflow-pg -E UTF8 --locale=C.UTF-8 -A trust -U postgres"
#   su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D /tmp/psqlflow-pg -l /tmp/psqlflow-pg.log \
#       -o '-p 55463 -k /tmp -c TimeZone=UTC -c listen_addresses=127.0.0.1' start"
#   enishi --pg-port 55462 --port 58094 --metrics-port 0 --storage-path /tmp/psql-data --query-cache-size 0 &
#   tests/clients/psql/run.sh 55463 /tmp/pg.out && tests/clients/psql/run.sh 55462 /tmp/enishi.out
#   diff /tmp/pg.out /tmp/enishi.out
# The sections: psql -c with several statements, flow.sql (meta-commands,
# \x, \gset, typed values), copy.sql (\copy from/to files, both ways).
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 PORT OUTFILE [DBNAME]" >&2
    exit 2
fi
PORT=$1
OUTFILE=$(realpath -m "$2")
DBNAME=${3:-postgres}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=$DBNAME
export PGTZ=UTC PGCLIENTENCODING=UTF8 LC_ALL=C.UTF-8
unset PGPASSWORD PGOPTIONS PSQLRC

# Scripts run from TMP under short relative names, so file names in
# psql's messages ("psql:flow.sql:12: ...") and \copy paths are the same everywhere.
cp "$HERE/flow.sql" "$HERE/copy.sql" "$HERE/items.csv" "$TMP/"
cd "$TMP"

{
    echo '==== psql -c (several statements)'
    psql -X -h 127.0.0.1 -p "$PORT" -U postgres -d "$DBNAME" -c 'select 1' -c 'select 2; select 3' 2>&1
    echo "exit=$?"
    echo '==== psql -f flow.sql'
    psql -X -v ON_ERROR_STOP=0 -f flow.sql 2>&1
    echo "exit=$?"
    echo '==== psql -f copy.sql'
    psql -X -v ON_ERROR_STOP=0 -f copy.sql 2>&1
    echo "exit=$?"
} | python3 "$HERE/normalize.py" > "$OUTFILE"
