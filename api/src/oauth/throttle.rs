//! Per-address throttling of failed sign-ins on this node (the per-user lockout is replicated;
//! this one only slows down one source guessing many accounts).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures one address may make per window before it must wait.
pub const MAX_FAILURES: u32 = 20;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Failed sign-ins per `(org, address)`.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<(String, String), (u32, Instant)>>,
}

impl LoginThrottle {
    /// Seconds to wait before `ip` may try again in `org`, if it must.
    pub fn retry_after(&self, org: &str, ip: &str) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        let (count, since) = failures.get(&(org.to_string(), ip.to_string()))?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < WINDOW).then(|| (WINDOW - elapsed).as_secs().max(1))
    }

    /// Counts a failure of `ip` in `org`.
    pub fn fail(&self, org: &str, ip: &str) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() > 100_000 {
            failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = failures
            .entry((org.to_string(), ip.to_string()))
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

/// One sign-in at a time per account on this node: the password of an account is checked only
/// after the previous attempt's failure was recorded, so parallel guesses cannot outrun the
/// lockout. Striped by a hash of (org, email).
pub struct LoginGates {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl Default for LoginGates {
    fn default() -> Self {
        LoginGates {
            stripes: (0..256).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl LoginGates {
    /// Waits for the account's turn; the turn ends when the guard drops.
    pub async fn enter(&self, org: &str, email: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (org, email.trim().to_lowercase()).hash(&mut hasher);
        let stripe = (hasher.finish() as usize) % self.stripes.len();
        self.stripes[stripe].lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_too_many_failures() {
        let throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.fail("acme", "10.0.0.1");
        }
        assert_eq!(throttle.retry_after("acme", "10.0.0.1"), None);
        throttle.fail("acme", "10.0.0.1");
        assert!(throttle.retry_after("acme", "10.0.0.1").is_some());
        assert_eq!(throttle.retry_after("other", "10.0.0.1"), None);
    }
}
