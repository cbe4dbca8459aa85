-- Apache Superset (4.1 / 5.0) with SQLAlchemy 1.4 and psycopg2 (client-side parameter interpolation).
-- Sources:
--   github.com/apache/superset superset/db_engine_specs/postgres.py (get_catalog_names, get_prequeries
--     `set search_path`, get_table_names -> get_table_names + get_foreign_table_names, get_cancel_query_id)
--   github.com/sqlalchemy/sqlalchemy rel_1_4_54 lib/sqlalchemy/dialects/postgresql/base.py (initialize,
--     _get_server_version_info, _get_default_schema_name, get_isolation_level, get_schema_names,
--     get_table_names, _get_foreign_table_names, get_view_names, has_table, get_table_oid, get_columns,
--     _load_domains, _load_enums, get_pk_constraint, get_foreign_keys, get_indexes, get_unique_constraints,
--     get_table_comment, get_check_constraints), lib/sqlalchemy/dialects/postgresql/psycopg2.py (hstore OID
--     lookup through psycopg2.extras.HstoreAdapter.get_oids, do_ping)
-- User actions: Settings > Database Connections > add PostgreSQL database ("Test connection"), open SQL Lab
--   (catalog + schema + table pickers for schema shop), select table shop.items (column list, keys, indexes,
--   comment, data preview), then create a dataset from shop.items.
-- psycopg2 interpolates parameters client-side, so the statements below carry literals; the table oid
-- parameter is written as 'shop.items'::regclass. Implicit BEGIN / ROLLBACK of psycopg2 are left out.
-- SQL comments inside the reflection queries are left out.
select pg_catalog.version()
;
select current_schema()
;
show transaction isolation level
;
show standard_conforming_strings
;
SELECT t.oid, typarray
FROM pg_type t JOIN pg_namespace ns
    ON typnamespace = ns.oid
WHERE typname = 'hstore';
;
SELECT 1
;
SELECT datname FROM pg_database
WHERE datistemplate = false;
;
SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' ORDER BY nspname
;
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shop' AND c.relkind in ('r', 'p')
;
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shop' AND c.relkind = 'f'
;
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shop' AND c.relkind IN ('v', 'm')
;
select relname from pg_class c join pg_namespace n on n.oid=c.relnamespace where n.nspname='shop' and relname='items'
;

            SELECT c.oid
            FROM pg_catalog.pg_class c
            LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE (n.nspname = 'shop')
            AND c.relname = 'items' AND c.relkind in
            ('r', 'v', 'm', 'f', 'p')
        
;

            SELECT a.attname,
              pg_catalog.format_type(a.atttypid, a.atttypmod),
              (
                SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                FROM pg_catalog.pg_attrdef d
                WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
                AND a.atthasdef
              ) AS DEFAULT,
              a.attnotnull,
              a.attrelid as table_oid,
              pgd.description as comment,
              a.attgenerated as generated,
                              (SELECT json_build_object(
                    'always', a.attidentity = 'a',
                    'start', s.seqstart,
                    'increment', s.seqincrement,
                    'minvalue', s.seqmin,
                    'maxvalue', s.seqmax,
                    'cache', s.seqcache,
                    'cycle', s.seqcycle)
                FROM pg_catalog.pg_sequence s
                JOIN pg_catalog.pg_class c on s.seqrelid = c."oid"
                WHERE c.relkind = 'S'
                AND a.attidentity != ''
                AND s.seqrelid = pg_catalog.pg_get_serial_sequence(
                    a.attrelid::regclass::text, a.attname
                )::regclass::oid
                ) as identity_options                
            FROM pg_catalog.pg_attribute a
            LEFT JOIN pg_catalog.pg_description pgd ON (
                pgd.objoid = a.attrelid AND pgd.objsubid = a.attnum)
            WHERE a.attrelid = 'shop.items'::regclass
            AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
        
;

            SELECT t.typname as "name",
               pg_catalog.format_type(t.typbasetype, t.typtypmod) as "attype",
               not t.typnotnull as "nullable",
               t.typdefault as "default",
               pg_catalog.pg_type_is_visible(t.oid) as "visible",
               n.nspname as "schema"
            FROM pg_catalog.pg_type t
               LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'd'
        
;

            SELECT t.typname as "name",
               pg_catalog.pg_type_is_visible(t.oid) as "visible",
               n.nspname as "schema",
               e.enumlabel as "label"
            FROM pg_catalog.pg_type t
                 LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                 LEFT JOIN pg_catalog.pg_enum e ON t.oid = e.enumtypid
            WHERE t.typtype = 'e'
        ORDER BY "schema", "name", e.oid
;

                SELECT a.attname
                FROM pg_attribute a JOIN (
                    SELECT unnest(ix.indkey) attnum,
                           generate_subscripts(ix.indkey, 1) ord
                    FROM pg_index ix
                    WHERE ix.indrelid = 'shop.items'::regclass AND ix.indisprimary
                    ) k ON a.attnum=k.attnum
                WHERE a.attrelid = 'shop.items'::regclass
                ORDER BY k.ord
            
;

        SELECT conname
           FROM  pg_catalog.pg_constraint r
           WHERE r.conrelid = 'shop.items'::regclass AND r.contype = 'p'
           ORDER BY 1
        
;

          SELECT r.conname,
                pg_catalog.pg_get_constraintdef(r.oid, true) as condef,
                n.nspname as conschema
          FROM  pg_catalog.pg_constraint r,
                pg_namespace n,
                pg_class c

          WHERE r.conrelid = 'shop.items'::regclass AND
                r.contype = 'f' AND
                c.oid = confrelid AND
                n.oid = c.relnamespace
          ORDER BY 1
        
;

              SELECT
                  i.relname as relname,
                  ix.indisunique, ix.indexprs,
                  a.attname, a.attnum, c.conrelid, ix.indkey::varchar,
                  ix.indoption::varchar, i.reloptions, am.amname,
                  pg_get_expr(ix.indpred, ix.indrelid),
                  ix.indnkeyatts as indnkeyatts
              FROM
                  pg_class t
                        join pg_index ix on t.oid = ix.indrelid
                        join pg_class i on i.oid = ix.indexrelid
                        left outer join
                            pg_attribute a
                            on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)
                        left outer join
                            pg_constraint c
                            on (ix.indrelid = c.conrelid and
                                ix.indexrelid = c.conindid and
                                c.contype in ('p', 'u', 'x'))
                        left outer join
                            pg_am am
                            on i.relam = am.oid
              WHERE
                  t.relkind IN ('r', 'v', 'f', 'm', 'p')
                  and t.oid = 'shop.items'::regclass
                  and ix.indisprimary = 'f'
              ORDER BY
                  t.relname,
                  i.relname
            
;

            SELECT
                cons.conname as name,
                cons.conkey as key,
                a.attnum as col_num,
                a.attname as col_name
            FROM
                pg_catalog.pg_constraint cons
                join pg_attribute a
                  on cons.conrelid = a.attrelid AND
                    a.attnum = ANY(cons.conkey)
            WHERE
                cons.conrelid = 'shop.items'::regclass AND
                cons.contype = 'u'
        
;

            SELECT
                pgd.description as table_comment
            FROM
                pg_catalog.pg_description pgd
            WHERE
                pgd.objsubid = 0 AND
                pgd.objoid = 'shop.items'::regclass
        
;
set search_path = "shop"
;
SELECT pg_backend_pid()
;
SELECT id,
       name,
       price,
       added
FROM shop.items
LIMIT 100
;
