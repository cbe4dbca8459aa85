//! Dates and timestamps as PostgreSQL reads, stores and sends them:
//! `infinity` and `-infinity`, years before Christ, and timestamptz text
//! without a zone read in the session's TimeZone.

use chrono::NaiveDate;
use tokio_postgres::types::{Date, Timestamp};

use crate::server::{TestServer, texts, values};

#[tokio::test]
async fn infinite_and_bc_dates_and_timestamps_are_stored_sorted_and_sent_as_postgresql_does() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE moments (id int, d date, t timestamp, tz timestamptz);
             INSERT INTO moments VALUES
               (1, 'infinity', 'infinity', '+infinity'),
               (2, '-infinity', '-Infinity', '-infinity'),
               (3, '0044-03-15 BC', 'Feb 16 17:32:01 0097 BC', '4714-11-24 00:00:00+00 BC'),
               (4, '2026-12-07', '2026-12-07 10:00', '2026-12-07 10:00+02');",
        )
        .await
        .unwrap();
    // Stored, sorted (the infinities at the ends) and printed as PostgreSQL
    // prints them; a filter over the stored statistics still finds them.
    assert_eq!(
        texts(values(&client, "SELECT id, d, t, tz FROM moments ORDER BY t").await),
        [
            "2|-infinity|-infinity|-infinity",
            "3|0044-03-15 BC|0097-02-16 17:32:01 BC|4714-11-24 00:00:00+00 BC",
            "4|2026-12-07|2026-12-07 10:00:00|2026-12-07 08:00:00+00",
            "1|infinity|infinity|infinity",
        ]
    );
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT id FROM moments WHERE d > '3000-01-01' OR tz < '1000-01-01' ORDER BY id"
            )
            .await
        ),
        ["1", "2", "3"]
    );
    // EXTRACT of an infinity: infinite for the fields that grow with time,
    // NULL for the others.
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT extract(year FROM t), extract(month FROM t), date_part('epoch', d) \
                 FROM moments WHERE id IN (1, 2) ORDER BY id"
            )
            .await
        ),
        ["Infinity|NULL|Infinity", "-Infinity|NULL|-Infinity"]
    );
    // An infinity moved by an interval stays where it is.
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT t + interval '1 day', tz - interval '1 month' FROM moments \
                 WHERE id IN (1, 2, 4) ORDER BY id"
            )
            .await
        ),
        [
            "infinity|infinity",
            "-infinity|-infinity",
            "2026-12-08 10:00:00|2026-11-07 08:00:00+00"
        ]
    );
    // Before the first day PostgreSQL has: 22008.
    let error = client
        .simple_query("SELECT '4714-11-23 23:59:59+00 BC'::timestamptz")
        .await
        .unwrap_err();
    assert_eq!(error.code().unwrap().code(), "22008");
    // In binary, as PostgreSQL sends them: drivers see their infinities.
    let row = client
        .query_one("SELECT d, t, tz FROM moments WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Date<NaiveDate>>(0), Date::PosInfinity);
    assert_eq!(
        row.get::<_, Timestamp<chrono::NaiveDateTime>>(1),
        Timestamp::PosInfinity
    );
    let row = client
        .query_one("SELECT d, t FROM moments WHERE id = 2", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Date<NaiveDate>>(0), Date::NegInfinity);
    assert_eq!(
        row.get::<_, Timestamp<chrono::NaiveDateTime>>(1),
        Timestamp::NegInfinity
    );
    let row = client
        .query_one("SELECT d FROM moments WHERE id = 3", &[])
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, NaiveDate>(0),
        NaiveDate::from_ymd_opt(-43, 3, 15).unwrap()
    );
}

#[tokio::test]
async fn timestamptz_text_without_a_zone_is_in_the_sessions_time_zone() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("SET TimeZone = 'America/New_York'")
        .await
        .unwrap();
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT '2020-01-01 10:00'::timestamptz, '2020-07-01 10:00'::timestamptz, \
                 '2020-01-01 10:00+00'::timestamptz"
            )
            .await
        ),
        ["2020-01-01 10:00:00-05|2020-07-01 10:00:00-04|2020-01-01 05:00:00-05"]
    );
}

#[tokio::test]
async fn decades_centuries_millennia_and_finiteness_as_postgresql_counts_them() {
    let server = TestServer::start();
    let client = server.connect().await;
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT date_trunc('century', DATE '1970-03-20'), \
                        date_trunc('MILLENNIUM', TIMESTAMP '1970-03-20 04:30:00'), \
                        date_trunc('decade', DATE '0002-12-31 BC'), \
                        date_trunc('century', DATE '0055-08-10 BC'), \
                        date_trunc('decade', DATE '0004-12-25')"
            )
            .await
        ),
        [
            "1901-01-01 00:00:00+00|1001-01-01 00:00:00|0011-01-01 00:00:00+00 BC|\
          0100-01-01 00:00:00+00 BC|0001-01-01 00:00:00+00 BC"
        ]
    );
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT isfinite('infinity'::date), isfinite('-infinity'::timestamp), \
                        isfinite('today'::date), isfinite(now()), isfinite(interval '1 day')"
            )
            .await
        ),
        ["f|f|t|t|t"]
    );
}
