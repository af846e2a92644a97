//! kubectl against the real warren binary.
//!
//! Every test starts its own warren (own port and data directory) and drives it with the real
//! kubectl, asserting on exact output lines (whitespace collapsed, the AGE column masked) and on
//! objects read back with `-o json`. Expected strings are what kube-apiserver 1.33 and kubectl
//! print.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warren_e2e::{Warren, is_age, lines, norm};

// ---------------------------------------------------------------------------------------------
// helpers

/// These tests exercise the API server itself: controllers stay off so that objects they would
/// add (such as `kube-root-ca.crt` in every namespace) don't race with exact listings. Pods need
/// their service account (the ServiceAccount admission plugin refuses them otherwise), so the
/// `default` one the serviceaccount controller would make is created here, once.
fn bare_api() -> Warren {
    let w = Warren::start_with(&["--disable-controllers"]);
    w.kubectl_ok(&["create", "serviceaccount", "default"]);
    w
}

/// Table rows with whitespace collapsed and the AGE column (located in `header`) replaced by
/// `<age>` when it holds a well-formed age.
fn mask_age(header: &str, rows: &[String]) -> Vec<String> {
    let Some(age) = header.split_whitespace().position(|c| c == "AGE") else {
        return rows.iter().map(|r| norm(r)).collect();
    };
    rows.iter()
        .map(|row| {
            let mut cells: Vec<&str> = row.split_whitespace().collect();
            if cells.get(age).is_some_and(|c| is_age(c)) {
                cells[age] = "<age>";
            }
            cells.join(" ")
        })
        .collect()
}

/// `kubectl get` table output: header plus rows, whitespace collapsed, AGE masked.
fn table(out: &str) -> Vec<String> {
    let rows = lines(out);
    match rows.first() {
        Some(header) => mask_age(header, &rows),
        None => rows,
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// kubectl with `manifest` on stdin; returns the raw output (no success requirement).
fn with_stdin(w: &Warren, args: &[&str], manifest: &str) -> Output {
    w.kubectl_stdin(args, Some(manifest))
}

/// kubectl with `manifest` on stdin that must fail; returns stderr.
fn with_stdin_err(w: &Warren, args: &[&str], manifest: &str) -> String {
    let out = with_stdin(w, args, manifest);
    assert!(
        !out.status.success(),
        "kubectl {args:?} unexpectedly succeeded: {}",
        stdout(&out)
    );
    stderr(&out)
}

/// `kubectl create -f -` of a JSON manifest; returns stdout.
fn create(w: &Warren, manifest: &Value) -> String {
    w.kubectl_apply_ok(&["create", "-f", "-"], &manifest.to_string())
}

/// `kubectl apply -f -` of a JSON manifest; returns stdout.
fn apply(w: &Warren, manifest: &Value) -> String {
    w.kubectl_apply_ok(&["apply", "-f", "-"], &manifest.to_string())
}

/// A `kubectl get` that finds nothing: empty stdout and kubectl's stderr notice.
fn assert_none_found(w: &Warren, args: &[&str], namespace: &str) {
    let out = w.kubectl(args);
    assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
    assert_eq!(stdout(&out), "", "kubectl {args:?}");
    assert_eq!(
        lines(&stderr(&out)),
        [format!("No resources found in {namespace} namespace.")],
        "kubectl {args:?}"
    );
}

fn configmap(name: &str, labels: Value, data: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": data,
    })
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// Several manifests as one multi-document stream (`---` separated; JSON is YAML). The leading
/// `---` makes kubectl 1.32 read it as YAML: a stream that starts with `{` is parsed as JSON.
fn docs(items: &[Value]) -> String {
    let body = items
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n---\n");
    format!("---\n{body}")
}

/// `kubectl create -f -` of several manifests; returns stdout.
fn create_all(w: &Warren, args: &[&str], items: &[Value]) -> String {
    let mut all = vec!["create"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-f", "-"]);
    w.kubectl_apply_ok(&all, &docs(items))
}

/// A Deployment `web` (labels app=web, tier=fe) with two containers: `nginx` (port 80) and
/// `side`.
fn web_deployment(replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
                    {"name": "side", "image": "busybox"},
                ]},
            },
        },
    })
}

/// A minimal valid Deployment.
fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]},
            },
        },
    })
}

fn names(v: &Value, path: &str) -> Vec<String> {
    v.pointer(path)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| c["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Collects independent expectation failures so one test reports all of them at once.
#[derive(Default)]
struct Soft {
    failures: Vec<String>,
}

impl Soft {
    fn check(&mut self, ok: bool, what: impl std::fmt::Display) {
        if !ok {
            self.failures.push(what.to_string());
        }
    }

    fn eq<A: PartialEq<B> + std::fmt::Debug, B: std::fmt::Debug>(
        &mut self,
        what: &str,
        actual: A,
        expected: B,
    ) {
        if actual != expected {
            self.failures.push(format!(
                "{what}:\n    expected {expected:?}\n    actual   {actual:?}"
            ));
        }
    }

    /// Runs kubectl; records a failure unless it succeeds with exactly `expected` lines.
    fn kubectl_lines(&mut self, w: &Warren, args: &[&str], expected: &[&str]) -> bool {
        let out = w.kubectl(args);
        if !out.status.success() {
            self.failures
                .push(format!("kubectl {args:?} failed: {}", stderr(&out).trim()));
            return false;
        }
        let got = lines(&stdout(&out));
        let ok = got == expected;
        self.eq(&format!("kubectl {args:?}"), got, expected);
        ok
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} expectation(s) failed:\n- {}",
            self.failures.len(),
            self.failures.join("\n- ")
        );
    }
}

/// A kubectl running in the background (e.g. `get -w`); its stdout lines are collected as they
/// stream in. Killed on drop.
struct Background {
    child: Child,
    rx: mpsc::Receiver<String>,
    lines: Vec<String>,
    err: Option<std::thread::JoinHandle<String>>,
}

impl Background {
    fn start(w: &Warren, args: &[&str]) -> Background {
        let mut child = Command::new(warren_e2e::kubectl_bin())
            .arg("--kubeconfig")
            .arg(&w.kubeconfig)
            .args(args)
            .env("KUBECACHEDIR", w.data_dir().join("kubecache"))
            .env("HOME", w.data_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kubectl");
        let out = child.stdout.take().expect("stdout");
        let mut errpipe = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = errpipe.read_to_string(&mut s);
            s
        });
        Background {
            child,
            rx,
            lines: Vec::new(),
            err: Some(err),
        }
    }

    /// Waits (up to 20s) until `done` holds for the lines so far; returns them.
    fn wait_until(&mut self, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.lines) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.lines.push(line),
                Err(_) => panic!(
                    "timed out waiting for {what}; lines so far: {:#?}",
                    self.lines
                ),
            }
        }
        self.lines.clone()
    }

    /// Kills kubectl and returns what it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.err
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// tests

#[test]
fn core_namespaces_exist_and_create_get_delete_configmap() {
    let w = bare_api();
    let ns = w.kubectl_ok(&["get", "namespaces"]);
    for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(ns.contains(n), "{ns}");
    }
    assert!(ns.contains("Active"), "{ns}");
    let out = w.kubectl_ok(&["create", "configmap", "c1", "--from-literal=a=b"]);
    assert_eq!(out.trim(), "configmap/c1 created");
    let cm = w.get_json(&["configmap", "c1"]);
    assert_eq!(cm["data"]["a"], "b");
    assert!(cm["metadata"]["uid"].as_str().is_some());
    let err = w.kubectl_err(&["create", "configmap", "c1"]);
    assert!(err.contains(r#"configmaps "c1" already exists"#), "{err}");
    assert_eq!(
        w.kubectl_ok(&["delete", "configmap", "c1"]).trim(),
        r#"configmap "c1" deleted"#
    );
    let err = w.kubectl_err(&["get", "configmap", "c1"]);
    assert!(err.contains(r#"configmaps "c1" not found"#), "{err}");
}

/// apply (created / unchanged / configured), diff exit codes, and the get output formats.
#[test]
fn apply_diff_and_get_output_formats() {
    let w = bare_api();
    let v2 = web_deployment(2).to_string();
    let v3 = web_deployment(3).to_string();

    assert_eq!(
        w.kubectl_apply_ok(&["apply", "-f", "-"], &v2),
        "deployment.apps/web created\n"
    );
    assert_eq!(
        w.kubectl_apply_ok(&["apply", "-f", "-"], &v2),
        "deployment.apps/web unchanged\n"
    );

    // No difference: exit 0, nothing printed.
    let same = with_stdin(&w, &["diff", "-f", "-"], &v2);
    assert_eq!(same.status.code(), Some(0), "diff: {}", stderr(&same));
    assert_eq!(stdout(&same), "");

    // A difference: exit 1 and a unified diff of the live vs the merged (dry-run) object.
    let diff = with_stdin(&w, &["diff", "-f", "-"], &v3);
    assert_eq!(diff.status.code(), Some(1), "diff: {}", stderr(&diff));
    let text = stdout(&diff);
    let diff_lines: Vec<&str> = text.lines().collect();
    assert!(diff_lines.contains(&"-  replicas: 2"), "{text}");
    assert!(diff_lines.contains(&"+  replicas: 3"), "{text}");
    assert!(
        diff_lines
            .iter()
            .any(|l| l.starts_with("--- ") && l.contains("/apps.v1.Deployment.default.web")),
        "{text}"
    );
    // diff is a dry run: nothing changed.
    assert_eq!(w.get_json(&["deploy", "web"])["spec"]["replicas"], 2);
    // diff of an object that does not exist yet: all lines added, still nothing created.
    let fresh = with_stdin(
        &w,
        &["diff", "-f", "-"],
        &configmap("fresh", json!({}), json!({"k": "v"})).to_string(),
    );
    assert_eq!(fresh.status.code(), Some(1), "diff: {}", stderr(&fresh));
    let text = stdout(&fresh);
    let added: Vec<&str> = text.lines().collect();
    for want in [
        "+apiVersion: v1",
        "+kind: ConfigMap",
        "+  name: fresh",
        "+  k: v",
    ] {
        assert!(added.contains(&want), "missing {want:?} in\n{text}");
    }
    assert!(!added.iter().any(|l| l.starts_with("-  ")), "{text}");
    w.kubectl_err(&["get", "cm", "fresh"]);

    assert_eq!(
        w.kubectl_apply_ok(&["apply", "-f", "-"], &v3),
        "deployment.apps/web configured\n"
    );
    let d = w.get_json(&["deploy", "web"]);
    assert_eq!(d["spec"]["replicas"], 3);
    let last: Value = serde_json::from_str(
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("last-applied annotation"),
    )
    .expect("last-applied json");
    assert_eq!(last["spec"]["replicas"], 3);
    let again = with_stdin(&w, &["diff", "-f", "-"], &v3);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));

    assert_eq!(
        table(&w.kubectl_ok(&["get", "deployments"])),
        ["NAME READY UP-TO-DATE AVAILABLE AGE", "web 0/3 0 0 <age>"]
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "deploy", "-o", "wide"])),
        [
            "NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR",
            "web 0/3 0 0 <age> nginx,side nginx:1.25,busybox app=web"
        ]
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "deploy", "--show-labels"])),
        [
            "NAME READY UP-TO-DATE AVAILABLE AGE LABELS",
            "web 0/3 0 0 <age> app=web,tier=fe"
        ]
    );
    assert_eq!(
        w.kubectl_ok(&["get", "deploy", "web", "-o", "name"]),
        "deployment.apps/web\n"
    );

    // A second namespace for -A.
    apply(
        &w,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
    );
    assert_eq!(
        w.kubectl_apply_ok(
            &["apply", "-n", "other", "-f", "-"],
            &deployment("api", 1).to_string()
        ),
        "deployment.apps/api created\n"
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "deploy", "-A"])),
        [
            "NAMESPACE NAME READY UP-TO-DATE AVAILABLE AGE",
            "default web 0/3 0 0 <age>",
            "other api 0/1 0 0 <age>"
        ]
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "deploy", "--all-namespaces", "--show-labels"])),
        [
            "NAMESPACE NAME READY UP-TO-DATE AVAILABLE AGE LABELS",
            "default web 0/3 0 0 <age> app=web,tier=fe",
            "other api 0/1 0 0 <age> <none>"
        ]
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "deploy", "-n", "other"])),
        ["NAME READY UP-TO-DATE AVAILABLE AGE", "api 0/1 0 0 <age>"]
    );

    // -o yaml: the same object as -o json.
    let yaml = w.kubectl_ok(&["get", "deploy", "web", "-o", "yaml"]);
    let yl: Vec<&str> = yaml.lines().collect();
    for want in [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: web",
        "  namespace: default",
        "    app: web",
        "    tier: fe",
        "spec:",
        "  replicas: 3",
        "      containers:",
        "      - image: nginx:1.25",
        "        name: nginx",
        "        - containerPort: 80",
        "      - image: busybox",
        "        name: side",
    ] {
        assert!(yl.contains(&want), "missing {want:?} in\n{yaml}");
    }
    let uid = d["metadata"]["uid"].as_str().expect("uid");
    assert!(yl.contains(&format!("  uid: {uid}").as_str()), "{yaml}");
    let rv = d["metadata"]["resourceVersion"].as_str().expect("rv");
    assert!(
        yl.contains(&format!("  resourceVersion: \"{rv}\"").as_str()),
        "{yaml}"
    );
    // `get` of a list in json: a v1 List with both deployments.
    let all = w.get_json(&["deploy", "-A"]);
    assert_eq!(all["kind"], "List");
    let item_names: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(item_names, ["web", "api"]);
}

/// Strategic merge (merges containers by name, $patch directives), merge (replaces lists,
/// null deletes), JSON patch, no-op patch, and scale through the scale subresource.
#[test]
fn patch_strategic_merge_json_and_scale() {
    let w = bare_api();
    apply(&w, &web_deployment(2));

    // Strategic merge patch is kubectl's default for built-in types: the container list is
    // merged by name; `side` stays, nginx keeps its port.
    assert_eq!(
        w.kubectl_ok(&[
            "patch",
            "deploy",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}"#,
        ]),
        "deployment.apps/web patched\n"
    );
    let d = w.get_json(&["deploy", "web"]);
    let c = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        names(&d, "/spec/template/spec/containers"),
        ["nginx", "side"]
    );
    assert_eq!(c[0]["image"], "nginx:1.26");
    assert_eq!(c[0]["ports"][0]["containerPort"], 80);
    assert_eq!(c[1]["image"], "busybox");

    // Strategic: a new name is added, `$patch: delete` removes one by name.
    assert_eq!(
        w.kubectl_ok(&[
            "patch",
            "deploy",
            "web",
            "--type=strategic",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"redis:7"},{"name":"side","$patch":"delete"}]}}}}"#,
        ]),
        "deployment.apps/web patched\n"
    );
    let d = w.get_json(&["deploy", "web"]);
    let mut got = names(&d, "/spec/template/spec/containers");
    got.sort();
    assert_eq!(got, ["extra", "nginx"]);

    // Merge patch replaces the whole list.
    assert_eq!(
        w.kubectl_ok(&[
            "patch",
            "deploy",
            "web",
            "--type=merge",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"redis:7"}]}}}}"#,
        ]),
        "deployment.apps/web patched\n"
    );
    let d = w.get_json(&["deploy", "web"]);
    let c = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(names(&d, "/spec/template/spec/containers"), ["only"]);
    assert_eq!(c[0]["image"], "redis:7");
    assert!(c[0].get("ports").is_none(), "{c}");

    // Merge patch: null deletes a key.
    w.kubectl_ok(&[
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":null}}}"#,
    ]);
    assert_eq!(
        w.get_json(&["deploy", "web"])["metadata"]["labels"],
        json!({"app": "web"})
    );

    // JSON patch.
    assert_eq!(
        w.kubectl_ok(&[
            "patch",
            "deploy",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels/patched","value":"yes"}]"#,
        ]),
        "deployment.apps/web patched\n"
    );
    let d = w.get_json(&["deploy", "web"]);
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["metadata"]["labels"]["patched"], "yes");
    // A failing `test` op rejects the whole patch.
    w.kubectl_err(&[
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":9},{"op":"test","path":"/spec/replicas","value":99}]"#,
    ]);
    assert_eq!(w.get_json(&["deploy", "web"])["spec"]["replicas"], 4);

    // A patch that changes nothing is not written.
    let rv = w.get_json(&["deploy", "web"])["metadata"]["resourceVersion"].clone();
    assert_eq!(
        w.kubectl_ok(&[
            "patch",
            "deploy",
            "web",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":4}}"#
        ]),
        "deployment.apps/web patched (no change)\n"
    );
    assert_eq!(
        w.get_json(&["deploy", "web"])["metadata"]["resourceVersion"],
        rv
    );

    // Strategic merge patch on a ConfigMap's data map.
    apply(&w, &configmap("cm", json!({}), json!({"a": "1", "b": "2"})));
    w.kubectl_ok(&["patch", "cm", "cm", "-p", r#"{"data":{"b":"3","c":"4"}}"#]);
    assert_eq!(
        w.get_json(&["cm", "cm"])["data"],
        json!({"a": "1", "b": "3", "c": "4"})
    );

    // Patching something that does not exist.
    assert_eq!(
        lines(&w.kubectl_err(&[
            "patch",
            "deploy",
            "nope",
            "-p",
            r#"{"spec":{"replicas":1}}"#
        ])),
        [r#"Error from server (NotFound): deployments.apps "nope" not found"#]
    );

    // kubectl scale goes through the scale subresource.
    assert_eq!(
        w.kubectl_ok(&["scale", "deploy", "web", "--replicas=1"]),
        "deployment.apps/web scaled\n"
    );
    assert_eq!(w.get_json(&["deploy", "web"])["spec"]["replicas"], 1);
    let scale: Value = serde_json::from_str(&w.kubectl_ok(&[
        "get",
        "--raw",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
    ]))
    .expect("scale json");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["metadata"]["name"], "web");
    assert_eq!(scale["spec"]["replicas"], 1);
    assert_eq!(scale["status"]["selector"], "app=web");
    assert_eq!(
        w.kubectl_ok(&[
            "scale",
            "deploy/web",
            "--current-replicas=1",
            "--replicas=3"
        ]),
        "deployment.apps/web scaled\n"
    );
    assert_eq!(
        lines(&w.kubectl_err(&[
            "scale",
            "deploy",
            "web",
            "--current-replicas=5",
            "--replicas=2"
        ])),
        ["error: Expected replicas to be 5, was 3"]
    );
    assert_eq!(w.get_json(&["deploy", "web"])["spec"]["replicas"], 3);
}

/// label / annotate (conflicts without --overwrite, removal with `key-`) and describe.
#[test]
fn label_annotate_and_describe() {
    let w = bare_api();
    let mut dep = deployment("web", 2);
    dep["metadata"]["labels"] = json!({"app": "web", "tier": "fe"});
    create(&w, &dep);
    let labels = |w: &Warren| w.get_json(&["deploy", "web"])["metadata"]["labels"].clone();
    let annotations =
        |w: &Warren| w.get_json(&["deploy", "web"])["metadata"]["annotations"].clone();

    assert_eq!(
        w.kubectl_ok(&["label", "deploy", "web", "env=prod"]),
        "deployment.apps/web labeled\n"
    );
    assert_eq!(
        lines(&w.kubectl_err(&["label", "deploy", "web", "env=dev"])),
        ["error: 'env' already has a value (prod), and --overwrite is false"]
    );
    assert_eq!(labels(&w)["env"], "prod");
    assert_eq!(
        w.kubectl_ok(&["label", "deploy", "web", "env=dev", "--overwrite"]),
        "deployment.apps/web labeled\n"
    );
    assert_eq!(
        labels(&w),
        json!({"app": "web", "tier": "fe", "env": "dev"})
    );
    assert_eq!(
        w.kubectl_ok(&["label", "deploy", "web", "env-"]),
        "deployment.apps/web unlabeled\n"
    );
    assert_eq!(labels(&w), json!({"app": "web", "tier": "fe"}));

    assert_eq!(
        w.kubectl_ok(&["annotate", "deploy", "web", "note=hi", "owner=team-a"]),
        "deployment.apps/web annotated\n"
    );
    assert_eq!(
        lines(&w.kubectl_err(&["annotate", "deploy", "web", "note=ho"])),
        [
            "error: --overwrite is false but found the following declared annotation(s): 'note' already has a value (hi)"
        ]
    );
    assert_eq!(annotations(&w)["note"], "hi");
    assert_eq!(
        w.kubectl_ok(&["annotate", "deploy", "web", "note=ho", "--overwrite"]),
        "deployment.apps/web annotated\n"
    );
    assert_eq!(annotations(&w), json!({"note": "ho", "owner": "team-a"}));

    // Labels on several objects through a selector.
    create_all(
        &w,
        &[],
        &[
            configmap("a", json!({"grp": "x"}), json!({"k": "v"})),
            configmap("b", json!({"grp": "x"}), json!({})),
            configmap("c", json!({"grp": "y"}), json!({})),
        ],
    );
    assert_eq!(
        lines(&w.kubectl_ok(&["label", "cm", "-l", "grp=x", "hit=yes"])),
        ["configmap/a labeled", "configmap/b labeled"]
    );
    assert_eq!(
        w.kubectl_ok(&["get", "cm", "-l", "hit=yes", "-o", "name"]),
        "configmap/a\nconfigmap/b\n"
    );

    let desc = lines(&w.kubectl_ok(&["describe", "deploy", "web"]));
    for want in [
        "Name: web",
        "Namespace: default",
        "Labels: app=web",
        "tier=fe",
        "Annotations: note: ho",
        "owner: team-a",
        "Selector: app=web",
        "Replicas: 2 desired | 0 updated | 0 total | 0 available | 0 unavailable",
        "Pod Template:",
        "Labels: app=web",
        "Containers:",
        "c:",
        "Image: nginx:1.25",
        "Events: <none>",
    ] {
        assert!(
            desc.iter().any(|l| l == want),
            "missing {want:?} in {desc:#?}"
        );
    }
    assert!(
        desc.iter().any(|l| l.starts_with("CreationTimestamp: ")),
        "{desc:#?}"
    );

    assert_eq!(
        w.kubectl_ok(&["annotate", "deploy", "web", "note-", "owner-"]),
        "deployment.apps/web annotated\n"
    );
    let ann = annotations(&w);
    assert!(ann.is_null() || ann == json!({}), "{ann}");
    let desc = lines(&w.kubectl_ok(&["describe", "deployment/web"]));
    assert!(desc.iter().any(|l| l == "Annotations: <none>"), "{desc:#?}");

    assert_eq!(
        lines(&w.kubectl_ok(&["describe", "cm", "a"])),
        [
            "Name: a",
            "Namespace: default",
            "Labels: grp=x",
            "hit=yes",
            "Annotations: <none>",
            "Data",
            "====",
            "k:",
            "----",
            "v",
            "BinaryData",
            "====",
            "Events: <none>",
        ]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["describe", "cm", "nope"])),
        [r#"Error from server (NotFound): configmaps "nope" not found"#]
    );
}

/// replace with a stale resourceVersion conflicts; replace with a fresh one works; delete and
/// delete -l.
#[test]
fn replace_conflict_and_delete() {
    let w = bare_api();
    assert_eq!(
        create(&w, &configmap("r1", json!({}), json!({"k": "v1"}))),
        "configmap/r1 created\n"
    );
    let stale = w.kubectl_ok(&["get", "cm", "r1", "-o", "yaml"]);
    assert!(stale.contains("  resourceVersion: "), "{stale}");
    w.kubectl_ok(&[
        "patch",
        "cm",
        "r1",
        "--type=merge",
        "-p",
        r#"{"data":{"k":"v2"}}"#,
    ]);

    assert_eq!(
        lines(&with_stdin_err(&w, &["replace", "-f", "-"], &stale)),
        [
            r#"Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "r1": the object has been modified; please apply your changes to the latest version and try again"#
        ]
    );
    assert_eq!(w.get_json(&["cm", "r1"])["data"]["k"], "v2");

    let fresh = w.kubectl_ok(&["get", "cm", "r1", "-o", "yaml"]);
    assert!(fresh.contains("  k: v2\n"), "{fresh}");
    assert_eq!(
        w.kubectl_apply_ok(
            &["replace", "-f", "-"],
            &fresh.replace("  k: v2\n", "  k: v3\n")
        ),
        "configmap/r1 replaced\n"
    );
    assert_eq!(w.get_json(&["cm", "r1"])["data"]["k"], "v3");
    // Without a resourceVersion, replace is unconditional.
    assert_eq!(
        w.kubectl_apply_ok(
            &["replace", "-f", "-"],
            &configmap("r1", json!({}), json!({"k": "v4"})).to_string()
        ),
        "configmap/r1 replaced\n"
    );
    assert_eq!(w.get_json(&["cm", "r1"])["data"], json!({"k": "v4"}));
    assert_eq!(
        lines(&with_stdin_err(
            &w,
            &["replace", "-f", "-"],
            &configmap("ghost", json!({}), json!({})).to_string()
        )),
        [
            r#"Error from server (NotFound): error when replacing "STDIN": configmaps "ghost" not found"#
        ]
    );

    // delete by name, several names, by label.
    create_all(
        &w,
        &[],
        &[
            configmap("d1", json!({"grp": "a"}), json!({})),
            configmap("d2", json!({"grp": "a"}), json!({})),
            configmap("d3", json!({"grp": "a"}), json!({})),
            configmap("d4", json!({"grp": "b"}), json!({})),
            configmap("d5", json!({"grp": "b"}), json!({})),
            configmap("d6", json!({"grp": "b"}), json!({})),
        ],
    );
    assert_eq!(
        w.kubectl_ok(&["delete", "cm", "r1"]),
        "configmap \"r1\" deleted\n"
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "cm", "r1"])),
        [r#"Error from server (NotFound): configmaps "r1" not found"#]
    );
    assert_eq!(
        lines(&w.kubectl_ok(&["delete", "cm", "d4", "d5"])),
        [r#"configmap "d4" deleted"#, r#"configmap "d5" deleted"#]
    );
    assert_eq!(
        lines(&w.kubectl_ok(&["delete", "cm", "-l", "grp=a"])),
        [
            r#"configmap "d1" deleted"#,
            r#"configmap "d2" deleted"#,
            r#"configmap "d3" deleted"#
        ]
    );
    assert_none_found(&w, &["get", "cm", "-l", "grp=a"], "default");
    assert_eq!(
        w.kubectl_ok(&["get", "cm", "-l", "grp", "-o", "name"]),
        "configmap/d6\n"
    );
    assert_eq!(
        lines(&w.kubectl_err(&["delete", "cm", "nope"])),
        [r#"Error from server (NotFound): configmaps "nope" not found"#]
    );
    assert_eq!(
        w.kubectl_ok(&["delete", "cm", "nope", "--ignore-not-found"]),
        ""
    );
    // delete -f with the manifest.
    assert_eq!(
        w.kubectl_apply_ok(
            &["delete", "-f", "-"],
            &configmap("d6", json!({}), json!({})).to_string()
        ),
        "configmap \"d6\" deleted\n"
    );
    assert_none_found(&w, &["get", "cm", "-l", "grp"], "default");
}

/// `kubectl get -w` streams ADDED / MODIFIED / DELETED, including selector enter/leave.
#[test]
fn get_watch_streams_changes() {
    let w = bare_api();
    create(
        &w,
        &configmap("anchor", json!({"w": "yes"}), json!({"a": "b"})),
    );

    let mut all = Background::start(&w, &["get", "cm", "-w", "--output-watch-events"]);
    let mut names_only = Background::start(&w, &["get", "cm", "-w", "-o", "name"]);
    let mut selected = Background::start(
        &w,
        &["get", "cm", "-l", "w=yes", "-w", "--output-watch-events"],
    );
    // The initial list is printed once the watch is about to start.
    all.wait_until("initial list", |l| l.len() >= 2);
    names_only.wait_until("initial list", |l| !l.is_empty());
    selected.wait_until("initial list", |l| l.len() >= 2);

    create(&w, &configmap("wx", json!({}), json!({"a": "b"})));
    w.kubectl_ok(&["label", "cm", "wx", "w=yes"]);
    w.kubectl_ok(&["label", "cm", "wx", "foo=bar"]);
    w.kubectl_ok(&["label", "cm", "wx", "w-"]);
    w.kubectl_ok(&["delete", "cm", "wx"]);
    create(&w, &configmap("sentinel", json!({"w": "yes"}), json!({})));

    let done = |l: &[String]| l.last().is_some_and(|x| x.contains("sentinel"));
    let got = all.wait_until("sentinel", done);
    assert_eq!(
        mask_age(&got[0], &got),
        [
            "EVENT NAME DATA AGE",
            "ADDED anchor 1 <age>",
            "ADDED wx 1 <age>",
            "MODIFIED wx 1 <age>",
            "MODIFIED wx 1 <age>",
            "MODIFIED wx 1 <age>",
            "DELETED wx 1 <age>",
            "ADDED sentinel 0 <age>",
        ]
    );
    assert_eq!(
        names_only.wait_until("sentinel", done),
        [
            "configmap/anchor",
            "configmap/wx",
            "configmap/wx",
            "configmap/wx",
            "configmap/wx",
            "configmap/wx",
            "configmap/sentinel",
        ]
    );
    // With a label selector the object enters (ADDED) and leaves (DELETED) the selection.
    let got = selected.wait_until("sentinel", done);
    assert_eq!(
        mask_age(&got[0], &got),
        [
            "EVENT NAME DATA AGE",
            "ADDED anchor 1 <age>",
            "ADDED wx 1 <age>",
            "MODIFIED wx 1 <age>",
            "DELETED wx 1 <age>",
            "ADDED sentinel 0 <age>",
        ]
    );
    for bg in [all, names_only, selected] {
        let err = bg.stop();
        assert!(!err.contains("rror"), "kubectl get -w stderr: {err}");
    }

    // A watch bounded by --request-timeout ends on its own.
    let start = Instant::now();
    let out = w.kubectl(&[
        "get",
        "cm",
        "anchor",
        "-w",
        "--request-timeout=2s",
        "-o",
        "name",
    ]);
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(stdout(&out), "configmap/anchor\n");
}

/// --chunk-size pagination, label selector operators, field selectors.
#[test]
fn chunked_list_and_selectors() {
    let w = bare_api();
    let mut items: Vec<Value> = (1..=11)
        .map(|i| {
            configmap(
                &format!("chunk-{i:02}"),
                json!({"set": "chunk"}),
                json!({"i": i.to_string()}),
            )
        })
        .collect();
    items.push(configmap(
        "s1",
        json!({"tier": "fe", "env": "prod"}),
        json!({}),
    ));
    items.push(configmap(
        "s2",
        json!({"tier": "be", "env": "prod"}),
        json!({}),
    ));
    items.push(configmap(
        "s3",
        json!({"tier": "db", "env": "dev"}),
        json!({}),
    ));
    items.push(configmap("s4", json!({"env": "dev"}), json!({})));
    create_all(&w, &[], &items);

    let out = w.kubectl(&["get", "cm", "-l", "set=chunk", "--chunk-size=2", "-v=6"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut want = vec!["NAME DATA AGE".to_string()];
    want.extend((1..=11).map(|i| format!("chunk-{i:02} 1 <age>")));
    assert_eq!(table(&stdout(&out)), want);
    let log = stderr(&out);
    let requests: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("/api/v1/namespaces/default/configmaps?") && l.contains("limit=2"))
        .collect();
    assert_eq!(requests.len(), 6, "{log}");
    assert_eq!(
        requests.iter().filter(|l| l.contains("continue=")).count(),
        5,
        "{log}"
    );
    let names_out = w.kubectl_ok(&[
        "get",
        "cm",
        "-l",
        "set=chunk",
        "--chunk-size=2",
        "-o",
        "name",
    ]);
    let want: Vec<String> = (1..=11)
        .map(|i| format!("configmap/chunk-{i:02}"))
        .collect();
    assert_eq!(lines(&names_out), want);
    let chunked = w.get_json(&["cm", "-l", "set=chunk", "--chunk-size=3"]);
    assert_eq!(chunked["items"].as_array().map(Vec::len), Some(11));

    let sel = |s: &str| lines(&w.kubectl_ok(&["get", "cm", "-l", s, "-o", "name"]));
    assert_eq!(sel("tier in (fe,be)"), ["configmap/s1", "configmap/s2"]);
    assert_eq!(
        sel("env,tier notin (fe,be)"),
        ["configmap/s3", "configmap/s4"]
    );
    assert_eq!(sel("env,!tier"), ["configmap/s4"]);
    assert_eq!(
        sel("env,tier!=fe"),
        ["configmap/s2", "configmap/s3", "configmap/s4"]
    );
    assert_eq!(sel("env=prod,tier=fe"), ["configmap/s1"]);
    assert_eq!(sel("env==dev,tier"), ["configmap/s3"]);
    assert_eq!(sel("env in (dev),tier in (db)"), ["configmap/s3"]);
    assert_none_found(&w, &["get", "cm", "-l", "env=prod,!env"], "default");

    let fsel = |args: &[&str]| {
        let mut all = vec!["get", "cm", "-o", "name"];
        all.extend_from_slice(args);
        lines(&w.kubectl_ok(&all))
    };
    assert_eq!(
        fsel(&["--field-selector", "metadata.name=s2"]),
        ["configmap/s2"]
    );
    assert_eq!(
        fsel(&["-l", "env", "--field-selector", "metadata.name!=s2"]),
        ["configmap/s1", "configmap/s3", "configmap/s4"]
    );
    assert_eq!(
        fsel(&[
            "-A",
            "--field-selector",
            "metadata.namespace=default,metadata.name=s1"
        ]),
        ["configmap/s1"]
    );
    assert_none_found(
        &w,
        &[
            "get",
            "cm",
            "--field-selector",
            "metadata.namespace=kube-system",
        ],
        "default",
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "cm", "-A", "--field-selector", "metadata.name=s4"])),
        ["NAMESPACE NAME DATA AGE", "default s4 0 <age>"]
    );

    // Bad selectors are 400s.
    assert_eq!(
        lines(&w.kubectl_err(&["get", "cm", "-l", "idx in (1"])),
        [
            r#"Error from server (BadRequest): Unable to find "/v1, Resource=configmaps" that match label selector "idx in (1", field selector "": unable to parse requirement: found '', expected: ',' or ')'"#
        ]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "cm", "--field-selector", "data.k=v"])),
        [
            r#"Error from server (BadRequest): Unable to find "/v1, Resource=configmaps" that match label selector "", field selector "data.k=v": "data.k" is not a known field selector: only "metadata.name", "metadata.namespace""#
        ]
    );
}

/// kubectl run, pods tables, status.phase / spec.nodeName field selectors.
#[test]
fn run_pods_and_pod_field_selectors() {
    let w = bare_api();
    assert_eq!(
        w.kubectl_ok(&["run", "p1", "--image=nginx:1.25", "--labels=app=p"]),
        "pod/p1 created\n"
    );
    assert_eq!(
        w.kubectl_ok(&[
            "run",
            "p2",
            "--image=busybox",
            "--restart=Never",
            "--",
            "sleep",
            "1"
        ]),
        "pod/p2 created\n"
    );
    let p1 = w.get_json(&["pod", "p1"]);
    assert_eq!(p1["metadata"]["labels"], json!({"app": "p"}));
    assert_eq!(p1["spec"]["containers"][0]["name"], "p1");
    assert_eq!(p1["spec"]["containers"][0]["image"], "nginx:1.25");
    assert_eq!(p1["status"]["phase"], "Pending");
    let p2 = w.get_json(&["pod", "p2"]);
    assert_eq!(p2["metadata"]["labels"], json!({"run": "p2"}));
    assert_eq!(p2["spec"]["restartPolicy"], "Never");
    assert_eq!(p2["spec"]["containers"][0]["args"], json!(["sleep", "1"]));

    assert_eq!(
        table(&w.kubectl_ok(&["get", "pods"])),
        [
            "NAME READY STATUS RESTARTS AGE",
            "p1 0/1 Pending 0 <age>",
            "p2 0/1 Pending 0 <age>"
        ]
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "pod", "p1", "-o", "wide"])),
        [
            "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES",
            "p1 0/1 Pending 0 <age> <none> <none> <none> <none>"
        ]
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "pods", "--show-labels"])),
        [
            "NAME READY STATUS RESTARTS AGE LABELS",
            "p1 0/1 Pending 0 <age> app=p",
            "p2 0/1 Pending 0 <age> run=p2"
        ]
    );

    let fsel =
        |s: &str| lines(&w.kubectl_ok(&["get", "pods", "--field-selector", s, "-o", "name"]));
    assert_eq!(fsel("status.phase=Pending"), ["pod/p1", "pod/p2"]);
    assert_eq!(fsel("status.phase=Pending,metadata.name=p2"), ["pod/p2"]);
    assert_eq!(fsel("spec.nodeName="), ["pod/p1", "pod/p2"]);
    assert_eq!(fsel("spec.restartPolicy=Never"), ["pod/p2"]);
    assert_none_found(
        &w,
        &["get", "pods", "--field-selector", "status.phase=Running"],
        "default",
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "pods", "--field-selector", "foo=bar"])),
        [
            r#"Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "", field selector "foo=bar": field label not supported: foo"#
        ]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["run", "p1", "--image=nginx"])),
        [r#"Error from server (AlreadyExists): pods "p1" already exists"#]
    );
    assert_eq!(
        lines(&w.kubectl_err(&[
            "run",
            "p3",
            "--image=nginx",
            r#"--overrides={"spec":{"serviceAccountName":"ghost"}}"#
        ])),
        [
            r#"Error from server (Forbidden): pods "p3" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found"#
        ]
    );
    assert_eq!(
        w.kubectl_ok(&["delete", "pod", "p2", "--wait=false"]),
        "pod \"p2\" deleted\n"
    );
}

/// api-resources (short names), api-versions, explain.
#[test]
fn discovery_api_resources_api_versions_explain() {
    let w = bare_api();
    let res = lines(&w.kubectl_ok(&["api-resources"]));
    assert_eq!(res[0], "NAME SHORTNAMES APIVERSION NAMESPACED KIND");
    for want in [
        "configmaps cm v1 true ConfigMap",
        "namespaces ns v1 false Namespace",
        "pods po v1 true Pod",
        "services svc v1 true Service",
        "serviceaccounts sa v1 true ServiceAccount",
        "secrets v1 true Secret",
        "resourcequotas quota v1 true ResourceQuota",
        "deployments deploy apps/v1 true Deployment",
        "replicasets rs apps/v1 true ReplicaSet",
        "statefulsets sts apps/v1 true StatefulSet",
        "daemonsets ds apps/v1 true DaemonSet",
        "cronjobs cj batch/v1 true CronJob",
        "jobs batch/v1 true Job",
        "ingresses ing networking.k8s.io/v1 true Ingress",
        "poddisruptionbudgets pdb policy/v1 true PodDisruptionBudget",
        "priorityclasses pc scheduling.k8s.io/v1 false PriorityClass",
        "roles rbac.authorization.k8s.io/v1 true Role",
        "rolebindings rbac.authorization.k8s.io/v1 true RoleBinding",
        "clusterroles rbac.authorization.k8s.io/v1 false ClusterRole",
    ] {
        assert!(
            res.iter().any(|l| l == want),
            "missing {want:?} in {res:#?}"
        );
    }
    assert_eq!(
        lines(&w.kubectl_ok(&["api-resources", "--api-group=apps", "-o", "name"])),
        [
            "controllerrevisions.apps",
            "daemonsets.apps",
            "deployments.apps",
            "replicasets.apps",
            "statefulsets.apps"
        ]
    );
    let wide = lines(&w.kubectl_ok(&["api-resources", "-o", "wide"]));
    assert!(
        wide.iter().any(|l| l
            == "deployments deploy apps/v1 true Deployment create,delete,deletecollection,get,list,patch,update,watch all"),
        "{wide:#?}"
    );
    let cluster = lines(&w.kubectl_ok(&["api-resources", "--namespaced=false", "-o", "name"]));
    assert!(cluster.iter().any(|l| l == "namespaces"), "{cluster:#?}");
    assert!(!cluster.iter().any(|l| l == "configmaps"), "{cluster:#?}");

    // Short names and categories resolve.
    w.kubectl_ok(&["get", "deploy,rs,cm,svc,ns,sa,quota,pdb,pc,cj,ing"]);
    assert_eq!(
        table(&w.kubectl_ok(&["get", "svc"])),
        [
            "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE",
            &format!(
                "kubernetes ClusterIP {} <none> 443/TCP <age>",
                w.get_json(&["svc", "kubernetes"])["spec"]["clusterIP"]
                    .as_str()
                    .expect("clusterIP")
            )
        ]
    );

    let versions = lines(&w.kubectl_ok(&["api-versions"]));
    for want in [
        "v1",
        "apps/v1",
        "batch/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
        "events.k8s.io/v1",
        "networking.k8s.io/v1",
        "policy/v1",
        "rbac.authorization.k8s.io/v1",
        "scheduling.k8s.io/v1",
        "storage.k8s.io/v1",
    ] {
        assert!(
            versions.iter().any(|l| l == want),
            "missing {want} in {versions:#?}"
        );
    }
    let mut sorted = versions.clone();
    sorted.sort();
    assert_eq!(versions, sorted);

    let explain = w.kubectl_ok(&["explain", "deployment.spec"]);
    let el = lines(&explain);
    for want in [
        "GROUP: apps",
        "KIND: Deployment",
        "VERSION: v1",
        "FIELD: spec <DeploymentSpec>",
        "DESCRIPTION:",
        "FIELDS:",
        "minReadySeconds <integer>",
        "paused <boolean>",
        "progressDeadlineSeconds <integer>",
        "replicas <integer>",
        "revisionHistoryLimit <integer>",
        "selector <LabelSelector> -required-",
        "strategy <DeploymentStrategy>",
        "template <PodTemplateSpec> -required-",
    ] {
        assert!(
            el.iter().any(|l| l == want),
            "missing {want:?} in\n{explain}"
        );
    }
    let cm = lines(&w.kubectl_ok(&["explain", "configmap"]));
    for want in ["KIND: ConfigMap", "VERSION: v1", "data <map[string]string>"] {
        assert!(cm.iter().any(|l| l == want), "missing {want:?} in {cm:#?}");
    }
    assert_eq!(
        lines(&w.kubectl_err(&["get", "foos"])),
        [r#"error: the server doesn't have a resource type "foos""#]
    );
}

/// --dry-run=server: the response looks like a write, nothing is persisted.
#[test]
fn dry_run_server_persists_nothing() {
    let w = bare_api();
    let cm = configmap("dry", json!({}), json!({"a": "b"})).to_string();
    assert_eq!(
        w.kubectl_apply_ok(&["apply", "--dry-run=server", "-f", "-"], &cm),
        "configmap/dry created (server dry run)\n"
    );
    assert_eq!(
        w.kubectl_apply_ok(&["create", "--dry-run=server", "-f", "-"], &cm),
        "configmap/dry created (server dry run)\n"
    );
    let echoed: Value = serde_json::from_str(&w.kubectl_apply_ok(
        &["create", "--dry-run=server", "-o", "json", "-f", "-"],
        &cm,
    ))
    .expect("json");
    assert_eq!(echoed["metadata"]["name"], "dry");
    assert_eq!(echoed["data"]["a"], "b");
    assert!(echoed["metadata"]["uid"].is_string(), "{echoed}");
    assert!(
        echoed["metadata"]["creationTimestamp"].is_string(),
        "{echoed}"
    );
    assert_eq!(
        w.kubectl_apply_ok(
            &["create", "--dry-run=server", "-f", "-"],
            &deployment("dryd", 1).to_string()
        ),
        "deployment.apps/dryd created (server dry run)\n"
    );
    let generated =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "g-"}});
    let out = w.kubectl_apply_ok(
        &["create", "--dry-run=server", "-o", "name", "-f", "-"],
        &generated.to_string(),
    );
    assert!(
        out.starts_with("configmap/g-") && out.trim().len() == "configmap/g-".len() + 5,
        "{out}"
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "cm", "dry"])),
        [r#"Error from server (NotFound): configmaps "dry" not found"#]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "deploy", "dryd"])),
        [r#"Error from server (NotFound): deployments.apps "dryd" not found"#]
    );
    let left = w.get_json(&["cm"]);
    let left: Vec<&str> = left["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    assert!(
        !left.iter().any(|n| n.starts_with("g-") || *n == "dry"),
        "{left:?}"
    );

    // Against an existing object: patch, label, scale, replace and delete are all dry.
    create(&w, &configmap("keep", json!({"l": "1"}), json!({"k": "v"})));
    create(&w, &deployment("web", 2));
    let before = w.get_json(&["cm", "keep"]);
    let rv = before["metadata"]["resourceVersion"].clone();
    assert_eq!(
        w.kubectl_ok(&[
            "patch",
            "cm",
            "keep",
            "--dry-run=server",
            "-p",
            r#"{"data":{"k":"x"}}"#
        ]),
        "configmap/keep patched\n" // kubectl patch prints no dry-run suffix
    );
    assert_eq!(
        w.kubectl_ok(&[
            "label",
            "cm",
            "keep",
            "l=2",
            "--overwrite",
            "--dry-run=server"
        ]),
        "configmap/keep labeled (server dry run)\n"
    );
    assert_eq!(
        w.kubectl_apply_ok(
            &["replace", "--dry-run=server", "-f", "-"],
            &configmap("keep", json!({}), json!({"k": "replaced"})).to_string()
        ),
        "configmap/keep replaced (server dry run)\n"
    );
    assert_eq!(
        w.kubectl_ok(&["delete", "cm", "keep", "--dry-run=server"]),
        "configmap \"keep\" deleted (server dry run)\n"
    );
    assert_eq!(
        w.kubectl_ok(&["scale", "deploy", "web", "--replicas=5", "--dry-run=server"]),
        "deployment.apps/web scaled (server dry run)\n"
    );
    let after = w.get_json(&["cm", "keep"]);
    assert_eq!(after["metadata"]["resourceVersion"], rv);
    assert_eq!(after["data"], json!({"k": "v"}));
    assert_eq!(after["metadata"]["labels"], json!({"l": "1"}));
    assert_eq!(w.get_json(&["deploy", "web"])["spec"]["replicas"], 2);

    // Dry-run of typed creates (protobuf bodies) and kubectl run.
    let mut soft = Soft::default();
    soft.kubectl_lines(
        &w,
        &[
            "create",
            "configmap",
            "typed",
            "--from-literal=a=b",
            "--dry-run=server",
        ],
        &["configmap/typed created (server dry run)"],
    );
    soft.kubectl_lines(
        &w,
        &["run", "drypod", "--image=nginx", "--dry-run=server"],
        &["pod/drypod created (server dry run)"],
    );
    soft.kubectl_lines(
        &w,
        &[
            "create",
            "deployment",
            "dd",
            "--image=nginx",
            "--dry-run=server",
        ],
        &["deployment.apps/dd created (server dry run)"],
    );
    for (kind, name) in [("cm", "typed"), ("pod", "drypod"), ("deploy", "dd")] {
        let out = w.kubectl(&["get", kind, name]);
        soft.check(
            !out.status.success(),
            format!("{kind}/{name} persisted by a dry run"),
        );
    }
    soft.finish();
}

/// `kubectl create <type>` for the typed generators; kubectl sends these as protobuf.
#[test]
fn create_typed_objects() {
    let w = bare_api();
    let mut s = Soft::default();
    let get = |args: &[&str]| -> Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let out = w.kubectl(&all);
        serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null)
    };

    if s.kubectl_lines(
        &w,
        &["create", "namespace", "n1"],
        &["namespace/n1 created"],
    ) {
        s.eq(
            "ns phase",
            &get(&["ns", "n1"])["status"]["phase"],
            &json!("Active"),
        );
    }
    let ns = if get(&["ns", "n1"]).is_null() {
        "default"
    } else {
        "n1"
    };

    if s.kubectl_lines(
        &w,
        &[
            "create",
            "deployment",
            "d1",
            "--image=nginx:1.25",
            "--replicas=2",
            "--port=80",
            "-n",
            ns,
        ],
        &["deployment.apps/d1 created"],
    ) {
        let d = get(&["deploy", "d1", "-n", ns]);
        s.eq("deploy replicas", &d["spec"]["replicas"], &json!(2));
        s.eq(
            "deploy labels",
            &d["metadata"]["labels"],
            &json!({"app": "d1"}),
        );
        s.eq(
            "deploy selector",
            &d["spec"]["selector"],
            &json!({"matchLabels": {"app": "d1"}}),
        );
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        s.eq("deploy container name", &c["name"], &json!("nginx"));
        s.eq("deploy container image", &c["image"], &json!("nginx:1.25"));
        s.eq("deploy port", &c["ports"][0]["containerPort"], &json!(80));
    }

    if s.kubectl_lines(
        &w,
        &[
            "create",
            "configmap",
            "cm1",
            "--from-literal=a=1",
            "--from-literal=b=two",
        ],
        &["configmap/cm1 created"],
    ) {
        s.eq(
            "cm data",
            &get(&["cm", "cm1"])["data"],
            &json!({"a": "1", "b": "two"}),
        );
        let err = w.kubectl(&["create", "configmap", "cm1"]);
        s.eq(
            "typed create of an existing configmap",
            lines(&stderr(&err)),
            [r#"error: failed to create configmap: configmaps "cm1" already exists"#],
        );
    }

    if s.kubectl_lines(
        &w,
        &[
            "create",
            "secret",
            "generic",
            "s1",
            "--from-literal=user=admin",
            "--from-literal=pass=s3cr3t",
        ],
        &["secret/s1 created"],
    ) {
        let sec = get(&["secret", "s1"]);
        s.eq(
            "secret data (base64)",
            &sec["data"],
            &json!({"user": "YWRtaW4=", "pass": "czNjcjN0"}),
        );
        s.eq("secret type", &sec["type"], &json!("Opaque"));
    }

    if s.kubectl_lines(
        &w,
        &["create", "service", "clusterip", "svc1", "--tcp=80:8080"],
        &["service/svc1 created"],
    ) {
        let svc = get(&["svc", "svc1"]);
        s.eq("svc type", &svc["spec"]["type"], &json!("ClusterIP"));
        s.eq(
            "svc selector",
            &svc["spec"]["selector"],
            &json!({"app": "svc1"}),
        );
        let p = &svc["spec"]["ports"][0];
        s.eq(
            "svc port",
            (&p["name"], &p["port"], &p["targetPort"], &p["protocol"]),
            (&json!("80-8080"), &json!(80), &json!(8080), &json!("TCP")),
        );
        let ip = svc["spec"]["clusterIP"].as_str().unwrap_or_default();
        s.check(
            ip.parse::<std::net::Ipv4Addr>().is_ok(),
            format!("svc1 clusterIP allocated: {:?}", svc["spec"]["clusterIP"]),
        );
    }
    if s.kubectl_lines(
        &w,
        &[
            "create",
            "service",
            "clusterip",
            "headless",
            "--clusterip=None",
        ],
        &["service/headless created"],
    ) {
        s.eq(
            "headless clusterIP",
            &get(&["svc", "headless"])["spec"]["clusterIP"],
            &json!("None"),
        );
    }

    if s.kubectl_lines(
        &w,
        &["create", "serviceaccount", "sa1"],
        &["serviceaccount/sa1 created"],
    ) {
        s.eq(
            "sa name",
            &get(&["sa", "sa1"])["metadata"]["name"],
            &json!("sa1"),
        );
    }

    if s.kubectl_lines(
        &w,
        &["create", "job", "j1", "--image=busybox", "--", "echo", "hi"],
        &["job.batch/j1 created"],
    ) {
        let j = get(&["job", "j1"]);
        let spec = &j["spec"]["template"]["spec"];
        s.eq(
            "job command",
            &spec["containers"][0]["command"],
            &json!(["echo", "hi"]),
        );
        s.eq("job restartPolicy", &spec["restartPolicy"], &json!("Never"));
    }

    if s.kubectl_lines(
        &w,
        &[
            "create",
            "cronjob",
            "cj1",
            "--image=busybox",
            "--schedule=*/5 * * * *",
            "--",
            "echo",
            "hi",
        ],
        &["cronjob.batch/cj1 created"],
    ) {
        let cj = get(&["cronjob", "cj1"]);
        s.eq(
            "cronjob schedule",
            &cj["spec"]["schedule"],
            &json!("*/5 * * * *"),
        );
        let spec = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        s.eq(
            "cronjob command",
            &spec["containers"][0]["command"],
            &json!(["echo", "hi"]),
        );
        s.eq(
            "cronjob restartPolicy",
            &spec["restartPolicy"],
            &json!("OnFailure"),
        );
        if s.kubectl_lines(
            &w,
            &["create", "job", "j2", "--from=cronjob/cj1"],
            &["job.batch/j2 created"],
        ) {
            let j2 = get(&["job", "j2"]);
            s.eq(
                "job from cronjob annotation",
                &j2["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
                &json!("manual"),
            );
            s.eq(
                "job from cronjob owner",
                &j2["metadata"]["ownerReferences"][0]["name"],
                &json!("cj1"),
            );
        }
    }

    if s.kubectl_lines(
        &w,
        &[
            "create",
            "role",
            "r1",
            "--verb=get,list",
            "--resource=pods,configmaps",
        ],
        &["role.rbac.authorization.k8s.io/r1 created"],
    ) {
        s.eq(
            "role rules",
            &get(&["role", "r1"])["rules"],
            &json!([{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}]),
        );
    }
    if s.kubectl_lines(
        &w,
        &[
            "create",
            "rolebinding",
            "rb1",
            "--role=r1",
            "--user=bob",
            "--serviceaccount=default:sa1",
        ],
        &["rolebinding.rbac.authorization.k8s.io/rb1 created"],
    ) {
        let rb = get(&["rolebinding", "rb1"]);
        s.eq(
            "rolebinding roleRef",
            &rb["roleRef"],
            &json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"}),
        );
        s.eq(
            "rolebinding subjects",
            &rb["subjects"],
            &json!([
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"},
                {"kind": "ServiceAccount", "name": "sa1", "namespace": "default"},
            ]),
        );
    }
    if s.kubectl_lines(
        &w,
        &[
            "create",
            "clusterrole",
            "cr1",
            "--verb=get",
            "--resource=nodes",
        ],
        &["clusterrole.rbac.authorization.k8s.io/cr1 created"],
    ) {
        s.eq(
            "clusterrole rules",
            &get(&["clusterrole", "cr1"])["rules"],
            &json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]),
        );
    }

    if s.kubectl_lines(
        &w,
        &[
            "create",
            "priorityclass",
            "pc1",
            "--value=1000",
            "--description=high",
        ],
        &["priorityclass.scheduling.k8s.io/pc1 created"],
    ) {
        let pc = get(&["priorityclass", "pc1"]);
        s.eq("pc value", &pc["value"], &json!(1000));
        s.eq("pc description", &pc["description"], &json!("high"));
    }

    if s.kubectl_lines(
        &w,
        &["create", "quota", "q1", "--hard=pods=10,configmaps=5"],
        &["resourcequota/q1 created"],
    ) {
        s.eq(
            "quota hard",
            &get(&["quota", "q1"])["spec"]["hard"],
            &json!({"pods": "10", "configmaps": "5"}),
        );
    }

    if s.kubectl_lines(
        &w,
        &[
            "create",
            "pdb",
            "pdb1",
            "--selector=app=x",
            "--min-available=1",
        ],
        &["poddisruptionbudget.policy/pdb1 created"],
    ) {
        let pdb = get(&["pdb", "pdb1"]);
        s.eq("pdb minAvailable", &pdb["spec"]["minAvailable"], &json!(1));
        s.eq(
            "pdb selector",
            &pdb["spec"]["selector"],
            &json!({"matchLabels": {"app": "x"}}),
        );
    }

    if s.kubectl_lines(
        &w,
        &[
            "create",
            "ingress",
            "ing1",
            "--class=nginx",
            "--rule=foo.com/bar=svc1:80",
        ],
        &["ingress.networking.k8s.io/ing1 created"],
    ) {
        let ing = get(&["ingress", "ing1"]);
        s.eq(
            "ingress class",
            &ing["spec"]["ingressClassName"],
            &json!("nginx"),
        );
        s.eq(
            "ingress rules",
            &ing["spec"]["rules"],
            &json!([{"host": "foo.com", "http": {"paths": [{
                "path": "/bar",
                "pathType": "Exact",
                "backend": {"service": {"name": "svc1", "port": {"number": 80}}},
            }]}}]),
        );
    }
    s.finish();
}

/// generateName, namespaces: create, missing namespace, deletion takes the contents along.
#[test]
fn generate_name_and_namespace_lifecycle() {
    let w = bare_api();
    let generated = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"generateName": "generated-"},
        "data": {"a": "b"},
    });
    let mut made = Vec::new();
    for _ in 0..2 {
        let out = create(&w, &generated);
        let name = out
            .strip_prefix("configmap/")
            .and_then(|s| s.strip_suffix(" created\n"))
            .unwrap_or_else(|| panic!("unexpected output {out:?}"))
            .to_string();
        let suffix = name.strip_prefix("generated-").expect("generated- prefix");
        assert_eq!(suffix.len(), 5, "{name}");
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{name}"
        );
        let cm = w.get_json(&["cm", &name]);
        assert_eq!(cm["metadata"]["generateName"], "generated-");
        assert_eq!(cm["data"]["a"], "b");
        made.push(name);
    }
    assert_ne!(made[0], made[1]);

    assert_eq!(
        create(
            &w,
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
        ),
        "namespace/team-a created\n"
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "ns", "team-a"])),
        ["NAME STATUS AGE", "team-a Active <age>"]
    );
    assert_eq!(
        create_all(
            &w,
            &["-n", "team-a"],
            &[
                configmap("c1", json!({}), json!({})),
                configmap("c2", json!({}), json!({})),
                deployment("web", 1),
            ]
        ),
        "configmap/c1 created\nconfigmap/c2 created\ndeployment.apps/web created\n"
    );
    let mut in_other = configmap("x", json!({}), json!({}));
    in_other["metadata"]["namespace"] = json!("team-a");
    create(&w, &in_other);
    assert_eq!(
        lines(&w.kubectl_ok(&["get", "cm,deploy", "-n", "team-a", "-o", "name"])),
        [
            "configmap/c1",
            "configmap/c2",
            "configmap/x",
            "deployment.apps/web"
        ]
    );

    // Creating in a namespace that does not exist.
    assert_eq!(
        lines(&with_stdin_err(
            &w,
            &["create", "-n", "ghost", "-f", "-"],
            &configmap("c1", json!({}), json!({})).to_string()
        )),
        [
            r#"Error from server (NotFound): error when creating "STDIN": namespaces "ghost" not found"#
        ]
    );
    let mut ghost = configmap("c1", json!({}), json!({}));
    ghost["metadata"]["namespace"] = json!("ghost");
    assert_eq!(
        lines(&with_stdin_err(
            &w,
            &["apply", "-f", "-"],
            &ghost.to_string()
        )),
        [
            r#"Error from server (NotFound): error when creating "STDIN": namespaces "ghost" not found"#
        ]
    );
    assert_none_found(&w, &["get", "cm", "-n", "ghost"], "ghost");

    // Deleting the namespace deletes its contents; kubectl waits for it to be gone.
    assert_eq!(
        w.kubectl_ok(&["delete", "ns", "team-a", "--timeout=30s"]),
        "namespace \"team-a\" deleted\n"
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "ns", "team-a"])),
        [r#"Error from server (NotFound): namespaces "team-a" not found"#]
    );
    assert_none_found(&w, &["get", "cm,deploy", "-n", "team-a"], "team-a");
    assert!(
        !w.kubectl_ok(&["get", "cm", "-A", "-o", "name"])
            .contains("configmap/x"),
        "contents of team-a still listed"
    );
    // Recreating the namespace does not resurrect anything.
    create(
        &w,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
    );
    assert_none_found(&w, &["get", "cm,deploy", "-n", "team-a"], "team-a");

    // The system namespaces cannot be deleted.
    for ns in ["default", "kube-system", "kube-public"] {
        assert_eq!(
            lines(&w.kubectl_err(&["delete", "ns", ns])),
            [format!(
                r#"Error from server (Forbidden): namespaces "{ns}" is forbidden: this namespace may not be deleted"#
            )]
        );
    }
}

/// NotFound / AlreadyExists / unknown resource type as kubectl prints them.
#[test]
fn error_messages_not_found_and_already_exists() {
    let w = bare_api();
    assert_eq!(
        lines(&w.kubectl_err(&["get", "configmap", "x"])),
        [r#"Error from server (NotFound): configmaps "x" not found"#]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "deploy", "x"])),
        [r#"Error from server (NotFound): deployments.apps "x" not found"#]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "clusterrole", "x"])),
        [r#"Error from server (NotFound): clusterroles.rbac.authorization.k8s.io "x" not found"#]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "ns", "x"])),
        [r#"Error from server (NotFound): namespaces "x" not found"#]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["delete", "deploy", "x"])),
        [r#"Error from server (NotFound): deployments.apps "x" not found"#]
    );
    let dup = configmap("dup", json!({}), json!({})).to_string();
    w.kubectl_apply_ok(&["create", "-f", "-"], &dup);
    assert_eq!(
        lines(&with_stdin_err(&w, &["create", "-f", "-"], &dup)),
        [
            r#"Error from server (AlreadyExists): error when creating "STDIN": configmaps "dup" already exists"#
        ]
    );
    let dupd = deployment("dupd", 1).to_string();
    w.kubectl_apply_ok(&["create", "-f", "-"], &dupd);
    assert_eq!(
        lines(&with_stdin_err(&w, &["create", "-f", "-"], &dupd)),
        [
            r#"Error from server (AlreadyExists): error when creating "STDIN": deployments.apps "dupd" already exists"#
        ]
    );
    assert_eq!(
        lines(&w.kubectl_err(&["get", "foos"])),
        [r#"error: the server doesn't have a resource type "foos""#]
    );
}

/// Invalid objects and unknown fields (strict field validation is kubectl's default).
#[test]
fn error_messages_invalid_and_unknown_fields() {
    let w = bare_api();
    let mut s = Soft::default();
    let rfc1123 = r#"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#;
    let fails = |args: &[&str], manifest: &Value| -> Vec<String> {
        let out = with_stdin(&w, args, &manifest.to_string());
        if out.status.success() {
            vec![format!("<succeeded: {}>", stdout(&out).trim())]
        } else {
            lines(&stderr(&out))
        }
    };

    s.eq(
        "create deployment with replicas -1",
        fails(&["create", "-f", "-"], &deployment("neg", -1)),
        [r#"The Deployment "neg" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#],
    );
    s.check(
        !w.kubectl(&["get", "deploy", "neg"]).status.success(),
        "invalid deployment neg was persisted",
    );
    s.eq(
        "create deployment named Bad_Name",
        fails(&["create", "-f", "-"], &deployment("Bad_Name", 1)),
        [format!(r#"The Deployment "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {rfc1123}"#)],
    );
    s.eq(
        "create configmap named Bad_Name",
        fails(&["create", "-f", "-"], &configmap("Bad_Name", json!({}), json!({}))),
        [format!(r#"The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {rfc1123}"#)],
    );
    s.eq(
        "apply deployment with replicas -1",
        fails(&["apply", "-f", "-"], &deployment("neg2", -1)),
        [r#"The Deployment "neg2" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#],
    );

    // Updates are validated too.
    create(&w, &deployment("ok", 1));
    let out = w.kubectl(&[
        "patch",
        "deploy",
        "ok",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":-1}}"#,
    ]);
    s.eq(
        "patch replicas to -1",
        if out.status.success() { vec![stdout(&out)] } else { lines(&stderr(&out)) },
        [r#"The Deployment "ok" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#],
    );
    s.eq(
        "replicas after a rejected patch",
        &w.get_json(&["deploy", "ok"])["spec"]["replicas"],
        &json!(1),
    );

    // Unknown fields: strict by default, dropped with --validate=false, warned with =warn.
    let mut typo = deployment("typo", 1);
    typo["spec"]["replicass"] = json!(2);
    s.eq(
        "create with unknown field spec.replicass",
        fails(&["create", "-f", "-"], &typo),
        [r#"Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass""#],
    );
    s.check(
        !w.kubectl(&["get", "deploy", "typo"]).status.success(),
        "deployment with unknown field was persisted under strict validation",
    );
    let mut cm_typo = configmap("cmtypo", json!({}), json!({}));
    cm_typo["metadata"]["lables"] = json!({"a": "b"});
    s.eq(
        "create configmap with unknown field metadata.lables",
        fails(&["create", "-f", "-"], &cm_typo),
        [r#"Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "metadata.lables""#],
    );

    let mut warned = typo.clone();
    warned["metadata"]["name"] = json!("warned");
    let warn = with_stdin(
        &w,
        &["create", "--validate=warn", "-f", "-"],
        &warned.to_string(),
    );
    s.eq(
        "--validate=warn stdout",
        stdout(&warn),
        "deployment.apps/warned created\n".to_string(),
    );
    s.eq(
        "--validate=warn stderr",
        lines(&stderr(&warn)),
        [r#"Warning: unknown field "spec.replicass""#],
    );
    let mut lax = typo.clone();
    lax["metadata"]["name"] = json!("lax");
    let out = with_stdin(
        &w,
        &["create", "--validate=false", "-f", "-"],
        &lax.to_string(),
    );
    s.eq(
        "--validate=false stdout",
        stdout(&out),
        "deployment.apps/lax created\n".to_string(),
    );
    if out.status.success() {
        let d = w.get_json(&["deploy", "lax"]);
        s.check(
            d["spec"].get("replicass").is_none(),
            format!("unknown field stored: {d}"),
        );
        s.eq("lax replicas", &d["spec"]["replicas"], &json!(1));
    }
    s.finish();
}

/// What the API server fills in on create, as seen through kubectl.
#[test]
fn server_defaults_and_generated_fields() {
    let w = bare_api();
    let mut s = Soft::default();

    apply(&w, &web_deployment(2));
    let d = w.get_json(&["deploy", "web"]);
    s.eq(
        "deployment generation",
        &d["metadata"]["generation"],
        &json!(1),
    );
    let spec = &d["spec"];
    s.eq(
        "deployment strategy",
        &spec["strategy"],
        &json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
    );
    s.eq(
        "revisionHistoryLimit",
        &spec["revisionHistoryLimit"],
        &json!(10),
    );
    s.eq(
        "progressDeadlineSeconds",
        &spec["progressDeadlineSeconds"],
        &json!(600),
    );
    let pod = &spec["template"]["spec"];
    s.eq(
        "template restartPolicy",
        &pod["restartPolicy"],
        &json!("Always"),
    );
    s.eq(
        "template dnsPolicy",
        &pod["dnsPolicy"],
        &json!("ClusterFirst"),
    );
    s.eq(
        "template schedulerName",
        &pod["schedulerName"],
        &json!("default-scheduler"),
    );
    s.eq(
        "template terminationGracePeriodSeconds",
        &pod["terminationGracePeriodSeconds"],
        &json!(30),
    );
    s.eq(
        "template securityContext",
        &pod["securityContext"],
        &json!({}),
    );
    let c0 = &pod["containers"][0];
    s.eq(
        "nginx:1.25 imagePullPolicy",
        &c0["imagePullPolicy"],
        &json!("IfNotPresent"),
    );
    s.eq("port protocol", &c0["ports"][0]["protocol"], &json!("TCP"));
    s.eq(
        "terminationMessagePath",
        &c0["terminationMessagePath"],
        &json!("/dev/termination-log"),
    );
    s.eq(
        "terminationMessagePolicy",
        &c0["terminationMessagePolicy"],
        &json!("File"),
    );
    s.eq(
        "busybox (:latest) imagePullPolicy",
        &pod["containers"][1]["imagePullPolicy"],
        &json!("Always"),
    );
    let desc = lines(&w.kubectl_ok(&["describe", "deploy", "web"]));
    for want in [
        "StrategyType: RollingUpdate",
        "RollingUpdateStrategy: 25% max unavailable, 25% max surge",
        "Port: 80/TCP",
    ] {
        s.check(
            desc.iter().any(|l| l == want),
            format!("describe lacks {want:?}"),
        );
    }
    // generation moves with spec changes only.
    w.kubectl_ok(&["label", "deploy", "web", "x=y"]);
    s.eq(
        "generation after a label change",
        &w.get_json(&["deploy", "web"])["metadata"]["generation"],
        &json!(1),
    );
    w.kubectl_ok(&["scale", "deploy", "web", "--replicas=3"]);
    s.eq(
        "generation after scale",
        &w.get_json(&["deploy", "web"])["metadata"]["generation"],
        &json!(2),
    );

    // Secret: stringData is folded into data (base64), type defaults to Opaque.
    create(
        &w,
        &json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s2"},
            "stringData": {"user": "admin"},
            "data": {"x": "eHg="},
        }),
    );
    let sec = w.get_json(&["secret", "s2"]);
    s.eq(
        "secret data",
        &sec["data"],
        &json!({"user": "YWRtaW4=", "x": "eHg="}),
    );
    s.check(
        sec.get("stringData").is_none(),
        format!("stringData kept: {sec}"),
    );
    s.eq("secret type", &sec["type"], &json!("Opaque"));

    // Namespace: the kubernetes.io/metadata.name label.
    create(
        &w,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}}),
    );
    let ns = table(&w.kubectl_ok(&["get", "ns", "team-b", "--show-labels"]));
    s.eq(
        "get ns --show-labels",
        ns,
        [
            "NAME STATUS AGE LABELS",
            "team-b Active <age> kubernetes.io/metadata.name=team-b",
        ],
    );

    // Pod: phase, QoS class and spec defaults.
    create(
        &w,
        &json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }),
    );
    let p = w.get_json(&["pod", "p"]);
    s.eq("pod phase", &p["status"]["phase"], &json!("Pending"));
    s.eq(
        "pod qosClass",
        &p["status"]["qosClass"],
        &json!("BestEffort"),
    );
    s.eq(
        "pod restartPolicy",
        &p["spec"]["restartPolicy"],
        &json!("Always"),
    );
    s.eq(
        "pod enableServiceLinks",
        &p["spec"]["enableServiceLinks"],
        &json!(true),
    );
    s.eq("pod priority", &p["spec"]["priority"], &json!(0));
    // ServiceAccount admission: the projected token volume, mounted read-only.
    let volume = p["spec"]["volumes"][0]["name"].as_str().unwrap_or("");
    s.eq(
        "pod token volume name",
        &json!(volume.starts_with("kube-api-access-") && volume.len() == 21),
        &json!(true),
    );
    s.eq(
        "pod token volume sources",
        &p["spec"]["volumes"][0]["projected"]["sources"],
        &json!([
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]),
    );
    s.eq(
        "pod token mount",
        &p["spec"]["containers"][0]["volumeMounts"],
        &json!([{"name": volume, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]),
    );

    // Service: ClusterIP allocated, targetPort defaults to port.
    create(
        &w,
        &json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc"},
            "spec": {"selector": {"app": "x"}, "ports": [{"port": 8080}]},
        }),
    );
    let svc = w.get_json(&["svc", "svc"]);
    s.eq("svc type", &svc["spec"]["type"], &json!("ClusterIP"));
    s.eq(
        "svc sessionAffinity",
        &svc["spec"]["sessionAffinity"],
        &json!("None"),
    );
    s.eq(
        "svc port defaults",
        &svc["spec"]["ports"],
        &json!([{"port": 8080, "protocol": "TCP", "targetPort": 8080}]),
    );
    let ip = svc["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    s.check(
        ip.parse::<std::net::Ipv4Addr>().is_ok(),
        format!("svc clusterIP not allocated: {svc}"),
    );
    s.eq(
        "kubectl get svc",
        table(&w.kubectl_ok(&["get", "svc", "svc"])),
        [
            "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE".to_string(),
            format!("svc ClusterIP {ip} <none> 8080/TCP <age>"),
        ],
    );

    // Job: selector and labels generated from the uid, counts defaulted.
    create(
        &w,
        &json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox"}],
            }}},
        }),
    );
    let j = w.get_json(&["job", "j"]);
    let uid = j["metadata"]["uid"].clone();
    s.eq(
        "job selector",
        &j["spec"]["selector"],
        &json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    s.eq(
        "job template job-name label",
        &j["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"],
        &json!("j"),
    );
    s.eq("job backoffLimit", &j["spec"]["backoffLimit"], &json!(6));
    s.eq("job completions", &j["spec"]["completions"], &json!(1));
    s.eq("job parallelism", &j["spec"]["parallelism"], &json!(1));
    s.eq(
        "job completionMode",
        &j["spec"]["completionMode"],
        &json!("NonIndexed"),
    );
    s.finish();
}

/// `kubectl create/apply -f` of a v1 List. kubectl cannot validate a List server-side, so it
/// validates it client-side against /openapi/v2, which it fetches as protobuf.
#[test]
fn create_and_apply_a_v1_list() {
    let w = bare_api();
    let created = list(vec![
        configmap("l1", json!({}), json!({"a": "1"})),
        configmap("l2", json!({}), json!({"a": "2"})),
    ]);
    assert_eq!(
        create(&w, &created),
        "configmap/l1 created\nconfigmap/l2 created\n"
    );
    let applied = list(vec![
        configmap("l3", json!({}), json!({"a": "3"})),
        deployment("l4", 1),
    ]);
    assert_eq!(
        apply(&w, &applied),
        "configmap/l3 created\ndeployment.apps/l4 created\n"
    );
    // `labels: {}` is not stored (kube's omitempty), so kubectl's three-way patch re-adds it
    // every time: kube-apiserver 1.20 answers "configured" here too (checked on the test bed).
    assert_eq!(
        apply(&w, &applied),
        "configmap/l3 configured\ndeployment.apps/l4 unchanged\n"
    );
    assert_eq!(
        lines(&w.kubectl_ok(&["get", "cm,deploy", "-o", "name"])),
        [
            "configmap/l1",
            "configmap/l2",
            "configmap/l3",
            "deployment.apps/l4"
        ]
    );
}

/// Pods on a node are deleted gracefully (kube's CheckGracefulDelete): marked with
/// deletionTimestamp = now + grace period until their kubelet removes them; a shorter grace
/// period shortens it, `--grace-period=0 --force` removes at once; unscheduled pods go at once.
#[test]
fn pods_on_nodes_are_deleted_gracefully() {
    let w = bare_api();
    let pod = |name: &str, node: Option<&str>| {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 30, "containers": [{"name": "c", "image": "busybox"}]}});
        if let Some(n) = node {
            p["spec"]["nodeName"] = json!(n);
        }
        p.to_string()
    };
    w.kubectl_apply_ok(&["create", "-f", "-"], &pod("bound", Some("node-1")));
    w.kubectl_apply_ok(&["create", "-f", "-"], &pod("loose", None));
    w.kubectl_ok(&["delete", "pod", "bound", "--wait=false"]);
    let p = w.get_json(&["pod", "bound"]);
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
    let at = p["metadata"]["deletionTimestamp"]
        .as_str()
        .expect("deletionTimestamp");
    let created = p["metadata"]["creationTimestamp"]
        .as_str()
        .expect("created");
    assert!(at > created, "{at} after {created}");
    w.kubectl_ok(&["delete", "pod", "bound", "--grace-period=5", "--wait=false"]);
    assert_eq!(
        w.get_json(&["pod", "bound"])["metadata"]["deletionGracePeriodSeconds"],
        5
    );
    w.kubectl_ok(&["delete", "pod", "bound", "--grace-period=0", "--force"]);
    assert!(!w.kubectl(&["get", "pod", "bound"]).status.success());
    w.kubectl_ok(&["delete", "pod", "loose", "--wait=false"]);
    assert!(!w.kubectl(&["get", "pod", "loose"]).status.success());
}
