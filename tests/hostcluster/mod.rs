//! A real Kubernetes host cluster for the tests: etcd + kube-apiserver + kube-controller-manager
//! 1.20.2 (built once per machine by `host-cluster.sh build` into `$HC_CACHE`, default
//! /var/cache/warren-hostcluster) on free loopback ports, with its own CA, bearer token,
//! service-account key pair and service CIDR. Every process it starts is killed (by pid) and reaped
//! when the [`HostCluster`] is stopped or dropped, also when a test panics; a reaper process kills
//! them too if the test process itself dies without unwinding.
//!
//! There is no kubelet and no kube-scheduler: [`fake_node::FakeNodes`] plays both. The
//! conformance runner ([`run_conformance`]) drives the upstream `e2e.test` against any kubeconfig.
//!
//! Include it from a test file with `#[path = "hostcluster/mod.rs"] mod hostcluster;`.
#![allow(dead_code)]

pub mod fake_node;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The bearer token of the cluster's admin user (group system:masters).
pub const ADMIN_TOKEN: &str = "warren-hostcluster-admin";
/// The service CIDR of every host cluster.
pub const SERVICE_CIDR: &str = "10.96.0.0/16";

/// `$HC_CACHE`, default /var/cache/warren-hostcluster.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("HC_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/warren-hostcluster"))
}

pub fn bin_dir() -> PathBuf {
    cache_dir().join("bin")
}

/// The build recipe next to this file.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("hostcluster/host-cluster.sh")
}

/// Runs `host-cluster.sh build` with the given extra make targets (a no-op when the cache is
/// complete; the first build on a fresh machine takes a quarter of an hour). Panics on failure.
pub fn build(extra_targets: &str) {
    let out = Command::new("bash")
        .arg(script())
        .arg("build")
        .env("HC_EXTRA_TARGETS", extra_targets)
        .stdin(Stdio::null())
        .output()
        .expect("run host-cluster.sh build");
    assert!(
        out.status.success(),
        "host-cluster.sh build failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// kube-apiserver and kube-controller-manager are in the cache (built once per test process).
pub fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| build(""));
}

/// A free loopback port (the OS hands out a fresh one each time; a collision with a port taken
/// in between makes [`HostCluster::start`] retry with new ports).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port"))
        .collect();
    let mut ports = [0u16; N];
    for (p, l) in ports.iter_mut().zip(&listeners) {
        *p = l.local_addr().expect("local addr").port();
    }
    ports
}

/// Runs openssl in `dir` with whitespace-separated `args`.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// CA, serving certificate for 127.0.0.1 and the service IP, service-account key pair, tokens.
fn write_credentials(dir: &Path) {
    openssl(
        dir,
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 365 \
         -subj /CN=warren-hostcluster-ca -addext basicConstraints=critical,CA:TRUE \
         -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    );
    openssl(
        dir,
        "req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
         -subj /CN=kube-apiserver",
    );
    std::fs::write(
        dir.join("apiserver.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,\
         DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n",
    )
    .expect("write apiserver.ext");
    openssl(
        dir,
        "x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
         -out apiserver.crt -days 365 -extfile apiserver.ext",
    );
    openssl(dir, "genrsa -out sa.key 2048");
    openssl(dir, "rsa -in sa.key -pubout -out sa.pub");
    std::fs::write(
        dir.join("tokens.csv"),
        format!("{ADMIN_TOKEN},admin,admin,system:masters\n"),
    )
    .expect("write tokens.csv");
}

/// One running host cluster.
pub struct HostCluster {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:<port>`
    pub server: String,
    procs: Vec<(&'static str, Child)>,
    pids: Vec<u32>,
    reaper: Option<Child>,
}

impl HostCluster {
    /// Builds the binaries if needed, then starts etcd, kube-apiserver and
    /// kube-controller-manager and waits until the apiserver is ready and the controllers run
    /// (the `default` service account exists).
    pub fn start() -> HostCluster {
        ensure_built();
        let started = Instant::now();
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(c) => {
                    let took = started.elapsed();
                    eprintln!(
                        "host cluster {} ready in {took:.1?} ({})",
                        c.server,
                        c.path.display()
                    );
                    return c;
                }
                // most likely a port taken between choosing and binding it: new ports
                Err(e) => last = e,
            }
        }
        panic!("host cluster did not start: {last}");
    }

    fn try_start() -> Result<HostCluster, String> {
        let dir = tempfile::Builder::new()
            .prefix("warren-hostcluster-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let path = dir.path().to_path_buf();
        let mut c = HostCluster {
            kubeconfig: path.join("kubeconfig"),
            dir: Some(dir),
            path,
            server: String::new(),
            procs: Vec::new(),
            pids: Vec::new(),
            reaper: None,
        };
        c.start_reaper();
        c.boot().map_err(|e| {
            format!(
                "{e}\n--- etcd.log\n{}\n--- apiserver.log\n{}\n--- kcm.log\n{}",
                c.log_tail("etcd", 1500),
                c.log_tail("apiserver", 3000),
                c.log_tail("kcm", 1500)
            )
        })?;
        Ok(c)
    }

    fn boot(&mut self) -> Result<(), String> {
        let dir = self.path.clone();
        write_credentials(&dir);
        let [port, etcd_port, peer_port] = free_ports::<3>();
        self.server = format!("https://127.0.0.1:{port}");
        std::fs::write(
            &self.kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: host\n  cluster:\n    \
                 server: {}\n    certificate-authority: {}\nusers:\n- name: admin\n  user:\n    \
                 token: {ADMIN_TOKEN}\ncontexts:\n- name: host\n  context:\n    cluster: host\n    \
                 user: admin\ncurrent-context: host\n",
                self.server,
                dir.join("ca.crt").display()
            ),
        )
        .map_err(|e| format!("write kubeconfig: {e}"))?;

        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        self.spawn(
            "etcd",
            Command::new("etcd").args([
                "--name=hostcluster",
                &format!("--data-dir={}", dir.join("etcd").display()),
                &format!("--listen-client-urls={etcd_url}"),
                &format!("--advertise-client-urls={etcd_url}"),
                &format!("--listen-peer-urls={peer_url}"),
                &format!("--initial-advertise-peer-urls={peer_url}"),
                &format!("--initial-cluster=hostcluster={peer_url}"),
                "--quota-backend-bytes=1073741824",
            ]),
        )?;
        self.wait_for("etcd", Duration::from_secs(30), |_| {
            TcpStream::connect(("127.0.0.1", etcd_port)).is_ok()
        })?;

        let d = |f: &str| dir.join(f).display().to_string();
        self.spawn(
            "apiserver",
            Command::new(bin_dir().join("kube-apiserver")).args([
                &format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                &format!("--secure-port={port}"),
                "--insecure-port=0",
                &format!("--tls-cert-file={}", d("apiserver.crt")),
                &format!("--tls-private-key-file={}", d("apiserver.key")),
                &format!("--client-ca-file={}", d("ca.crt")),
                &format!("--token-auth-file={}", d("tokens.csv")),
                &format!("--service-account-key-file={}", d("sa.pub")),
                &format!("--service-account-signing-key-file={}", d("sa.key")),
                "--service-account-issuer=https://kubernetes.default.svc",
                &format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                "--profiling=false",
                &format!("--cert-dir={}", d("certs")),
            ]),
        )?;
        let readyz = Duration::from_secs(120);
        self.wait_for("apiserver", readyz, |c| {
            c.kubectl(&["get", "--raw", "/readyz"]).status.success()
        })?;

        self.spawn(
            "kcm",
            Command::new(bin_dir().join("kube-controller-manager")).args([
                &format!("--kubeconfig={}", self.kubeconfig.display()),
                &format!("--authentication-kubeconfig={}", self.kubeconfig.display()),
                &format!("--authorization-kubeconfig={}", self.kubeconfig.display()),
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--port=0",
                "--leader-elect=false",
                &format!("--service-account-private-key-file={}", d("sa.key")),
                &format!("--root-ca-file={}", d("ca.crt")),
                &format!("--cluster-signing-cert-file={}", d("ca.crt")),
                &format!("--cluster-signing-key-file={}", d("ca.key")),
                &format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                // no cloud, no volumes, pod CIDRs come from the fake nodes themselves
                "--controllers=*,-nodeipam,-attachdetach,-persistentvolume-binder,\
                 -cloud-node-lifecycle,-route,-service",
                "--profiling=false",
            ]),
        )?;
        self.wait_for("kcm", Duration::from_secs(120), |c| {
            c.kubectl(&["get", "serviceaccount", "default", "-n", "default"])
                .status
                .success()
        })
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) -> Result<(), String> {
        let log = std::fs::File::create(self.path.join(format!("{name}.log")))
            .map_err(|e| format!("{name}.log: {e}"))?;
        let child = cmd
            .current_dir(&self.path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start {name}: {e}"))?;
        self.pids.push(child.id());
        if let Some(stdin) = self.reaper.as_mut().and_then(|r| r.stdin.as_mut()) {
            let _ = writeln!(stdin, "{}", child.id());
        }
        self.procs.push((name, child));
        Ok(())
    }

    /// A shell that kills the cluster's processes once the test process is gone: it reads their
    /// pids from a pipe only this process holds, which closes when the process dies in any way
    /// (`stop` kills the reaper before the processes, so it never fires at reused pids), and
    /// removes the data directory.
    fn start_reaper(&mut self) {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "pids=; while read -r p; do pids=\"$pids $p\"; done; kill -9 $pids 2>/dev/null; sleep 1; \
             [ -n \"$HC_KEEP\" ] || rm -rf \"$1\"",
            "hostcluster-reaper",
        ])
        .arg(&self.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        self.reaper = cmd.spawn().ok();
    }

    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut(&HostCluster) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready(self) {
                return Ok(());
            }
            for (name, child) in &mut self.procs {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("{name} exited ({status}) while waiting for {what}"));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{what} not ready after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The data directory (certificates, logs, etcd data).
    pub fn dir(&self) -> &Path {
        &self.path
    }

    pub fn ca_path(&self) -> PathBuf {
        self.path.join("ca.crt")
    }

    /// Pids of etcd, kube-apiserver, kube-controller-manager (and the reaper).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = self.pids.clone();
        pids.extend(self.reaper.as_ref().map(Child::id));
        pids
    }

    /// The last `n` bytes of `<name>.log` (etcd, apiserver, kcm).
    pub fn log_tail(&self, name: &str, n: usize) -> String {
        let text =
            std::fs::read_to_string(self.path.join(format!("{name}.log"))).unwrap_or_default();
        tail(&text, n).to_string()
    }

    /// Kills (SIGKILL) and reaps everything this cluster started; idempotent. The data
    /// directory is removed unless `HC_KEEP` is set.
    pub fn stop(&mut self) {
        // the reaper first, so it cannot outlive us or fire at reused pids
        if let Some(mut r) = self.reaper.take() {
            let _ = r.kill();
            let _ = r.wait();
        }
        while let Some((_, mut child)) = self.procs.pop() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.dir.take()
            && std::env::var_os("HC_KEEP").is_some()
        {
            eprintln!("host cluster data kept in {}", dir.keep().display());
        }
    }

    /// kubectl (the pinned 1.32) with this cluster's kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl_at(&self.kubeconfig, &self.path, args, None)
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        kubectl_at(&self.kubeconfig, &self.path, args, Some(stdin))
    }

    /// kubectl that must succeed; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}\napiserver log tail: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_tail("apiserver", 2000)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl get ARGS -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.kubectl_ok(&all)).expect("kubectl json")
    }
}

impl Drop for HostCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs kubectl with `kubeconfig`, keeping its cache under `home`.
pub fn kubectl_at(kubeconfig: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(warren_e2e::kubectl_bin())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("KUBECACHEDIR", home.join("kubecache"))
        .env("HOME", home)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("kubectl output")
}

fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Whether a process with this pid exists (zombies included).
pub fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Pids of live processes whose command line mentions `needle`.
pub fn pids_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(needle)
        {
            found.push(pid);
        }
    }
    found
}

/// The API-machinery [Conformance] subset the host cluster is scored on.
pub const CONFORMANCE_FOCUS: &str = r"\[sig-api-machinery\] (Watchers|Secrets|Events|Servers with support for Table transformation|Discovery|CustomResourceDefinition resources|Garbage collector|Namespaces|ResourceQuota).*\[Conformance\]";
/// Needs webhooks or an aggregated API server backed by real pods, or a cluster of its own.
pub const CONFORMANCE_SKIP: &str = r"Webhook|webhook|Aggregator|\[Serial\]|\[Disruptive\]|\[Slow\]";

/// The outcome of one `e2e.test` run.
#[derive(Debug, Default)]
pub struct ConformanceResult {
    pub passed: Vec<String>,
    pub failed: Vec<String>,
    pub skipped: usize,
}

impl std::fmt::Display for ConformanceResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} passed, {} failed",
            self.passed.len(),
            self.failed.len()
        )?;
        for name in &self.failed {
            writeln!(f, "FAILED: {name}")?;
        }
        Ok(())
    }
}

/// `$HC_E2E_TEST`, else `e2e.test` from the cache, built on demand (10+ minutes the first time).
pub fn e2e_test_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HC_E2E_TEST") {
        return PathBuf::from(p);
    }
    let bin = bin_dir().join("e2e.test");
    if !bin.exists() {
        build("test/e2e/e2e.test");
    }
    bin
}

/// Runs `e2e.test` with `focus`/`skip` against `kubeconfig` (which needs a schedulable Ready
/// node, e.g. from [`fake_node::FakeNodes`]); its output goes to `report_dir/e2e.log` and the
/// JUnit report to `report_dir`.
pub fn run_conformance(
    kubeconfig: &Path,
    focus: &str,
    skip: &str,
    report_dir: &Path,
) -> ConformanceResult {
    std::fs::create_dir_all(report_dir).expect("report dir");
    let log = std::fs::File::create(report_dir.join("e2e.log")).expect("e2e.log");
    let status = Command::new(e2e_test_bin())
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--provider=skeleton")
        .arg(format!("--ginkgo.focus={focus}"))
        .arg(format!("--ginkgo.skip={skip}"))
        .arg("--ginkgo.noColor")
        .arg("--ginkgo.v")
        .arg(format!("--report-dir={}", report_dir.display()))
        .arg("--disable-log-dump")
        .arg("--dump-logs-on-failure=false")
        .arg(format!(
            "--kubectl-path={}",
            warren_e2e::kubectl_bin().display()
        ))
        .arg("--allowed-not-ready-nodes=0")
        .arg("--minStartupPods=0")
        .env("HOME", report_dir)
        .env("KUBECACHEDIR", report_dir.join("kubecache"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .status()
        .expect("run e2e.test");
    let mut result = ConformanceResult::default();
    for entry in std::fs::read_dir(report_dir)
        .expect("read report dir")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("junit") && name.ends_with(".xml") {
            let xml = std::fs::read_to_string(entry.path()).unwrap_or_default();
            parse_junit(&xml, &mut result);
        }
    }
    if result.passed.is_empty() && result.failed.is_empty() {
        let text = std::fs::read_to_string(report_dir.join("e2e.log")).unwrap_or_default();
        panic!(
            "e2e.test ran nothing ({status}); log tail:\n{}",
            tail(&text, 4000)
        );
    }
    result
}

/// Ginkgo v1's JUnit report: one `<testcase name=...>` per spec, with `<skipped>` or
/// `<failure>` inside when it did not pass.
fn parse_junit(xml: &str, result: &mut ConformanceResult) {
    for case in xml.split("<testcase ").skip(1) {
        let body = case.split("</testcase>").next().unwrap_or(case);
        let name = body
            .split_once("name=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(n, _)| unescape_xml(n))
            .unwrap_or_default();
        if body.contains("<skipped") {
            result.skipped += 1;
        } else if body.contains("<failure") || body.contains("<error") {
            result.failed.push(name);
        } else {
            result.passed.push(name);
        }
    }
}

fn unescape_xml(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}
