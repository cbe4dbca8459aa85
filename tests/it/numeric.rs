//! numeric's NaN, Infinity and -Infinity: read, stored in tables of every
//! width, sorted, compared and printed as PostgreSQL does; never read as a
//! number by a function that does not know them.

use crate::server::{TestServer, failure, texts, values};

#[tokio::test]
async fn nan_and_infinities_are_stored_sorted_and_printed_as_postgresql_does() {
    let server = TestServer::start();
    let client = server.connect().await;
    // Precisions stored as 32-bit, 64-bit, 9-byte and 16-byte Parquet values.
    client
        .batch_execute(
            "CREATE TABLE specials (id int, small numeric(5,2), mid numeric(15,3), \
                                    wide numeric(20,4), free numeric);
             INSERT INTO specials VALUES
               (1, 'NaN', ' nan ', 'NaN', 'NaN'),
               (2, 1.5, -2.25, 3.125, 'Infinity'),
               (3, -999.99, 'NaN', -1, '-inf'),
               (4, NULL, 0, 'NaN', NULL);",
        )
        .await
        .unwrap();
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT id, small, mid, wide, free FROM specials ORDER BY free"
            )
            .await
        ),
        [
            "3|-999.99|NaN|-1.0000|-Infinity",
            "2|1.50|-2.250|3.1250|Infinity",
            "1|NaN|NaN|NaN|NaN",
            "4|NULL|0.000|NaN|NULL",
        ]
    );
    // NaN equals NaN and sorts above every number; -Infinity below.
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT id FROM specials WHERE small = 'NaN' OR wide > 1e10 ORDER BY id"
            )
            .await
        ),
        ["1", "4"]
    );
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT max(free), min(free), count(DISTINCT mid) FROM specials"
            )
            .await
        ),
        ["NaN|-Infinity|3"]
    );
    // Casts carry them across, to floats, text and other numeric types.
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT free::float8, free::text, small::numeric(10,1) FROM specials WHERE id = 1"
            )
            .await
        ),
        ["NaN|NaN|NaN"]
    );
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT 'inf'::float8::numeric, '-Infinity'::numeric::real"
            )
            .await
        ),
        ["Infinity|-Infinity"]
    );
    // A constrained numeric holds NaN but no infinity; integers hold neither.
    assert_eq!(
        failure(&client, "SELECT 'Infinity'::numeric(5,2)").await,
        "22003"
    );
    assert_eq!(
        failure(&client, "SELECT 'NaN'::numeric::int4").await,
        "22003"
    );
    assert_eq!(
        failure(&client, "SELECT free::int8 FROM specials").await,
        "22003"
    );
    assert_eq!(failure(&client, "SELECT '-NaN'::numeric").await, "22P02");
    // Arithmetic gives PostgreSQL's answers.
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT free + 1 > 1e20, free - free, -free, abs(free), round(free), \
                                      free * 0, (5 % free)::float8, (2 / free)::float8 \
                               FROM specials WHERE id IN (2, 3) ORDER BY id"
            )
            .await
        ),
        [
            "t|NaN|-Infinity|Infinity|Infinity|NaN|5|0",
            "f|NaN|Infinity|Infinity|-Infinity|NaN|5|0",
        ]
    );
    assert_eq!(
        texts(
            values(
                &client,
                "SELECT 'nan'::numeric / 0, -('nan'::numeric) = 'NaN'"
            )
            .await
        ),
        ["NaN|t"]
    );
    assert_eq!(failure(&client, "SELECT 'inf'::numeric / 0").await, "22012");
    assert_eq!(failure(&client, "SELECT 'inf'::numeric % 0").await, "22012");
    // Functions that would read the stored digits as a number refuse them.
    assert_eq!(
        failure(&client, "SELECT sum(small) FROM specials").await,
        "0A000"
    );
}

#[tokio::test]
async fn binary_results_carry_nan_and_infinities_in_postgresql_form() {
    let server = TestServer::start();
    let client = server.connect().await;
    // Extended protocol, binary results: the sign word says which, no digits.
    let row = client
        .query_one(
            "SELECT 'NaN'::numeric, 'Infinity'::numeric, '-inf'::numeric",
            &[],
        )
        .await
        .unwrap();
    let raw = |i: usize| row.get::<_, Raw>(i).0;
    assert_eq!(raw(0), [0, 0, 0, 0, 0xC0, 0, 0, 0]);
    assert_eq!(raw(1), [0, 0, 0, 0, 0xD0, 0, 0, 0]);
    assert_eq!(raw(2), [0, 0, 0, 0, 0xF0, 0, 0, 0]);
}

/// A value's bytes as the server sent them.
struct Raw(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for Raw {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }
}
