-- Enishi benchmark: keys and indexes for the PostgreSQL 15 comparison run.
-- Run after the tables in postgres_schema.sql are loaded: building them on
-- loaded tables is much faster than maintaining them during COPY. These are
-- the primary keys plus the foreign-key and date indexes a DBA would
-- usually add for TPC-H; the final ANALYZE gives the planner statistics.

alter table region   add primary key (r_regionkey);
alter table nation   add primary key (n_nationkey);
alter table part     add primary key (p_partkey);
alter table supplier add primary key (s_suppkey);
alter table partsupp add primary key (ps_partkey, ps_suppkey);
alter table customer add primary key (c_custkey);
alter table orders   add primary key (o_orderkey);
alter table lineitem add primary key (l_orderkey, l_linenumber);

-- Foreign-key columns (l_orderkey and ps_partkey are covered by the leading
-- column of their table's primary key).
create index nation_n_regionkey_idx     on nation (n_regionkey);
create index supplier_s_nationkey_idx   on supplier (s_nationkey);
create index customer_c_nationkey_idx   on customer (c_nationkey);
create index partsupp_ps_suppkey_idx    on partsupp (ps_suppkey);
create index orders_o_custkey_idx       on orders (o_custkey);
create index lineitem_l_partkey_suppkey_idx on lineitem (l_partkey, l_suppkey);
create index lineitem_l_suppkey_idx     on lineitem (l_suppkey);

-- Date columns used in range predicates.
create index orders_o_orderdate_idx     on orders (o_orderdate);
create index lineitem_l_shipdate_idx    on lineitem (l_shipdate);

analyze;
