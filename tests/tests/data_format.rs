//! The on-disk format version: a data dir records the format it was written in, and a `lumod`
//! that cannot read it refuses to start with a message saying what to do, touching nothing.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lumo_storage::{Db, FORMAT_VERSION};
use lumo_tests::process::{LumodProcess, lumod_bin};

const ENV: [(&str, &str); 3] = [
    ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
    (
        "LUMO_BOOTSTRAP_API_KEY",
        "lmk_format_suite_admin_key_0123456789",
    ),
    ("LUMO_CLUSTER_TOKEN", "format-suite-cluster-token-0123"),
];

/// Runs `lumod serve` on `dir` expecting it to exit by itself; answers (success, stderr).
fn serve_expecting_exit(dir: &std::path::Path) -> anyhow::Result<(bool, String)> {
    let mut child = Command::new(lumod_bin())
        .args([
            "serve",
            "--http-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ])
        .args(["--rpc-addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .envs(ENV)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                std::io::Read::read_to_string(&mut pipe, &mut stderr)?;
            }
            return Ok((status.success(), stderr));
        }
        if Instant::now() > deadline {
            child.kill()?;
            anyhow::bail!("lumod kept running on a data dir it cannot read");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_data_dir_in_a_newer_format_is_refused_with_a_clear_message() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let first = LumodProcess::start_clean(dir.path(), &ENV)?;
    anyhow::ensure!(
        first.terminate()?.success(),
        "first start stopped uncleanly"
    );
    {
        let db = Db::open(&dir.path().join("db"))?;
        assert_eq!(
            db.format_version()?,
            FORMAT_VERSION,
            "a new data dir is stamped"
        );
        db.set_format_version(FORMAT_VERSION + 1)?;
    }
    let (ok, stderr) = serve_expecting_exit(dir.path())?;
    assert!(!ok, "lumod must not start: {stderr}");
    let newer = format!("on-disk format {}", FORMAT_VERSION + 1);
    assert!(stderr.contains(&newer), "{stderr}");
    assert!(stderr.contains("newer lumod"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Put back, the same data dir serves again: the refusal changed nothing.
    Db::open_any_format(&dir.path().join("db"))?.set_format_version(FORMAT_VERSION)?;
    let again = LumodProcess::start_clean(dir.path(), &ENV)?;
    anyhow::ensure!(again.terminate()?.success(), "restart stopped uncleanly");
    Ok(())
}
