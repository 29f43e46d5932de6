//! The `lumod` binary as a child process (for kill -9 and CLI tests).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long `lumod serve` may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// What it printed on stdout, up to and including its ready line.
    pub lines: Vec<String>,
}

impl LumodProcess {
    /// Starts `lumod serve` on ephemeral ports with `data_dir` and extra env vars; waits for
    /// its ready line (at most 60 s).
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<LumodProcess> {
        Self::serve(data_dir, env, false)
    }

    /// The same, but no `LUMO_*` variable of the test's own environment reaches the child:
    /// only `env` configures it.
    pub fn start_clean(data_dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<LumodProcess> {
        Self::serve(data_dir, env, true)
    }

    fn serve(
        data_dir: &Path,
        env: &[(&str, &str)],
        clean_env: bool,
    ) -> anyhow::Result<LumodProcess> {
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
            .stderr(Stdio::null());
        if clean_env {
            for (name, _) in std::env::vars() {
                if name.starts_with("LUMO_") {
                    command.env_remove(name);
                }
            }
        }
        command.env("LUMO_LOG", "warn");
        for (k, v) in env {
            command.env(k, v);
        }
        let started = lumo_chaos::lumod::start(&mut command, READY_TIMEOUT)?;
        Ok(LumodProcess {
            child: started.child,
            http: started.http,
            admin: started.admin,
            lines: started.lines,
        })
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
