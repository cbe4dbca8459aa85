-- Enishi benchmark: TPC-H tables for the PostgreSQL 15 comparison run.
-- Column types follow the Parquet files written by tpchgen-cli 4: keys are
-- bigint, l_linenumber / o_shippriority / p_size / ps_availqty are integer,
-- money and quantity columns are decimal(15,2) (numeric here), dates are date,
-- and every string column is varchar (text here, so no blank padding).
-- Load with the CSV files from `tpchgen-cli csv` (header line, comma, '"' quotes):
--   \copy lineitem from 'lineitem.csv' with (format csv, header true)
-- Keys and indexes are in postgres_indexes.sql, to be run after the load.

drop table if exists lineitem;
drop table if exists orders;
drop table if exists partsupp;
drop table if exists customer;
drop table if exists supplier;
drop table if exists part;
drop table if exists nation;
drop table if exists region;

create table region (
    r_regionkey   bigint not null,
    r_name        text not null,
    r_comment     text not null
);

create table nation (
    n_nationkey   bigint not null,
    n_name        text not null,
    n_regionkey   bigint not null,
    n_comment     text not null
);

create table part (
    p_partkey     bigint not null,
    p_name        text not null,
    p_mfgr        text not null,
    p_brand       text not null,
    p_type        text not null,
    p_size        integer not null,
    p_container   text not null,
    p_retailprice numeric(15, 2) not null,
    p_comment     text not null
);

create table supplier (
    s_suppkey     bigint not null,
    s_name        text not null,
    s_address     text not null,
    s_nationkey   bigint not null,
    s_phone       text not null,
    s_acctbal     numeric(15, 2) not null,
    s_comment     text not null
);

create table partsupp (
    ps_partkey    bigint not null,
    ps_suppkey    bigint not null,
    ps_availqty   integer not null,
    ps_supplycost numeric(15, 2) not null,
    ps_comment    text not null
);

create table customer (
    c_custkey     bigint not null,
    c_name        text not null,
    c_address     text not null,
    c_nationkey   bigint not null,
    c_phone       text not null,
    c_acctbal     numeric(15, 2) not null,
    c_mktsegment  text not null,
    c_comment     text not null
);

create table orders (
    o_orderkey      bigint not null,
    o_custkey       bigint not null,
    o_orderstatus   text not null,
    o_totalprice    numeric(15, 2) not null,
    o_orderdate     date not null,
    o_orderpriority text not null,
    o_clerk         text not null,
    o_shippriority  integer not null,
    o_comment       text not null
);

create table lineitem (
    l_orderkey      bigint not null,
    l_partkey       bigint not null,
    l_suppkey       bigint not null,
    l_linenumber    integer not null,
    l_quantity      numeric(15, 2) not null,
    l_extendedprice numeric(15, 2) not null,
    l_discount      numeric(15, 2) not null,
    l_tax           numeric(15, 2) not null,
    l_returnflag    text not null,
    l_linestatus    text not null,
    l_shipdate      date not null,
    l_commitdate    date not null,
    l_receiptdate   date not null,
    l_shipinstruct  text not null,
    l_shipmode      text not null,
    l_comment       text not null
);
