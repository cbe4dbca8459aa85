//! One client connection: start-up, the simple and the extended query protocol.
//!
//! pgwire drives the socket and calls these handlers; a fresh set is built for every
//! connection, sharing one [`ConnectionState`] (the engine session and the cancel
//! registration). Three pgwire defaults are replaced because PostgreSQL behaves
//! otherwise: start-up (our ParameterStatus set, 3D000 for unknown databases),
//! simple query (stop at the first error; transaction status from the session) and
//! Execute/Describe/Sync (rows stream without buffering, NoData for statements
//! without results, the status byte follows the session, including E → T on
//! ROLLBACK TO SAVEPOINT).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::sql::parser::Statement as DFStatement;
use enishi_sql::privileges::Principal;
use enishi_sql::{Engine, Error, Output, ProtocolEffect, Session, TxState, statement};
use futures::{Sink, SinkExt, StreamExt, stream};
use pgwire::api::auth::{
    StartupHandler, protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{
    ExtendedQueryHandler, SimpleQueryHandler, send_partial_query_response, send_query_response,
};
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldInfo, QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, METADATA_DATABASE, METADATA_USER, PgWireConnectionState,
    PgWireServerHandlers, PidSecretKeyGenerator, RandomPidSecretKeyGenerator, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Describe, Execute, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, NoticeResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::{Authentication, BackendKeyData, ParameterStatus};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::sync::Mutex;

use super::cancel::{CancelGuard, CancelRegistry, Canceller, StatementLimits};
use super::encode::{self, TextStyle};
use super::error::{error_info, error_info_at, sqlstate, to_pgwire};
use crate::audit::Audit;
use crate::lifecycle::{Lifecycle, Phase};
use crate::metrics::Metrics;
use std::time::Instant;

/// Process-wide state every connection needs.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub limits: Limits,
    /// Sessions logged in now (for `server.max_connections` and
    /// `security.max_sessions`).
    pub sessions: std::sync::atomic::AtomicU32,
    /// Connections that have not logged in yet (`server.max_startup_connections`).
    pub logging_in: Arc<std::sync::atomic::AtomicU32>,
    pub audit: Option<Arc<Audit>>,
    pub cancel: Arc<CancelRegistry>,
    pub keys: RandomPidSecretKeyGenerator,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Arc<Lifecycle>,
    pub auth: super::auth::Auth,
}

/// What the configuration limits.
#[derive(Debug)]
pub struct Limits {
    /// Logged-in connections past this are refused with 53300 (0: no limit).
    pub max_connections: u32,
    /// Connections not yet logged in past this are refused with 53300.
    pub max_startup_connections: u32,
    /// A connection not logged in this long after it was accepted is closed.
    pub authentication_timeout: std::time::Duration,
    /// Logged-in sessions past this are refused with 53300 (0: no limit).
    pub max_sessions: u32,
    /// Close a session idle this long with 57P05.
    pub session_timeout: Option<std::time::Duration>,
    /// Turns to execute a statement (None: no limit).
    pub queries: Option<Arc<tokio::sync::Semaphore>>,
}

/// When a connection last finished handling a message, and whether it is
/// handling one now: what the idle-session timeout watches.
#[derive(Debug)]
pub struct Activity {
    busy: std::sync::atomic::AtomicU32,
    last: std::sync::Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            busy: Default::default(),
            last: std::sync::Mutex::new(Instant::now()),
        }
    }
}

impl Activity {
    fn enter(&self) -> ActivityGuard<'_> {
        self.busy.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        ActivityGuard(self)
    }

    /// Resolves once the connection has been idle for `timeout`.
    pub async fn idle_for(&self, timeout: std::time::Duration) {
        loop {
            let idle = *self.last.lock().expect("activity lock");
            let busy = self.busy.load(std::sync::atomic::Ordering::Acquire) > 0;
            if !busy && idle.elapsed() >= timeout {
                return;
            }
            let wait = if busy {
                timeout
            } else {
                timeout.saturating_sub(idle.elapsed())
            };
            tokio::time::sleep(wait.max(std::time::Duration::from_millis(10))).await;
        }
    }
}

struct ActivityGuard<'a>(&'a Activity);

impl Drop for ActivityGuard<'_> {
    fn drop(&mut self) {
        *self.0.last.lock().expect("activity lock") = Instant::now();
        self.0
            .busy
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A logged-in session's place under `max_sessions`; audits the logout.
struct SessionSlot {
    shared: Arc<Shared>,
    user: String,
    peer: String,
    pid: i32,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.shared
            .sessions
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        // pid 0: the login was refused after the slot was taken.
        if let Some(audit) = self.shared.audit.as_ref().filter(|_| self.pid != 0) {
            audit.record(
                "logout",
                &[
                    ("user_id", &self.user),
                    ("client", &self.peer),
                    ("pid", &self.pid.to_string()),
                ],
            );
        }
    }
}

/// A statement's turn under `max_concurrent_queries`, held until its last row
/// is sent; counted in `enishi_queries_in_flight`.
struct InFlight {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    metrics: Arc<Metrics>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.queries_in_flight.dec();
    }
}

/// Per-connection state: empty until start-up succeeds.
#[derive(Default)]
pub struct ConnectionState {
    active: Option<Active>,
    /// A COPY … FROM STDIN receiving data; it holds the session meanwhile.
    copy: Option<CopyInState>,
    /// A login waiting for the client's password messages.
    login: Option<PendingLogin>,
}

/// COPY FROM STDIN in progress: the client's data is decoded and converted
/// here, and a task owning the session streams it into the table.
struct CopyInState {
    copy: Arc<enishi_sql::CopyIn>,
    decoder: super::copy::Decoder,
    batches: tokio::sync::mpsc::Sender<CopyItem>,
    writer: tokio::task::JoinHandle<(Active, Result<u64, Error>)>,
    started: Instant,
    extended: bool,
}

/// What the writer task reads: batches, then an explicit end. A channel that
/// closes without `Done` (the client went away) fails the COPY.
enum CopyItem {
    Batch(datafusion::error::Result<datafusion::arrow::array::RecordBatch>),
    Done,
}

/// A connection that passed start-up: its session and its cancel registration.
struct Active {
    session: Session,
    cancel: CancelGuard,
    slot: SessionSlot,
    /// The session's entry in pg_stat_activity.
    backend: enishi_sql::activity::BackendGuard,
}

impl ConnectionState {
    /// The session, or a FATAL error for messages that arrive before start-up
    /// completed (e.g. pipelined after a refused login).
    fn active(&mut self) -> PgWireResult<&mut Active> {
        self.active.as_mut().ok_or_else(not_started)
    }
}

type State = Arc<Mutex<ConnectionState>>;

/// The handler set pgwire asks for once per connection.
pub struct Handlers {
    handler: Arc<Connection>,
    canceller: Arc<Canceller>,
}

impl Handlers {
    pub fn new(shared: Arc<Shared>, activity: Arc<Activity>) -> Self {
        let state: State = Arc::default();
        let parser = Arc::new(Parser {
            state: state.clone(),
        });
        let canceller = Arc::new(Canceller(shared.cancel.clone()));
        Self {
            handler: Arc::new(Connection {
                shared,
                state,
                parser,
                activity,
            }),
            canceller,
        }
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.handler.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.handler.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.handler.clone()
    }

    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        self.handler.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.canceller.clone()
    }
}

pub struct Connection {
    shared: Arc<Shared>,
    state: State,
    parser: Arc<Parser>,
    activity: Arc<Activity>,
}

/// A statement after Parse: the plan-independent parts the protocol needs.
#[derive(Clone)]
pub struct Prepared {
    statement: DFStatement,
    /// The client's text (for the audit log).
    sql: String,
    /// Parameter types; metadata may carry the declared pg type (varchar, …).
    param_types: Vec<datafusion::arrow::datatypes::Field>,
    /// The parameter types the client gave in Parse (None: for us to infer);
    /// ParameterDescription repeats them, as PostgreSQL does.
    declared: Vec<Option<Type>>,
    schema: Option<SchemaRef>,
}

// ---------------------------------------------------------------- start-up

fn fatal(code: &str, message: String) -> ErrorInfo {
    ErrorInfo::new("FATAL".into(), code.into(), message)
}

/// Sends a FATAL error and closes the connection, as PostgreSQL does for a refused
/// start-up. The state stays un-authenticated, so nothing after it is served.
async fn refuse<C>(client: &mut C, info: ErrorInfo) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    tracing::info!(code = %info.code, message = %info.message, "connection refused");
    client
        .feed(PgWireBackendMessage::ErrorResponse(info.into()))
        .await?;
    client.close().await?;
    Ok(())
}

/// Applies `-c name=value` settings from the start-up `options` parameter.
fn apply_options(session: &mut Session, options: &str) {
    let mut words = options.split_whitespace();
    while let Some(word) = words.next() {
        let setting = match word {
            "-c" => words.next(),
            w => w.strip_prefix("-c").or_else(|| w.strip_prefix("--")),
        };
        if let Some((name, value)) = setting.and_then(|s| s.split_once('='))
            && let Err(e) = session.set_startup_parameter(&name.replace('-', "_"), value)
        {
            tracing::warn!(%name, error = %e, "ignoring start-up option");
        }
    }
}

/// A login between the start-up message and the end of its SCRAM exchange.
struct PendingLogin {
    user: String,
    database: String,
    parameters: Vec<(String, String)>,
    exchange: Option<(enishi_sql::scram::Exchange, super::auth::Credential)>,
}

#[async_trait]
impl StartupHandler for Connection {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(startup) => {
                self.on_startup_message(client, startup).await
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                self.on_password(client, message).await
            }
            _ => Ok(()),
        }
    }
}

impl Connection {
    /// Records a refused login (metric and audit) and tells the client.
    async fn refuse_login<C>(
        &self,
        client: &mut C,
        user: &str,
        database: &str,
        info: ErrorInfo,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.shared.metrics.connections_rejected.inc();
        if info.code == "28P01" {
            self.shared.metrics.auth_failures.inc();
        }
        if let Some(audit) = &self.shared.audit {
            audit.record(
                "login_refused",
                &[
                    ("user_id", user),
                    ("database", database),
                    ("client", &client.socket_addr().to_string()),
                    ("tls", if client.is_secure() { "on" } else { "off" }),
                    ("sqlstate", &info.code),
                ],
            );
        }
        refuse(client, info).await
    }

    async fn on_startup_message<C>(
        &self,
        client: &mut C,
        startup: pgwire::messages::startup::Startup,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        protocol_negotiation(client, &startup).await?;
        save_startup_parameters_to_metadata(client, &startup);
        if self.shared.lifecycle.phase() == Phase::Draining {
            self.shared.metrics.connections_rejected.inc();
            return refuse(
                client,
                fatal("57P03", "the database system is shutting down".into()),
            )
            .await;
        }
        let Some(user) = client.metadata().get(METADATA_USER).cloned() else {
            return refuse(
                client,
                fatal(
                    "28000",
                    "no PostgreSQL user name specified in startup packet".into(),
                ),
            )
            .await;
        };
        let database = client
            .metadata()
            .get(METADATA_DATABASE)
            .cloned()
            .unwrap_or_else(|| user.clone());
        let auth = &self.shared.auth;
        let peer = client.socket_addr();
        let encryption = if client.is_secure() {
            "SSL encryption"
        } else {
            "no encryption"
        };
        let no_entry = || {
            fatal(
                "28000",
                format!(
                    "no pg_hba.conf entry for host \"{}\", user \"{user}\", database \"{database}\", {encryption}",
                    peer.ip()
                ),
            )
        };
        if auth.require_tls && !client.is_secure() {
            return self
                .refuse_login(client, &user, &database, no_entry())
                .await;
        }
        let parameters: Vec<(String, String)> = startup
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Without a superuser password the server listens on loopback only
        // (Auth::from_config); a client from elsewhere is refused all the same.
        if !auth.superuser_password() && !peer.ip().is_loopback() {
            return self
                .refuse_login(client, &user, &database, no_entry())
                .await;
        }
        if auth.trusts(peer.ip()) {
            // A role another server made may be newer than our catalog.
            if let Err(e) = self.shared.engine.storage().refresh_catalog().await {
                tracing::warn!(error = %e, "could not look for a newer catalog");
            }
            let principal = match self.trusted_principal(&user) {
                Ok(p) => p,
                Err(message) => {
                    let info = fatal("28000", message);
                    return self.refuse_login(client, &user, &database, info).await;
                }
            };
            return self
                .admit(client, user, database, parameters, principal)
                .await;
        }
        self.state.lock().await.login = Some(PendingLogin {
            user,
            database,
            parameters,
            exchange: None,
        });
        client.set_state(PgWireConnectionState::AuthenticationInProgress);
        client
            .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                vec!["SCRAM-SHA-256".into()],
            )))
            .await?;
        Ok(())
    }

    /// A trusted client: a role that exists and may log in is who it says.
    fn trusted_principal(&self, user: &str) -> Result<Principal, String> {
        if user == enishi_sql::engine::SUPERUSER {
            return Ok(Principal::Superuser);
        }
        let role = self
            .shared
            .engine
            .storage()
            .read_catalog(|c| c.security.roles.get(user).cloned());
        match role {
            None => Err(format!("role \"{user}\" does not exist")),
            Some(r) if !r.login => Err(format!("role \"{user}\" is not permitted to log in")),
            Some(_) => Ok(Principal::Role(user.to_string())),
        }
    }

    /// The client's SCRAM messages: first the mechanism and client-first
    /// message, then the proof.
    async fn on_password<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::startup::PasswordMessageFamily,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some(mut login) = self.state.lock().await.login.take() else {
            return refuse(client, fatal("08P01", "unexpected password message".into())).await;
        };
        let (user, database) = (login.user.clone(), login.database.clone());
        let failed = || {
            fatal(
                "28P01",
                format!("password authentication failed for user \"{user}\""),
            )
        };
        let malformed = |what: String| fatal("08P01", format!("malformed SCRAM message: {what}"));
        let Some((exchange, credential)) = login.exchange.take() else {
            let initial = message.into_sasl_initial_response()?;
            if initial.auth_method != "SCRAM-SHA-256" {
                let info = fatal(
                    "28000",
                    format!(
                        "client selected an invalid SASL authentication mechanism: {}",
                        initial.auth_method
                    ),
                );
                return self.refuse_login(client, &user, &database, info).await;
            }
            let data = initial.data.unwrap_or_default();
            let text = String::from_utf8_lossy(&data);
            let now = enishi_sql::session::now();
            // A role or token another server made may be newer than our catalog.
            if let Err(e) = self.shared.engine.storage().refresh_catalog().await {
                tracing::warn!(error = %e, "could not look for a newer catalog");
            }
            let (credential, salt) = self
                .shared
                .engine
                .storage()
                .read_catalog(|c| self.shared.auth.credential(c, &user, now));
            let (exchange, server_first) = match enishi_sql::scram::Exchange::start(
                &text,
                &salt,
                enishi_sql::scram::ITERATIONS,
            ) {
                Ok(started) => started,
                Err(e) => {
                    let info = malformed(format!("{e:?}"));
                    return self.refuse_login(client, &user, &database, info).await;
                }
            };
            login.exchange = Some((exchange, credential));
            self.state.lock().await.login = Some(login);
            client
                .send(PgWireBackendMessage::Authentication(
                    Authentication::SASLContinue(server_first.into_bytes().into()),
                ))
                .await?;
            return Ok(());
        };
        let response = message.into_sasl_response()?;
        let text = String::from_utf8_lossy(&response.data);
        let (proof, auth_message) = match exchange.finish(&text) {
            Ok(parts) => parts,
            Err(e) => {
                let info = malformed(format!("{e:?}"));
                return self.refuse_login(client, &user, &database, info).await;
            }
        };
        let verified = match credential {
            super::auth::Credential::Password(verifier, principal) => verifier
                .verify(&auth_message, &proof)
                .map(|signature| (signature, principal)),
            super::auth::Credential::Tokens(tokens) => tokens.into_iter().find_map(|(v, c)| {
                v.verify(&auth_message, &proof)
                    .map(|signature| (signature, Principal::Token(c)))
            }),
        };
        let Some((signature, principal)) = verified else {
            return self.refuse_login(client, &user, &database, failed()).await;
        };
        if let Principal::Role(name) = &principal {
            let may_login = self
                .shared
                .engine
                .storage()
                .read_catalog(|c| c.security.roles.get(name).is_some_and(|r| r.login));
            if !may_login {
                let info = fatal(
                    "28000",
                    format!("role \"{name}\" is not permitted to log in"),
                );
                return self.refuse_login(client, &user, &database, info).await;
            }
        }
        client
            .feed(PgWireBackendMessage::Authentication(
                Authentication::SASLFinal(
                    enishi_sql::scram::server_final(&signature)
                        .into_bytes()
                        .into(),
                ),
            ))
            .await?;
        self.admit(client, user, database, login.parameters, principal)
            .await
    }

    /// Opens the session of an authenticated client: limits, settings from the
    /// start-up packet, the cancel key, and ReadyForQuery.
    async fn admit<C>(
        &self,
        client: &mut C,
        user: String,
        database: String,
        parameters: Vec<(String, String)>,
        principal: Principal,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let peer = client.socket_addr().to_string();
        let limits = &self.shared.limits;
        let too_many = || fatal("53300", "sorry, too many clients already".into());
        let token = match &principal {
            Principal::Token(c) => Some(c.id.clone()),
            _ => None,
        };
        // A token session acts as its token, whatever name the client typed:
        // current_user, pg_stat_activity and the audit log say which token.
        let user = match &token {
            Some(id) => format!("token:{id}"),
            None => user,
        };
        // Both limits count logged-in connections; connections still logging
        // in have their own (`max_startup_connections`, checked at accept).
        let sessions = self
            .shared
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let mut slot = SessionSlot {
            shared: self.shared.clone(),
            user: user.clone(),
            peer: peer.clone(),
            pid: 0,
        };
        let exceeded = if limits.max_connections > 0 && sessions >= limits.max_connections {
            Some("max_connections")
        } else if limits.max_sessions > 0 && sessions >= limits.max_sessions {
            Some("max_sessions")
        } else {
            None
        };
        if let Some(limit) = exceeded {
            self.shared.metrics.limits.with_label_values(&[limit]).inc();
            drop(slot);
            return self
                .refuse_login(client, &user, &database, too_many())
                .await;
        }
        let mut session = match Session::open(&self.shared.engine, &user, &database, principal) {
            Ok(s) => s,
            Err(e) => {
                return self
                    .refuse_login(client, &user, &database, error_info(&e, "FATAL"))
                    .await;
            }
        };
        for (name, value) in &parameters {
            match name.as_str() {
                "user" | "database" | "replication" => {}
                "options" => apply_options(&mut session, value),
                _ => {
                    if let Err(e) = session.set_startup_parameter(name, value) {
                        tracing::debug!(%name, error = %e, "ignoring start-up parameter");
                    }
                }
            }
        }
        session.take_reported();
        let (pid, key) = self.shared.keys.generate(client);
        client.set_pid_and_secret_key(pid, key.clone());
        let guard = self.shared.cancel.register(pid, key.to_bytes().to_vec());

        client
            .feed(PgWireBackendMessage::Authentication(Authentication::Ok))
            .await?;
        for (name, value) in session.settings().reported() {
            client
                .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                    name.into(),
                    value,
                )))
                .await?;
        }
        client
            .feed(PgWireBackendMessage::BackendKeyData(BackendKeyData::new(
                pid, key,
            )))
            .await?;
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                TransactionStatus::Idle,
            )))
            .await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        slot.pid = pid;
        let tls = if client.is_secure() { "on" } else { "off" };
        tracing::info!(pid, %user, %database, %peer, tls, "connection authorized");
        if let Some(audit) = &self.shared.audit {
            let mut fields = vec![
                ("user_id", user.as_str()),
                ("database", database.as_str()),
                ("client", peer.as_str()),
                ("tls", tls),
            ];
            let pid = pid.to_string();
            fields.push(("pid", &pid));
            if let Some(token) = &token {
                fields.push(("token_id", token));
            }
            audit.record("login", &fields);
        }
        let backend = self.shared.engine.activity().connect(
            pid,
            &user,
            &database,
            &session.setting("application_name").unwrap_or_default(),
            Some(client.socket_addr()),
        );
        self.state.lock().await.active = Some(Active {
            session,
            cancel: guard,
            slot,
            backend,
        });
        Ok(())
    }
}

// ---------------------------------------------------------------- shared helpers

fn tx_status(state: TxState) -> TransactionStatus {
    match state {
        TxState::Idle => TransactionStatus::Idle,
        TxState::Block => TransactionStatus::Transaction,
        TxState::Failed => TransactionStatus::Error,
    }
}

fn not_started() -> PgWireError {
    PgWireError::UserError(Box::new(fatal(
        "08P01",
        "connection is not authenticated".into(),
    )))
}

/// Sends what a statement left for the client besides its result: notices and
/// changed parameters. Also applies protocol clean-up it asked for.
async fn flush_side_channel<C>(client: &mut C, session: &mut Session) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for notice in session.take_notices() {
        let info = ErrorInfo::new(notice.severity.into(), notice.code.into(), notice.message);
        client
            .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                info,
            )))
            .await?;
    }
    for (name, value) in session.take_reported() {
        client
            .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                name.into(),
                value,
            )))
            .await?;
    }
    for effect in session.take_effects() {
        match effect {
            ProtocolEffect::Deallocate(name) => client.portal_store().rm_statement(&name),
            ProtocolEffect::DeallocateAll => {
                // Only SQL-level names can be listed here; the protocol-level
                // statements go when their portals do.
                client.portal_store().clear_portals();
            }
        }
    }
    Ok(())
}

fn command_tag(tag: &enishi_sql::CommandTag) -> Tag {
    let mut out = Tag::new(&tag.command);
    if let Some(oid) = tag.oid {
        out = out.with_oid(oid);
    }
    if let Some(rows) = tag.rows {
        out = out.with_rows(rows);
    }
    out
}

/// A result stream as DataRows, stopped by cancel or statement_timeout.
fn row_stream(
    batches: SendableRecordBatchStream,
    fields: Arc<Vec<FieldInfo>>,
    style: TextStyle,
    limits: StatementLimits,
) -> impl futures::Stream<Item = PgWireResult<pgwire::messages::data::DataRow>> + Send + 'static {
    stream::unfold(Some((batches, limits)), move |state| {
        let fields = fields.clone();
        let style = style.clone();
        async move {
            let (mut batches, mut limits) = state?;
            let next = match limits.run(batches.next()).await {
                Ok(next) => next,
                Err(stop) => return Some((vec![Err(to_pgwire(&stop))], None)),
            };
            match next {
                None => None,
                Some(Err(e)) => Some((vec![Err(to_pgwire(&Error::from(e)))], None)),
                Some(Ok(batch)) => {
                    let rows = match encode::encode_batch(batch, &fields, &style) {
                        Ok(rows) => rows.into_iter().map(Ok).collect(),
                        Err(e) => vec![Err(e)],
                    };
                    Some((rows, Some((batches, limits))))
                }
            }
        }
    })
    .flat_map(stream::iter)
}

impl Connection {
    /// Runs one statement under the session's limits (cancel, statement_timeout);
    /// the limits go on to govern streaming its rows.
    async fn run(
        shared: &Shared,
        active: &mut Active,
        stmt: &DFStatement,
        sql: &str,
        params: Option<datafusion::common::ParamValues>,
    ) -> Result<(Output, StatementLimits), Error> {
        let metrics = &shared.metrics;
        // No statement runs whose record the audit log could not take.
        if let Some(audit) = &shared.audit
            && let Err(refusal) = audit.admit()
        {
            metrics
                .audit_refusals
                .with_label_values(&[refusal.reason()])
                .inc();
            active.session.statement_failed();
            let e = Error::Coded {
                code: refusal.sqlstate(),
                message: refusal.to_string(),
            };
            metrics.query_failed(sqlstate(&e));
            return Err(e);
        }
        let started = Instant::now();
        let timeout = active.session.settings().statement_timeout_ms();
        let mut limits = active.cancel.statement(timeout);
        let permit = match &shared.limits.queries {
            Some(turns) => limits
                .run(async { turns.clone().acquire_owned().await.ok() })
                .await
                .inspect_err(|e| metrics.query_failed(sqlstate(e)))?,
            None => None,
        };
        metrics.queries_in_flight.inc();
        let in_flight = InFlight {
            _permit: permit,
            metrics: metrics.clone(),
        };
        let application = active.session.setting("application_name");
        active.backend.started(
            &statement::redact_passwords(sql),
            &application.unwrap_or_default(),
        );
        let output = limits
            .run(active.session.execute(stmt, params))
            .await
            .and_then(|r| r);
        let rolled_back = statement::classify(stmt).1 == "ROLLBACK";
        active
            .backend
            .finished(active.session.tx_state(), output.is_ok() && !rolled_back);
        metrics.planned(started.elapsed(), output.is_ok());
        let objects = active.session.take_objects();
        let mut audit = shared.audit.as_ref().map(|audit| {
            let (class, command) = statement::classify(stmt);
            let mut fields = vec![
                ("user_id", active.slot.user.clone()),
                ("database", active.session.database().to_string()),
                ("client", active.slot.peer.clone()),
                ("pid", active.slot.pid.to_string()),
            ];
            if let enishi_sql::privileges::Principal::Token(c) = active.session.principal() {
                fields.push(("token_id", c.id.clone()));
            }
            fields.extend([
                ("class", class.to_string()),
                ("command", command),
                ("objects", objects.join(",")),
                ("statement", statement::redact_passwords(sql.trim())),
            ]);
            StatementAudit {
                audit: audit.clone(),
                fields,
                started,
                done: false,
            }
        });
        match output {
            Err(e) => {
                active.session.statement_failed();
                metrics.query_failed(sqlstate(&e));
                if matches!(e, Error::InsufficientPrivilege(_)) {
                    metrics.permission_denied.inc();
                }
                if let Some(audit) = &mut audit {
                    audit.finish(Err(sqlstate(&e)), 0);
                }
                Err(e)
            }
            Ok(Output::Rows(mut rows)) => {
                let kind = rows.tag.split(' ').next().unwrap_or("SELECT");
                rows.stream = Box::pin(Timed {
                    schema: rows.stream.schema(),
                    inner: rows.stream,
                    _in_flight: in_flight,
                    audit,
                    metrics: metrics.clone(),
                    kind,
                    started,
                    rows: 0,
                    done: false,
                });
                Ok((Output::Rows(rows), limits))
            }
            Ok(output) => {
                let rows = match &output {
                    Output::Command(tag) => tag.rows.unwrap_or(0) as u64,
                    _ => 0,
                };
                if let Output::Command(tag) = &output {
                    completed(metrics, &tag.command, rows, started.elapsed());
                }
                if let Some(audit) = &mut audit {
                    audit.finish(Ok(()), rows);
                }
                Ok((output, limits))
            }
        }
    }
}

/// Records a completed statement and writes its log line, whose last field is
/// the duration in milliseconds (operators average and rank that field).
fn completed(metrics: &Metrics, kind: &str, rows: u64, elapsed: std::time::Duration) {
    metrics.query_completed(kind, rows, elapsed);
    let ms = elapsed.as_secs_f64() * 1000.0;
    tracing::info!(target: "enishi::query", "query {kind} rows={rows} duration_ms {ms:.3}");
}

/// A statement's audit record, written when its outcome is known: at once for
/// commands and errors, after the last row for queries, and as `aborted` when
/// its rows were abandoned (cancelled, portal closed, client gone).
struct StatementAudit {
    audit: Arc<Audit>,
    fields: Vec<(&'static str, String)>,
    started: Instant,
    done: bool,
}

impl StatementAudit {
    fn finish(&mut self, outcome: Result<(), &str>, rows: u64) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let (result, code) = match outcome {
            Ok(()) => ("ok", "00000"),
            Err(code) => ("error", code),
        };
        self.write(result, code, rows);
    }

    fn write(&self, outcome: &str, code: &str, rows: u64) {
        let decision = if code == "42501" { "deny" } else { "allow" };
        let rows = rows.to_string();
        let duration = format!("{:.3}", self.started.elapsed().as_secs_f64() * 1000.0);
        let mut fields: Vec<(&str, &str)> = self
            .fields
            .iter()
            .filter(|(k, _)| *k != "statement")
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        fields.extend([
            ("decision", decision),
            ("outcome", outcome),
            ("sqlstate", code),
            ("rows", rows.as_str()),
            ("duration_ms", duration.as_str()),
        ]);
        if let Some((_, text)) = self.fields.iter().find(|(k, _)| *k == "statement") {
            fields.push(("statement", text));
        }
        self.audit.record("statement", &fields);
    }
}

impl Drop for StatementAudit {
    fn drop(&mut self) {
        if !self.done {
            self.write("aborted", "57014", 0);
        }
    }
}

/// A result stream that records its statement when the last row has gone.
struct Timed {
    schema: datafusion::arrow::datatypes::SchemaRef,
    inner: datafusion::execution::SendableRecordBatchStream,
    _in_flight: InFlight,
    audit: Option<StatementAudit>,
    metrics: Arc<Metrics>,
    kind: &'static str,
    started: Instant,
    rows: u64,
    done: bool,
}

impl futures::Stream for Timed {
    type Item = datafusion::error::Result<datafusion::arrow::array::RecordBatch>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(batch))) => {
                this.rows += batch.num_rows() as u64;
                Poll::Ready(Some(Ok(batch)))
            }
            Poll::Ready(Some(Err(e))) => {
                let err = Error::from(e);
                if !std::mem::replace(&mut this.done, true) {
                    this.metrics.query_failed(sqlstate(&err));
                }
                if let Some(audit) = &mut this.audit {
                    audit.finish(Err(sqlstate(&err)), this.rows);
                }
                Poll::Ready(Some(Err(datafusion::error::DataFusionError::External(
                    Box::new(err),
                ))))
            }
            Poll::Ready(None) => {
                if !std::mem::replace(&mut this.done, true) {
                    completed(&this.metrics, this.kind, this.rows, this.started.elapsed());
                }
                if let Some(audit) = &mut this.audit {
                    audit.finish(Ok(()), this.rows);
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl datafusion::execution::RecordBatchStream for Timed {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.schema.clone()
    }
}

// ---------------------------------------------------------------- COPY

/// COPY … TO STDOUT: CopyOutResponse, one CopyData per row, CopyDone and
/// `COPY n`. An error midway is sent as an ErrorResponse without CopyDone (the
/// inner Err), as PostgreSQL does.
async fn copy_out<C>(
    client: &mut C,
    out: enishi_sql::CopyOut,
    style: TextStyle,
    mut limits: StatementLimits,
    metrics: &Metrics,
    started: Instant,
) -> PgWireResult<Result<(), ErrorInfo>>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
    let encoder = match super::copy::Encoder::new(out.options.clone(), &out.rows.schema, style) {
        Ok(encoder) => encoder,
        Err(PgWireError::UserError(info)) => return Ok(Err(*info)),
        Err(e) => return Err(e),
    };
    let code = super::copy::format_code(&out.options);
    let columns = encoder.columns();
    client
        .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            code,
            columns as i16,
            vec![i16::from(code); columns],
        )))
        .await?;
    let mut stream = out.rows.stream;
    let mut start = encoder.start();
    let mut rows = 0u64;
    loop {
        let next = match limits.run(stream.next()).await {
            Ok(next) => next,
            Err(stop) => return Ok(Err(error_info(&stop, "ERROR"))),
        };
        let batch = match next {
            None => break,
            Some(Ok(batch)) => batch,
            Some(Err(e)) => return Ok(Err(error_info(&Error::from(e), "ERROR"))),
        };
        let messages = match encoder.rows(batch) {
            Ok(messages) => messages,
            Err(PgWireError::UserError(info)) => return Ok(Err(*info)),
            Err(e) => return Err(e),
        };
        for message in messages {
            // The binary header travels with the first row, as PostgreSQL sends it.
            let data = match start.take() {
                Some(head) if out.options.format == enishi_sql::CopyFormat::Binary => {
                    let mut joined = bytes::BytesMut::from(&head[..]);
                    joined.extend_from_slice(&message);
                    joined.freeze()
                }
                Some(head) => {
                    client
                        .feed(PgWireBackendMessage::CopyData(CopyData::new(head)))
                        .await?;
                    message
                }
                None => message,
            };
            client
                .feed(PgWireBackendMessage::CopyData(CopyData::new(data)))
                .await?;
            rows += 1;
        }
    }
    for tail in [start.take(), encoder.finish()].into_iter().flatten() {
        client
            .feed(PgWireBackendMessage::CopyData(CopyData::new(tail)))
            .await?;
    }
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    client
        .feed(PgWireBackendMessage::CommandComplete(
            Tag::new("COPY").with_rows(rows as usize).into(),
        ))
        .await?;
    completed(metrics, "COPY", rows, started.elapsed());
    Ok(Ok(()))
}

impl Connection {
    /// COPY … FROM STDIN: sends CopyInResponse and hands the session to a task
    /// that writes what the client sends; the copy handler takes it from there.
    async fn start_copy_in<C>(
        &self,
        client: &mut C,
        guard: &mut ConnectionState,
        copy: enishi_sql::CopyIn,
        extended: bool,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use pgwire::messages::copy::CopyInResponse;
        let Some(mut active) = guard.active.take() else {
            return Err(not_started());
        };
        let copy = Arc::new(copy);
        let names = copy.columns.iter().map(|f| f.name().clone()).collect();
        // Binary input is read by each column's PostgreSQL type.
        let style = TextStyle::from_settings(&active.session.settings());
        let columns = datafusion::arrow::datatypes::Schema::new(copy.columns.clone());
        let types = encode::fields(&columns, &Format::UnifiedBinary, &style)?
            .iter()
            .map(|f| f.datatype().clone())
            .collect();
        let memory = datafusion::execution::memory_pool::MemoryConsumer::new(format!(
            "COPY {} FROM STDIN",
            copy.table
        ))
        .register(active.session.engine().memory_pool());
        let decoder = super::copy::Decoder::new(copy.options.clone(), names, types, memory);
        let (sender, receiver) = tokio::sync::mpsc::channel::<CopyItem>(2);
        let batches = stream::unfold(Some(receiver), |receiver| async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(CopyItem::Batch(batch)) => Some((batch, Some(receiver))),
                Some(CopyItem::Done) => None,
                None => Some((
                    Err(datafusion::error::DataFusionError::Execution(
                        "COPY from stdin ended without CopyDone".into(),
                    )),
                    None,
                )),
            }
        });
        let schema = copy.table_schema();
        let batches: SendableRecordBatchStream = Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, batches),
        );
        let writer = {
            let copy = copy.clone();
            tokio::spawn(async move {
                let result = active.session.copy_write(&copy, batches).await;
                (active, result)
            })
        };
        let code = super::copy::format_code(&copy.options);
        let columns = copy.columns.len();
        client
            .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                code,
                columns as i16,
                vec![i16::from(code); columns],
            )))
            .await?;
        guard.copy = Some(CopyInState {
            copy,
            decoder,
            batches: sender,
            writer,
            started: Instant::now(),
            extended,
        });
        client.set_state(PgWireConnectionState::CopyInProgress(extended));
        Ok(())
    }

    /// Ends the COPY in progress (the writer gets `end`), waits for the writer
    /// and puts the session back. Returns when the COPY started, whether it
    /// came by the extended protocol, and the writer's result.
    async fn end_copy_in(
        guard: &mut ConnectionState,
        end: CopyItem,
    ) -> Option<(Instant, bool, Result<u64, Error>)> {
        let CopyInState {
            batches,
            writer,
            started,
            extended,
            ..
        } = guard.copy.take()?;
        let _ = batches.send(end).await;
        drop(batches);
        let result = match writer.await {
            Ok((active, result)) => {
                guard.active = Some(active);
                result
            }
            Err(e) => Err(Error::Internal(format!("COPY writer failed: {e}"))),
        };
        Some((started, extended, result))
    }

    /// Converts the decoded rows (all of them with `force`) and passes them
    /// to the writer. On bad data the COPY is abandoned and the error returned.
    async fn feed_copy(guard: &mut ConnectionState, force: bool) -> Result<(), ErrorInfo> {
        loop {
            let Some(state) = guard.copy.as_mut() else {
                return Ok(());
            };
            let Some((text, lines)) = state.decoder.take(force) else {
                return Ok(());
            };
            let converted = state.copy.convert(&text).map_err(|bad| {
                let line = lines.get(bad.row).copied().unwrap_or(0);
                let mut info = error_info(&bad.error, "ERROR");
                let value = bad.column.as_ref().and_then(|name| {
                    let i = text.schema().index_of(name).ok()?;
                    let column = text
                        .column(i)
                        .as_any()
                        .downcast_ref::<datafusion::arrow::array::StringArray>()?;
                    Some(
                        datafusion::arrow::array::Array::is_valid(column, bad.row)
                            .then(|| column.value(bad.row).to_string()),
                    )
                });
                info.where_context = Some(match (&bad.column, value) {
                    (Some(name), Some(Some(v))) => {
                        format!(
                            "COPY {}, line {line}, column {name}: \"{v}\"",
                            state.copy.table
                        )
                    }
                    (Some(name), _) => {
                        format!("COPY {}, line {line}, column {name}", state.copy.table)
                    }
                    _ => format!("COPY {}, line {line}", state.copy.table),
                });
                info
            });
            match converted {
                Ok(batch) => {
                    if state
                        .batches
                        .send(CopyItem::Batch(Ok(batch)))
                        .await
                        .is_err()
                    {
                        // The writer stopped early: its error is reported at the end.
                        return Ok(());
                    }
                }
                Err(info) => return Err(info),
            }
        }
    }

    /// Abandons the COPY after bad data: the writer fails (nothing commits)
    /// and the session is back, in the failed state.
    async fn abort_copy(guard: &mut ConnectionState, info: ErrorInfo) -> PgWireError {
        let failure = datafusion::error::DataFusionError::Execution(info.message.clone());
        if Self::end_copy_in(guard, CopyItem::Batch(Err(failure)))
            .await
            .is_some()
            && let Some(active) = guard.active.as_mut()
        {
            active.session.statement_failed();
        }
        PgWireError::UserError(Box::new(info))
    }
}

impl Connection {
    /// Gives the decoder what arrived (`step`), then passes the complete
    /// batches (all rows, with `force`) to the writer. Bad data abandons the COPY.
    async fn advance_copy(
        guard: &mut ConnectionState,
        step: impl FnOnce(&mut super::copy::Decoder) -> Result<(), super::copy::DataError>,
        force: bool,
    ) -> PgWireResult<()> {
        let Some(state) = guard.copy.as_mut() else {
            return Ok(());
        };
        if let Err(bad) = step(&mut state.decoder) {
            let info = bad.into_error_info(&state.copy.table);
            return Err(Self::abort_copy(guard, info).await);
        }
        if let Err(info) = Self::feed_copy(guard, force).await {
            return Err(Self::abort_copy(guard, info).await);
        }
        Ok(())
    }
}

#[async_trait]
impl pgwire::api::copy::CopyHandler for Connection {
    async fn on_copy_data<C>(
        &self,
        _client: &mut C,
        data: pgwire::messages::copy::CopyData,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _busy = self.activity.enter();
        let mut guard = self.state.lock().await;
        Self::advance_copy(&mut guard, |decoder| decoder.push(&data.data), false).await
    }

    async fn on_copy_done<C>(
        &self,
        client: &mut C,
        _done: pgwire::messages::copy::CopyDone,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _busy = self.activity.enter();
        let mut guard = self.state.lock().await;
        Self::advance_copy(&mut guard, super::copy::Decoder::finish, true).await?;
        let Some((started, extended, result)) = Self::end_copy_in(&mut guard, CopyItem::Done).await
        else {
            return Ok(());
        };
        let active = guard.active()?;
        let status = tx_status(active.session.tx_state());
        match result {
            Ok(rows) => {
                completed(&self.shared.metrics, "COPY", rows, started.elapsed());
                client
                    .feed(PgWireBackendMessage::CommandComplete(
                        Tag::new("COPY").with_rows(rows as usize).into(),
                    ))
                    .await?;
                client.set_transaction_status(status);
                if extended {
                    client.set_state(PgWireConnectionState::AwaitingSync);
                }
                Ok(())
            }
            Err(e) => {
                self.shared.metrics.query_failed(sqlstate(&e));
                client.set_transaction_status(status);
                Err(to_pgwire(&e))
            }
        }
    }

    async fn on_copy_fail<C>(
        &self,
        _client: &mut C,
        fail: pgwire::messages::copy::CopyFail,
    ) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let info = ErrorInfo::new(
            "ERROR".into(),
            "57014".into(),
            format!("COPY from stdin failed: {}", fail.message),
        );
        Self::abort_copy(&mut guard, info).await
    }
}

// ---------------------------------------------------------------- simple query

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let _busy = self.activity.enter();
        let mut guard = self.state.lock().await;
        let active = guard.active()?;
        client.set_state(PgWireConnectionState::QueryInProgress);
        tracing::debug!(query = %statement::redact_passwords(&query.query), "simple query");
        let mut copy_in = None;

        match statement::parse(&query.query) {
            Err(e) => {
                active.session.statement_failed();
                client
                    .feed(PgWireBackendMessage::ErrorResponse(
                        error_info(&e, "ERROR").into(),
                    ))
                    .await?;
            }
            Ok(statements) if statements.is_empty() => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            Ok(statements) => {
                for stmt in &statements {
                    let started = Instant::now();
                    let result = Self::run(&self.shared, active, stmt, &query.query, None).await;
                    let session = &mut active.session;
                    flush_side_channel(client, session).await?;
                    let ok = match result {
                        Ok((Output::Rows(rows), limits)) => {
                            let style = TextStyle::from_settings(&session.settings());
                            let fields = Arc::new(encode::fields(
                                &rows.schema,
                                &Format::UnifiedText,
                                &style,
                            )?);
                            let mut response = QueryResponse::new(
                                fields.clone(),
                                row_stream(rows.stream, fields, style, limits),
                            );
                            response.set_command_tag(rows.tag);
                            match send_query_response(client, response, true).await {
                                Ok(()) => true,
                                Err(PgWireError::UserError(info)) => {
                                    session.statement_failed();
                                    client
                                        .feed(PgWireBackendMessage::ErrorResponse((*info).into()))
                                        .await?;
                                    false
                                }
                                Err(other) => return Err(other),
                            }
                        }
                        Ok((Output::Command(tag), _)) => {
                            let message = CommandComplete::from(command_tag(&tag));
                            client
                                .feed(PgWireBackendMessage::CommandComplete(message))
                                .await?;
                            true
                        }
                        Ok((Output::Empty, _)) => {
                            client
                                .feed(PgWireBackendMessage::EmptyQueryResponse(
                                    EmptyQueryResponse::new(),
                                ))
                                .await?;
                            true
                        }
                        Ok((Output::CopyOut(out), limits)) => {
                            let style = TextStyle::from_settings(&session.settings());
                            match copy_out(
                                client,
                                out,
                                style,
                                limits,
                                &self.shared.metrics,
                                started,
                            )
                            .await?
                            {
                                Ok(()) => true,
                                Err(info) => {
                                    session.statement_failed();
                                    client
                                        .feed(PgWireBackendMessage::ErrorResponse(info.into()))
                                        .await?;
                                    false
                                }
                            }
                        }
                        Ok((Output::CopyIn(copy), _)) => {
                            copy_in = Some(copy);
                            break;
                        }
                        Err(e) => {
                            client
                                .feed(PgWireBackendMessage::ErrorResponse(
                                    error_info_at(&e, "ERROR", &query.query).into(),
                                ))
                                .await?;
                            false
                        }
                    };
                    if !ok {
                        break;
                    }
                }
            }
        }
        if let Some(copy) = copy_in {
            let status = tx_status(active.session.tx_state());
            client.set_transaction_status(status);
            return self.start_copy_in(client, &mut guard, copy, false).await;
        }
        let active = guard.active()?;
        let status = tx_status(active.session.tx_state());
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_query above answers every Query message itself.
        Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "XX000".into(),
            "simple query path not in use".into(),
        ))))
    }
}

// ---------------------------------------------------------------- extended query

/// A Bind's parameters as values of the statement's parameter types. Numeric
/// values are read here, exactly, in text or binary form: one its parameter
/// type would round silently is refused (22003, `types::parameter_value`).
/// The rest are arrow-pg's to decode.
fn bind_parameters(portal: &Portal<Prepared>) -> PgWireResult<ParamValues> {
    let prepared = &portal.statement.statement;
    let declared = &portal.statement.parameter_types;
    let mut others = portal.parameters.clone();
    let mut numeric = Vec::new();
    for (i, field) in prepared.param_types.iter().enumerate() {
        let is_numeric = match declared.get(i).and_then(Option::as_ref) {
            Some(ty) => *ty == Type::NUMERIC,
            None => matches!(field.data_type(), DataType::Decimal128(..)),
        };
        let Some(raw) = others.get_mut(i).filter(|_| is_numeric) else {
            continue;
        };
        let value = match raw.take() {
            None => ScalarValue::try_from(field.data_type()).map_err(|e| to_pgwire(&e.into()))?,
            Some(bytes) => {
                let text = if portal.parameter_format.is_binary(i) {
                    super::copy::numeric_text(&bytes).map_err(|why| {
                        to_pgwire(&Error::Protocol(format!(
                            "incorrect binary data format in bind parameter {}: {why}",
                            i + 1
                        )))
                    })?
                } else {
                    String::from_utf8_lossy(&bytes).into_owned()
                };
                enishi_sql::types::numeric_parameter(&text, field.data_type())
                    .map_err(|e| to_pgwire(&e))?
            }
        };
        numeric.push((i, value));
    }
    let inferred: Vec<Option<&DataType>> = prepared
        .param_types
        .iter()
        .map(|f| Some(f.data_type()))
        .collect();
    let mut rest = Portal::new_cursor(portal.name.clone(), portal.statement.clone());
    rest.parameter_format = portal.parameter_format.clone();
    rest.parameters = others;
    let mut values = arrow_pg::datatypes::df::deserialize_parameters(&rest, &inferred)?;
    if let ParamValues::List(list) = &mut values {
        for (i, value) in numeric {
            list[i] = value.into();
        }
    }
    Ok(values)
}

/// Parses and describes statements for Parse messages, against the session.
pub struct Parser {
    state: State,
}

/// The Arrow type a client-declared parameter type decodes to.
fn arrow_for_pg(ty: &Type) -> Option<DataType> {
    Some(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DataType::Utf8,
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Type::NUMERIC => DataType::Decimal128(38, 10),
        _ => return None,
    })
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut guard = self.state.lock().await;
        let session = &mut guard.active()?.session;
        let result = async {
            let mut statements = statement::parse(sql)?;
            if statements.len() > 1 {
                return Err(Error::syntax(
                    "cannot insert multiple commands into a prepared statement",
                ));
            }
            let Some(mut statement) = statements.pop() else {
                return Ok(None);
            };
            // A parameter the client declared has that type wherever it is
            // used (`SELECT $1` then describes an int4 column, not unknown).
            let declared: Vec<Option<String>> = types
                .iter()
                .map(|t| {
                    t.as_ref()
                        .filter(|t| arrow_for_pg(t).is_some())
                        .map(|t| t.name().to_string())
                })
                .collect();
            statement::cast_declared_parameters(&mut statement, &declared);
            let hints: Vec<Option<DataType>> = types
                .iter()
                .map(|t| t.as_ref().and_then(arrow_for_pg))
                .collect();
            let (param_types, schema) = session.describe(&statement, &hints).await?;
            Ok(Some(Prepared {
                statement,
                sql: sql.to_string(),
                param_types,
                declared: types.to_vec(),
                schema,
            }))
        }
        .await;
        result.map_err(|e| {
            session.statement_failed();
            to_pgwire(&e)
        })
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        stmt.param_types
            .iter()
            .enumerate()
            .map(|(i, field)| {
                if let Some(Some(ty)) = stmt.declared.get(i) {
                    return Ok(ty.clone());
                }
                let declared =
                    enishi_sql::types::declared(field).and_then(|(oid, _)| Type::from_oid(oid));
                match declared {
                    Some(ty) => Ok(ty),
                    None => arrow_pg::datatypes::into_pg_type(field.data_type()),
                }
            })
            .collect()
    }

    fn get_result_schema(
        &self,
        stmt: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match &stmt.schema {
            Some(schema) => {
                let style = TextStyle::from_settings(&enishi_sql::Settings::new("", false));
                encode::fields(schema, format.unwrap_or(&Format::UnifiedText), &style)
            }
            None => Ok(vec![]),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        let (prepared, format, with_params) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(stmt)) => {
                    (Some(stmt.statement.clone()), Format::UnifiedText, true)
                }
                Some(Entry::Empty) => (None, Format::UnifiedText, true),
                None => return Err(PgWireError::StatementNotFound(name.to_owned())),
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) => (
                    Some(portal.statement.statement.clone()),
                    portal.result_column_format.clone(),
                    false,
                ),
                Some(Entry::Empty) => (None, Format::UnifiedText, false),
                None => {
                    // A cursor made by DECLARE is a portal too (psycopg
                    // describes its server-side cursors so).
                    let mut guard = self.state.lock().await;
                    let session = &guard.active()?.session;
                    let Some(schema) = session.cursor_schema(name).await else {
                        return Err(PgWireError::PortalNotFound(name.to_owned()));
                    };
                    let style = TextStyle::from_settings(&session.settings());
                    let fields = encode::fields(&schema, &Format::UnifiedText, &style)?;
                    let description = RowDescription::new(fields.iter().map(Into::into).collect());
                    client
                        .send(PgWireBackendMessage::RowDescription(description))
                        .await?;
                    return Ok(());
                }
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        if with_params {
            let oids = match &prepared {
                Some(p) => self
                    .parser
                    .get_parameter_types(p)?
                    .iter()
                    .map(|t| t.oid())
                    .collect(),
                None => vec![],
            };
            client
                .send(PgWireBackendMessage::ParameterDescription(
                    ParameterDescription::new(oids),
                ))
                .await?;
        }
        let fields = match prepared.as_ref().and_then(|p| p.schema.as_ref()) {
            Some(schema) => {
                let mut guard = self.state.lock().await;
                let settings = guard.active()?.session.settings();
                encode::fields(schema, &format, &TextStyle::from_settings(&settings))?
            }
            None => vec![],
        };
        if prepared.as_ref().is_some_and(|p| p.schema.is_some()) {
            let description = RowDescription::new(fields.iter().map(Into::into).collect());
            client
                .send(PgWireBackendMessage::RowDescription(description))
                .await?;
        } else {
            client
                .send(PgWireBackendMessage::NoData(NoData::new()))
                .await?;
        }
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let _busy = self.activity.enter();
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        let max_rows = message.max_rows.max(0) as usize;
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(name.to_owned())),
        };
        client.set_state(PgWireConnectionState::QueryInProgress);
        let outcome = self.execute_portal(client, &portal, max_rows).await;
        if outcome.is_ok() && matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            // COPY FROM STDIN: the copy handler takes it from here.
            return outcome;
        }
        let status = {
            let mut guard = self.state.lock().await;
            let session = &mut guard.active()?.session;
            if outcome.is_err() {
                session.statement_failed();
            }
            tx_status(session.tx_state())
        };
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        outcome
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _busy = self.activity.enter();
        client.portal_store().rm_portal(pgwire::api::DEFAULT_NAME);
        let status = tx_status(self.state.lock().await.active()?.session.tx_state());
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_execute above runs portals itself.
        Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "XX000".into(),
            "extended query path not in use".into(),
        ))))
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let params = self.parser.get_parameter_types(&target.statement)?;
        let fields = self.parser.get_result_schema(&target.statement, None)?;
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        target: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let fields = self.parser.get_result_schema(
            &target.statement.statement,
            Some(&target.result_column_format),
        )?;
        Ok(DescribePortalResponse::new(fields))
    }
}

impl Connection {
    /// Runs (or resumes) a portal and sends its rows or command tag.
    async fn execute_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        max_rows: usize,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let portal_state = portal.state();
        let mut execution = portal_state.lock().await;
        if matches!(*execution, PortalExecutionState::Initial) {
            let mut guard = self.state.lock().await;
            let active = guard.active()?;
            let prepared = &portal.statement.statement;
            let params = if prepared.param_types.is_empty() && portal.parameter_len() == 0 {
                None
            } else {
                if portal.parameter_len() != prepared.param_types.len() {
                    return Err(to_pgwire(&Error::Protocol(format!(
                        "bind message supplies {} parameters, but prepared statement requires {}",
                        portal.parameter_len(),
                        prepared.param_types.len()
                    ))));
                }
                Some(bind_parameters(portal)?)
            };
            let result = Self::run(
                &self.shared,
                active,
                &prepared.statement,
                &prepared.sql,
                params,
            )
            .await;
            let session = &mut active.session;
            flush_side_channel(client, session).await?;
            let result = result.map_err(|e| {
                PgWireError::UserError(Box::new(error_info_at(&e, "ERROR", &prepared.sql)))
            });
            match result? {
                (Output::Rows(rows), limits) => {
                    let style = TextStyle::from_settings(&session.settings());
                    let fields = Arc::new(encode::fields(
                        &rows.schema,
                        &portal.result_column_format,
                        &style,
                    )?);
                    let mut response = QueryResponse::new(
                        fields.clone(),
                        row_stream(rows.stream, fields, style, limits),
                    );
                    response.set_command_tag(rows.tag);
                    *execution = PortalExecutionState::Suspended(response);
                }
                (Output::Command(tag), _) => {
                    client
                        .feed(PgWireBackendMessage::CommandComplete(
                            command_tag(&tag).into(),
                        ))
                        .await?;
                    *execution = PortalExecutionState::Finished;
                    return Ok(());
                }
                (Output::Empty, _) => {
                    client
                        .feed(PgWireBackendMessage::EmptyQueryResponse(
                            EmptyQueryResponse::new(),
                        ))
                        .await?;
                    *execution = PortalExecutionState::Finished;
                    return Ok(());
                }
                (Output::CopyOut(out), limits) => {
                    let style = TextStyle::from_settings(&session.settings());
                    *execution = PortalExecutionState::Finished;
                    let started = Instant::now();
                    return match copy_out(client, out, style, limits, &self.shared.metrics, started)
                        .await?
                    {
                        Ok(()) => Ok(()),
                        Err(info) => Err(PgWireError::UserError(Box::new(info))),
                    };
                }
                (Output::CopyIn(copy), _) => {
                    *execution = PortalExecutionState::Finished;
                    let status = tx_status(session.tx_state());
                    client.set_transaction_status(status);
                    self.start_copy_in(client, &mut guard, copy, true).await?;
                    return Ok(());
                }
            }
        }
        match &mut *execution {
            PortalExecutionState::Suspended(response) => {
                // max_rows 0 streams everything without buffering.
                let suspended = send_partial_query_response(client, response, max_rows).await?;
                if !suspended {
                    *execution = PortalExecutionState::Finished;
                }
            }
            PortalExecutionState::Finished => {
                let tag = Tag::new("SELECT").with_rows(0);
                client
                    .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                    .await?;
            }
            PortalExecutionState::Initial => unreachable!("started above"),
        }
        Ok(())
    }
}
