//! Start-up and login: the StartupHandler (options, trust or SCRAM, role
//! and token logins) and admission of a logged-in session.

use super::*;

pub(super) fn fatal(code: &str, message: String) -> ErrorInfo {
    ErrorInfo::new("FATAL".into(), code.into(), message)
}

/// Sends a FATAL error and closes the connection, as PostgreSQL does for a refused
/// start-up. The state stays un-authenticated, so nothing after it is served.
pub(super) async fn refuse<C>(client: &mut C, info: ErrorInfo) -> PgWireResult<()>
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
pub(super) fn apply_options(session: &mut Session, options: &str) {
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
pub(super) struct PendingLogin {
    user: String,
    database: String,
    parameters: Vec<(String, String)>,
    exchange: Option<(enishi_sql::scram::Exchange, crate::pg::auth::Credential)>,
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
    pub(super) async fn refuse_login<C>(
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

    pub(super) async fn on_startup_message<C>(
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
    pub(super) fn trusted_principal(&self, user: &str) -> Result<Principal, String> {
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
    pub(super) async fn on_password<C>(
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
            crate::pg::auth::Credential::Password(verifier, principal) => verifier
                .verify(&auth_message, &proof)
                .map(|signature| (signature, principal)),
            crate::pg::auth::Credential::Tokens(tokens) => tokens.into_iter().find_map(|(v, c)| {
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
    pub(super) async fn admit<C>(
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
