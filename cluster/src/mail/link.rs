//! The single-use links emails carry (verify an address, reset a password, accept an
//! invitation, sign in). A link's token names what it is for, whose it is, a random nonce kept
//! in the request's row, and its expiry, signed with a key derived from the cluster master key:
//! `{purpose}.{subject}.{nonce}.{expires_ms}.{tag}`. Only a node with the master key can mint
//! or check one; the row's nonce makes it single-use (using it deletes or changes the row), and
//! a newer request for the same thing replaces the nonce, so older links stop working.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::clock::Timestamp;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    VerifyEmail,
    PasswordReset,
    Invitation,
    MagicLink,
}

impl LinkPurpose {
    fn code(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "v",
            LinkPurpose::PasswordReset => "r",
            LinkPurpose::Invitation => "i",
            LinkPurpose::MagicLink => "m",
        }
    }

    fn from_code(code: &str) -> Option<LinkPurpose> {
        [
            LinkPurpose::VerifyEmail,
            LinkPurpose::PasswordReset,
            LinkPurpose::Invitation,
            LinkPurpose::MagicLink,
        ]
        .into_iter()
        .find(|p| p.code() == code)
    }
}

/// What a link's token says (its tag checked separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken {
    pub purpose: LinkPurpose,
    /// The user id or invitation id.
    pub subject: String,
    pub nonce: String,
    pub expires_at: Timestamp,
}

fn plain(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 64
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl LinkToken {
    /// The signed text.
    pub fn message(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.purpose.code(),
            self.subject,
            self.nonce,
            self.expires_at.0
        )
    }

    /// The token with `tag` appended.
    pub fn encode(&self, tag: &[u8; 32]) -> String {
        format!("{}.{}", self.message(), URL_SAFE_NO_PAD.encode(tag))
    }

    /// Reads a token; `None` when it is not one. The tag comes back to be checked.
    pub fn parse(text: &str) -> Option<(LinkToken, Vec<u8>)> {
        if text.len() > 400 {
            return None;
        }
        let parts: Vec<&str> = text.trim().split('.').collect();
        let [purpose, subject, nonce, expires, tag] = parts.as_slice() else {
            return None;
        };
        if !plain(subject) || !plain(nonce) {
            return None;
        }
        let token = LinkToken {
            purpose: LinkPurpose::from_code(purpose)?,
            subject: (*subject).to_string(),
            nonce: (*nonce).to_string(),
            expires_at: Timestamp(expires.parse().ok()?),
        };
        Some((token, URL_SAFE_NO_PAD.decode(tag).ok()?))
    }
}

/// True when `given` is `expected` (constant time).
pub fn tag_matches(given: &[u8], expected: &[u8; 32]) -> bool {
    given.len() == expected.len() && bool::from(given.ct_eq(expected))
}

/// A fresh random nonce.
pub fn new_nonce() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_and_refuses_junk() {
        let token = LinkToken {
            purpose: LinkPurpose::PasswordReset,
            subject: "01ABC".into(),
            nonce: new_nonce(),
            expires_at: Timestamp(1_700_000_000_000),
        };
        let tag = [7u8; 32];
        let (back, given) = LinkToken::parse(&token.encode(&tag)).expect("parses");
        assert_eq!(back, token);
        assert!(tag_matches(&given, &tag));
        assert!(!tag_matches(&given[1..], &tag));
        for junk in [
            "",
            "a.b.c.d.e",
            "r.x.y.notanumber.AAAA",
            "r.x/y.n.1.AAAA",
            "r.x.y.1",
        ] {
            assert!(LinkToken::parse(junk).is_none(), "{junk}");
        }
    }
}
