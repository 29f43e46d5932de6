//! The `login-totp` scenario of `lumo-load`: sign-ins with a password and a TOTP code, to set
//! beside password-only sign-ins (`login`) in the same run. Each sign-in is `POST
//! ~/oauth/login/json` (argon2id, then a login challenge) and `POST ~/oauth/login/mfa` with the
//! code (the leader opens the sealed secret, checks the step, and one Raft entry spends the
//! challenge and starts the session). A TOTP step is accepted once per authenticator, so each
//! connection signs in as many users in turn (each user enrolled an authenticator app first).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use lumo_cluster::crypto::totp;
use serde_json::json;
use tokio::sync::Mutex;

use crate::oauth_bench::{BenchClient, Issuer};

const PASSWORD: &str = "bench-password-123";
/// The double-submit CSRF token the bench's browser presents (cookie and form alike).
const CSRF: &str = "bench-csrf-token-000000000000";

/// One user with an authenticator app: its key and the last step it showed.
pub struct TotpUser {
    email: String,
    key: Vec<u8>,
    last: Mutex<Option<u64>>,
}

/// The users one connection signs in as, in turn.
pub type WorkerUsers = Vec<Arc<TotpUser>>;

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl TotpUser {
    /// A code for a step this user has not used (within the server's window), if any is left.
    async fn next_code(&self) -> Option<String> {
        let current = totp::step_at(now_secs());
        let mut last = self.last.lock().await;
        let step = last.map_or(current - 1, |l| (l + 1).max(current - 1));
        if step > current + 1 {
            return None;
        }
        *last = Some(step);
        Some(format!("{:06}", totp::hotp(&self.key, step)))
    }
}

/// Sign-ins per second the machine is sized for (argon2id bound, two cores: BENCHMARKS.md).
const EXPECTED_LOGINS_PER_SEC: usize = 150;

/// Creates and enrolls enough users for `concurrency` connections signing in for `duration`:
/// after enrolling, a user has about two fresh steps left in the server's window.
pub async fn enroll_users(
    issuer: &Arc<Issuer>,
    client: &BenchClient,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Arc<Vec<WorkerUsers>>> {
    let expected = duration.as_secs() as usize * EXPECTED_LOGINS_PER_SEC / concurrency.max(1);
    let per_worker = (expected / 2 + 2).clamp(4, 400);
    let total = concurrency * per_worker;
    let run = rand::random::<u32>();
    let enrolled: Vec<anyhow::Result<TotpUser>> = stream::iter(0..total)
        .map(|i| {
            let (issuer, client) = (issuer.clone(), client.clone());
            async move {
                enroll(
                    &issuer,
                    &client,
                    &format!("bench-totp-{run}-{i}@bench.example"),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut users = Vec::with_capacity(total);
    for user in enrolled {
        users.push(Arc::new(user?));
    }
    let workers = users.chunks(per_worker).map(<[_]>::to_vec).collect();
    Ok(Arc::new(workers))
}

/// A user who signed in, took a token, and enrolled (and verified) an authenticator app.
async fn enroll(issuer: &Issuer, client: &BenchClient, email: &str) -> anyhow::Result<TotpUser> {
    issuer.create_user(email, PASSWORD).await?;
    let cookie = issuer
        .login(email, PASSWORD)
        .await
        .ok_or_else(|| anyhow::anyhow!("{email} cannot sign in"))?;
    let tokens = issuer
        .code_flow(client, &cookie, "openid")
        .await
        .ok_or_else(|| anyhow::anyhow!("code flow failed for {email}"))?;
    let token = tokens["access_token"].as_str().unwrap_or_default();
    let started: serde_json::Value = issuer
        .http
        .post(issuer.url("/me/authenticators/totp/enroll"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await?
        .json()
        .await?;
    let id = started["id"].as_str().unwrap_or_default().to_string();
    let key = started["secret"]
        .as_str()
        .and_then(totp::base32_decode)
        .ok_or_else(|| anyhow::anyhow!("no TOTP secret: {started}"))?;
    let user = TotpUser {
        email: email.to_string(),
        key,
        last: Mutex::new(None),
    };
    let code = user
        .next_code()
        .await
        .ok_or_else(|| anyhow::anyhow!("no step"))?;
    let verified = issuer
        .http
        .post(issuer.url(&format!("/me/authenticators/{id}/verify")))
        .bearer_auth(token)
        .json(&json!({"code": code}))
        .send()
        .await?;
    anyhow::ensure!(
        verified.status().is_success(),
        "verifying failed for {email}"
    );
    Ok(user)
}

/// One sign-in with a password and a TOTP code, as one of `users` with a step left; true when
/// a session cookie came back.
pub async fn login(issuer: &Issuer, users: &WorkerUsers) -> bool {
    for user in users {
        if let Some(code) = user.next_code().await {
            return login_as(issuer, user, &code).await.unwrap_or(false);
        }
    }
    // Every user of this connection used its steps: wait for the next one (counted as a
    // failure, so a run sized too small shows).
    tokio::time::sleep(Duration::from_millis(200)).await;
    false
}

async fn login_as(issuer: &Issuer, user: &TotpUser, code: &str) -> anyhow::Result<bool> {
    let first = issuer
        .http
        .post(issuer.url("/oauth/login/json"))
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await?;
    let mfa_cookie = first
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("lumo_mfa="))
        .and_then(|c| c.split(';').next())
        .map(str::to_string);
    let Some(mfa_cookie) = mfa_cookie else {
        return Ok(false);
    };
    let second = issuer
        .http
        .post(issuer.url("/oauth/login/mfa"))
        .header(
            reqwest::header::COOKIE,
            format!("{mfa_cookie}; lumo_csrf={CSRF}"),
        )
        .form(&[("_csrf", CSRF), ("code", code)])
        .send()
        .await?;
    Ok(second
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("lumo_session=") && !c.starts_with("lumo_session=;")))
}
