//! Service-account JWTs: an ES256 (ECDSA P-256, SHA-256) key created in the data directory on
//! first start, compact JWS signing and verification, and the public JWKS.
//!
//! Signing uses `ring` directly rather than a JWT crate: ring is already in the tree through
//! rustls and rcgen, is audited and constant-time, and one fixed algorithm needs only a few
//! lines of JWS framing; a JWT crate would add a second crypto stack and algorithm agility that
//! this issuer never wants.

use std::path::Path;

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::Digest;

use crate::pki::{PkiError, write_private};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// DER prefix of a SubjectPublicKeyInfo for an uncompressed P-256 point (id-ecPublicKey,
/// prime256v1, BIT STRING of 66 bytes).
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token is malformed")]
    Malformed,
    #[error("token uses an unexpected signing algorithm")]
    Algorithm,
    #[error("invalid signature")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token audiences {0:?} is invalid for the target audiences {1:?}")]
    Audience(Vec<String>, Vec<String>),
    #[error("token issuer is not this cluster's")]
    Issuer,
}

/// The service-account signing key.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    kid: String,
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_decode(text: &str) -> Option<Vec<u8>> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

impl SigningKey {
    pub fn generate() -> SigningKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("ECDSA P-256 key generation");
        SigningKey::from_pkcs8(pkcs8.as_ref()).expect("a freshly generated key parses")
    }

    pub fn from_pkcs8(der: &[u8]) -> Option<SigningKey> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .ok()?;
        let kid = key_id(pair.public_key().as_ref());
        Some(SigningKey { pair, kid })
    }

    /// Loads `<dir>/tls/service-account.key` (PKCS#8 PEM), creating it on first start.
    pub fn load_or_create(dir: &Path) -> Result<SigningKey, PkiError> {
        let path = dir.join("tls").join("service-account.key");
        let io = |source| PkiError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => pem_decode(&text)
                .and_then(|der| SigningKey::from_pkcs8(&der))
                .ok_or(PkiError::BadPem { path: path.clone() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir.join("tls")).map_err(io)?;
                let rng = SystemRandom::new();
                let pkcs8 =
                    EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                        .map_err(|_| PkiError::BadPem { path: path.clone() })?;
                write_private(&path, pem_encode("PRIVATE KEY", pkcs8.as_ref()).as_bytes())?;
                SigningKey::from_pkcs8(pkcs8.as_ref()).ok_or(PkiError::BadPem { path })
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The uncompressed public point (0x04 ‖ x ‖ y).
    pub fn public_point(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// A compact JWS (`header.claims.signature`) over `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            B64.encode(serde_json::to_vec(&header).unwrap_or_default()),
            B64.encode(serde_json::to_vec(claims).unwrap_or_default())
        );
        let rng = SystemRandom::new();
        let sig = self
            .pair
            .sign(&rng, signing_input.as_bytes())
            .expect("ECDSA signing");
        format!("{signing_input}.{}", B64.encode(sig.as_ref()))
    }

    /// Verifies the signature and returns the claims (no claim checks here).
    pub fn verify_signature(&self, token: &str) -> Result<Value, JwtError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Value = B64
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(JwtError::Malformed)?;
        if header["alg"] != "ES256" {
            return Err(JwtError::Algorithm);
        }
        if let Some(kid) = header["kid"].as_str()
            && kid != self.kid
        {
            return Err(JwtError::Signature);
        }
        let sig = B64.decode(s).map_err(|_| JwtError::Malformed)?;
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            self.public_point(),
        );
        public
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .map_err(|_| JwtError::Signature)?;
        B64.decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(Value::is_object)
            .ok_or(JwtError::Malformed)
    }

    /// The public key set served at `/openid/v1/jwks`.
    pub fn jwks(&self) -> Value {
        let point = self.public_point();
        json!({"keys": [{
            "use": "sig",
            "kty": "EC",
            "kid": self.kid,
            "crv": "P-256",
            "alg": "ES256",
            "x": B64.encode(&point[1..33]),
            "y": B64.encode(&point[33..65]),
        }]})
    }
}

/// kube's key id: base64url(SHA-256(DER SubjectPublicKeyInfo)).
fn key_id(point: &[u8]) -> String {
    let mut spki = P256_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(point);
    B64.encode(sha2::Sha256::digest(&spki))
}

fn audiences_of(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Leeway for `exp`/`nbf`, as go-jose's default.
pub const LEEWAY_SECONDS: i64 = 60;

/// Checks issuer, time window and audiences; returns the audiences of the token that are
/// among `accepted`.
pub fn check_claims(
    claims: &Value,
    issuer: &str,
    accepted: &[String],
    now: i64,
) -> Result<Vec<String>, JwtError> {
    if claims["iss"].as_str() != Some(issuer) {
        return Err(JwtError::Issuer);
    }
    let exp = claims["exp"].as_i64().ok_or(JwtError::Malformed)?;
    if now > exp + LEEWAY_SECONDS {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = claims["nbf"].as_i64()
        && now + LEEWAY_SECONDS < nbf
    {
        return Err(JwtError::NotYetValid);
    }
    let aud = audiences_of(claims);
    let matched: Vec<String> = aud
        .iter()
        .filter(|a| accepted.contains(a))
        .cloned()
        .collect();
    if matched.is_empty() {
        return Err(JwtError::Audience(aud, accepted.to_vec()));
    }
    Ok(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://kubernetes.default.svc.cluster.local";

    fn claims(aud: &[&str], exp: i64) -> Value {
        json!({"iss": ISS, "aud": aud, "exp": exp, "nbf": exp - 3600, "iat": exp - 3600, "sub": "system:serviceaccount:default:sa"})
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let key = SigningKey::generate();
        let token = key.sign(&claims(&["api"], 2_000_000_000));
        let got = key.verify_signature(&token).expect("verify");
        assert_eq!(got["sub"], "system:serviceaccount:default:sa");
        // another key's signature is refused
        let other = SigningKey::generate();
        assert_eq!(other.verify_signature(&token), Err(JwtError::Signature));
        // a changed payload is refused
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged =
            B64.encode(serde_json::to_vec(&claims(&["api"], 2_100_000_000)).expect("json"));
        parts[1] = &forged;
        assert_eq!(
            key.verify_signature(&parts.join(".")),
            Err(JwtError::Signature)
        );
        assert_eq!(key.verify_signature("garbage"), Err(JwtError::Malformed));
        assert_eq!(key.verify_signature("a.b.c"), Err(JwtError::Malformed));
        // alg none is refused
        let none = format!("{}.{}.", B64.encode(br#"{"alg":"none"}"#), parts[1]);
        assert_eq!(key.verify_signature(&none), Err(JwtError::Algorithm));
    }

    #[test]
    fn expiry_and_audience() {
        let now = 1_700_000_000;
        let accepted = vec!["api".to_string()];
        let c = claims(&["api", "other"], now + 600);
        assert_eq!(
            check_claims(&c, ISS, &accepted, now),
            Ok(vec!["api".to_string()])
        );
        assert_eq!(
            check_claims(&claims(&["api"], now - 61), ISS, &accepted, now),
            Err(JwtError::Expired)
        );
        assert!(check_claims(&claims(&["api"], now - 30), ISS, &accepted, now).is_ok());
        assert!(matches!(
            check_claims(&claims(&["vault"], now + 600), ISS, &accepted, now),
            Err(JwtError::Audience(..))
        ));
        assert_eq!(
            check_claims(&c, "https://elsewhere", &accepted, now),
            Err(JwtError::Issuer)
        );
        let mut future = claims(&["api"], now + 7200);
        future["nbf"] = json!(now + 3600);
        assert_eq!(
            check_claims(&future, ISS, &accepted, now),
            Err(JwtError::NotYetValid)
        );
        let mut single = claims(&[], now + 600);
        single["aud"] = json!("api");
        assert!(check_claims(&single, ISS, &accepted, now).is_ok());
    }

    #[test]
    fn key_persists_and_jwks_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = SigningKey::load_or_create(dir.path()).expect("create");
        let b = SigningKey::load_or_create(dir.path()).expect("load");
        assert_eq!(a.kid(), b.kid());
        let token = a.sign(&claims(&["x"], 2_000_000_000));
        assert!(b.verify_signature(&token).is_ok());
        let jwks = a.jwks();
        let k = &jwks["keys"][0];
        assert_eq!(k["kid"], a.kid());
        let mut point = vec![4u8];
        point.extend(B64.decode(k["x"].as_str().expect("x")).expect("b64"));
        point.extend(B64.decode(k["y"].as_str().expect("y")).expect("b64"));
        assert_eq!(point, a.public_point());
        assert_eq!(a.kid().len(), 43);
    }
}
