//! The container image (packaging/image/build-oci.py): a valid OCI image layout whose digests,
//! sizes and diff ids hold, whose entrypoint makes the argument the role, rebuilt byte for byte
//! the same — and whose one layer is enough to run warren: unpacked and entered with chroot
//! (as root; CI is), it serves the API and kubectl talks to it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use warren_e2e::{kubectl_bin, warren_bin, workspace_root};

fn build(out: &Path, extra: &[&str]) -> String {
    let script = workspace_root().join("packaging/image/build-oci.py");
    let result = Command::new("python3")
        .arg(&script)
        .arg("--binary")
        .arg(warren_bin())
        .arg("--out")
        .arg(out)
        // fastest compression: a debug binary is ~0.5 GB
        .args(["--gzip-level", "1"])
        .args(extra)
        .output()
        .expect("run build-oci.py");
    assert!(
        result.status.success(),
        "build-oci.py: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    String::from_utf8_lossy(&result.stdout).trim().to_owned()
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    layout.join("blobs/sha256").join(hex)
}

fn sha256_of(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    let text = String::from_utf8_lossy(&out.stdout);
    format!(
        "sha256:{}",
        text.split_whitespace().next().unwrap_or_default()
    )
}

/// Reads a blob and checks it against its descriptor.
fn blob(layout: &Path, descriptor: &Value) -> Vec<u8> {
    let digest = descriptor["digest"].as_str().expect("digest");
    let bytes = std::fs::read(blob_path(layout, digest)).expect("blob");
    assert_eq!(sha256_of(&bytes), digest, "blob content matches its digest");
    assert_eq!(Some(bytes.len() as u64), descriptor["size"].as_u64());
    bytes
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&input).expect("write");
    });
    let out = child.wait_with_output().expect("gzip");
    writer.join().expect("writer");
    assert!(out.status.success(), "layer is gzip");
    out.stdout
}

#[test]
fn the_image_is_a_valid_layout_that_runs_warren() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = dir.path().join("layout");
    let tarball = dir.path().join("warren.tar");
    let printed = build(&layout, &["--tar", tarball.to_str().expect("utf-8")]);
    assert!(printed.starts_with("warren:0.1.0 sha256:"), "{printed}");

    let read_json = |p: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json")
    };
    assert_eq!(
        read_json(&layout.join("oci-layout"))["imageLayoutVersion"],
        "1.0.0"
    );
    let index = read_json(&layout.join("index.json"));
    assert_eq!(index["schemaVersion"], 2);
    let entry = &index["manifests"][0];
    assert_eq!(
        entry["annotations"]["io.containerd.image.name"],
        "warren:0.1.0"
    );
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        "0.1.0"
    );
    assert_eq!(entry["platform"]["os"], "linux");
    let manifest: Value = serde_json::from_slice(&blob(&layout, entry)).expect("manifest");
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let config: Value =
        serde_json::from_slice(&blob(&layout, &manifest["config"])).expect("config");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/usr/local/bin/warren", "serve", "--role"])
    );
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["syncer"]));
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let layer = gunzip(&blob(&layout, &layers[0]));
    assert_eq!(
        config["rootfs"]["diff_ids"][0].as_str(),
        Some(sha256_of(&layer).as_str()),
        "diff_id is the digest of the uncompressed layer"
    );

    // The tarball holds the same layout.
    let listing = Command::new("tar")
        .arg("-tf")
        .arg(&tarball)
        .output()
        .expect("tar");
    let names = String::from_utf8_lossy(&listing.stdout);
    assert!(names.lines().any(|l| l == "index.json"), "{names}");
    assert!(names.lines().any(|l| l == "oci-layout"), "{names}");

    // Reproducible: a second build has the same manifest digest.
    let again = build(&dir.path().join("again"), &[]);
    assert_eq!(printed, again);

    // The layer alone runs warren.
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let untar = Command::new("tar")
        .arg("-xf")
        .arg("-")
        .arg("-C")
        .arg(&root)
        .stdin(Stdio::piped())
        .spawn()
        .expect("tar");
    {
        use std::io::Write;
        let mut untar = untar;
        untar
            .stdin
            .take()
            .expect("stdin")
            .write_all(&layer)
            .expect("write");
        assert!(untar.wait().expect("tar").success());
    }
    let packaged = std::fs::read(root.join("usr/local/bin/warren")).expect("binary in layer");
    assert!(
        packaged == std::fs::read(warren_bin()).expect("binary"),
        "the layer carries the binary unchanged"
    );
    if !running_as_root() {
        eprintln!("skipped the chroot run: it needs root");
        return;
    }
    let mut server = Command::new("chroot")
        .arg(&root)
        .args(["/usr/local/bin/warren", "serve", "--role", "syncer"])
        .args(["--listen", "127.0.0.1:0", "--data-dir", "/data"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chroot");
    let kubeconfig = root.join("data/kubeconfig.yaml");
    let deadline = Instant::now() + Duration::from_secs(60);
    let namespaces = loop {
        if kubeconfig.exists() {
            let out = Command::new(kubectl_bin())
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["get", "namespace", "kube-system", "-o", "name"])
                .output()
                .expect("kubectl");
            if out.status.success() {
                break String::from_utf8_lossy(&out.stdout).trim().to_owned();
            }
        }
        if Instant::now() > deadline || server.try_wait().expect("wait").is_some() {
            let _ = server.kill();
            panic!("warren did not serve from the unpacked image");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(namespaces, "namespace/kube-system");
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
