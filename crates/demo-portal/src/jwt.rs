//! JWTs with josekit: HS256 tokens the portal mints under its per-run secret (id tokens, healow's
//! access tokens), and ES384/RS384 assertions verified against a client's registered public JWK.

use std::time::{SystemTime, UNIX_EPOCH};

use josekit::jwk::Jwk;
use josekit::jws::{ES384, HS256, JwsHeader, JwsVerifier, RS384};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value};

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A compact JWS (HS256) over `claims`.
pub fn sign_hs256(secret: &[u8], claims: Map<String, Value>) -> Result<String, String> {
    let failed = |e: josekit::JoseError| format!("signing a token: {e}");
    let signer = HS256.signer_from_bytes(secret).map_err(failed)?;
    let payload = JwtPayload::from_map(claims).map_err(failed)?;
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    jwt::encode_with_signer(&payload, &header, &signer).map_err(failed)
}

/// A client's public signing key, checked at registration: EC P-384 (ES384) or RSA (RS384), with
/// no private parts.
pub struct ClientKey {
    verifier: Box<dyn JwsVerifier>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("alg", &self.verifier.algorithm().name())
            .finish()
    }
}

impl ClientKey {
    /// Reads one JWK of a registration's `jwks.keys`; `Err` says what is wrong with it.
    pub fn from_jwk(value: &Value) -> Result<ClientKey, String> {
        let Some(map) = value.as_object() else {
            return Err("each key must be a JWK object".into());
        };
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|k| map.contains_key(*k))
        {
            return Err("jwks must hold public keys only".into());
        }
        // The key id is not needed to find the key (a client registers its own), so an assertion
        // need not name it.
        let mut map = map.clone();
        map.remove("kid");
        let jwk = Jwk::from_map(map).map_err(|_| "a key is not a valid JWK".to_owned())?;
        let verifier: Box<dyn JwsVerifier> = match (jwk.key_type(), jwk.parameter("crv")) {
            ("EC", Some(Value::String(crv))) if crv == "P-384" => Box::new(
                ES384
                    .verifier_from_jwk(&jwk)
                    .map_err(|_| "the EC key is not a valid P-384 public key".to_owned())?,
            ),
            ("EC", _) => return Err("EC keys must be on P-384 (ES384)".into()),
            ("RSA", _) => Box::new(
                RS384
                    .verifier_from_jwk(&jwk)
                    .map_err(|_| "the RSA key is not a valid public key (2048 bits or more)")?,
            ),
            _ => return Err("keys must be EC P-384 (ES384) or RSA (RS384)".into()),
        };
        Ok(ClientKey { verifier })
    }

    /// The assertion's claims, when it is a JWS this key signed (with the key's algorithm).
    pub fn verify(&self, assertion: &str) -> Option<Map<String, Value>> {
        jwt::decode_with_verifier(assertion, self.verifier.as_ref())
            .ok()
            .map(|(payload, _)| payload.claims_set().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::KeyPair;

    fn json_of(jwk: Jwk) -> Value {
        Value::Object(jwk.into())
    }

    #[test]
    fn an_hs256_token_verifies_under_its_secret_only() {
        let mut claims = Map::new();
        claims.insert("sub".into(), "p-1".into());
        let token = sign_hs256(&[7u8; 32], claims).unwrap();
        let ok = HS256.verifier_from_bytes([7u8; 32]).unwrap();
        let (payload, _) = jwt::decode_with_verifier(&token, &ok).unwrap();
        assert_eq!(payload.subject(), Some("p-1"));
        let other = HS256.verifier_from_bytes([8u8; 32]).unwrap();
        assert!(jwt::decode_with_verifier(&token, &other).is_err());
    }

    #[test]
    fn registered_keys_are_public_p384_or_rsa() {
        let pair = ES384.generate_key_pair().unwrap();
        let public: Value = json_of(pair.to_jwk_public_key());
        assert!(ClientKey::from_jwk(&public).is_ok());
        let private: Value = json_of(pair.to_jwk_private_key());
        assert!(ClientKey::from_jwk(&private).is_err());
        let p256 = josekit::jws::ES256.generate_key_pair().unwrap();
        let p256: Value = json_of(p256.to_jwk_public_key());
        assert!(ClientKey::from_jwk(&p256).is_err());
        assert!(ClientKey::from_jwk(&serde_json::json!({"kty": "oct"})).is_err());
        assert!(ClientKey::from_jwk(&serde_json::json!("key")).is_err());
    }

    #[test]
    fn an_assertion_verifies_with_its_key_and_algorithm_only() {
        let pair = ES384.generate_key_pair().unwrap();
        let key = ClientKey::from_jwk(&json_of(pair.to_jwk_public_key())).unwrap();
        let signer = ES384.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        let mut payload = JwtPayload::new();
        payload.set_issuer("c-1");
        let token = jwt::encode_with_signer(&payload, &JwsHeader::new(), &signer).unwrap();
        assert_eq!(key.verify(&token).unwrap()["iss"], "c-1");
        let other = ES384.generate_key_pair().unwrap();
        let other = ES384.signer_from_jwk(&other.to_jwk_private_key()).unwrap();
        let forged = jwt::encode_with_signer(&payload, &JwsHeader::new(), &other).unwrap();
        assert!(key.verify(&forged).is_none());
        let hs = jwt::encode_with_signer(
            &payload,
            &JwsHeader::new(),
            &HS256.signer_from_bytes([1u8; 32]).unwrap(),
        )
        .unwrap();
        assert!(key.verify(&hs).is_none());
        assert!(key.verify("not.a.jwt").is_none());
        assert!(key.verify("é").is_none());
    }
}
