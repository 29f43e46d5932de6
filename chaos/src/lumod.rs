//! Starting a `lumod` child and waiting for its ready line: the one way the chaos clusters and
//! the test suite start the binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The line `lumod serve` prints once it serves, followed by `key=value` fields.
const READY: &str = "lumod ready ";
/// The switch of the orgs' rate limits.
const RATE_LIMITS: &str = "LUMO_RATE_LIMITS";

/// A `lumod` child that printed its ready line.
pub struct Started {
    pub child: Child,
    /// `http://host:port` of its API (from the ready line).
    pub http: String,
    /// `http://host:port` of its cluster admin API (from the ready line).
    pub admin: String,
    /// What it printed on stdout, up to and including the ready line.
    pub lines: Vec<String>,
}

/// Spawns `command` (its stdout piped here) and waits at most `timeout` for the ready line.
/// A child that exits first, closes its output, or is not ready in time is killed if still
/// running and reaped; the error carries what it printed.
///
/// Rate limits are off unless the command or the environment says otherwise
/// (`LUMO_RATE_LIMITS`): suites and benchmarks make far more requests a minute than the
/// contract's limits allow.
pub fn start(command: &mut Command, timeout: Duration) -> anyhow::Result<Started> {
    let set_here = command
        .get_envs()
        .any(|(name, value)| name == RATE_LIMITS && value.is_some());
    if !set_here && std::env::var_os(RATE_LIMITS).is_none() {
        command.env(RATE_LIMITS, "false");
    }
    let mut child = command.stdout(Stdio::piped()).spawn()?;
    let mut lines = Vec::new();
    match wait_ready(&mut child, timeout, &mut lines) {
        Ok((http, admin)) => Ok(Started {
            child,
            http,
            admin,
            lines,
        }),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// Reads the child's stdout into `lines` until the ready line; returns its http and admin URLs.
fn wait_ready(
    child: &mut Child,
    timeout: Duration,
    lines: &mut Vec<String>,
) -> anyhow::Result<(String, String)> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let ready = line.strip_prefix(READY).map(ready_urls);
                lines.push(line);
                if let Some(urls) = ready {
                    return urls
                        .ok_or_else(|| anyhow::anyhow!("no http or admin address in {lines:?}"));
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!(
                        "lumod exited with {status} before it was ready; output: {lines:?}"
                    );
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = child.kill();
                let status = child.wait()?;
                anyhow::bail!(
                    "lumod closed its output before it was ready ({status}); output: {lines:?}"
                );
            }
        }
    }
    anyhow::bail!("lumod did not become ready in {timeout:?}; output: {lines:?}")
}

/// `http://...` URLs of the `http=` and `admin=` fields of a ready line.
fn ready_urls(fields: &str) -> Option<(String, String)> {
    let field = |name: &str| {
        fields
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(|addr| format!("http://{addr}"))
    };
    Some((field("http")?, field("admin")?))
}

/// The lumod binary a benchmark or chaos run starts: `arg` if given, else `LUMOD_BIN`, else
/// the `lumod` next to the running program, else `lumod` on the PATH.
pub fn lumod_bin(arg: Option<std::path::PathBuf>) -> std::path::PathBuf {
    arg.or_else(|| {
        std::env::var("LUMOD_BIN")
            .ok()
            .map(std::path::PathBuf::from)
    })
    .or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("lumod")))
    })
    .unwrap_or_else(|| std::path::PathBuf::from("lumod"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_names_both_addresses() {
        assert_eq!(
            ready_urls("node=1 http=127.0.0.1:8080 admin=127.0.0.1:9090 rpc=- data_dir=/d"),
            Some((
                "http://127.0.0.1:8080".to_string(),
                "http://127.0.0.1:9090".to_string()
            ))
        );
        assert_eq!(ready_urls("node=1 http=127.0.0.1:8080"), None);
    }
}
