//! Capability tokens: a secret a pg client uses as its password, carrying
//! `read` and/or `write` on one table or one schema's tables until it expires.
//! Only its SCRAM verifier is kept, under the salt all tokens share, so a login
//! can be checked against every live token without knowing which it is.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use enishi_storage::{Storage, TokenEntry};

use crate::error::{Error, Result};
use crate::privileges::Capability;
use crate::scram::{self, Verifier};
use crate::session::now;

/// Longest lifetime a token may be given: one year.
pub const MAX_LIFETIME_SECS: i64 = 365 * 24 * 3600;

/// A token just issued: the secret is shown once, here, and never stored.
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: String,
    pub token: String,
    /// Seconds since the Unix epoch.
    pub expires_at: i64,
}

/// Issues a token for `resource` (`/schema/table` or `/schema/*`) with
/// `permissions` (`read`, `write`) for `expires_in` seconds. Expired tokens
/// are dropped from the catalog on the way.
pub async fn issue(
    storage: &Storage,
    resource: &str,
    permissions: &[String],
    expires_in: i64,
) -> Result<Issued> {
    if Capability::resource(resource).is_none() {
        return Err(Error::InvalidParameterValue(format!(
            "resource \"{resource}\" is not /schema/table or /schema/*"
        )));
    }
    if permissions.is_empty() {
        return Err(Error::InvalidParameterValue(
            "permissions must name read, write or both".into(),
        ));
    }
    if let Some(p) = permissions.iter().find(|p| *p != "read" && *p != "write") {
        return Err(Error::InvalidParameterValue(format!(
            "unknown permission \"{p}\": use read or write"
        )));
    }
    if !(1..=MAX_LIFETIME_SECS).contains(&expires_in) {
        return Err(Error::InvalidParameterValue(format!(
            "expires_in must be between 1 and {MAX_LIFETIME_SECS} seconds"
        )));
    }
    let id = hex(&scram::random_bytes::<8>());
    let token = format!(
        "enishi_{}",
        URL_SAFE_NO_PAD.encode(scram::random_bytes::<32>())
    );
    let now = now();
    let expires_at = now + expires_in;
    let mut permissions = permissions.to_vec();
    permissions.sort();
    permissions.dedup();
    let secret = token.clone();
    let token_id = id.clone();
    let resource = resource.to_string();
    storage
        .change_security(move |c| {
            let security = &mut c.security;
            if security.token_salt.is_empty() {
                security.token_salt = STANDARD.encode(scram::random_bytes::<16>());
            }
            let salt = STANDARD
                .decode(&security.token_salt)
                .map_err(|e| enishi_storage::StorageError::Corrupt(format!("token salt: {e}")))?;
            let verifier = Verifier::with_salt(&secret, &salt, scram::ITERATIONS);
            security.tokens.retain(|_, t| t.expires_at > now);
            security.tokens.insert(
                token_id.clone(),
                TokenEntry {
                    resource: resource.clone(),
                    permissions: permissions.clone(),
                    expires_at,
                    verifier: verifier.to_string(),
                },
            );
            Ok(())
        })
        .await?;
    Ok(Issued {
        id,
        token,
        expires_at,
    })
}

/// Revokes a token; false when there is no such token.
pub async fn revoke(storage: &Storage, id: &str) -> Result<bool> {
    if !storage.read_catalog(|c| c.security.tokens.contains_key(id)) {
        return Ok(false);
    }
    let id = id.to_string();
    Ok(storage
        .change_security(move |c| Ok(c.security.tokens.remove(&id).is_some()))
        .await?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
