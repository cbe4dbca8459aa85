// node-postgres against a server, as applications use it: parameters, named
// (prepared) statements, a multi-statement query, errors. Prints what the
// client observes as JSON, so the test can compare Enishi's with PostgreSQL's.
// Usage: node pg_check.js PORT
"use strict";

const { Client } = require("pg");

async function main() {
  const client = new Client({
    host: "127.0.0.1",
    port: Number(process.argv[2]),
    user: "postgres",
    database: "postgres",
  });
  await client.connect();
  const seen = [];
  const observe = (step, result) => {
    const results = Array.isArray(result) ? result : [result];
    seen.push({
      step,
      results: results.map((r) => ({
        command: r.command,
        rowCount: r.rowCount,
        fields: r.fields.map((f) => [f.name, f.dataTypeID, f.format]),
        rows: r.rows,
      })),
    });
  };
  const attempt = async (step, query) => {
    try {
      observe(step, await client.query(query));
    } catch (e) {
      seen.push({ step, error: e.code });
    }
  };

  await attempt(
    "create",
    "create table node_t (id integer, name text, amount numeric(10,2), at timestamptz, ok boolean)",
  );
  for (const row of [
    [1, "one", "10.50", "2024-02-29T12:00:00Z", true],
    [2, "two", "-3.25", "2024-03-01T00:30:00Z", false],
    [3, null, null, null, null],
  ]) {
    await attempt("insert with parameters", {
      text: "insert into node_t values ($1, $2, $3, $4, $5)",
      values: row,
    });
  }
  for (const id of [1, 2, 3]) {
    await attempt("named statement", {
      name: "by_id",
      text: "select id, name, amount, at, ok from node_t where id = $1",
      values: [id],
    });
  }
  await attempt("array mode", {
    text: "select id, name from node_t order by id",
    rowMode: "array",
  });
  await attempt(
    "multi-statement",
    "select count(*) as n from node_t; select name from node_t where id = 2; update node_t set ok = true where id = 2",
  );
  await attempt("aggregate", {
    text: "select sum(amount) as total, max(at) as latest, count(name) as named from node_t where id <= $1",
    values: [2],
  });
  // (Not yet: `array[1, 2]` is int8[]; COMPATIBILITY.md lists it.)
  await attempt(
    "types",
    "select 1::int2 as a, 2::int8 as b, 1.5::float8 as c, 'x'::text as d, date '2024-02-29' as e, array['p', 'q'] as f, 'v'::varchar as g, 'w'::varchar(5) as h",
  );
  await attempt("division by zero", "select 1 / 0");
  await attempt("unknown column", { text: "select nope from node_t where id = $1", values: [1] });
  await attempt("after an error", "select count(*) as n from node_t where ok");
  await attempt("drop", "drop table node_t");
  await client.end();
  process.stdout.write(JSON.stringify(seen, null, 1) + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
