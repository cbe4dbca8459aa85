-- Grafana PostgreSQL data source (grafana-postgresql-datasource), Grafana 11/12.
-- Sources (github.com/grafana/grafana):
--   public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts
--     (getVersion, getTimescaleDBVersion, showSchemas, showTables, getSchema)
--   public/app/plugins/datasource/grafana-postgresql-datasource/configuration/useAutoDetectFeatures.ts
--   pkg/tsdb/grafana-postgresql-datasource/schema.go (querySchemas, queryTables, queryColumns, ColumnValues)
--   pkg/tsdb/grafana-postgresql-datasource/macros.go ($__time, $__timeFilter, $__timeGroupAlias expansion)
-- User actions: "Save & test" on the data source config page (the health check itself is pgx Ping,
--   i.e. the comment-only query "-- ping", which is not replayable here), version / TimescaleDB
--   auto-detection, opening the query builder (schema, table and column pickers, SQL autocompletion),
--   and running a builder-generated time-series panel query. Bind parameters ($1, $2) of schema.go
--   are written as literals. Time-range macros are expanded the way macros.go expands them.
SELECT current_setting('server_version_num')::int/100 as version
;
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'
;
SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name
;
SELECT
    CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1
;
SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'shop'
      ORDER BY 1
;
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('shop.items'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('shop.items'))[1]
          AND quote_ident(table_name) = (parse_ident('shop.items'))[2]
        ELSE quote_ident(table_name) = 'shop.items'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
;
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('orders'))[1]
          AND quote_ident(table_name) = (parse_ident('orders'))[2]
        ELSE quote_ident(table_name) = 'orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
;
SELECT schema_name FROM information_schema.schemata
		 WHERE schema_name NOT LIKE 'pg_%' AND schema_name != 'information_schema'
		 ORDER BY schema_name
;
SELECT table_name FROM information_schema.tables
		 WHERE table_schema = 'public' AND table_type IN ('BASE TABLE', 'VIEW')
		 ORDER BY table_name
;
SELECT table_name FROM information_schema.tables
		 WHERE table_schema = 'shop' AND table_type IN ('BASE TABLE', 'VIEW')
		 ORDER BY table_name
;
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = 'shop' AND table_name = 'items'
		 ORDER BY ordinal_position
;
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = 'shop' AND table_name = 'cheap'
		 ORDER BY ordinal_position
;
SELECT 'name' AS col_name, "name"::text AS val FROM (SELECT DISTINCT "name" FROM "shop"."items" WHERE "name" IS NOT NULL ORDER BY "name" LIMIT 100) sub_0 UNION ALL SELECT 'price' AS col_name, "price"::text AS val FROM (SELECT DISTINCT "price" FROM "shop"."items" WHERE "price" IS NOT NULL ORDER BY "price" LIMIT 100) sub_1
;
SELECT added AS "time", price FROM shop.items WHERE added BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-02T00:00:00Z' ORDER BY 1
;
SELECT floor(extract(epoch from added)/3600)*3600 AS "time", sum(price) AS "price" FROM shop.items WHERE added BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-02T00:00:00Z' GROUP BY 1 ORDER BY 1
;
SELECT name, price FROM shop.items LIMIT 50
;
