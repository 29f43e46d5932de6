//! The `lumod` binary as a child process (for kill -9 and CLI tests).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of the `lumod` binary: `LUMOD_BIN`, or next to the test executable's target dir.
pub fn lumod_bin() -> PathBuf {
    if let Ok(path) = std::env::var("LUMOD_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/test-xxxx -> target/debug/lumod
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    dir.join("lumod")
}

/// A running `lumod serve` child.
pub struct LumodProcess {
    pub child: Child,
    pub http: String,
    pub admin: String,
}

impl LumodProcess {
    /// Starts `lumod serve` on ephemeral ports with `data_dir` and extra env vars; waits for
    /// its ready line (at most 60 s).
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<LumodProcess> {
        let bin = lumod_bin();
        anyhow::ensure!(
            bin.exists(),
            "{} not built; run `cargo build --bins` first",
            bin.display()
        );
        let mut command = Command::new(&bin);
        command
            .args([
                "serve",
                "--http-addr",
                "127.0.0.1:0",
                "--admin-addr",
                "127.0.0.1:0",
                "--rpc-addr",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data_dir)
            .env("LUMO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("lumod ready ") {
                        let field = |name: &str| {
                            rest.split_whitespace()
                                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                                .map(str::to_string)
                        };
                        let http =
                            field("http").ok_or_else(|| anyhow::anyhow!("no http in {line}"))?;
                        let admin =
                            field("admin").ok_or_else(|| anyhow::anyhow!("no admin in {line}"))?;
                        return Ok(LumodProcess {
                            child,
                            http: format!("http://{http}"),
                            admin: format!("http://{admin}"),
                        });
                    }
                    seen.push(line);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        anyhow::bail!("lumod exited with {status}; output: {seen:?}");
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait()?;
                    anyhow::bail!("lumod exited with {status}; output: {seen:?}");
                }
            }
        }
        let _ = child.kill();
        anyhow::bail!("lumod did not become ready in 60 s; output: {seen:?}")
    }

    /// `kill -9`.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then wait for a clean exit (at most 30 s).
    pub fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        anyhow::bail!("lumod did not stop within 30 s of SIGTERM")
    }
}

impl Drop for LumodProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
