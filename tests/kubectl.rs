//! kubectl 1.32 against the real warren binary.

use warren_e2e::Warren;

#[test]
fn core_namespaces_exist_and_create_get_delete_configmap() {
    let w = Warren::start();
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
    assert!(
        err.contains(r#"configmaps "c1" already exists"#),
        "{err}"
    );
    assert_eq!(
        w.kubectl_ok(&["delete", "configmap", "c1"]).trim(),
        r#"configmap "c1" deleted"#
    );
    let err = w.kubectl_err(&["get", "configmap", "c1"]);
    assert!(err.contains(r#"configmaps "c1" not found"#), "{err}");
}
