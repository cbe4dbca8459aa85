#!/usr/bin/env python3
"""Writes tests/oracle/corpus.sql: the differential corpus, one statement per
line, grouped under `-- section: NAME` headers. Statements are named
`NAME:N` (N counts from 1 within the section) in reports and in
known_differences.txt. Append to a section's end to keep names stable."""

import itertools
import pathlib

sections = {}

def section(name, statements):
    sections[name] = list(statements)

# ---------------------------------------------------------------- scans, filters
section("select", [
    "SELECT * FROM dept ORDER BY id",
    "SELECT id, name FROM emp ORDER BY id",
    "SELECT name FROM emp WHERE dept_id = 1 ORDER BY name",
    "SELECT name FROM emp WHERE dept_id <> 1 ORDER BY name",
    "SELECT name FROM emp WHERE dept_id IS NULL",
    "SELECT name FROM emp WHERE dept_id IS NOT NULL ORDER BY 1",
    "SELECT name FROM emp WHERE salary > 6000 ORDER BY salary DESC",
    "SELECT name FROM emp WHERE salary BETWEEN 5000 AND 7000 ORDER BY name",
    "SELECT name FROM emp WHERE salary NOT BETWEEN 5000 AND 7000 ORDER BY name",
    "SELECT name FROM emp WHERE dept_id IN (1, 3) ORDER BY name",
    "SELECT name FROM emp WHERE dept_id NOT IN (1, 3) ORDER BY name",
    "SELECT name FROM emp WHERE name LIKE 'D%'",
    "SELECT name FROM emp WHERE name NOT LIKE '%a%' ORDER BY name",
    "SELECT name FROM emp WHERE name ILIKE '%A%' ORDER BY name",
    "SELECT name FROM emp WHERE active ORDER BY id",
    "SELECT name FROM emp WHERE NOT active ORDER BY id",
    "SELECT name FROM emp WHERE active IS NULL",
    "SELECT name FROM emp WHERE active IS NOT TRUE ORDER BY id",
    "SELECT name FROM emp WHERE active IS DISTINCT FROM true ORDER BY id",
    "SELECT name FROM emp WHERE hired >= DATE '2020-01-01' ORDER BY hired",
    "SELECT name, hired FROM emp WHERE hired < '2019-01-01' ORDER BY hired",
    "SELECT id FROM sales WHERE amount > 100 AND qty > 3 ORDER BY id",
    "SELECT id FROM sales WHERE amount > 100 OR product = 'gizmo' ORDER BY id",
    "SELECT id FROM sales WHERE product IS NULL OR amount IS NULL ORDER BY id",
    "SELECT id, amount FROM sales WHERE sold_at >= '2024-03-01' ORDER BY id",
    "SELECT 1",
    "SELECT 1 + 1 AS two",
    "SELECT 'hello' AS greeting",
    "SELECT NULL AS nothing",
    "SELECT true, false",
    "SELECT id FROM emp WHERE id = 3",
    "SELECT id FROM emp WHERE false",
    "SELECT count(*) FROM emp WHERE name IN ('Ada', 'Eve', 'Nobody')",
    "SELECT name FROM emp WHERE salary = 5800.25 ORDER BY id",
    "SELECT name FROM dept WHERE region = 'north' ORDER BY id",
    "SELECT name FROM emp WHERE name LIKE 'A/%' ESCAPE '/' OR name LIKE '_v_' ESCAPE '!' ORDER BY 1",
    "SELECT 'a_b' LIKE 'a#_b' ESCAPE '#', 'axb' LIKE 'a#_b' ESCAPE '#', 'a\\b' LIKE 'a\\b' ESCAPE '', 'A%' ILIKE 'a!%' ESCAPE '!'",
    "SELECT name FROM dept WHERE name NOT LIKE 'S' || '%' ESCAPE '/' ORDER BY 1",
])

# ---------------------------------------------------------------- order, limit
section("order_limit", [
    "SELECT name FROM emp ORDER BY name LIMIT 3",
    "SELECT name FROM emp ORDER BY name LIMIT 3 OFFSET 2",
    "SELECT name FROM emp ORDER BY name OFFSET 8",
    "SELECT name FROM emp ORDER BY salary DESC NULLS LAST, id",
    "SELECT name FROM emp ORDER BY salary ASC NULLS FIRST, id",
    "SELECT name, salary FROM emp ORDER BY salary, id",
    "SELECT name, salary FROM emp ORDER BY salary DESC, id",
    "SELECT dept_id, name FROM emp ORDER BY dept_id NULLS FIRST, name",
    "SELECT dept_id, name FROM emp ORDER BY dept_id DESC, name DESC",
    "SELECT name FROM emp ORDER BY length(name), name",
    "SELECT name FROM emp ORDER BY 1 DESC LIMIT 1",
    "SELECT id, amount FROM sales ORDER BY amount DESC NULLS LAST LIMIT 5",
    "SELECT id FROM sales ORDER BY product NULLS FIRST, id",
    "SELECT * FROM nums ORDER BY x NULLS FIRST",
    "SELECT * FROM nums ORDER BY s",
    "SELECT name FROM emp LIMIT 0",
    "SELECT name FROM emp ORDER BY hired FETCH FIRST 2 ROWS ONLY",
    "SELECT DISTINCT dept_id FROM emp ORDER BY dept_id",
    "SELECT DISTINCT region FROM dept ORDER BY region NULLS FIRST",
    "SELECT DISTINCT ON (dept_id) dept_id, name FROM emp ORDER BY dept_id, salary DESC",
    "SELECT DISTINCT ON (product) product, id FROM sales ORDER BY product, amount",
    "SELECT DISTINCT active FROM emp ORDER BY active",
    "SELECT name FROM emp ORDER BY id OFFSET 2 ROWS FETCH NEXT 3 ROWS ONLY",
    "SELECT name FROM emp ORDER BY id FETCH FIRST ROW ONLY",
])

# ---------------------------------------------------------------- aggregates
aggs = ["count(*)", "count(salary)", "sum(salary)", "min(salary)", "max(salary)", "avg(salary)",
        "count(DISTINCT dept_id)", "min(name)", "max(hired)", "bool_and(active)", "bool_or(active)",
        "sum(qty)", "avg(qty)", "sum(amount)", "max(amount)", "min(sold_at)", "string_agg(name, ',' ORDER BY name)",
        "array_agg(id ORDER BY id)", "stddev_samp(amount)", "var_pop(qty)"]
emp_aggs = [a for a in aggs if not any(c in a for c in ["qty", "amount", "sold_at"])]
sales_aggs = [a for a in aggs if any(c in a for c in ["qty", "amount", "sold_at"])]
section("aggregate", list(itertools.chain(
    (f"SELECT {a} FROM emp" for a in emp_aggs),
    (f"SELECT {a} FROM sales" for a in sales_aggs),
    (f"SELECT dept_id, {a} FROM emp GROUP BY dept_id ORDER BY dept_id" for a in emp_aggs),
    (f"SELECT product, {a} FROM sales GROUP BY product ORDER BY product" for a in sales_aggs),
    [
        "SELECT dept_id, count(*) FROM emp GROUP BY dept_id HAVING count(*) > 1 ORDER BY dept_id",
        "SELECT dept_id, sum(salary) FROM emp GROUP BY dept_id HAVING sum(salary) > 10000 ORDER BY 1",
        "SELECT count(*) FROM emp WHERE false",
        "SELECT sum(salary) FROM emp WHERE false",
        "SELECT max(name) FROM emp WHERE false",
        "SELECT count(*), count(dept_id), count(DISTINCT dept_id) FROM emp",
        "SELECT product, count(*) AS n FROM sales GROUP BY 1 ORDER BY n DESC, product NULLS LAST",
        "SELECT extract(year FROM hired) AS y, count(*) FROM emp GROUP BY 1 ORDER BY 1",
        "SELECT active, count(*) FROM emp GROUP BY active ORDER BY active",
        "SELECT dept_id, active, count(*) FROM emp GROUP BY dept_id, active ORDER BY 1, 2",
        "SELECT sum(qty * amount) FROM sales",
        "SELECT count(*) FILTER (WHERE active) FROM emp",
        "SELECT dept_id, count(*) FILTER (WHERE salary > 6000) FROM emp GROUP BY dept_id ORDER BY 1",
        "SELECT dept_id, count(*) FROM emp GROUP BY ROLLUP (dept_id) ORDER BY dept_id NULLS LAST",
        "SELECT region, count(*) FROM dept GROUP BY CUBE (region) ORDER BY 1 NULLS LAST, 2",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) FROM sales",
        "SELECT mode() WITHIN GROUP (ORDER BY product) FROM sales",
        "SELECT sum(n), avg(n), sum(x), avg(x) FROM nums",
        "SELECT count(x), min(x), max(x) FROM nums",
        "SELECT every(n > 0) FROM nums",
    ],
)))

# ---------------------------------------------------------------- joins
section("join", [
    "SELECT e.name, d.name FROM emp e JOIN dept d ON e.dept_id = d.id ORDER BY e.id",
    "SELECT e.name, d.name FROM emp e LEFT JOIN dept d ON e.dept_id = d.id ORDER BY e.id",
    "SELECT e.name, d.name FROM emp e RIGHT JOIN dept d ON e.dept_id = d.id ORDER BY d.id, e.id",
    "SELECT e.name, d.name FROM emp e FULL JOIN dept d ON e.dept_id = d.id ORDER BY e.id NULLS LAST, d.id",
    "SELECT count(*) FROM emp CROSS JOIN dept",
    "SELECT e.name, m.name AS manager FROM emp e LEFT JOIN emp m ON e.manager_id = m.id ORDER BY e.id",
    "SELECT e.name, s.amount FROM emp e JOIN sales s ON s.emp_id = e.id ORDER BY s.id",
    "SELECT d.name, sum(s.amount) FROM dept d JOIN emp e ON e.dept_id = d.id JOIN sales s ON s.emp_id = e.id GROUP BY d.name ORDER BY 1",
    "SELECT s.id FROM sales s LEFT JOIN emp e ON s.emp_id = e.id WHERE e.id IS NULL",
    "SELECT d.name FROM dept d LEFT JOIN emp e ON e.dept_id = d.id WHERE e.id IS NULL ORDER BY 1",
    "SELECT e.name FROM emp e JOIN dept d USING (id) ORDER BY 1",
    "SELECT * FROM emp NATURAL JOIN dept ORDER BY id",
    "SELECT e.name, d.name FROM emp e, dept d WHERE e.dept_id = d.id AND d.region = 'north' ORDER BY 1",
    "SELECT e.name FROM emp e JOIN dept d ON e.dept_id = d.id AND d.budget > 500000 ORDER BY 1",
    "SELECT a.name, b.name FROM emp a JOIN emp b ON a.salary = b.salary AND a.id < b.id",
    "SELECT e.name, d.name FROM emp e JOIN dept d ON e.dept_id > d.id WHERE e.id < 4 ORDER BY 1, 2",
    "SELECT count(*) FROM emp e LEFT JOIN sales s ON s.emp_id = e.id",
    "SELECT e.name, count(s.id) FROM emp e LEFT JOIN sales s ON s.emp_id = e.id GROUP BY e.name ORDER BY 2 DESC, 1",
    "SELECT d.region, count(DISTINCT e.id) FROM dept d LEFT JOIN emp e ON e.dept_id = d.id GROUP BY d.region ORDER BY 1 NULLS FIRST",
    "SELECT e.name FROM emp e WHERE EXISTS (SELECT 1 FROM sales s WHERE s.emp_id = e.id) ORDER BY 1",
    "SELECT e.name FROM emp e WHERE NOT EXISTS (SELECT 1 FROM sales s WHERE s.emp_id = e.id) ORDER BY 1",
    "SELECT e.name FROM emp e WHERE e.id IN (SELECT emp_id FROM sales) ORDER BY 1",
    "SELECT e.name FROM emp e WHERE e.id NOT IN (SELECT emp_id FROM sales WHERE emp_id IS NOT NULL) ORDER BY 1",
    "SELECT e.name, d.name FROM emp e JOIN LATERAL (SELECT name FROM dept WHERE id = e.dept_id) d ON true ORDER BY 1",
    "SELECT x.n, y.n FROM nums x JOIN nums y ON x.n = y.n + 1 ORDER BY 1",
    "SELECT * FROM emp e FULL JOIN dept d USING (id) ORDER BY id",
    "SELECT id, count(*) FROM sales s RIGHT JOIN emp e USING (id) GROUP BY id ORDER BY id",
    "SELECT id, d.name FROM emp FULL JOIN dept d USING (id) WHERE id > 5 ORDER BY id",
    "SELECT * FROM dept d JOIN emp e USING (id) ORDER BY 1",
    "SELECT * FROM dept d RIGHT JOIN emp e USING (id) FULL JOIN sales s USING (id) ORDER BY id",
])

# ---------------------------------------------------------------- subqueries
section("subquery", [
    "SELECT name FROM emp WHERE salary > (SELECT avg(salary) FROM emp) ORDER BY 1",
    "SELECT name, (SELECT name FROM dept WHERE id = emp.dept_id) AS dept FROM emp ORDER BY id",
    "SELECT name FROM emp e WHERE salary = (SELECT max(salary) FROM emp WHERE dept_id = e.dept_id) ORDER BY 1",
    "SELECT * FROM (SELECT dept_id, count(*) AS n FROM emp GROUP BY dept_id) t WHERE n > 1 ORDER BY 1",
    "SELECT avg(n) FROM (SELECT count(*) AS n FROM emp GROUP BY dept_id) t",
    "SELECT name FROM dept WHERE id = ANY (SELECT dept_id FROM emp WHERE salary > 7000) ORDER BY 1",
    "SELECT name FROM emp WHERE salary > ALL (SELECT salary FROM emp WHERE dept_id = 2) ORDER BY 1",
    "SELECT (SELECT count(*) FROM emp) + (SELECT count(*) FROM dept)",
    "SELECT name FROM emp WHERE dept_id = (SELECT id FROM dept WHERE name = 'Sales') ORDER BY 1",
    "SELECT (SELECT max(amount) FROM sales) AS top",
    "SELECT name FROM emp WHERE (dept_id, active) IN (SELECT id, true FROM dept) ORDER BY 1",
    "SELECT count(*) FROM (SELECT DISTINCT product FROM sales) t",
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(k, label) ORDER BY k",
    "SELECT k FROM (VALUES (3), (1), (2)) AS v(k) ORDER BY k DESC",
    "SELECT name FROM emp WHERE id = (SELECT min(id) FROM emp)",
    "SELECT name FROM emp WHERE dept_id <> ALL (SELECT id FROM dept WHERE region = 'north') ORDER BY 1",
    "SELECT name FROM emp WHERE salary < ANY (SELECT salary FROM emp WHERE dept_id = 4) ORDER BY 1",
    "SELECT name FROM emp e WHERE salary >= ALL (SELECT salary FROM emp WHERE dept_id = e.dept_id AND salary IS NOT NULL) ORDER BY 1",
    "SELECT x > ALL (SELECT x FROM nums) FROM nums WHERE n = 1",
    "SELECT d.name, (SELECT e.name FROM emp e WHERE e.dept_id = d.id) FROM dept d ORDER BY d.id",
    "SELECT d.name, (SELECT e.name FROM emp e WHERE e.dept_id = d.id) AS only FROM dept d WHERE d.id >= 4 ORDER BY d.id",
    "SELECT d.id, (SELECT e.name || '!' FROM emp e WHERE e.dept_id = d.id AND d.budget < 500000) FROM dept d WHERE d.id IN (4, 5) ORDER BY d.id",
    "SELECT e.name, (SELECT m.name FROM emp m WHERE m.id = e.manager_id AND e.active) AS manager FROM emp e ORDER BY e.id",
    "SELECT d.name, EXISTS (SELECT 1 FROM emp e WHERE e.dept_id = d.id AND e.salary > 7000) AS rich FROM dept d ORDER BY d.id",
    "SELECT d.name, NOT EXISTS (SELECT 1 FROM emp e WHERE e.dept_id = d.id LIMIT 1) AS empty FROM dept d ORDER BY d.id",
    "SELECT d.name, CASE WHEN EXISTS (SELECT 1 FROM sales s JOIN emp e ON e.id = s.emp_id WHERE e.dept_id = d.id) THEN 'sells' ELSE 'quiet' END FROM dept d ORDER BY d.id",
    "SELECT d.name FROM dept d WHERE EXISTS (SELECT 1 FROM emp e WHERE e.dept_id = d.id AND NOT e.active) OR d.region IS NULL ORDER BY d.id",
    "SELECT d.name, (SELECT e.name FROM emp e WHERE e.dept_id = d.id ORDER BY e.salary DESC NULLS LAST LIMIT 1) AS top FROM dept d ORDER BY d.id",
    "SELECT d.name, (SELECT ARRAY(SELECT e.name FROM emp e WHERE e.dept_id = d.id ORDER BY e.name)) AS staff FROM dept d ORDER BY d.id",
    "SELECT DISTINCT ON (e.dept_id) e.dept_id, e.name, (SELECT d.name FROM dept d WHERE d.id = e.dept_id) AS dept FROM emp e ORDER BY e.dept_id, e.salary DESC",
    "SELECT count(*) FROM emp e WHERE e.tableoid = 'emp'::regclass",
    "SELECT e.name FROM emp e JOIN dept d ON d.id = e.dept_id AND 'public.dept'::regclass = 'dept'::regclass WHERE e.id < 4 ORDER BY 1",
    "SELECT t.id, row_to_json(t) FROM (SELECT id, name AS \"Name\", salary, active, manager_id FROM emp WHERE id IN (1, 6, 9)) t ORDER BY t.id",
    "SELECT 'counts' AS chart, row_to_json(t) AS data FROM (SELECT (SELECT count(*) FROM emp) AS \"Staff\", (SELECT count(*) FROM dept) AS \"Depts\") t UNION ALL SELECT 'top', row_to_json(t) FROM (SELECT max(salary) AS top FROM emp) t",
])

# ---------------------------------------------------------------- CTEs
section("cte", [
    "WITH d AS (SELECT * FROM dept WHERE region = 'north') SELECT name FROM d ORDER BY 1",
    "WITH t AS (SELECT dept_id, sum(salary) s FROM emp GROUP BY dept_id) SELECT * FROM t WHERE s > 10000 ORDER BY 1",
    "WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT * FROM b",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n) FROM r",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n * 2 FROM r WHERE n < 100) SELECT n FROM r ORDER BY n",
    "WITH RECURSIVE chain(id, name, depth) AS (SELECT id, name, 0 FROM emp WHERE manager_id IS NULL UNION ALL SELECT e.id, e.name, c.depth + 1 FROM emp e JOIN chain c ON e.manager_id = c.id) SELECT name, depth FROM chain ORDER BY depth, name",
    "WITH RECURSIVE fib(a, b, i) AS (SELECT 0, 1, 1 UNION ALL SELECT b, a + b, i + 1 FROM fib WHERE i < 15) SELECT a FROM fib ORDER BY i",
    "WITH s AS (SELECT product, sum(amount) AS total FROM sales GROUP BY product) SELECT product FROM s WHERE total = (SELECT max(total) FROM s)",
    "WITH x AS (SELECT id FROM emp WHERE active) SELECT count(*) FROM x",
    "WITH x AS (SELECT id FROM emp) SELECT count(*) FROM x a JOIN x b ON a.id = b.id",
    "WITH RECURSIVE r(n) AS (SELECT 10 UNION ALL SELECT n - 3 FROM r WHERE n > 0) SELECT array_agg(n ORDER BY n) FROM r",
    "WITH t(a, b) AS (VALUES (1, 2), (3, 4)) SELECT a + b FROM t ORDER BY 1",
    "SELECT e0.name, (WITH RECURSIVE up(id, boss) AS (SELECT id, manager_id FROM emp WHERE emp.id = e0.id UNION ALL SELECT emp.id, emp.manager_id FROM up JOIN emp ON emp.id = up.boss) SELECT count(*) FROM up) AS chain FROM emp e0 ORDER BY e0.id",
    "SELECT e0.name, ARRAY(WITH RECURSIVE up AS (SELECT manager_id AS boss FROM emp WHERE emp.id = e0.id UNION ALL SELECT emp.manager_id FROM up u JOIN emp ON emp.id = u.boss) SELECT boss FROM up WHERE boss IS NOT NULL ORDER BY boss) AS bosses FROM emp e0 ORDER BY e0.id",
])

# ---------------------------------------------------------------- set operations
section("setop", [
    "SELECT dept_id FROM emp UNION SELECT id FROM dept ORDER BY 1 NULLS FIRST",
    "SELECT dept_id FROM emp UNION ALL SELECT id FROM dept ORDER BY 1 NULLS FIRST",
    "SELECT id FROM dept INTERSECT SELECT dept_id FROM emp ORDER BY 1",
    "SELECT id FROM dept EXCEPT SELECT dept_id FROM emp ORDER BY 1",
    "SELECT emp_id FROM sales EXCEPT ALL SELECT id FROM emp ORDER BY 1",
    "SELECT dept_id FROM emp INTERSECT ALL SELECT dept_id FROM emp ORDER BY 1 NULLS LAST",
    "SELECT name FROM emp WHERE dept_id = 1 UNION SELECT name FROM dept ORDER BY 1",
    "SELECT 1 UNION SELECT 2 UNION SELECT 1 ORDER BY 1",
    "SELECT 1 AS a UNION ALL SELECT 1 ORDER BY 1",
    "(SELECT name FROM emp ORDER BY id LIMIT 2) UNION ALL (SELECT name FROM dept ORDER BY id LIMIT 2) ORDER BY 1",
    "SELECT count(*) FROM (SELECT product FROM sales UNION SELECT region FROM dept) t",
    "SELECT 'a' UNION SELECT NULL ORDER BY 1 NULLS FIRST",
    "SELECT n FROM (VALUES (1), (1), (1), (2), (NULL), (NULL)) a(n) EXCEPT ALL SELECT n FROM (VALUES (1), (NULL)) b(n) ORDER BY 1",
    "SELECT n FROM (VALUES (1), (1), (1), (2), (NULL), (NULL)) a(n) INTERSECT ALL SELECT n FROM (VALUES (1), (1), (NULL), (3)) b(n) ORDER BY 1",
    "SELECT n FROM (VALUES (1), (1), (2)) a(n) EXCEPT SELECT n FROM (VALUES (2)) b(n) ORDER BY 1",
    "SELECT product, qty > 2 FROM sales INTERSECT ALL SELECT product, qty > 2 FROM sales WHERE id > 3 ORDER BY 1 NULLS FIRST, 2",
    "SELECT count(*) FROM (SELECT emp_id FROM sales EXCEPT ALL SELECT id FROM emp) t",
])

# ---------------------------------------------------------------- window functions
windows = [
    "row_number() OVER (ORDER BY id)",
    "row_number() OVER (PARTITION BY dept_id ORDER BY salary DESC NULLS LAST, id)",
    "rank() OVER (ORDER BY salary DESC NULLS LAST)",
    "dense_rank() OVER (ORDER BY salary DESC NULLS LAST)",
    "percent_rank() OVER (ORDER BY id)",
    "cume_dist() OVER (ORDER BY id)",
    "ntile(3) OVER (ORDER BY id)",
    "lag(name) OVER (ORDER BY id)",
    "lead(name, 2) OVER (ORDER BY id)",
    "lag(salary, 1, 0) OVER (ORDER BY id)",
    "first_value(name) OVER (PARTITION BY dept_id ORDER BY id)",
    "last_value(name) OVER (PARTITION BY dept_id ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
    "nth_value(name, 2) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
    "sum(salary) OVER (ORDER BY id)",
    "sum(salary) OVER (PARTITION BY dept_id)",
    "count(*) OVER (PARTITION BY dept_id)",
    "avg(salary) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)",
    "max(salary) OVER (ORDER BY id ROWS 2 PRECEDING)",
    "min(hired) OVER (PARTITION BY active ORDER BY id)",
    "count(salary) OVER (ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
]
section("window", list(itertools.chain(
    (f"SELECT id, {w} FROM emp ORDER BY id" for w in windows),
    [
        "SELECT product, id, sum(amount) OVER (PARTITION BY product ORDER BY id) FROM sales ORDER BY product NULLS LAST, id",
        "SELECT id, qty, sum(qty) OVER (ORDER BY sold_at) FROM sales ORDER BY id",
        "SELECT * FROM (SELECT name, dept_id, rank() OVER (PARTITION BY dept_id ORDER BY salary DESC) r FROM emp) t WHERE r = 1 ORDER BY dept_id NULLS LAST",
        "SELECT id, sum(qty) OVER w, max(qty) OVER w FROM sales WINDOW w AS (ORDER BY id) ORDER BY id",
        "SELECT id, amount - lag(amount) OVER (ORDER BY id) FROM sales ORDER BY id",
        "SELECT dept_id, sum(sum(salary)) OVER () FROM emp GROUP BY dept_id ORDER BY 1",
        "SELECT n, sum(x) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM nums ORDER BY n",
        "SELECT id, row_number() OVER () > 0 FROM emp ORDER BY id",
    ],
)))

# ---------------------------------------------------------------- CASE, NULL semantics
section("case_null", [
    "SELECT name, CASE WHEN salary > 7000 THEN 'high' WHEN salary > 5000 THEN 'mid' ELSE 'low' END FROM emp ORDER BY id",
    "SELECT name, CASE dept_id WHEN 1 THEN 'eng' WHEN 2 THEN 'sales' END FROM emp ORDER BY id",
    "SELECT CASE WHEN NULL THEN 1 ELSE 2 END",
    "SELECT coalesce(NULL, NULL, 3)",
    "SELECT name, coalesce(salary, 0) FROM emp ORDER BY id",
    "SELECT nullif(1, 1), nullif(1, 2)",
    "SELECT name, nullif(dept_id, 1) FROM emp ORDER BY id",
    "SELECT greatest(1, 5, 3), least(1, 5, 3)",
    "SELECT greatest(1, NULL, 3), least(NULL, 2)",
    "SELECT NULL = NULL, NULL IS NULL, NULL <> 1",
    "SELECT NULL AND false, NULL AND true, NULL OR true, NULL OR false",
    "SELECT NOT NULL::boolean",
    "SELECT 1 IN (1, NULL), 2 IN (1, NULL), 2 NOT IN (1, NULL)",
    "SELECT NULL::int + 1, NULL || 'x'",
    "SELECT count(*) FROM emp WHERE dept_id = NULL",
    "SELECT sum(CASE WHEN active THEN 1 ELSE 0 END) FROM emp",
    "SELECT name FROM emp WHERE coalesce(active, false) ORDER BY id",
    "SELECT 1 IS DISTINCT FROM NULL, NULL IS NOT DISTINCT FROM NULL",
    "SELECT CASE WHEN x > 0 THEN 'pos' WHEN x < 0 THEN 'neg' WHEN x = 0 THEN 'zero' END FROM nums ORDER BY n NULLS LAST",
    "SELECT s IS NULL, n IS NULL FROM nums ORDER BY n NULLS FIRST",
])

# ---------------------------------------------------------------- scalar expressions
exprs = [
    # math
    "1 + 2 * 3", "(1 + 2) * 3", "7 / 2", "7 % 3", "-7 / 2", "-7 % 3", "7.0 / 2", "2 ^ 10", "abs(-5)", "abs(-5.5)",
    "ceil(4.2)", "floor(4.8)", "round(4.5)", "round(-4.5)", "round(3.14159, 2)", "trunc(3.99)", "trunc(-3.99)",
    "sqrt(16)", "cbrt(27)", "power(2, 8)", "exp(0)", "ln(1)", "log(100)", "log10(1000)", "mod(10, 3)", "sign(-3)",
    "pi()", "degrees(pi())", "radians(180)", "sin(0)", "cos(0)", "gcd(12, 18)", "lcm(4, 6)", "div(7, 2)",
    "1.5 + 2.25", "0.1 + 0.2", "10::numeric / 4", "1e3", "2147483647 + 0", "9223372036854775807", "-0.0",
    "width_bucket(5, 0, 10, 4)", "factorial(5)",
    # strings
    "'abc' || 'def'", "length('hello')", "char_length('héllo')", "octet_length('héllo')", "upper('abc')", "lower('ABC')",
    "initcap('hello world')", "substr('hello', 2, 3)", "substring('hello' from 2 for 3)", "position('l' in 'hello')",
    "strpos('hello', 'lo')", "left('hello', 2)", "right('hello', 2)", "lpad('7', 3, '0')", "rpad('ab', 5, '-')",
    "trim('  x  ')", "ltrim('xxay', 'x')", "rtrim('ayxx', 'x')", "btrim('xaybx', 'x')", "replace('banana', 'a', 'o')",
    "reverse('abc')", "repeat('ab', 3)", "split_part('a,b,c', ',', 2)", "concat('a', NULL, 'b')", "concat_ws('-', 'a', 'b', NULL, 'c')",
    "translate('hello', 'el', 'ip')", "ascii('A')", "chr(66)", "md5('abc')", "to_hex(255)", "starts_with('hello', 'he')",
    "'abc' < 'abd'", "'a' = 'a'", "format('%s-%s', 'x', 'y')", "quote_ident('Hello')", "quote_literal('it''s')",
    "regexp_replace('abc123', '[0-9]+', 'X')", "'abc' ~ 'b'", "'abc' ~* 'B'", "'abc' !~ 'z'", "string_to_array('a,b,c', ',')",
    "array_to_string(ARRAY[1, 2, 3], ';')", "'x' || 1", "1 || 'x'",
    # dates and times
    "DATE '2024-02-28' + 1", "DATE '2024-03-01' - DATE '2024-02-01'", "DATE '2024-01-31' + INTERVAL '1 month'",
    "TIMESTAMP '2024-01-01 10:00:00' + INTERVAL '90 minutes'", "extract(year FROM DATE '2024-05-17')",
    "extract(month FROM TIMESTAMP '2024-05-17 10:20:30')", "extract(dow FROM DATE '2024-05-17')",
    "extract(doy FROM DATE '2024-05-17')", "extract(epoch FROM TIMESTAMP '2024-01-01 00:00:00')",
    "date_part('hour', TIMESTAMP '2024-05-17 10:20:30')", "date_trunc('month', TIMESTAMP '2024-05-17 10:20:30')",
    "date_trunc('year', DATE '2024-05-17')", "date_trunc('hour', TIMESTAMP '2024-05-17 10:20:30')",
    "to_char(DATE '2024-05-17', 'YYYY-MM-DD')", "to_char(TIMESTAMP '2024-05-17 10:20:30', 'HH24:MI')",
    "to_date('2024-05-17', 'YYYY-MM-DD')", "make_date(2024, 2, 29)", "INTERVAL '1 day' * 3",
    "INTERVAL '2 hours 30 minutes'", "TIMESTAMP '2024-03-10 12:00:00' - TIMESTAMP '2024-03-09 10:30:00'",
    "DATE '2024-05-17' < DATE '2024-06-01'", "age(TIMESTAMP '2024-05-17', TIMESTAMP '2020-01-01')",
    # casts
    "CAST('42' AS int)", "'42'::bigint + 1", "'3.5'::numeric", "3.7::int", "(-3.5)::int", "'true'::boolean",
    "'f'::boolean", "1::boolean", "42::text", "'2024-05-17'::date", "'2024-05-17 10:20:30'::timestamp",
    "CAST(1.23456 AS numeric(5, 2))", "'1e2'::float8", "10::float8 / 4", "CAST(NULL AS int)", "'abc'::varchar(2)",
    "CAST(255 AS smallint)", "2.5::float4", "'12:34:56'::time", "CAST('1 day' AS interval)",
    # errors
    "1 / 0", "'abc'::int", "CAST('2024-13-01' AS date)", "sqrt(-1)", "ln(0)", "2147483647::int + 1",
    "'x'::boolean", "99999::smallint", "1 % 0",
    # floats as PostgreSQL computes them: next to numerics and integers in
    # double precision, halves rounded to even, ranges checked
    "real '1004.3' = 1004.3", "real '1.5' + 1", "float8 '1e20' > 1.5", "'NaN'::float8 > 1.5",
    "round(2.5::float8)", "3.7::float8::int4", "(-2.5)::float8::int4", "|/ 16::float8",
    "'1e400'::float8", "'10e70'::float4", "1e300::float8 * 1e300::float8", "1::float8 / 0", "exp(1000::float8)",
    "ARRAY['a b', NULL, 'c']::text", "'5:32 PM'::time", "'24:00:00'::time",
    # PostgreSQL's regular expressions: back references, lookaround, word
    # constraints, options, positions in characters, the set-returning forms
    "'abab' ~ '^(ab)\\1$'", "'a' || chr(10) || 'b' ~ 'a.b'", "regexp_like('a' || chr(10) || 'b', 'a.b', 'n')", "'foo bar' ~ '\\mbar\\M'",
    "regexp_match('héllo wörld', 'w(.)r')", "regexp_instr('héllo', 'l+', 1, 1, 1)", "regexp_count('abcabc', 'B', 1, 'i')",
    "regexp_substr('a1b22c333', '[0-9]+', 1, 3)", "regexp_replace('foobar', '(o+)', '<\\1>', 'g')",
    "regexp_split_to_array('a, b,c', ',\\s*')", "regexp_matches('a1b2', '[a-z]([0-9])', 'g')",
    "'abc' SIMILAR TO 'a_c'", "'abc' NOT SIMILAR TO '(a|x)%'", "substring('abcdefg' from 'a#\"(b_d)#\"%' for '#')",
    "regexp_match('abc', 'x(')", "regexp_like('abc', 'a', 'g')", "'x' ~ 'a\\q'",
    # time zones by region, abbreviation (fixed or changing), POSIX text and
    # interval; clocks skipped and repeated; PostgreSQL's to_char patterns
    "TIMESTAMPTZ '2011-03-26 21:00:00+00' AT TIME ZONE 'MSK'", "TIMESTAMP '2011-03-27 02:30:00' AT TIME ZONE 'Europe/Moscow'",
    "TIMESTAMP '2014-10-26 01:30:00' AT TIME ZONE 'europe/moscow'", "TIMESTAMP '2020-01-01 00:00' AT TIME ZONE 'UTC+3'",
    "TIMESTAMPTZ '2020-07-01 12:00+00' AT TIME ZONE INTERVAL '-05:30'", "'2011-03-27 02:00:00 MSK'::timestamptz",
    "'1997-02-10 17:32:01 IST'::timestamptz", "'2014-10-26 01:00:00 Europe/Moscow'::timestamptz",
    "make_timestamptz(2014, 12, 10, 10, 10, 10, 'PST8PDT,M3.2.0,M11.1.0')", "make_timestamptz(1973, 7, 15, 8, 15, 55.33, '+2')",
    "make_timestamp(-44, 3, 15, 12, 0, 0)", "date_trunc('day', TIMESTAMPTZ '2001-02-16 20:38:40+00', 'Australia/Sydney')",
    "to_char(TIMESTAMP '1997-02-10 17:32:01.5', 'FMDay, DDth FMMonth Y,YYY HH12:MI:SS.MS P.M. IYYY-IW-ID J Q RM')",
    "to_char(TIMESTAMPTZ '2020-07-01 12:00+00', 'YYYY-MM-DD HH24:MI:SS TZ OF \"tz\" tzh:tzm')",
    "to_char(TIMESTAMP '0044-03-15 12:00 BC', 'YYYY B.C. CC Dy')",
    "TIMESTAMP '2020-01-01' AT TIME ZONE 'Mars/Olympus'", "make_timestamptz(2014, 12, 10, 10, 10, 10, '+16')",
    "make_timestamp(2013, 2, 30, 0, 0, 0)",
    # degrees exact at the special angles, gcd/lcm in the arguments' type,
    # make_interval's named arguments, a text literal beside a float
    "sind(30)", "cosd(120)", "tand(135)", "cotd(45)", "asind(0.5)", "acosd(-0.5)", "atan2d(1, -1)", "sind('infinity')",
    "gcd(12, 18)", "lcm(4::int8, 6)", "gcd((-2147483648)::int4, 0)", "asin(2::float8)", "acosh(0.5::float8)",
    "make_interval(years := 1, months := -1, weeks := 5, days := -7, hours := 25, mins := -180, secs := 1.5)",
    "make_interval(days := 3)", "2.0::float8 ^ '2.0'",
    # concat spells its arguments as their output functions do
    "concat(1, true, false, DATE '2010-03-09', TIMESTAMP '2020-01-01 10:00', 2.50)", "concat_ws('#', 'a', true, NULL, 1.5::float8)",
]
section("expression", [f"SELECT {e}" for e in exprs])

# ---------------------------------------------------------------- expressions over tables
section("table_expr", [
    "SELECT id, salary * 12 FROM emp ORDER BY id",
    "SELECT id, salary / 2 FROM emp ORDER BY id",
    "SELECT id, round(salary / 3, 2) FROM emp ORDER BY id",
    "SELECT id, amount * qty FROM sales ORDER BY id",
    "SELECT id, amount / qty FROM sales ORDER BY id",
    "SELECT id, qty / 3, qty % 3 FROM sales ORDER BY id",
    "SELECT name, length(name), upper(name) FROM emp ORDER BY id",
    "SELECT name, substr(name, 1, 2) || '.' FROM emp ORDER BY id",
    "SELECT name, hired + 30 FROM emp ORDER BY id",
    "SELECT name, extract(year FROM hired) FROM emp ORDER BY id",
    "SELECT name, date_trunc('month', hired) FROM emp ORDER BY id",
    "SELECT id, sold_at::date FROM sales ORDER BY id",
    "SELECT id, extract(hour FROM sold_at) FROM sales ORDER BY id",
    "SELECT id, to_char(sold_at, 'YYYY-MM') FROM sales ORDER BY id",
    "SELECT id, salary::int FROM emp ORDER BY id",
    "SELECT id, salary::float8 FROM emp ORDER BY id",
    "SELECT id, salary::text FROM emp ORDER BY id",
    "SELECT id, amount::numeric(10, 1) FROM sales ORDER BY id",
    "SELECT n, x, x * 2, -x FROM nums ORDER BY n NULLS LAST",
    "SELECT n, abs(x), sign(x) FROM nums ORDER BY n NULLS LAST",
    "SELECT n, s, lower(s), reverse(s) FROM nums ORDER BY n NULLS LAST",
    "SELECT n * 1000000000 FROM nums ORDER BY n NULLS LAST",
    "SELECT n::bigint * 3000000000 FROM nums ORDER BY n NULLS LAST",
    "SELECT name || ' (' || coalesce(dept_id::text, '-') || ')' FROM emp ORDER BY id",
    "SELECT id, budget / 1000 FROM dept ORDER BY id",
    "SELECT region, upper(coalesce(region, 'none')) FROM dept ORDER BY id",
    "SELECT id, salary > 6000 AND active FROM emp ORDER BY id",
    "SELECT id, hired BETWEEN '2019-01-01' AND '2020-12-31' FROM emp ORDER BY id",
    "SELECT product, length(product) FROM sales ORDER BY id",
    "SELECT x FROM nums WHERE x = 0",
])

# ---------------------------------------------------------------- errors
section("error", [
    "SELECT * FROM no_such_table",
    "SELECT no_such_column FROM emp",
    "SELECT name FROM emp WHERE",
    "SELEC 1",
    "SELECT name, count(*) FROM emp",
    "SELECT * FROM emp e JOIN dept d ON e.dept_id = d.id WHERE id = 1",
    "SELECT 'a' + 1",
    "SELECT no_such_function(1)",
    "SELECT sum(name) FROM emp",
    "SELECT 1 FROM emp GROUP BY no_col",
    "SELECT (SELECT id FROM emp)",
    "INSERT INTO emp (id) VALUES (NULL)",
    "SELECT * FROM emp ORDER BY 99",
    "SELECT salary / 0 FROM emp",
    "SELECT CAST(name AS int) FROM emp",
    "SELECT id FROM emp LIMIT -1",
    "SELECT DATE 'not a date'",
    "SELECT 1 UNION SELECT 'a', 2",
    "SELECT 'no_such_table'::regclass",
])
# ---------------------------------------------------------------- DML
section("dml", [
    "CREATE TABLE scratch (k int, v text)",
    "INSERT INTO scratch VALUES (1, 'a'), (2, 'b'), (3, NULL)",
    "INSERT INTO scratch SELECT id, name FROM emp WHERE id > 8",
    "SELECT * FROM scratch ORDER BY k",
    "UPDATE scratch SET v = 'z' WHERE k = 2",
    "UPDATE scratch SET v = upper(v) WHERE v IS NOT NULL",
    "SELECT * FROM scratch ORDER BY k",
    "DELETE FROM scratch WHERE v IS NULL",
    "DELETE FROM scratch WHERE k > 100",
    "SELECT count(*) FROM scratch",
    "UPDATE scratch SET k = k + 10",
    "SELECT k FROM scratch ORDER BY k",
    "INSERT INTO scratch (k) VALUES (5)",
    "SELECT * FROM scratch WHERE v IS NULL",
    "DELETE FROM scratch",
    "SELECT count(*) FROM scratch",
    "DROP TABLE scratch",
    # char(n): stored and shown padded; compared, measured, joined and
    # listed without the padding; LIKE sees it
    "CREATE TABLE padded (c char(4), v varchar(6))",
    "INSERT INTO padded VALUES ('a', 'a'), ('ab  ', 'ab '), ('abcd', 'abcd')",
    "SELECT c, c = 'a', c || '|', length(c), c < 'ab', c <> 'ab', c LIKE 'a_' FROM padded ORDER BY 1",
    "SELECT count(*) FROM padded WHERE c = 'ab'",
    "SELECT c FROM padded WHERE c IN ('a', 'abcd') ORDER BY c",
    "SELECT a.c, b.v FROM padded a JOIN padded b ON a.c = b.c ORDER BY 1",
    "DROP TABLE padded",
])

# ---------------------------------------------------------------- analytical queries
section("analytics", [
    "SELECT d.region, e.active, count(*), sum(e.salary) FROM emp e JOIN dept d ON d.id = e.dept_id GROUP BY d.region, e.active ORDER BY 1 NULLS FIRST, 2",
    "SELECT product, date_trunc('month', sold_at) AS m, sum(amount) FROM sales GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2",
    "SELECT e.name, sum(s.qty) AS units FROM emp e JOIN sales s ON s.emp_id = e.id GROUP BY e.name HAVING sum(s.qty) > 3 ORDER BY units DESC",
    "SELECT d.name, max(e.salary) - min(e.salary) FROM dept d JOIN emp e ON e.dept_id = d.id GROUP BY d.name ORDER BY 1",
    "SELECT extract(quarter FROM sold_at) AS q, count(*), sum(qty) FROM sales GROUP BY 1 ORDER BY 1",
    "SELECT product, count(*) * 100 / (SELECT count(*) FROM sales) AS pct FROM sales GROUP BY product ORDER BY product NULLS LAST",
    "SELECT e.name, s.amount, s.amount / sum(s.amount) OVER () AS share FROM sales s JOIN emp e ON e.id = s.emp_id WHERE s.amount IS NOT NULL ORDER BY s.id",
    "SELECT dept_id, name, salary, salary - avg(salary) OVER (PARTITION BY dept_id) AS diff FROM emp WHERE dept_id IS NOT NULL AND salary IS NOT NULL ORDER BY dept_id, id",
    "SELECT hired, count(*) OVER (ORDER BY hired) FROM emp ORDER BY hired",
    "SELECT name FROM emp WHERE salary >= (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY salary) FROM emp) ORDER BY 1",
    "SELECT d.name, count(e.id) FILTER (WHERE e.active) AS active, count(e.id) AS total FROM dept d LEFT JOIN emp e ON e.dept_id = d.id GROUP BY d.name ORDER BY 1",
    "SELECT region, string_agg(name, ', ' ORDER BY name) FROM dept GROUP BY region ORDER BY region NULLS LAST",
    "SELECT product, min(sold_at), max(sold_at) FROM sales GROUP BY product ORDER BY product NULLS FIRST",
    "SELECT emp_id, count(*) FROM sales GROUP BY emp_id HAVING count(*) >= 2 ORDER BY emp_id",
    "SELECT CASE WHEN amount >= 100 THEN 'big' ELSE 'small' END AS size, count(*) FROM sales GROUP BY 1 ORDER BY 1",
    "SELECT date_trunc('week', sold_at), count(*) FROM sales GROUP BY 1 ORDER BY 1",
    "SELECT e.name, d.name, e.salary FROM emp e JOIN dept d ON d.id = e.dept_id ORDER BY e.salary DESC LIMIT 3",
    "SELECT d.name, (SELECT count(*) FROM emp e WHERE e.dept_id = d.id) FROM dept d ORDER BY d.id",
    "SELECT a.product, a.n, b.n FROM (SELECT product, count(*) n FROM sales GROUP BY 1) a JOIN (SELECT product, sum(qty) n FROM sales GROUP BY 1) b ON a.product = b.product ORDER BY 1",
    "SELECT sum(amount) FILTER (WHERE product = 'widget'), sum(amount) FILTER (WHERE product <> 'widget') FROM sales",
    "SELECT name, hired, hired - lag(hired) OVER (ORDER BY hired) FROM emp ORDER BY hired",
    "SELECT id, sold_at, sold_at - lag(sold_at) OVER (ORDER BY sold_at) FROM sales ORDER BY id",
    "SELECT count(*) FROM emp WHERE hired BETWEEN DATE '2019-01-01' AND DATE '2021-12-31' AND active",
    "SELECT upper(substr(name, 1, 1)) AS initial, count(*) FROM emp GROUP BY 1 ORDER BY 1",
    "SELECT avg(amount)::numeric(10, 2) FROM sales",
])

section("more_expression", [f"SELECT {e}" for e in [
    "abs(-2147483647)", "5 / 2.0", "round(2.675, 2)", "round(123.456, -1)", "ceil(-4.2)", "floor(-4.2)",
    "1 = 1.0", "'10' = '10.0'", "10 > 9.5", "3 BETWEEN 1 AND 5", "'b' BETWEEN 'a' AND 'c'",
    "length('')", "'' IS NULL", "upper(NULL)", "coalesce('', 'x')", "substr('hello', 0, 2)", "substr('hello', 3)",
    "position('z' in 'hello')", "split_part('a,b,c', ',', 5)", "lpad('hello', 3)", "repeat('x', 0)",
    "replace('aaa', 'a', '')", "'Hello' LIKE 'h%'", "'Hello' ILIKE 'h%'", "'a_c' LIKE 'a\\_c'", "'50%' LIKE '50%'",
    "array_length(ARRAY[1, 2, 3], 1)", "ARRAY[1, 2] || ARRAY[3]", "(ARRAY[10, 20, 30])[2]", "cardinality(ARRAY[1, 2])",
    "array_position(ARRAY['a', 'b'], 'b')", "3 = ANY (ARRAY[1, 2, 3])", "5 > ALL (ARRAY[1, 2, 3])",
    "DATE '2024-12-31' + 1", "DATE '2024-02-29' - 365", "extract(week FROM DATE '2024-01-01')", "extract(isodow FROM DATE '2024-05-19')",
    "date_trunc('quarter', DATE '2024-05-17')", "date_trunc('day', TIMESTAMP '2024-05-17 23:59:59')",
    "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL '1 day 2 hours'", "INTERVAL '1 hour' + INTERVAL '30 minutes'",
    "INTERVAL '3 days' - INTERVAL '1 day'", "extract(day FROM INTERVAL '3 days 4 hours')", "'2024-05-17'::date = '2024-05-17'::timestamp",
    "TIMESTAMP '2024-05-17 10:00:00' > DATE '2024-05-17'", "to_char(1234.5, '9999.99')", "to_number('12.5', '99.9')",
    "CAST(3.99 AS int)", "CAST(-0.5 AS int)", "CAST(2.5 AS int)", "CAST(0.5 AS int)", "'  42  '::int", "'0x1F'::int",
    "CAST('12.30' AS numeric)", "CAST(1.0 AS text)", "CAST(1.50 AS float8)::text", "12.5::numeric(3, 1)", "123.45::numeric(4, 1)",
    "true AND NULL", "NOT (1 > 2)", "(1, 2) = (1, 2)", "(1, 2) < (1, 3)", "typeof_is_not_a_function(1)",
    "pg_typeof(1)", "pg_typeof(1.5)", "pg_typeof('a'::text)", "pg_typeof(1::bigint)", "pg_typeof(now()::date)",
    "substring('fillfactor=70,x' FROM 'fillfactor=([0-9]*)')", "substring('abc' FROM 'b.')", "substring('abc' FROM 'z') IS NULL",
]])

# ---------------------------------------------------------------- information_schema
section("information_schema", [
    "CREATE TABLE typed (id bigint PRIMARY KEY, code varchar(12) DEFAULT 'none', tag char(3), price numeric(10, 2), ratio real, at timestamptz, span interval, days date[], note text NOT NULL)",
    "CREATE VIEW rich AS SELECT id, name FROM emp WHERE salary > 7000",
    "SELECT table_name, column_name, ordinal_position, column_default, is_nullable, data_type, character_maximum_length, character_octet_length, numeric_precision, numeric_precision_radix, numeric_scale, datetime_precision, udt_name, dtd_identifier, is_identity, is_generated FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    "SELECT table_catalog, table_schema, table_name, table_type, is_typed FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    "SELECT catalog_name, schema_name, schema_owner FROM information_schema.schemata ORDER BY schema_name",
    "SELECT constraint_name, table_name, constraint_type, is_deferrable, initially_deferred, enforced FROM information_schema.table_constraints WHERE table_schema = 'public' AND constraint_type <> 'CHECK'",
    "SELECT table_name, count(*) FROM information_schema.table_constraints WHERE table_schema = 'public' AND constraint_type = 'CHECK' GROUP BY table_name ORDER BY 1",
    "SELECT k.column_name, k.ordinal_position, c.constraint_type FROM information_schema.key_column_usage k JOIN information_schema.table_constraints c ON c.constraint_name = k.constraint_name AND c.table_name = k.table_name WHERE k.table_schema = 'public'",
    "SELECT table_name, column_name, constraint_name FROM information_schema.constraint_column_usage WHERE table_schema = 'public'",
    "SELECT count(*) FROM information_schema.referential_constraints",
    "SELECT table_name, check_option FROM information_schema.views WHERE table_schema = 'public'",
    "DROP VIEW rich",
    "DROP TABLE typed",
    "SELECT 'dept'::regclass, 'public.emp'::regclass::text, 'pg_class'::regclass",
    "SELECT c.oid::regclass AS rel, a.attname, a.atttypid::regtype FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.oid = 'emp'::regclass AND a.attnum > 0 ORDER BY a.attnum",
    "SELECT count(*) FROM pg_attribute WHERE attrelid = 'dept'::regclass AND attrelid::regclass::text = 'dept' AND attnum > 0",
    "SELECT to_regtype('int4'), to_regtype('character varying'), to_regtype('no_such_type') IS NULL AS missing",
    "SELECT count(*) FROM pg_type WHERE oid = to_regtype('int8')",
])

# ---------------------------------------------------------------- primary keys
section("primary_key", [
    "CREATE TABLE pk (id int PRIMARY KEY, v text)",
    "INSERT INTO pk VALUES (1, 'a'), (2, 'b')",
    "INSERT INTO pk VALUES (3, 'c'), (3, 'd')",
    "INSERT INTO pk VALUES (2, 'x')",
    "INSERT INTO pk SELECT id + 10, name FROM emp",
    "INSERT INTO pk SELECT id, name FROM emp WHERE id = 1",
    "INSERT INTO pk VALUES (NULL, 'n')",
    "UPDATE pk SET id = 1 WHERE id = 2",
    "UPDATE pk SET id = id + 100 WHERE id > 10",
    "UPDATE pk SET v = 'bb' WHERE id = 2",
    "SELECT count(*), min(id), max(id), count(DISTINCT id) FROM pk",
    "CREATE TABLE pk2 (a int, b text, PRIMARY KEY (a, b))",
    "INSERT INTO pk2 VALUES (1, 'x'), (1, 'y'), (2, 'x')",
    "INSERT INTO pk2 VALUES (1, 'x')",
    "INSERT INTO pk2 VALUES (1, 'z')",
    "SELECT a, b FROM pk2 ORDER BY a, b",
    "DROP TABLE pk",
    "DROP TABLE pk2",
])

# ---------------------------------------------------------------- LATERAL, generate_series, WITH TIES
section("lateral_series", [
    "SELECT d.name, e.name FROM dept d, LATERAL (SELECT name FROM emp WHERE dept_id = d.id ORDER BY salary DESC NULLS LAST LIMIT 1) e ORDER BY 1",
    "SELECT d.id, x FROM dept d, LATERAL (SELECT d.id * 10 AS x) s ORDER BY 1",
    "SELECT d.id, v FROM dept d LEFT JOIN LATERAL (SELECT e.id AS v FROM emp e WHERE e.dept_id = d.id AND e.salary > 9000 LIMIT 1) s ON true ORDER BY 1",
    "SELECT d.id, s.n FROM dept d LEFT JOIN LATERAL (SELECT count(*) AS n FROM emp e WHERE e.dept_id = d.id) s ON s.n > 1 ORDER BY 1",
    "SELECT d.id, g FROM dept d, LATERAL generate_series(1, d.id) g ORDER BY 1, 2",
    "SELECT d.id, g FROM dept d CROSS JOIN generate_series(d.id, 3) AS s(g) ORDER BY 1, 2",
    "SELECT d.id, u FROM dept d, LATERAL unnest(ARRAY[d.id, d.id + 100]) u ORDER BY 1, 2",
    "SELECT * FROM (VALUES (1), (2)) x(a), LATERAL (VALUES (a), (a * 2)) y(b) ORDER BY 1, 2",
    "SELECT e.name, t.total FROM emp e, LATERAL (SELECT sum(amount) AS total FROM sales WHERE emp_id = e.id) t WHERE t.total IS NOT NULL ORDER BY 1",
    "SELECT d.id FROM dept d RIGHT JOIN LATERAL (SELECT d.id AS x) s ON true",
    "SELECT generate_series(1, 3) AS g, pg_typeof(generate_series(1, 3))::text",
    "SELECT id, generate_series(1, id) FROM dept WHERE id < 4 ORDER BY 1, 2",
    "SELECT g, pg_typeof(g)::text FROM generate_series(1, 2) g",
    "SELECT * FROM generate_series(10, 1, -4) AS s(i)",
    "SELECT * FROM generate_series('2024-01-01'::timestamp, '2024-01-02', '12 hours')",
    "SELECT * FROM generate_series('2024-03-01'::date, '2024-03-03'::date, '1 day'::interval)",
    "SELECT count(*), pg_typeof(min(g))::text FROM generate_series(1::bigint, 1000) g",
    "SELECT * FROM generate_series(1.5, 4)",
    "SELECT generate_series(1, 5, 0)",
    "SELECT * FROM generate_series(1, NULL)",
    "SELECT * FROM generate_series(2147483640, 2147483647, 3)",
    "SELECT * FROM generate_series(1.5::float8, 3)",
    "SELECT salary FROM emp ORDER BY salary FETCH FIRST 3 ROWS WITH TIES",
    "SELECT salary FROM emp ORDER BY 1 DESC NULLS LAST OFFSET 1 FETCH FIRST 1 ROW WITH TIES",
    "SELECT dept_id, count(*) FROM emp GROUP BY dept_id ORDER BY count(*) DESC FETCH FIRST 1 ROWS WITH TIES",
    "SELECT name FROM emp ORDER BY id USING > LIMIT 3",
    "SELECT name, dept_id FROM emp WHERE dept_id IS NOT NULL ORDER BY dept_id USING <, id USING > LIMIT 4",
    "SET work_mem = '64kB'",
    "SHOW work_mem",
    "SET work_mem = 65536",
    "SHOW work_mem",
    "RESET work_mem",
    "SET parallel_setup_cost = 0",
    "SHOW parallel_setup_cost",
    "SET jit_above_cost TO DEFAULT",
    "SHOW max_parallel_workers_per_gather",
])

section("numeric_scale", [
    "SELECT scale(1.12345), scale(0.0), scale(numeric 'NaN'), min_scale(1.1000), min_scale(0.00), trim_scale(1.1000), trim_scale(-13.000000000000000), trim_scale(numeric 'NaN')",
    "SELECT id, scale(salary), min_scale(salary) FROM emp ORDER BY id",
    "SELECT scale(2.5::float8)",
    "SELECT scale(7), min_scale(120), trim_scale(5)",
])

section("row_subqueries", [
    "SELECT id, name FROM emp WHERE (dept_id, active) IN (SELECT id, region = 'north' FROM dept) ORDER BY id",
    "SELECT id FROM emp WHERE (dept_id, manager_id) NOT IN (SELECT dept_id, id FROM emp WHERE salary > 6000) ORDER BY id",
    "SELECT id, (dept_id, manager_id) IN (SELECT dept_id, id FROM emp e2 WHERE e2.salary > 6000) AS inside FROM emp ORDER BY id",
    "SELECT id FROM emp e WHERE (dept_id, id) IN (SELECT dept_id, max(id) FROM emp GROUP BY dept_id) ORDER BY id",
    "SELECT d.id FROM dept d WHERE (d.id, d.id) IN (SELECT e.dept_id, e.dept_id FROM emp e WHERE e.salary > d.budget / 200) ORDER BY 1",
    "SELECT id, (SELECT max(e2.salary) FROM emp e2 WHERE e2.dept_id = e.dept_id OR e2.manager_id = e.id) AS top FROM emp e ORDER BY id",
    "SELECT id FROM emp e WHERE salary < (SELECT avg(salary) FROM emp e2 WHERE e2.dept_id = e.dept_id OR e.dept_id IS NULL) ORDER BY id",
    "SELECT count(*) FROM emp WHERE id > 3 AND NULL",
    "SELECT count(*) FROM emp WHERE NULL OR id = 2",
])

section("bytea_functions", [
    "SELECT get_bit('\\x1234567890abcdef00'::bytea, 43), set_bit('\\x1234567890abcdef00'::bytea, 43, 0), get_byte('\\x1234567890abcdef00'::bytea, 3), set_byte('\\x1234567890abcdef00'::bytea, 7, 11), bit_count('\\x1234567890'::bytea)",
    "SELECT get_byte('\\x1234'::bytea, 2)",
    "SELECT set_bit('\\x1234'::bytea, 16, 1)",
    "SELECT set_bit('\\x1234'::bytea, 3, 2)",
    "SELECT SUBSTRING('1234567890'::bytea FROM 3), SUBSTRING('1234567890'::bytea FROM 4 FOR 3), substr('string'::bytea, -10, 14), substr('hello'::bytea, 2)",
    "SELECT SUBSTRING('string'::bytea FROM 2 FOR -1)",
    "SELECT SUBSTRING('string' FROM -10 FOR -2147483646)",
    "SELECT substr(name, 2, 3), substring(name FROM 1 FOR 2) FROM emp WHERE id < 4 ORDER BY id",
])

section("call_spellings", [
    "SELECT concat(VARIADIC ARRAY[1, 2, 3]), concat_ws('-', VARIADIC ARRAY['a', NULL, 'c']), concat(VARIADIC NULL::int[]) IS NULL, concat(VARIADIC '{}'::int[]) = ''",
    "SELECT format('%s and %s', VARIADIC ARRAY[true, false]), format('%2$s %1$s', VARIADIC ARRAY['x', 'y']), format('none', VARIADIC NULL::text[])",
    "SELECT concat_ws(',', VARIADIC 10)",
    "SELECT format(string_agg('%s', '+'), VARIADIC array_agg(id)) FROM emp WHERE id < 5",
    "SELECT TRIM(BOTH FROM '  x  '), TRIM(LEADING FROM '  x  '), TRIM(TRAILING FROM '  x  '), trim(FROM '  y ')",
    "SELECT float8(2), int4(2.5), int8(7), int2(4), float4(1.5), text(12), bool('yes'), date('2024-02-29')",
    "SELECT float8(count(*)) / 3 FROM emp",
    "SELECT 'a'::\"char\", '\\101'::\"char\", '\\377'::\"char\"::text, 'xyz'::text::\"char\", ''::\"char\" = ''",
    "SELECT name('abc'), 'abc'::name = 'abc'",
    "VALUES ('a'::varchar(3)), ('b'), (NULL)",
    "SELECT * FROM (VALUES ('x'::name, 1), ('y', 2)) v(n, i) ORDER BY i",
])

section("string_literals", [
    "SELECT U&'d\\0061t\\+000061' AS U&\"d\\0061t\\+000061\", U&'d!0061t' UESCAPE '!', u&'\\D83D\\DE00'",
    "SELECT U&'wrong: \\061'",
    "SELECT U&'wrong: +0061' UESCAPE '+'",
    "SELECT unistr('d\\u0061t\\U000000610'), unistr('\\0064at\\+0000610'), unistr('a\\\\b')",
    "SELECT unistr('wrong: \\db99')",
    "SELECT unistr('wrong: \\U002FFFFF')",
    "SELECT SUBSTRING('abcdefg' SIMILAR 'a#\"(b_d)#\"%' ESCAPE '#'), SUBSTRING('abcdefg' SIMILAR 'a*#\"%#\"g*' ESCAPE '#'), SUBSTRING('foobar' SIMILAR '%#\"o_b#\"%' ESCAPE '#'), SUBSTRING('foobar' SIMILAR '#\"o_b#\"%' ESCAPE '#') IS NULL",
    "SELECT SUBSTRING(name SIMILAR '%#\"a_#\"%' ESCAPE '#') FROM emp ORDER BY id",
    "SELECT SUBSTRING('abcdefg' SIMILAR 'a*#\"%#\"g*#\"x' ESCAPE '#')",
    "SELECT chr(65), chr(233), chr(NULL)",
    "SELECT chr(0)",
    "SELECT chr(-1)",
])

section("date_bin", [
    "SELECT date_bin('15 minutes', timestamp '2020-02-11 15:44:17', timestamp '2001-01-01'), date_bin('1 hour', timestamp '1999-12-31 22:30', timestamp '2000-01-01 00:15'), date_bin('1 day', 'infinity'::timestamp, timestamp '2000-01-01')",
    "SELECT date_bin('15 minutes', timestamptz '2020-02-11 15:44:17+03', timestamptz '2001-01-01')",
    "SELECT id, date_bin('2 days', hired::timestamp, timestamp '2020-01-01') FROM emp ORDER BY id",
    "SELECT date_bin('5 months'::interval, timestamp '2020-02-01 01:01:01', timestamp '2001-01-01')",
    "SELECT date_bin('-2 days'::interval, timestamp '1970-01-01 01:00:00', timestamp '1970-01-01 00:00:00')",
    "SELECT date_bin('1 day', now(), 'infinity'::timestamp)",
])

section("bytea_forms", [
    "SELECT trim(E'\\\\000'::bytea FROM E'\\\\000Tom\\\\000'::bytea), trim(LEADING E'\\\\000'::bytea FROM E'\\\\000Tom\\\\000'::bytea), trim(TRAILING E'\\\\000'::bytea FROM E'\\\\000Tom\\\\000'::bytea)",
    "SELECT btrim(E'\\\\000trim\\\\000'::bytea, E'\\\\000'::bytea), btrim(''::bytea, E'\\\\000'::bytea), btrim(E'\\\\000trim\\\\000'::bytea, ''::bytea)",
    "SELECT octet_length('abc'::bytea), octet_length('héllo'), length('abc'::bytea)",
    "SELECT encode('\\x1234567890abcdef00', 'escape'), encode('abc'::bytea, 'base64'), encode('\\x1234', 'hex')",
    "SELECT decode(encode('\\x1234567890abcdef00', 'escape'), 'escape'), decode('YWJj', 'base64'), decode('6162', 'hex')",
    "SELECT decode(name, 'escape') FROM emp ORDER BY id",
    "SELECT decode('a\\9', 'escape')",
    "SELECT encode(overlay(E'Th\\\\000omas'::bytea PLACING E'\\\\002\\\\003'::bytea FROM 5 FOR 3), 'escape')",
])

section("repeated_columns", [
    "SELECT id, name, id FROM emp ORDER BY id",
    "SELECT id, emp.id, 1 AS x, 2 AS x, id + 1, id + 1 FROM emp ORDER BY 1",
    "SELECT count(*) FROM (SELECT DISTINCT dept_id, dept_id FROM emp) s",
    "SELECT * FROM (SELECT name, name FROM emp WHERE id < 3) s ORDER BY 1",
    "SELECT 5::int8 & 3, 5::int8 | 3, 5::int8 # 3, ~5::int8, ~5, ~5::int2, ~NULL::int",
    "SELECT id, ~id, id # 1 FROM emp ORDER BY id",
])

section("array_literals", [
    "SELECT '{\"a,b\",c}'::text[], cardinality('{\"a,b\",c}'::text[]), '{NULL,1}'::int[], '{2024-02-29,2024-03-01}'::date[], '{}'::int[]",
    "SELECT '{ 1 , 2 }'::int[], '{\"  x  \",\"\\\"q\"}'::text[], '{NULL,\"NULL\"}'::text[], ('{10,20,30}'::int8[])[2]",
    "SELECT '{1,2'::int[]",
    "SELECT '{1,,2}'::int[]",
    "SELECT id FROM emp WHERE id = ANY('{2,4}'::int[]) ORDER BY id",
    "SELECT '{23,25}'::oid[]::regtype[], ARRAY[23, 1043]::regtype[]::text[]",
])

section("subqueries_anywhere", [
    "SELECT id, dept_id IN (SELECT id FROM dept WHERE budget > 100000) AS rich FROM emp ORDER BY id",
    "SELECT id, CASE WHEN dept_id NOT IN (SELECT id FROM dept) THEN 'lost' ELSE 'home' END FROM emp ORDER BY id",
    "SELECT id FROM emp ORDER BY CASE WHEN dept_id IN (SELECT id FROM dept WHERE name < 'm') THEN 0 ELSE 1 END, id",
    "SELECT name FROM emp e ORDER BY (SELECT count(*) FROM emp o WHERE o.salary > e.salary), id LIMIT 3",
    "SELECT 1 AS x WHERE false UNION ALL VALUES (2)",
    "SELECT count FROM (SELECT count(*) FROM emp) s",
    "WITH w AS (SELECT dept_id, max(salary) FROM emp GROUP BY dept_id) SELECT dept_id, max FROM w ORDER BY 1",
    "SELECT upper, length FROM (SELECT upper(name), length(name) FROM emp WHERE id < 3) s ORDER BY 1",
])

section("limit_expressions", [
    "SELECT id FROM emp ORDER BY id LIMIT (SELECT count(*) FROM dept) OFFSET (SELECT 1)",
    "SELECT id FROM emp ORDER BY id LIMIT (CASE WHEN random() > 2 THEN 1 END) OFFSET (CASE WHEN random() < 2 THEN 7 END)",
    "SELECT id FROM emp ORDER BY id LIMIT (SELECT -1)",
    "SELECT id FROM emp ORDER BY id OFFSET (SELECT -1)",
    "SELECT id, (SELECT name FROM emp e2 ORDER BY id LIMIT (SELECT 1) OFFSET (SELECT 2)) FROM emp WHERE id < 3 ORDER BY id",
])

section("untyped_literals", [
    "SELECT CASE WHEN id > 2 THEN id ELSE '0' END AS v FROM emp ORDER BY id",
    "SELECT coalesce(manager_id, '0') AS m FROM emp ORDER BY id",
    "SELECT CASE WHEN id > 100 THEN hired ELSE '2020-01-01' END AS d FROM emp ORDER BY id",
    "SELECT nullif(dept_id, '1') AS d FROM emp ORDER BY id",
    "SELECT CASE WHEN id > 2 THEN ARRAY[name] ELSE '{}' END AS a FROM emp ORDER BY id",
    "SELECT coalesce(NULL::int[], '{1,2}') AS a",
    "SELECT CASE WHEN true THEN 1 ELSE 'x' END",
])

section("catalog_shapes", [
    "SELECT (SELECT (SELECT max(e.salary) FROM emp e WHERE e.dept_id = d.id)) AS top FROM dept d ORDER BY d.id",
    "SELECT (SELECT array_to_string(ARRAY(SELECT e.name FROM emp e WHERE e.dept_id = d.id ORDER BY e.name), ', ')) AS names FROM dept d ORDER BY d.id",
    "SELECT CASE d.region WHEN 'north' THEN 'N' ELSE 'other' END AS region, count(*) FROM dept d GROUP BY d.region ORDER BY d.region",
    "SELECT d.budget + 1 AS budget FROM dept d ORDER BY d.budget DESC",
    "SELECT array(SELECT unnest(x) EXCEPT SELECT unnest(y)) AS a FROM (SELECT '{1}'::int[] AS x, NULL::int[] AS y) t",
    "SELECT unnest(ARRAY(SELECT generate_series(1, 3))) AS n",
    "SELECT d.privilege_type, d.is_grantable FROM aclexplode('{=r*w/postgres}'::aclitem[]) d ORDER BY 1",
    "SELECT acldefault('r', 10)::text AS acl",
    "SELECT pg_catalog.substring('abcdef', 'c(.)e') AS s",
    "SELECT name, setting, unit, vartype FROM pg_settings WHERE name IN ('work_mem', 'statement_timeout', 'default_table_access_method', 'autovacuum_naptime') ORDER BY name",
])

section("inheritance_markers", [
    "SELECT count(*) FROM ONLY emp",
    "SELECT e.name FROM emp* e WHERE e.id < 3 ORDER BY 1",
    "SELECT d.name FROM dept d JOIN ONLY emp e ON e.dept_id = d.id WHERE e.id = 1",
    "SELECT count(*) FROM emp*, ONLY dept WHERE emp.dept_id = dept.id",
])

section("empty_scalar_subqueries", [
    "SELECT (SELECT id FROM emp WHERE false) AS none",
    "SELECT (SELECT id FROM emp WHERE name = 'nobody') AS none, (SELECT id FROM emp WHERE name = 'Ada') AS ada",
    "SELECT (SELECT oid FROM pg_namespace WHERE nspname = 'nosuch') IS NULL AS missing",
    "SELECT name FROM dept WHERE id = (SELECT id FROM emp WHERE name = 'nobody')",
])

section("sequences", [
    "CREATE SEQUENCE corpus_seq START 10 INCREMENT 5",
    "SELECT nextval('corpus_seq'), nextval('corpus_seq')",
    "SELECT currval('corpus_seq'), lastval()",
    "SELECT nextval('corpus_seq') FROM generate_series(1, 3)",
    "SELECT setval('corpus_seq', 100)",
    "SELECT nextval('corpus_seq'), currval('corpus_seq')",
    "SELECT setval('corpus_seq', 7, false)",
    "SELECT nextval('corpus_seq')",
    "SELECT last_value, is_called FROM corpus_seq",
    "CREATE SEQUENCE corpus_small AS smallint MAXVALUE 2",
    "SELECT nextval('corpus_small'), nextval('corpus_small')",
    "SELECT nextval('corpus_small')",
    "CREATE SEQUENCE corpus_cycle INCREMENT BY -1 MINVALUE 1 MAXVALUE 3 CYCLE",
    "SELECT nextval('corpus_cycle') FROM generate_series(1, 5)",
    "CREATE SEQUENCE corpus_order START WITH 3 INCREMENT BY 2 NO MAXVALUE",
    "SELECT nextval('corpus_order'), nextval('corpus_order')",
    "CREATE SEQUENCE corpus_bad INCREMENT 0",
    "CREATE SEQUENCE corpus_bad MINVALUE 5 MAXVALUE 1",
    "CREATE SEQUENCE corpus_bad AS smallint MAXVALUE 40000",
    "CREATE SEQUENCE corpus_seq",
    "CREATE SEQUENCE IF NOT EXISTS corpus_seq",
    "SELECT currval('corpus_nosuch')",
    "SELECT nextval('emp')",
    "SELECT setval('corpus_small', 5)",
    "CREATE TABLE corpus_serial (id serial PRIMARY KEY, big bigserial, name text)",
    "INSERT INTO corpus_serial (name) VALUES ('a'), ('b') RETURNING id, big, name",
    "INSERT INTO corpus_serial VALUES (DEFAULT, DEFAULT, 'c') RETURNING id",
    "SELECT pg_get_serial_sequence('corpus_serial', 'id'), pg_get_serial_sequence('corpus_serial', 'name')",
    "SELECT column_name, column_default, is_nullable, data_type, is_identity FROM information_schema.columns WHERE table_name = 'corpus_serial' ORDER BY ordinal_position",
    "CREATE TABLE corpus_identity (id int GENERATED ALWAYS AS IDENTITY (START WITH 5), v text)",
    "INSERT INTO corpus_identity (v) VALUES ('x'), ('y') RETURNING id",
    "INSERT INTO corpus_identity (id, v) VALUES (1, 'z')",
    "CREATE TABLE corpus_by_default (id bigint GENERATED BY DEFAULT AS IDENTITY, v text)",
    "INSERT INTO corpus_by_default (id, v) VALUES (10, 'given') RETURNING id",
    "INSERT INTO corpus_by_default (v) VALUES ('drawn') RETURNING id",
    "SELECT a.attname, a.attidentity, a.atthasdef, a.attnotnull FROM pg_attribute a WHERE a.attrelid = 'corpus_identity'::regclass AND a.attnum > 0 ORDER BY a.attnum",
    "SELECT column_name, column_default, is_identity, identity_generation, identity_start, identity_increment FROM information_schema.columns WHERE table_name = 'corpus_identity' ORDER BY ordinal_position",
    "SELECT sequencename, data_type::text, start_value, min_value, max_value, increment_by, cycle, cache_size FROM pg_sequences WHERE sequencename LIKE 'corpus%' ORDER BY 1",
    "SELECT sequence_name, data_type, start_value, minimum_value, maximum_value, increment, cycle_option FROM information_schema.sequences WHERE sequence_name LIKE 'corpus%' ORDER BY 1",
    "SELECT c.relname, c.relkind, s.seqstart, s.seqincrement, s.seqcycle FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid WHERE c.relname LIKE 'corpus%' ORDER BY 1",
    "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'corpus%seq'",
    "DROP SEQUENCE corpus_serial_id_seq",
    "DROP TABLE corpus_serial",
    "SELECT count(*) FROM pg_class WHERE relname LIKE 'corpus_serial%'",
    "DROP SEQUENCE corpus_seq, corpus_small",
    "DROP SEQUENCE IF EXISTS corpus_seq",
    "DROP SEQUENCE emp",
])

section("unique_constraints", [
    "CREATE TABLE corpus_uq (id int PRIMARY KEY, email text UNIQUE, a int, b text, CONSTRAINT corpus_uq_ab UNIQUE (a, b))",
    "INSERT INTO corpus_uq VALUES (1, 'x', 1, 'p'), (2, NULL, 1, NULL), (3, NULL, 1, NULL)",
    "INSERT INTO corpus_uq VALUES (4, 'x', 2, 'q')",
    "INSERT INTO corpus_uq VALUES (5, 'y', 1, 'p')",
    "INSERT INTO corpus_uq VALUES (6, 'z', 3, 'r'), (7, 'z', 4, 's')",
    "UPDATE corpus_uq SET email = 'x' WHERE id = 2",
    "UPDATE corpus_uq SET email = 'w' WHERE id = 2",
    "SELECT id, email, a, b FROM corpus_uq ORDER BY id",
    "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'corpus_uq'::regclass ORDER BY conname",
    "SELECT c.relname, i.indisunique, i.indisprimary, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'corpus_uq'::regclass ORDER BY 1",
    "SELECT constraint_name, constraint_type FROM information_schema.table_constraints WHERE table_name = 'corpus_uq' AND constraint_type <> 'CHECK' ORDER BY 1",
    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'corpus_uq' ORDER BY 1",
    "CREATE TABLE corpus_uq2 (a int UNIQUE, UNIQUE (a))",
    "SELECT conname FROM pg_constraint WHERE conrelid = 'corpus_uq2'::regclass ORDER BY 1",
    "CREATE TABLE corpus_uq3 (a int, UNIQUE (nosuch))",
    "DROP TABLE corpus_uq, corpus_uq2",
])

section("indexes", [
    "CREATE TABLE corpus_ix (id int PRIMARY KEY, a int, b text)",
    "INSERT INTO corpus_ix VALUES (1, 1, 'x'), (2, 1, 'y'), (3, NULL, 'z'), (4, NULL, 'z')",
    "CREATE INDEX ON corpus_ix (a)",
    "CREATE INDEX corpus_ix_b ON corpus_ix USING btree (b)",
    "CREATE INDEX IF NOT EXISTS corpus_ix_b ON corpus_ix (b)",
    "CREATE INDEX corpus_ix_b ON corpus_ix (b)",
    "CREATE UNIQUE INDEX corpus_ix_a_u ON corpus_ix (a)",
    "CREATE UNIQUE INDEX corpus_ix_ab_u ON corpus_ix (a, b)",
    "INSERT INTO corpus_ix VALUES (5, 1, 'x')",
    "INSERT INTO corpus_ix VALUES (6, NULL, 'x')",
    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'corpus_ix' ORDER BY 1",
    "SELECT c.relname, i.indisunique, i.indisprimary FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'corpus_ix'::regclass ORDER BY 1",
    "SELECT count(*) FROM pg_constraint WHERE conrelid = 'corpus_ix'::regclass",
    "DROP INDEX corpus_ix_pkey",
    "DROP INDEX corpus_ix_b, corpus_ix_a_idx",
    "DROP INDEX corpus_nosuch",
    "DROP INDEX IF EXISTS corpus_nosuch",
    "CREATE INDEX ON corpus_ix (nosuch)",
    "DROP INDEX corpus_ix_ab_u",
    "INSERT INTO corpus_ix VALUES (7, 1, 'x')",
    "DROP TABLE corpus_ix",
])

section("returning", [
    "CREATE TABLE corpus_ret (id int PRIMARY KEY, v text, n numeric(6,2) NOT NULL DEFAULT 0, at date)",
    "INSERT INTO corpus_ret VALUES (1, 'a', 1.5, '2024-01-01'), (2, 'b', 2, NULL), (3, 'c', 3.25, '2024-03-01'), (4, NULL, 4, NULL)",
    "UPDATE corpus_ret SET v = v || '!' WHERE id >= 3 RETURNING *",
    "UPDATE corpus_ret AS r SET n = r.n * 2 WHERE r.id = 1 RETURNING r.id, n, n + 1 AS next",
    "UPDATE corpus_ret SET at = at + 1 WHERE at IS NOT NULL RETURNING id, at",
    "UPDATE corpus_ret SET n = n + 1 WHERE false RETURNING id",
    "UPDATE corpus_ret SET n = NULL WHERE id = 1 RETURNING id",
    "UPDATE corpus_ret SET id = 2 WHERE id = 1 RETURNING id",
    "UPDATE corpus_ret SET v = upper(v) WHERE id IN (SELECT id FROM corpus_ret WHERE n > 3) RETURNING id, v",
    "UPDATE corpus_ret SET nosuch = 1 RETURNING id",
    "UPDATE corpus_ret SET v = 'x' WHERE id = 2 RETURNING nosuch",
    "DELETE FROM corpus_ret WHERE id = 4 RETURNING *",
    "DELETE FROM corpus_ret WHERE id > 100 RETURNING id",
    "DELETE FROM corpus_ret AS r WHERE r.v LIKE '%!' RETURNING r.id, length(r.v) AS len",
    "SELECT * FROM corpus_ret ORDER BY id",
    "INSERT INTO corpus_ret AS r (id, v) VALUES (9, 'z') RETURNING r.id, r.n",
    "DELETE FROM corpus_ret RETURNING id, v, n, at",
    "DROP TABLE corpus_ret",
])

section("upserts", [
    "CREATE TABLE corpus_up (id int PRIMARY KEY, v text, n int DEFAULT 0, tag text UNIQUE)",
    "INSERT INTO corpus_up VALUES (1, 'a', 1, 't1'), (2, 'b', 2, 't2')",
    "INSERT INTO corpus_up VALUES (2, 'x', 5, 'tx'), (3, 'c', 3, 't3') ON CONFLICT DO NOTHING",
    "INSERT INTO corpus_up VALUES (4, 'd', 4, 't1') ON CONFLICT DO NOTHING",
    "INSERT INTO corpus_up VALUES (4, 'd', 4, 't1') ON CONFLICT (id) DO NOTHING",
    "INSERT INTO corpus_up VALUES (5, 'e', 5, 't5'), (5, 'ee', 5, 't55') ON CONFLICT (id) DO NOTHING RETURNING id, v",
    "INSERT INTO corpus_up VALUES (1, 'A', 10, 't1'), (6, 'f', 6, 't6') ON CONFLICT (id) DO UPDATE SET v = excluded.v, n = corpus_up.n + excluded.n RETURNING *",
    "INSERT INTO corpus_up AS u VALUES (2, 'B', 20, 't2') ON CONFLICT (id) DO UPDATE SET n = u.n + 100 WHERE u.n > 50 RETURNING *",
    "INSERT INTO corpus_up AS u VALUES (2, 'B', 20, 't2') ON CONFLICT ON CONSTRAINT corpus_up_pkey DO UPDATE SET n = u.n + 1 RETURNING id, n",
    "INSERT INTO corpus_up VALUES (2, 'B', 20, 't2') ON CONFLICT (id) DO UPDATE SET n = n + 1",
    "INSERT INTO corpus_up VALUES (7, 'g'), (7, 'h') ON CONFLICT (id) DO UPDATE SET v = excluded.v",
    "INSERT INTO corpus_up VALUES (1, 'z') ON CONFLICT (v) DO NOTHING",
    "INSERT INTO corpus_up VALUES (1, 'z') ON CONFLICT DO UPDATE SET v = 'q'",
    "INSERT INTO corpus_up VALUES (1, 'z') ON CONFLICT ON CONSTRAINT corpus_nope DO NOTHING",
    "INSERT INTO corpus_up VALUES (3, 'c', 3, 't1') ON CONFLICT (id) DO UPDATE SET tag = excluded.tag",
    "INSERT INTO corpus_up VALUES (3, 'c', 3, 't3') ON CONFLICT (tag) DO UPDATE SET v = excluded.v || '+' RETURNING id, v, tag",
    "INSERT INTO corpus_up (id, v) VALUES (8, NULL), (1, 'again') ON CONFLICT (id) DO UPDATE SET v = coalesce(excluded.v, 'none'), n = DEFAULT RETURNING id, v, n",
    "INSERT INTO corpus_up (id, v, tag) SELECT id + 100, v, tag || '-copy' FROM corpus_up WHERE id < 3 ON CONFLICT DO NOTHING",
    "SELECT * FROM corpus_up ORDER BY id",
    "DROP TABLE corpus_up",
])

out = ["-- Generated by generate_corpus.py: the differential corpus, one statement per line.",
       "-- Statements are named SECTION:N. Known differences: known_differences.txt."]
total = 0
for name, statements in sections.items():
    out.append(f"-- section: {name}")
    for s in statements:
        assert "\n" not in s
        out.append(s + ";")
        total += 1
pathlib.Path(__file__).with_name("corpus.sql").write_text("\n".join(out) + "\n")
print(f"{total} statements")
