//! The python `kubernetes` client (pip package `kubernetes`) against the real warren binary:
//! runs `tests/python/client_watch.py` and checks its exit code and output.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warren_e2e::Warren;

#[test]
fn python_client_list_watch_410_relist() {
    let have = Command::new("python3")
        .args(["-c", "import kubernetes"])
        .status()
        .expect("run python3");
    assert!(
        have.success(),
        "the python kubernetes client is not installed (python3 -m pip install kubernetes)"
    );

    let w = Warren::start_with(&[
        "--retention-revisions",
        "5",
        "--compact-interval-seconds",
        "1",
    ]);
    let script = warren_e2e::workspace_root().join("tests/python/client_watch.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(&w.kubeconfig)
        .env("HOME", w.data_dir())
        .env("PYTHONUNBUFFERED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run client_watch.py");
    let mut stdout_pipe = child.stdout.take().expect("stdout");
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let context = format!(
        "stdout:\n{stdout}\nstderr:\n{stderr}\nserver log:\n{}",
        w.log()
    );
    let status = status.unwrap_or_else(|| panic!("client_watch.py timed out\n{context}"));
    assert!(
        status.success(),
        "client_watch.py failed ({status})\n{context}"
    );

    let lines: Vec<&str> = stdout.lines().collect();
    let expected_prefix = [
        "LIST py-0,py-1,py-2",
        "PAGES 2",
        "EVENT MODIFIED py-1 ",
        "EVENT ADDED py-3 ",
        "EVENT DELETED py-0 ",
        "EVENT ADDED py-live ",
        "WATCH ok",
        "ERROR get-missing 404 NotFound",
        "ERROR create-duplicate 409 AlreadyExists",
        "GONE 410 Expired",
        "GONE-RETRY 410",
        "ERROR list-exact-compacted 410 Expired",
        "RELIST py-1,py-2,py-3,py-live",
        "REWATCH ADDED py-after",
        "KINDLESS ok",
        "OK",
    ];
    assert_eq!(lines.len(), expected_prefix.len(), "{context}");
    for (line, want) in lines.iter().zip(expected_prefix) {
        assert!(
            line.starts_with(want),
            "line {line:?}, want {want:?}\n{context}"
        );
    }
    // the watch events carry increasing resourceVersions
    let rvs: Vec<i64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("EVENT "))
        .map(|l| l.rsplit(' ').next().unwrap().parse().expect("numeric RV"))
        .collect();
    assert_eq!(rvs.len(), 4);
    assert!(rvs.windows(2).all(|p| p[0] < p[1]), "{rvs:?}");
}
