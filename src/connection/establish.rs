//! Establish tokens: how a destination admin lets an admin of another node
//! set up a connection on the destination directly ("Yes, I have admin
//! access").

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::secret::fill_random;
use crate::error::{Error, ErrorKind, Result};

/// What every establish token starts with.
pub const ESTABLISH_TOKEN_PREFIX: &str = "twinsync-establish-";

/// A one-time code a destination admin issues on the destination node
/// ([`Admin::issue_establish_token`](crate::engine::Admin::issue_establish_token))
/// and hands to the admin who initiates the connection, who passes it with
/// [`InitiateRequest::establish_token`](crate::engine::InitiateRequest::establish_token).
///
/// It is bound to one project of the destination, expires, and works once.
/// The destination keeps only its SHA-256 digest. Its text is
/// `twinsync-establish-` and 43 base64url characters (256 random bits).
/// `Debug` never shows it; it is wiped from memory when dropped.
///
/// ```
/// use twinsync::connection::EstablishToken;
///
/// let err = "twinsync-establish-short".parse::<EstablishToken>().unwrap_err();
/// assert_eq!(err.kind(), twinsync::ErrorKind::InvalidInput);
/// assert!(!err.to_string().contains("short"), "the text is never quoted");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EstablishToken(Zeroizing<String>);

impl EstablishToken {
    /// The random bytes a token carries.
    const BYTES: usize = 32;

    /// The longest a token may be asked to stay valid.
    pub const MAX_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

    /// A new token from the operating system's random number generator.
    pub(crate) fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; Self::BYTES]);
        fill_random(bytes.as_mut_slice())?;
        Ok(EstablishToken(Zeroizing::new(format!(
            "{ESTABLISH_TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes.as_slice())
        ))))
    }

    /// Reads a token as an admin pasted it (surrounding whitespace ignored).
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the text is not a token; the message never quotes
    /// it.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let well_formed = text
            .strip_prefix(ESTABLISH_TOKEN_PREFIX)
            .is_some_and(|rest| {
                URL_SAFE_NO_PAD
                    .decode(rest)
                    .is_ok_and(|bytes| Zeroizing::new(bytes).len() == Self::BYTES)
            });
        if !well_formed {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "this is not an establish token: one starts with {ESTABLISH_TOKEN_PREFIX:?} \
                     followed by 43 characters; copy it whole from the destination admin"
                ),
            ));
        }
        Ok(EstablishToken(Zeroizing::new(text.to_owned())))
    }

    /// The token's text, to show the destination admin once. It is a
    /// credential: never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest the destination keeps: SHA-256 of the text, as hex.
    pub(crate) fn digest(&self) -> String {
        digest_of(&self.0)
    }
}

/// The digest of a token's text, whether or not it is well formed (a node
/// compares what it was sent with what it keeps).
pub(crate) fn digest_of(text: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"twinsync establish token\0");
    hash.update(text.trim().as_bytes());
    hex::encode(hash.finalize())
}

impl fmt::Debug for EstablishToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EstablishToken(***)")
    }
}

impl std::str::FromStr for EstablishToken {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        EstablishToken::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_parse_back_and_are_never_printed() {
        let a = EstablishToken::generate().unwrap();
        let b = EstablishToken::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with(ESTABLISH_TOKEN_PREFIX));
        assert_eq!(a.as_str().len(), ESTABLISH_TOKEN_PREFIX.len() + 43);
        let pasted = format!("  {}\n", a.as_str());
        assert_eq!(EstablishToken::parse(&pasted).unwrap(), a);
        assert_eq!(format!("{a:?}"), "EstablishToken(***)");
        assert_eq!(
            a.digest(),
            digest_of(&pasted),
            "whitespace does not change it"
        );
        assert_ne!(a.digest(), b.digest());
        assert!(
            !a.digest()
                .contains(&a.as_str()[ESTABLISH_TOKEN_PREFIX.len()..])
        );
    }

    #[test]
    fn malformed_tokens_are_refused_without_quoting_them() {
        let good = EstablishToken::generate().unwrap();
        let body = &good.as_str()[ESTABLISH_TOKEN_PREFIX.len()..];
        for bad in [
            String::new(),
            body.to_owned(),
            format!("twinsync-invite-{body}"),
            format!("{ESTABLISH_TOKEN_PREFIX}{}", &body[..42]),
            format!("{ESTABLISH_TOKEN_PREFIX}{body}A"),
            format!("{ESTABLISH_TOKEN_PREFIX}{}!", &body[..42]),
        ] {
            let err = EstablishToken::parse(&bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
            assert!(!err.to_string().contains(&body[..20]), "{err}");
        }
    }
}
