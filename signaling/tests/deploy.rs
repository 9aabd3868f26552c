//! `deploy/`: the systemd unit as systemd itself reads it (`systemd-analyze verify`, and the
//! exposure score of `systemd-analyze security`), with the hardening it promises, and the files it
//! points operators to.

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

/// The shipped unit, with `ExecStart` pointing at the binary just built (systemd checks that the
/// program exists and is executable), written to a fresh directory.
fn unit_with_built_binary() -> (tempfile::TempDir, PathBuf, String) {
    let unit = std::fs::read_to_string(deploy("hearth-signaling.service")).expect("read the unit");
    assert!(
        unit.contains("ExecStart=/usr/local/bin/signaling "),
        "the unit runs the installed binary"
    );
    let built = unit.replace("/usr/local/bin/signaling", env!("CARGO_BIN_EXE_signaling"));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hearth-signaling.service");
    std::fs::write(&path, &built).expect("write the unit");
    (dir, path, unit)
}

#[test]
fn systemd_accepts_the_unit() {
    let (_dir, path, _) = unit_with_built_binary();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze (the setup installs systemd)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    assert!(
        !stderr.contains("hearth-signaling.service"),
        "systemd-analyze verify had remarks about the unit:\n{stderr}"
    );
}

#[test]
fn the_unit_is_hardened() {
    let (_dir, path, unit) = unit_with_built_binary();
    for setting in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "EnvironmentFile=/etc/hearth/signaling.env",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "SystemCallFilter=@system-service",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.contains(setting), "the unit lacks {setting:?}");
    }
    // systemd's own exposure score (0 safest, 10 least): 1.5 as shipped; fail past 2.
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20", "--no-pager"])
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success(),
        "the unit's exposure is above 2:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn secrets_go_in_the_environment_file_not_the_command_line() {
    let unit = std::fs::read_to_string(deploy("hearth-signaling.service")).expect("read the unit");
    let exec = unit
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .expect("ExecStart");
    for secret in ["AUTH_SECRET", "TURN_SECRET", "TURN_CREDENTIAL", "REDIS_URL"] {
        assert!(!exec.contains(secret), "{secret} on the command line");
    }
    let env = std::fs::read_to_string(deploy("signaling.env.example")).expect("env example");
    assert!(env.lines().any(|l| l.starts_with("AUTH_SECRET=")));
    let nginx = std::fs::read_to_string(deploy("nginx.conf")).expect("nginx example");
    assert!(nginx.contains("proxy_set_header Upgrade $http_upgrade;"));
}
