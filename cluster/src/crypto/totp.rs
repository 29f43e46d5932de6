//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1, 6 digits, 30 s
//! steps), the base32 text authenticator apps read, and the `otpauth://` URI. Pure: callers
//! pass the time.

use rand::RngCore;
use ring::hmac;

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that are still accepted (clock skew).
pub const WINDOW: i64 = 1;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random secret, as base32 text.
pub fn new_secret() -> String {
    let mut raw = [0u8; SECRET_BYTES];
    rand::thread_rng().fill_bytes(&mut raw);
    base32_encode(&raw)
}

/// RFC 4648 base32 without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Reads base32 (case, spaces and padding ignored); `None` on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let upper = c.to_ascii_uppercase() as u8;
        let value = BASE32.iter().position(|b| *b == upper)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The secret in groups of four, as people type it.
pub fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The time step of `unix_secs`.
pub fn step_at(unix_secs: i64) -> u64 {
    u64::try_from(unix_secs.div_euclid(STEP_SECS)).unwrap_or(0)
}

/// The HOTP code of `key` at `counter` (RFC 4226 section 5.3).
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let digest = tag.as_ref();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(DIGITS)
}

/// The code of `key` at `unix_secs`, zero-padded.
pub fn code_at(key: &[u8], unix_secs: i64) -> String {
    format!("{:06}", hotp(key, step_at(unix_secs)))
}

/// The step whose code `code` is, within [`WINDOW`] steps of `unix_secs`; `None` when no step
/// matches. Every candidate is computed and compared in constant time.
pub fn matching_step(key: &[u8], code: &str, unix_secs: i64) -> Option<u64> {
    use subtle::ConstantTimeEq;
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_secs);
    let mut found = None;
    for delta in -WINDOW..=WINDOW {
        let Some(step) = now.checked_add_signed(delta) else {
            continue;
        };
        let candidate = format!("{:06}", hotp(key, step));
        if bool::from(candidate.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://totp/…` URI authenticator apps scan.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let label = format!("{}:{}", encode(issuer), encode(account));
    format!(
        "otpauth://totp/{label}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        encode(issuer)
    )
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; the last six here).
    #[test]
    fn rfc6238_vectors() {
        let key = b"12345678901234567890";
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(key, time), expected[2..], "time {time}");
        }
    }

    #[test]
    fn window_accepts_one_step_of_skew_and_no_more() {
        let key = b"12345678901234567890";
        let now = 1_234_567_890;
        for delta in [-30, 0, 30] {
            let code = code_at(key, now + delta);
            assert_eq!(matching_step(key, &code, now), Some(step_at(now + delta)));
        }
        for delta in [-90, -60, 60, 90] {
            let code = code_at(key, now + delta);
            assert_eq!(matching_step(key, &code, now), None, "delta {delta}");
        }
        assert_eq!(matching_step(key, "12345", now), None);
        assert_eq!(matching_step(key, "abcdef", now), None);
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32_decode("mzxw 6ytb oi======"),
            Some(b"foobar".to_vec())
        );
        assert_eq!(base32_decode("MZ1"), None);
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(base32_decode(&secret).map(|k| k.len()), Some(SECRET_BYTES));
    }

    #[test]
    fn uri_names_issuer_and_account() {
        let uri = otpauth_uri("Acme Corp", "ada@example.com", "ABC");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Corp:ada@example.com?secret=ABC&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30"
        );
    }
}
