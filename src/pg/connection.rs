//! One client connection: its state, and the running of each statement
//! (cancel, statement_timeout, audit, metrics). The handlers pgwire calls are
//! in `connection/`: `login` (start-up), `query` (the simple and extended
//! protocols) and `copy_io` (COPY data both ways).
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
    EmptyQueryResponse, NoticeResponse, ReadyForQuery, TransactionStatus,
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

mod copy_io;
mod login;
mod query;

use copy_io::copy_out;
use login::{PendingLogin, fatal};
pub use query::Parser;

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

impl Handlers {
    /// Ends the connection's session (the client left): its temporary
    /// relations are dropped.
    pub async fn end_session(&self) {
        let active = self.handler.state.lock().await.active.take();
        if let Some(mut active) = active
            && let Err(e) = active.session.drop_temp_schema().await
        {
            tracing::warn!(error = %e, "could not drop a session's temporary relations");
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
