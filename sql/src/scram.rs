//! SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it: the verifier a
//! password is stored as, and the server's side of the exchange.
//!
//! A verifier is `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`,
//! the form PostgreSQL keeps in `pg_authid` and psql's `\password` sends. It lets
//! the server check a client's proof without ever holding the password.

use aws_lc_rs::{constant_time, digest, hmac, pbkdf2, rand::SecureRandom};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::num::NonZeroU32;

pub const ITERATIONS: u32 = 4096;
const PREFIX: &str = "SCRAM-SHA-256$";

/// A stored SCRAM verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

/// Random bytes from the system's secure generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random generator works");
    bytes
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

impl Verifier {
    /// The verifier of `password` with a fresh random salt.
    pub fn new(password: &str) -> Self {
        Self::with_salt(password, &random_bytes::<16>(), ITERATIONS)
    }

    pub fn with_salt(password: &str, salt: &[u8], iterations: u32) -> Self {
        // PostgreSQL normalizes with SASLprep and uses the raw bytes when that fails.
        let normalized = stringprep::saslprep(password)
            .map(|p| p.into_owned())
            .unwrap_or_else(|_| password.to_string());
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations.max(1)).expect("positive"),
            salt,
            normalized.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sha256(&salted, b"Client Key");
        Self {
            iterations,
            salt: salt.to_vec(),
            stored_key: sha256(&client_key),
            server_key: hmac_sha256(&salted, b"Server Key"),
        }
    }

    /// Reads PostgreSQL's text form; None when `text` is not a verifier.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(PREFIX)?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let verifier = Self {
            iterations: iterations.parse().ok().filter(|i| *i > 0)?,
            salt: STANDARD.decode(salt).ok()?,
            stored_key: STANDARD.decode(stored).ok()?,
            server_key: STANDARD.decode(server).ok()?,
        };
        (verifier.stored_key.len() == 32 && verifier.server_key.len() == 32).then_some(verifier)
    }

    /// Checks a client proof over `auth_message`; on success returns the server
    /// signature that proves to the client that the server knew the verifier.
    pub fn verify(&self, auth_message: &[u8], proof: &[u8]) -> Option<Vec<u8>> {
        let signature = hmac_sha256(&self.stored_key, auth_message);
        if proof.len() != signature.len() {
            return None;
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        constant_time::verify_slices_are_equal(&sha256(&client_key), &self.stored_key).ok()?;
        Some(hmac_sha256(&self.server_key, auth_message))
    }
}

impl std::fmt::Display for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{PREFIX}{}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }
}

/// The verifier to keep for a password given in SQL: a verifier computed by the
/// client (psql's `\password`) is kept as it is; anything else is hashed here.
pub fn verifier_for(password: &str) -> String {
    match Verifier::parse(password) {
        Some(v) => v.to_string(),
        None => Verifier::new(password).to_string(),
    }
}

/// The server's side of one SCRAM-SHA-256 exchange (without channel binding).
#[derive(Debug)]
pub struct Exchange {
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// Why an exchange failed: the client's message was malformed (08P01), or the
/// proof did not match (28P01).
#[derive(Debug, PartialEq, Eq)]
pub enum ExchangeError {
    Malformed(String),
    WrongProof,
}

fn attribute(message: &str, name: char) -> Option<&str> {
    message.split(',').find_map(|part| {
        let mut chars = part.chars();
        (chars.next() == Some(name) && chars.next() == Some('=')).then(|| &part[2..])
    })
}

impl Exchange {
    /// Reads the client-first message and answers with the server-first one,
    /// carrying `salt` and `iterations`.
    pub fn start(
        client_first: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<(Self, String), ExchangeError> {
        let malformed = |what: &str| ExchangeError::Malformed(what.to_string());
        // gs2-header: "n,," or "y,," (no channel binding), optionally with an authzid.
        let mut parts = client_first.splitn(3, ',');
        let flag = parts
            .next()
            .ok_or_else(|| malformed("empty SCRAM message"))?;
        let authzid = parts
            .next()
            .ok_or_else(|| malformed("missing gs2 header"))?;
        let bare = parts
            .next()
            .ok_or_else(|| malformed("missing client nonce"))?;
        if flag.starts_with("p=") {
            return Err(malformed("channel binding is not supported"));
        }
        if flag != "n" && flag != "y" {
            return Err(malformed("invalid gs2 header"));
        }
        let client_nonce = attribute(bare, 'r').ok_or_else(|| malformed("missing client nonce"))?;
        if client_nonce.is_empty()
            || !client_nonce
                .chars()
                .all(|c| c.is_ascii_graphic() && c != ',')
        {
            return Err(malformed("invalid client nonce"));
        }
        let nonce = format!("{client_nonce}{}", STANDARD.encode(random_bytes::<18>()));
        let server_first = format!("r={nonce},s={},i={iterations}", STANDARD.encode(salt));
        let exchange = Self {
            gs2_header: format!("{flag},{authzid},"),
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            nonce,
        };
        Ok((exchange, server_first))
    }

    /// Reads the client-final message: the proof to check (with [`Verifier::verify`])
    /// and the auth message it covers.
    pub fn finish(&self, client_final: &str) -> Result<(Vec<u8>, Vec<u8>), ExchangeError> {
        let malformed = |what: &str| ExchangeError::Malformed(what.to_string());
        let (without_proof, proof) = client_final
            .rsplit_once(",p=")
            .ok_or_else(|| malformed("missing proof"))?;
        let binding = attribute(without_proof, 'c').ok_or_else(|| malformed("missing binding"))?;
        if STANDARD.decode(binding).ok().as_deref() != Some(self.gs2_header.as_bytes()) {
            return Err(malformed("channel binding does not match"));
        }
        if attribute(without_proof, 'r') != Some(self.nonce.as_str()) {
            return Err(malformed("nonce does not match"));
        }
        let proof = STANDARD
            .decode(proof)
            .map_err(|_| malformed("invalid proof encoding"))?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        Ok((proof, auth_message.into_bytes()))
    }
}

/// The server-final message for a verified proof.
pub fn server_final(signature: &[u8]) -> String {
    format!("v={}", STANDARD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's side, as libpq computes it.
    fn client_final(
        password: &str,
        client_first_bare: &str,
        server_first: &str,
    ) -> (String, Vec<u8>) {
        let nonce = attribute(server_first, 'r').unwrap();
        let salt = STANDARD
            .decode(attribute(server_first, 's').unwrap())
            .unwrap();
        let iterations: u32 = attribute(server_first, 'i').unwrap().parse().unwrap();
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations).unwrap(),
            &salt,
            password.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sha256(&salted, b"Client Key");
        let stored = sha256(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let sig = hmac_sha256(&stored, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let server_sig = hmac_sha256(&hmac_sha256(&salted, b"Server Key"), auth.as_bytes());
        (
            format!("{without_proof},p={}", STANDARD.encode(proof)),
            server_sig,
        )
    }

    #[test]
    fn a_verifier_round_trips_through_text() {
        let v = Verifier::new("secret");
        assert!(v.to_string().starts_with("SCRAM-SHA-256$4096:"));
        assert_eq!(Verifier::parse(&v.to_string()), Some(v.clone()));
        assert_eq!(Verifier::parse("secret"), None);
        // A client-computed verifier is kept as it is; a malformed one is hashed.
        assert_eq!(verifier_for(&v.to_string()), v.to_string());
        let kept = verifier_for("SCRAM-SHA-256$4096:c2FsdA==$bad:bad");
        assert!(Verifier::parse(&kept).is_some());
        assert_ne!(kept, "SCRAM-SHA-256$4096:c2FsdA==$bad:bad");
    }

    #[test]
    fn the_right_password_passes_and_a_wrong_one_fails() {
        let verifier = Verifier::new("pencil");
        let bare = "n=,r=rOprNGfwEbeRWgbNEkqO";
        let (exchange, server_first) =
            Exchange::start(&format!("n,,{bare}"), &verifier.salt, verifier.iterations).unwrap();
        let (message, expected) = client_final("pencil", bare, &server_first);
        let (proof, auth) = exchange.finish(&message).unwrap();
        assert_eq!(verifier.verify(&auth, &proof), Some(expected));

        let (message, _) = client_final("crayon", bare, &server_first);
        let (proof, auth) = exchange.finish(&message).unwrap();
        assert_eq!(verifier.verify(&auth, &proof), None);
    }

    #[test]
    fn malformed_messages_are_refused() {
        let salt = [1u8; 16];
        assert!(Exchange::start("p=tls-server-end-point,,n=,r=abc", &salt, 4096).is_err());
        assert!(Exchange::start("n,,n=", &salt, 4096).is_err());
        let (exchange, _) = Exchange::start("n,,n=,r=abc", &salt, 4096).unwrap();
        assert!(exchange.finish("c=biws,r=abc").is_err());
        assert!(exchange.finish("c=biws,r=wrong,p=AAAA").is_err());
    }
}
