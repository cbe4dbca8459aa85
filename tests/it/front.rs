//! The front door: what a client may cost before it logs in (the
//! authentication timeout, the pre-login connection limit, the byte cap on
//! pre-login messages).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::server::TestServer;

const PASSWORD: &str = "front door password";

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("{e}"))
}

/// A raw TCP connection to the pg port that sends nothing yet.
fn raw_socket(server: &TestServer) -> TcpStream {
    TcpStream::connect(("127.0.0.1", server.port)).expect("connect")
}

/// Whether the server closes `socket` within `within`: a read returns end of
/// file or an error other than a timeout.
fn closed_within(socket: &mut TcpStream, within: Duration) -> bool {
    socket.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return true,
            // What the server said before closing (an ErrorResponse, the
            // authentication request): keep reading.
            Ok(_) if Instant::now() < deadline => continue,
            Ok(_) => return false,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// A protocol 3.0 start-up packet for `user`.
fn startup_packet(user: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes());
    for (k, v) in [("user", user), ("database", "postgres")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend(body);
    packet
}

/// Reads one backend message: (type byte, body).
fn read_message(socket: &mut TcpStream) -> (u8, Vec<u8>) {
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 5];
    socket.read_exact(&mut head).expect("a message");
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut body = vec![0u8; len - 4];
    socket.read_exact(&mut body).expect("the message body");
    (head[0], body)
}

// ---------------------------------------------------------------- before login

#[tokio::test]
async fn idle_sockets_neither_lock_out_logins_nor_outstay_the_authentication_timeout() {
    let server = TestServer::start_with(&[
        ("ENISHI_MAX_CONNECTIONS", "2"),
        ("ENISHI_AUTHENTICATION_TIMEOUT", "2"),
    ]);
    // As many sockets as max_connections, none of which ever says a word.
    let opened = Instant::now();
    let idle: Vec<TcpStream> = (0..2).map(|_| raw_socket(&server)).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A real client still logs in: the idle sockets are not logged-in connections.
    let client = server.connect().await;
    client.simple_query("select 1").await.unwrap();
    // The idle sockets are closed once the authentication timeout has passed.
    let closed = tokio::task::spawn_blocking(move || {
        idle.into_iter()
            .map(|mut s| closed_within(&mut s, Duration::from_secs(8)))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let waited = opened.elapsed();
    assert_eq!(closed, [true, true], "idle sockets outlived the timeout");
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(8),
        "closed after {waited:?}, not about 2 s"
    );
    // The logged-in session is not bound by the authentication timeout.
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.simple_query("select 1").await.unwrap();
    let refusals = server
        .metric("enishi_limit_refusals_total{limit=\"authentication_timeout\"}")
        .unwrap_or(0.0);
    assert!(
        refusals >= 2.0,
        "authentication timeouts counted: {refusals}"
    );
}

#[tokio::test]
async fn connections_still_logging_in_have_a_limit_of_their_own() {
    let server = TestServer::start_with(&[("ENISHI_MAX_STARTUP_CONNECTIONS", "2")]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle: Vec<TcpStream> = (0..2).map(|_| raw_socket(&server)).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = server
        .config()
        .connect(tokio_postgres::NoTls)
        .await
        .err()
        .expect("a third connection that has not logged in is refused");
    assert_eq!(sqlstate(&err), "53300", "{err}");
    assert!(
        server
            .metric("enishi_limit_refusals_total{limit=\"max_startup_connections\"}")
            .is_some_and(|n| n >= 1.0)
    );
    assert_eq!(server.metric("enishi_connections_startup"), Some(2.0));
    // Once they go, there is room again.
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match server.config().connect(tokio_postgres::NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                client.simple_query("select 1").await.unwrap();
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "no room after a close: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn oversized_messages_before_login_are_refused() {
    let server = TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", PASSWORD)]);
    let port = server.port;
    tokio::task::spawn_blocking(move || {
        let connect = || TcpStream::connect(("127.0.0.1", port)).unwrap();
        // A start-up packet longer than PostgreSQL's 10,000 bytes.
        let mut socket = connect();
        let mut packet = 20_000i32.to_be_bytes().to_vec();
        packet.extend(196608i32.to_be_bytes());
        let _ = socket.write_all(&packet);
        let _ = socket.write_all(&vec![b'a'; 19_992]);
        assert!(
            closed_within(&mut socket, Duration::from_secs(5)),
            "oversized start-up packet"
        );

        // A password message longer than that.
        let mut socket = connect();
        socket.write_all(&startup_packet("postgres")).unwrap();
        assert_eq!(read_message(&mut socket).0, b'R', "SASL request");
        let mut message = vec![b'p'];
        message.extend(20_004i32.to_be_bytes());
        let _ = socket.write_all(&message);
        let _ = socket.write_all(&vec![b'a'; 20_000]);
        assert!(
            closed_within(&mut socket, Duration::from_secs(5)),
            "oversized password message"
        );

        // A query sent in the middle of the password exchange, with a body
        // of a megabyte: the server does not buffer it waiting for the end.
        let mut socket = connect();
        socket.write_all(&startup_packet("postgres")).unwrap();
        assert_eq!(read_message(&mut socket).0, b'R', "SASL request");
        let size = 1 << 20;
        let mut message = vec![b'Q'];
        message.extend(((size + 4) as i32).to_be_bytes());
        let _ = socket.write_all(&message);
        socket
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let chunk = vec![b' '; 16 << 10];
        for _ in 0..size / chunk.len() {
            if socket.write_all(&chunk).is_err() {
                break;
            }
        }
        assert!(
            closed_within(&mut socket, Duration::from_secs(5)),
            "a megabyte before login"
        );
    })
    .await
    .unwrap();
    assert!(
        server
            .metric("enishi_limit_refusals_total{limit=\"startup_bytes\"}")
            .is_some_and(|n| n >= 3.0)
    );
    // Logging in still works.
    let mut config = server.config();
    config.password(PASSWORD);
    crate::server::connect(&config)
        .await
        .simple_query("select 1")
        .await
        .unwrap();
}
