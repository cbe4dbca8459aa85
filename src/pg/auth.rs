//! Who may connect: TLS, trust for loopback clients when
//! `security.trust_loopback` says so (by default exactly when no password is
//! configured), and SCRAM-SHA-256 otherwise — against a role's verifier, the
//! configured superuser password, or a capability token.
//!
//! The exchange never reveals whether a role exists: a user name without a
//! verifier is sent the salt capability tokens use (or, before any token was
//! issued, one derived from the name), and fails exactly like a wrong password.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use enishi_sql::privileges::{Capability, Principal};
use enishi_sql::scram::{self, Verifier};
use enishi_storage::CatalogState;
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls;

use crate::config::SecurityConfig;

/// How the pg port authenticates clients, fixed at startup.
pub struct Auth {
    /// The superuser's verifier, when a password is configured; then every
    /// client must log in with SCRAM.
    superuser: Option<Verifier>,
    /// Loopback clients log in without a password.
    trust_loopback: bool,
    pub require_tls: bool,
    pub tls: Option<TlsAcceptor>,
    /// Key for the salts of user names that have no verifier.
    mock_key: [u8; 32],
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("password", &self.superuser.is_some())
            .field("trust_loopback", &self.trust_loopback)
            .field("require_tls", &self.require_tls)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The role a login acts as, and how the password is checked.
pub enum Credential {
    /// A role (or the superuser) with a verifier.
    Password(Verifier, Principal),
    /// No such role, or one without a password: only a capability token can
    /// pass, checked against every live token.
    Tokens(Vec<(Verifier, Capability)>),
}

impl Auth {
    /// Reads `[security]`: refuses (with a message for the operator) to listen
    /// beyond loopback without a password, and TLS files that do not load.
    pub fn from_config(security: &SecurityConfig, host: IpAddr) -> Result<Self, String> {
        let superuser = (!security.superuser_password.is_empty())
            .then(|| Verifier::new(&security.superuser_password));
        if superuser.is_none() && !host.is_loopback() {
            return Err(format!(
                "server.host is {host}, which is not a loopback address, and no superuser password is configured: \
                 set ENISHI_SUPERUSER_PASSWORD (security.superuser_password) or bind 127.0.0.1"
            ));
        }
        let tls = match (
            security.tls_cert_path.as_str(),
            security.tls_key_path.as_str(),
        ) {
            ("", "") => None,
            ("", _) | (_, "") => {
                return Err(
                    "security.tls_cert_path and security.tls_key_path must be set together".into(),
                );
            }
            (cert, key) => Some(tls_acceptor(Path::new(cert), Path::new(key))?),
        };
        if security.require_tls && tls.is_none() {
            return Err(
                "security.require_tls is on but no certificate is configured (security.tls_cert_path, security.tls_key_path)"
                    .into(),
            );
        }
        Ok(Self {
            superuser,
            trust_loopback: security.trusts_loopback(),
            require_tls: security.require_tls,
            tls,
            mock_key: scram::random_bytes::<32>(),
        })
    }

    /// Whether loopback clients log in without a password.
    pub fn trusts_loopback(&self) -> bool {
        self.trust_loopback
    }

    /// Whether a client at `peer` logs in without a password.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.trust_loopback && peer.is_loopback()
    }

    /// Whether the superuser has a password.
    pub fn superuser_password(&self) -> bool {
        self.superuser.is_some()
    }

    /// What a login as `user` is checked against, and the salt to send.
    pub fn credential(
        &self,
        catalog: &CatalogState,
        user: &str,
        now: i64,
    ) -> (Credential, Vec<u8>) {
        if user == enishi_sql::engine::SUPERUSER
            && let Some(v) = &self.superuser
        {
            return (
                Credential::Password(v.clone(), Principal::Superuser),
                v.salt.clone(),
            );
        }
        if let Some(role) = catalog.security.roles.get(user)
            && let Some(v) = role.verifier.as_deref().and_then(Verifier::parse)
        {
            let salt = v.salt.clone();
            return (
                Credential::Password(v, Principal::Role(user.to_string())),
                salt,
            );
        }
        let tokens = live_tokens(catalog, now);
        let salt = match base64_decode(&catalog.security.token_salt) {
            Some(salt) => salt,
            None => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.mock_key);
                aws_lc_rs::hmac::sign(&key, user.as_bytes()).as_ref()[..16].to_vec()
            }
        };
        (Credential::Tokens(tokens), salt)
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if text.is_empty() {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The tokens that have not expired, with their verifiers.
fn live_tokens(catalog: &CatalogState, now: i64) -> Vec<(Verifier, Capability)> {
    catalog
        .security
        .tokens
        .iter()
        .filter(|(_, t)| t.expires_at > now)
        .filter_map(|(id, t)| {
            let verifier = Verifier::parse(&t.verifier)?;
            let (schema, table) = Capability::resource(&t.resource)?;
            Some((
                verifier,
                Capability {
                    id: id.clone(),
                    schema,
                    table,
                    read: t.permissions.iter().any(|p| p == "read"),
                    write: t.permissions.iter().any(|p| p == "write"),
                    expires_at: t.expires_at,
                },
            ))
        })
        .collect()
}

/// A TLS acceptor over a PEM certificate chain and private key.
fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the TLS certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "the TLS certificate file {} holds no certificate",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the TLS private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the TLS certificate and key do not make a usable pair: {e}"))?;
    // Clients that start TLS directly (PostgreSQL 17's sslnegotiation=direct)
    // must name the PostgreSQL protocol.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
