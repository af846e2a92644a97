//! The warren command line as a user meets it: help, version, refused roles, health endpoints.

use std::process::Command;

use warren_e2e::{Warren, warren_bin};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(warren_bin())
        .args(args)
        .output()
        .expect("run warren");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_and_version() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("serve") && out.contains("version"), "{out}");
    let (code, out, _) = run(&["serve", "--help"]);
    assert_eq!(code, 0);
    for flag in ["--role", "--data-dir", "--listen", "--tls-san"] {
        assert!(out.contains(flag), "{flag} missing from: {out}");
    }
    assert!(
        out.contains("127.0.0.1:6443"),
        "default listen shown: {out}"
    );
    let (code, out, _) = run(&["version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("warren "), "{out}");
    assert!(out.contains("v1.33"), "{out}");
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("warren "), "{out}");
}

#[test]
fn unbuilt_and_unknown_roles_are_refused_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    for (role, expected) in [
        (
            "platform",
            "role \"platform\" is not available in this build yet",
        ),
        ("bogus", "unknown role \"bogus\""),
    ] {
        let (code, _, err) = run(&["serve", "--role", role, "--data-dir", data]);
        assert_ne!(code, 0, "{role} accepted");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(expected), "{err}");
    }
    let (code, _, err) = run(&["serve"]);
    assert_eq!(code, 2, "missing --role is a usage error: {err}");
}

#[test]
fn health_endpoints_answer_ok_without_credentials() {
    let w = Warren::start();
    for path in ["/readyz", "/livez", "/healthz", "/version"] {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(w.ca_path())
            .arg(format!("{}{path}", w.server))
            .output()
            .expect("curl");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "{path}");
    }
    // the serving certificate verifies against the written CA for 127.0.0.1 and localhost
    let port = w.server.rsplit(':').next().expect("port");
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(w.ca_path())
        .arg(format!("https://localhost:{port}/readyz"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    // resources need the token
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(w.ca_path())
        .arg(format!("{}/api/v1/namespaces", w.server))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
}

#[test]
fn restart_reuses_ca_token_and_data() {
    let mut w = Warren::start();
    let ca = std::fs::read(w.ca_path()).expect("ca");
    let token = w.admin_token();
    w.kubectl_ok(&["create", "configmap", "keep", "--from-literal=a=b"]);
    w.restart_after_kill9();
    assert_eq!(std::fs::read(w.ca_path()).expect("ca"), ca);
    assert_eq!(w.admin_token(), token);
    assert_eq!(w.get_json(&["configmap", "keep"])["data"]["a"], "b");
}
