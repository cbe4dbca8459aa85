-- psql client flow: run with `psql -X -v ON_ERROR_STOP=0 -f flow.sql`.
-- The same output (after normalize.py) is expected from PostgreSQL 15 and Enishi.
\pset pager off

\echo '== setup'
drop view if exists shop.active_items;
drop table if exists shop.items;
drop schema if exists shop;
create schema shop;
create table shop.items (
    id integer primary key,
    name text not null,
    price numeric(10,2),
    added date,
    updated_at timestamptz,
    active boolean default true
);
create view shop.active_items as
    select id, name, price from shop.items where active;
insert into shop.items values
    (1, 'apple', 1.50, '2024-01-15', '2024-01-15 10:30:00+00', true),
    (2, 'pear', 12.25, '2024-02-29', '2024-02-29 23:59:59.5+00', false),
    (3, 'fig, dried', 1234.00, '2023-12-31', '2023-12-31 00:00:00+00', true),
    (4, 'plum', null, null, null, null);

\echo '== \\dn'
\dn
\echo '== \\dn shop'
\dn shop
\echo '== \\l postgres'
\l postgres
\echo '== \\dt shop.*'
\dt shop.*
\echo '== \\dv shop.*'
\dv shop.*
\echo '== \\d shop.items'
\d shop.items
\echo '== \\d+ shop.items'
\d+ shop.items
\echo '== \\d shop.active_items'
\d shop.active_items
\echo '== \\df shop.*'
\df shop.*
\echo '== \\df pg_catalog.lower'
\df pg_catalog.lower
\echo '== \\dT pg_catalog.int4'
\dT pg_catalog.int4
\echo '== \\du postgres'
\du postgres

\echo '== select from table and view'
select * from shop.items order by id;
select * from shop.active_items order by id;

\echo '== \\x'
\x on
select id, name, price, added, updated_at, active from shop.items where id in (1, 4) order by id;
\x off
select 'expanded off' as mode;

\echo '== \\gset'
select count(*) as n, max(price) as top, min(name) as first_name from shop.items \gset
\echo n=:n top=:top first_name=:first_name
select id as item_id, name as item_name from shop.items where id = 3 \gset p_
\echo p_item_id=:p_item_id p_item_name=:p_item_name

\echo '== typed values'
select 1::smallint as i2, 2::integer as i4, 3::bigint as i8,
       1.5::real as f4, 2.25::double precision as f8, 10.50::numeric(10,2) as num;
select 'text'::text as t, 'vc'::varchar(10) as vc, true as b1, false as b2, null::int as n;
select date '2024-02-29' as d, timestamp '2024-02-29 12:34:56.789' as ts,
       timestamptz '2024-02-29 12:34:56+00' as tstz, interval '1 day 02:03:04' as iv;
select sum(price) as total, avg(price) as mean, count(*) as cnt from shop.items;

\echo '== error'
select * from shop.no_such_table;
select 1 / 0;

\echo '== foreign keys'
create table shop.makers (code char(3) primary key, name text);
create table shop.parts (
    id integer primary key,
    maker char(3) references shop.makers (code) on delete cascade,
    qty integer
);
\d shop.parts
\d shop.makers
drop table shop.makers;
drop table shop.makers cascade;
\d shop.parts
drop table shop.parts;

\echo '== teardown'
drop view shop.active_items;
drop table shop.items;
drop schema shop;
