// pgjdbc (42.5) against a server, as Java applications and tools use it:
//  1. DDL, then a PreparedStatement batch insert (setLong/setString/setBigDecimal/
//     setDate/setTimestamp/setBoolean/setNull, executeBatch);
//  2. DatabaseMetaData: getSchemas, getTables (all, TABLE, VIEW), getColumns,
//     getPrimaryKeys, getIndexInfo, getTypeInfo (base types and common types),
//     product name/major version, driver name;
//  3. ResultSetMetaData of a table query (names, types, precision, nullability,
//     base table and schema, auto-increment, Java class);
//  4. prepareThreshold=3: one PreparedStatement run 7 times; pgjdbc switches to
//     a named server statement at the 3rd run and to binary results at the 4th;
//  5. autocommit off + setFetchSize(2): a suspended portal read to the end;
//  6. errors: 42P01, 42601, 22012, then 25P02 in an aborted transaction, and
//     statements (plain and with an int parameter) after rollback;
//  7. clean-up.
// Prints what the client observes as JSON, one step per line, so the test can
// compare Enishi's observations with PostgreSQL's. A step that fails prints its
// SQLSTATE (the message goes to stderr) and the program continues. Values that
// legitimately differ (OIDs, owners, version strings) are not printed.
//
// Usage: java -cp /usr/share/java/postgresql.jar tests/clients/jdbc/JdbcCheck.java PORT
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;
import org.postgresql.PGStatement;

public class JdbcCheck {
    interface Thunk { Object run() throws Exception; }

    static String url;
    static Connection conn;

    static void step(String name, Thunk thunk) throws SQLException {
        String out;
        try {
            out = "{\"step\": " + json(name) + ", \"value\": " + json(thunk.run());
        } catch (SQLException e) {
            System.err.println(name + ": " + e.getSQLState() + " " + e.getMessage());
            out = "{\"step\": " + json(name) + ", \"error\": " + json(e.getSQLState());
        } catch (Exception e) {
            System.err.println(name + ": " + e);
            out = "{\"step\": " + json(name) + ", \"error\": " + json(e.getClass().getSimpleName());
        }
        if (conn.isClosed()) { // the step broke the connection: say so, and go on with a new one
            conn = DriverManager.getConnection(url);
            out += ", \"reconnected\": true";
        }
        System.out.println(out + "}");
    }

    /** JSON text of a value; strings, integers, booleans as themselves, other values as "Class:value". */
    static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof Integer || v instanceof Boolean) return v.toString();
        if (v instanceof List) {
            StringJoiner j = new StringJoiner(", ", "[", "]");
            for (Object o : (List<?>) v) j.add(json(o));
            return j.toString();
        }
        if (v instanceof Map) {
            StringJoiner j = new StringJoiner(", ", "{", "}");
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) j.add(json(e.getKey().toString()) + ": " + json(e.getValue()));
            return j.toString();
        }
        String s = v instanceof String ? (String) v : v.getClass().getSimpleName() + ":" + v;
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static List<Object> row(ResultSet rs) throws SQLException {
        List<Object> r = new ArrayList<>();
        for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) r.add(rs.getObject(i));
        return r;
    }

    static List<String> labels(ResultSet rs) throws SQLException {
        List<String> l = new ArrayList<>();
        for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) l.add(rs.getMetaData().getColumnLabel(i));
        return l;
    }

    /** Column labels and all rows of a result set, which it closes. */
    static Map<String, Object> table(ResultSet rs) throws SQLException {
        try (rs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("columns", labels(rs));
            List<Object> rows = new ArrayList<>();
            while (rs.next()) rows.add(row(rs));
            m.put("rows", rows);
            return m;
        }
    }

    static Object exec(String sql) throws SQLException {
        try (Statement st = conn.createStatement()) {
            if (st.execute(sql)) return table(st.getResultSet());
            return st.getUpdateCount();
        }
    }

    public static void main(String[] args) throws Exception {
        TimeZone.setDefault(TimeZone.getTimeZone("UTC")); // Timestamp.toString and setDate use it
        url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/postgres?user=postgres";
        conn = DriverManager.getConnection(url);

        // 1. schema and a batch insert
        for (String ddl : new String[] {
            "create schema shop",
            "create table shop.items (id bigint not null primary key, name text, price numeric(10,2),"
                + " added date, at timestamptz, ok boolean)",
            "create table shop.orders (id integer primary key, item_id bigint, qty integer not null)",
            "create view shop.cheap as select id, name from shop.items where price < 10",
        }) step(ddl, () -> exec(ddl));
        step("batch insert items", () -> {
            try (PreparedStatement ps = conn.prepareStatement("insert into shop.items values (?, ?, ?, ?, ?, ?)")) {
                Object[][] items = {
                    {1L, "pen", "1.50", "2024-02-29", "2024-02-29 12:00:00", true},
                    {2L, "book", "12.00", "2023-12-31", "2024-03-01 00:30:00.25", false},
                    {3L, null, null, null, null, null},
                    {4L, "ink \"blue\"", "-3.25", "1999-01-08", "1970-01-01 00:00:00", true},
                };
                for (Object[] it : items) {
                    ps.setLong(1, (Long) it[0]);
                    ps.setString(2, (String) it[1]);
                    if (it[2] == null) ps.setNull(3, Types.NUMERIC); else ps.setBigDecimal(3, new BigDecimal((String) it[2]));
                    if (it[3] == null) ps.setNull(4, Types.DATE); else ps.setDate(4, java.sql.Date.valueOf((String) it[3]));
                    if (it[4] == null) ps.setNull(5, Types.TIMESTAMP); else ps.setTimestamp(5, Timestamp.valueOf((String) it[4]));
                    if (it[5] == null) ps.setNull(6, Types.BOOLEAN); else ps.setBoolean(6, (Boolean) it[5]);
                    ps.addBatch();
                }
                return Arrays.toString(ps.executeBatch());
            }
        });
        step("batch insert orders", () -> {
            try (PreparedStatement ps = conn.prepareStatement("insert into shop.orders (id, item_id, qty) values (?, ?, ?)")) {
                for (int i = 1; i <= 7; i++) {
                    ps.setInt(1, i);
                    if (i == 7) ps.setNull(2, Types.BIGINT); else ps.setLong(2, i % 4 + 1);
                    ps.setInt(3, i * 10);
                    ps.addBatch();
                }
                return Arrays.toString(ps.executeBatch());
            }
        });

        // 2. DatabaseMetaData
        step("getSchemas", () -> table(conn.getMetaData().getSchemas()));
        step("getTables", () -> table(conn.getMetaData().getTables(null, "shop", "%", null)));
        step("getTables TABLE", () -> table(conn.getMetaData().getTables(null, "shop", "%", new String[] {"TABLE"})));
        step("getTables VIEW", () -> table(conn.getMetaData().getTables(null, "shop", "%", new String[] {"VIEW"})));
        step("getColumns", () -> table(conn.getMetaData().getColumns(null, "shop", "items", "%")));
        step("getPrimaryKeys", () -> table(conn.getMetaData().getPrimaryKeys(null, "shop", "items")));
        // Read with the getters JDBC documents for each column (TYPE and
        // ORDINAL_POSITION are shorts); CARDINALITY and PAGES are statistics,
        // which differ between servers and over time: only their types matter.
        step("getIndexInfo", () -> {
            try (ResultSet rs = conn.getMetaData().getIndexInfo(null, "shop", "items", false, false)) {
                List<Object> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(Arrays.asList(rs.getString("TABLE_SCHEM"), rs.getString("TABLE_NAME"),
                        rs.getBoolean("NON_UNIQUE"), rs.getString("INDEX_QUALIFIER"), rs.getString("INDEX_NAME"),
                        rs.getShort("TYPE"), rs.getShort("ORDINAL_POSITION"), rs.getString("COLUMN_NAME"),
                        rs.getString("ASC_OR_DESC"), rs.getObject("CARDINALITY").getClass().getSimpleName(),
                        rs.getObject("PAGES").getClass().getSimpleName(), rs.getString("FILTER_CONDITION")));
                }
                return rows;
            }
        });
        step("getTypeInfo", () -> {
            Set<String> common = Set.of("int4", "int8", "text", "numeric", "timestamptz", "bool", "date", "float8", "varchar");
            try (ResultSet rs = conn.getMetaData().getTypeInfo()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("columns", labels(rs));
                // PostgreSQL's pg_type also has information_schema's domains and
                // the array types of its views' row types; Enishi's has no
                // information_schema types (COMPATIBILITY.md).
                Set<String> informationSchema = Set.of("cardinal_number", "character_data",
                    "sql_identifier", "time_stamp", "yes_or_no");
                List<String> base = new ArrayList<>();
                List<Object> rows = new ArrayList<>();
                while (rs.next()) {
                    String name = rs.getString("TYPE_NAME");
                    if (!name.startsWith("_") && !informationSchema.contains(name)) base.add(name);
                    if (common.contains(name)) rows.add(row(rs));
                }
                Collections.sort(base);
                m.put("base types", base);
                m.put("rows", rows);
                return m;
            }
        });
        step("product and driver", () -> {
            DatabaseMetaData md = conn.getMetaData();
            return List.of(md.getDatabaseProductName(), md.getDatabaseMajorVersion(), md.getDriverName());
        });

        // 3. ResultSetMetaData
        step("ResultSetMetaData", () -> {
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("select id, name, price, added, at, ok from shop.items")) {
                ResultSetMetaData m = rs.getMetaData();
                List<Object> cols = new ArrayList<>();
                for (int i = 1; i <= m.getColumnCount(); i++) {
                    cols.add(List.of(m.getColumnName(i), m.getColumnLabel(i), m.getColumnType(i), m.getColumnTypeName(i),
                        m.getPrecision(i), m.getScale(i), m.isNullable(i), m.getTableName(i), m.getSchemaName(i),
                        m.isAutoIncrement(i), m.getColumnClassName(i)));
                }
                return cols;
            }
        });

        // 4. prepareThreshold: a named server statement from the 3rd execution, binary results from the 4th
        try (PreparedStatement ps = conn.prepareStatement("select id, name, price, added, at, ok from shop.items where id = ?")) {
            ps.unwrap(PGStatement.class).setPrepareThreshold(3);
            for (int i = 1; i <= 7; i++) {
                long id = i % 4 + 1;
                step("prepared execution " + i, () -> {
                    ps.setLong(1, id);
                    // whether this execution uses a named server statement (true from the 3rd on)
                    boolean named = ps.unwrap(PGStatement.class).isUseServerPrepare();
                    try (ResultSet rs = ps.executeQuery()) {
                        List<Object> rows = new ArrayList<>();
                        while (rs.next()) rows.add(row(rs));
                        Map<String, Object> m = new LinkedHashMap<>(); // Map.of's order varies run to run
                        m.put("named", named);
                        m.put("rows", rows);
                        return m;
                    }
                });
            }
        }

        // 5. portal suspension: autocommit off and a fetch size
        step("fetch size 2", () -> {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(2);
                Map<String, Object> t = table(st.executeQuery("select id, item_id, qty from shop.orders order by id"));
                t.put("count", ((List<?>) t.get("rows")).size());
                return t;
            } finally {
                conn.commit();
                conn.setAutoCommit(true);
            }
        });

        // 6. errors
        step("missing table", () -> exec("select * from shop.missing"));
        step("syntax error", () -> exec("selec 1"));
        step("division by zero", () -> exec("select 1 / 0"));
        step("missing table, prepared", () -> {
            try (PreparedStatement ps = conn.prepareStatement("select * from shop.missing where id = ?")) {
                ps.setInt(1, 1);
                return table(ps.executeQuery());
            }
        });
        step("after errors in autocommit", () -> exec("select count(*) as n from shop.items"));
        step("autocommit off", () -> { conn.setAutoCommit(false); return "ok"; });
        step("in a transaction", () -> exec("select count(*) as n from shop.orders"));
        step("division by zero in a transaction", () -> exec("select qty / 0 from shop.orders"));
        step("after the error", () -> exec("select 1 as one"));
        Thunk preparedOne = () -> {
            try (PreparedStatement ps = conn.prepareStatement("select ? as one")) {
                ps.setInt(1, 1);
                return table(ps.executeQuery());
            }
        };
        step("after the error, prepared", preparedOne);
        step("rollback", () -> { conn.rollback(); return "ok"; });
        step("after rollback", () -> exec("select 1 as one"));
        step("after rollback, prepared", preparedOne);
        step("autocommit on", () -> { conn.setAutoCommit(true); return "ok"; });

        // 7. clean-up
        for (String ddl : new String[] {"drop view shop.cheap", "drop table shop.orders", "drop table shop.items", "drop schema shop"})
            step(ddl, () -> exec(ddl));
        conn.close();
    }
}
