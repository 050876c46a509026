//! Checking a delivery's signature, fail-closed: `X-Hub-Signature` (admin
//! webhooks) or a JWT bearer token (an OAuth 2.0 app's dynamic webhooks).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use time::OffsetDateTime;

use super::secret::WebhookSecret;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// How far a JWT's `iat` may be in the future, and its `exp` in the past
/// (clocks differ).
const LEEWAY_SECONDS: i64 = 60;

/// Why a delivery's signature was refused (never says more than that: no
/// secret, no expected value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Neither `X-Hub-Signature` nor a bearer token.
    Missing,
    /// A signature of a kind no secret is configured for.
    NotConfigured,
    /// Not `sha256=<hex>`, or not a three-part HS256 JWT.
    Malformed,
    /// The signature does not match.
    Mismatch,
    /// The JWT's `exp` has passed or its `iat` is in the future.
    Expired,
}

impl Refusal {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Refusal::Missing => "no signature",
            Refusal::NotConfigured => "a signature kind with no secret configured",
            Refusal::Malformed => "a malformed signature",
            Refusal::Mismatch => "a signature that does not match",
            Refusal::Expired => "an expired or not yet valid token",
        }
    }
}

/// Checks `X-Hub-Signature: sha256=<hex HMAC-SHA256 of body>` in constant time.
pub(super) fn hub_signature(
    secret: &WebhookSecret,
    header: &str,
    body: &[u8],
) -> Result<(), Refusal> {
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(Refusal::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| Refusal::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(secret.bytes()).map_err(|_| Refusal::Malformed)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| Refusal::Mismatch)
}

/// Checks `Authorization: Bearer <JWT>`: HS256 only, signed with `secret`
/// (compared in constant time), `exp` not passed and `iat` not in the
/// future at `now`.
pub(super) fn bearer_jwt(
    secret: &WebhookSecret,
    authorization: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let token = authorization
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| authorization.trim().strip_prefix("JWT "))
        .ok_or(Refusal::Malformed)?
        .trim();
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed);
    };
    let signing_input = format!("{header}.{claims}");
    let header: Value = decode_json(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(Refusal::Malformed);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Refusal::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(secret.bytes()).map_err(|_| Refusal::Malformed)?;
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| Refusal::Mismatch)?;
    // The claims are looked at only once the signature holds.
    let claims: Value = decode_json(claims)?;
    let now = now.unix_timestamp();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(Refusal::Malformed)?;
    if exp + LEEWAY_SECONDS < now {
        return Err(Refusal::Expired);
    }
    if let Some(iat) = claims.get("iat") {
        let iat = iat.as_i64().ok_or(Refusal::Malformed)?;
        if iat - LEEWAY_SECONDS > now {
            return Err(Refusal::Expired);
        }
    }
    Ok(())
}

fn decode_json(part: &str) -> Result<Value, Refusal> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Refusal::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| Refusal::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret::new("It's a Secret to Everybody").unwrap()
    }

    fn sign(body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(b"It's a Secret to Everybody").unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn jwt(alg: &str, claims: &Value, key: &[u8]) -> String {
        let head =
            URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": alg, "typ": "JWT"}).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = HmacSha256::new_from_slice(key).unwrap();
        mac.update(format!("{head}.{body}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("Bearer {head}.{body}.{sig}")
    }

    #[test]
    fn hub_signature_matches_only_the_exact_body_and_secret() {
        let body = b"{\"webhookEvent\":\"jira:issue_updated\"}";
        assert_eq!(hub_signature(&secret(), &sign(body), body), Ok(()));
        assert_eq!(
            hub_signature(&secret(), &sign(body), b"{\"webhookEvent\":\"x\"}"),
            Err(Refusal::Mismatch)
        );
        let other = WebhookSecret::new("another").unwrap();
        assert_eq!(
            hub_signature(&other, &sign(body), body),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            hub_signature(&secret(), "sha1=00", body),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            hub_signature(&secret(), "sha256=zz", body),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            hub_signature(&secret(), "sha256=", body),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn jwt_needs_hs256_the_secret_and_a_valid_time() {
        let key = b"It's a Secret to Everybody";
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let t = now.unix_timestamp();
        let good = serde_json::json!({"iss": "app", "iat": t, "exp": t + 180});
        assert_eq!(
            bearer_jwt(&secret(), &jwt("HS256", &good, key), now),
            Ok(())
        );
        assert_eq!(
            bearer_jwt(&secret(), &jwt("HS256", &good, b"wrong"), now),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            bearer_jwt(&secret(), &jwt("none", &good, key), now),
            Err(Refusal::Malformed)
        );
        let old = serde_json::json!({"iat": t - 600, "exp": t - 300});
        assert_eq!(
            bearer_jwt(&secret(), &jwt("HS256", &old, key), now),
            Err(Refusal::Expired)
        );
        let future = serde_json::json!({"iat": t + 600, "exp": t + 900});
        assert_eq!(
            bearer_jwt(&secret(), &jwt("HS256", &future, key), now),
            Err(Refusal::Expired)
        );
        let no_exp = serde_json::json!({"iat": t});
        assert_eq!(
            bearer_jwt(&secret(), &jwt("HS256", &no_exp, key), now),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            bearer_jwt(&secret(), "Bearer a.b", now),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            bearer_jwt(&secret(), "Basic abc", now),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        assert_eq!(format!("{:?}", secret()), "WebhookSecret(***)");
        assert!(WebhookSecret::new("  \n").is_err());
    }
}
