use super::*;

// Expected hashes below were computed with `printf '%s' <input> | sha256sum`.

fn single() -> Names {
    Names::new("my-vcluster", "vcluster-ns", NamespaceMode::Single)
}

#[test]
fn safe_concat_name_short_names_are_joined() {
    assert_eq!(
        safe_concat_name(&["test", "x", "my-namespace", "x", "my-vcluster"]),
        "test-x-my-namespace-x-my-vcluster"
    );
    // exactly 63 characters stays as-is
    let sixty_three = "a".repeat(63);
    assert_eq!(safe_concat_name(&[&sixty_three]), sixty_three);
}

#[test]
fn safe_concat_name_over_63_is_52_chars_dash_hash10() {
    // sha256("nginx-deployment-7fb96c846b-abcde-with-a-long-suffix-x-my-namespace-x-my-vcluster")
    //   = fc48ece44d7d4e59...
    let name = safe_concat_name(&[
        "nginx-deployment-7fb96c846b-abcde-with-a-long-suffix",
        "x",
        "my-namespace",
        "x",
        "my-vcluster",
    ]);
    assert_eq!(
        name,
        "nginx-deployment-7fb96c846b-abcde-with-a-long-suffix-fc48ece44d"
    );
    assert_eq!(name.len(), 63);

    // sha256("my-statefulset-0-x-a-namespace-with-quite-a-long-name-indeed-x-vcluster-prod")
    //   = ebb5264aee3599c1...
    assert_eq!(
        safe_concat_name(&[
            "my-statefulset-0",
            "x",
            "a-namespace-with-quite-a-long-name-indeed",
            "x",
            "vcluster-prod"
        ]),
        "my-statefulset-0-x-a-namespace-with-quite-a-long-nam-ebb5264aee"
    );
    // 64 characters is already too long: sha256("a"*64) = ffe054fe7ae0cb6d...
    assert_eq!(
        safe_concat_name(&[&"a".repeat(64)]),
        format!("{}-ffe054fe7a", "a".repeat(52))
    );
}

#[test]
fn safe_concat_name_drops_a_dot_before_the_hash() {
    // The 52-char prefix ends with '.', so ".-" becomes "-" and the name is 62 characters.
    // sha256("aaa…a.bbbbbbbbbbbbb-x-ns-x-vc") = d12da98f15e50b90...
    let name_with_dot = format!("{}.bbbbbbbbbbbbb", "a".repeat(51));
    let name = safe_concat_name(&[&name_with_dot, "x", "ns", "x", "vc"]);
    assert_eq!(name, format!("{}-d12da98f15", "a".repeat(51)));
    assert_eq!(name.len(), 62);
}

#[test]
fn safe_concat_name_never_panics_on_multibyte_cut() {
    // byte 52 falls inside an 'é': the cut character becomes U+FFFD instead of a panic
    let name = safe_concat_name(&[&format!("a{}", "é".repeat(40))]);
    assert!(
        name.starts_with(&format!("a{}\u{fffd}-", "é".repeat(25))),
        "{name}"
    );
}

#[test]
fn host_names_single_namespace() {
    let names = single();
    assert_eq!(
        names.host_object("test", "my-namespace"),
        HostName {
            name: "test-x-my-namespace-x-my-vcluster".into(),
            namespace: "vcluster-ns".into()
        }
    );
    assert_eq!(names.host_name("", "my-namespace"), "");
    assert_eq!(names.host_namespace(""), "");
    assert_eq!(
        names.host_name(
            "nginx-deployment-7fb96c846b-abcde-with-a-long-suffix",
            "my-namespace"
        ),
        "nginx-deployment-7fb96c846b-abcde-with-a-long-suffix-fc48ece44d"
    );
}

#[test]
fn short_names_are_v_plus_13_base36() {
    // sha256("test-x-my-namespace-x-my-vcluster") = 2adf6dd6fb18…; as a base-36 number
    // (bc + python) it starts 12gumem5et28g.
    assert_eq!(
        single().host_name_short("test", "my-namespace"),
        "v12gumem5et28g"
    );
    let multi = Names::new("my-vcluster", "vcluster-ns", NamespaceMode::Multi);
    assert_eq!(multi.host_name_short("test", "my-namespace"), "test");
}

#[test]
fn base36_matches_big_number_digits() {
    assert_eq!(base36(&[255]), "73");
    assert_eq!(base36(&[1, 0]), "74");
    // one leading '0' per leading zero byte, as vCluster's encoder writes them
    assert_eq!(base36(&[0, 0, 1]), "001");
    assert_eq!(base36(&[]), "");
}

#[test]
fn cluster_scoped_names() {
    let names = single();
    assert_eq!(
        names.host_name_cluster("high-priority"),
        "vcluster-high-priority-x-vcluster-ns-x-my-vcluster"
    );
    // sha256("vcluster-a-really-long-priority-class-name-for-batch-x-vcluster-ns-x-my-vcluster")
    //   = 6bf2b1d66ce22a73...
    assert_eq!(
        names.host_name_cluster("a-really-long-priority-class-name-for-batch"),
        "vcluster-a-really-long-priority-class-name-for-batch-6bf2b1d66c"
    );
    assert_eq!(names.marker_label_cluster(), "vcluster-ns-x-my-vcluster");
    assert_eq!(
        names.kubernetes_host_service(),
        HostName {
            name: "my-vcluster".into(),
            namespace: "vcluster-ns".into()
        }
    );
}

#[test]
fn multi_namespace_host_namespaces() {
    // sha256("my-namespace") = 8dbb4f21…, sha256("vcluster-nsxmy-vcluster") = 68aa9749…
    let names = Names::new("my-vcluster", "vcluster-ns", NamespaceMode::Multi);
    assert_eq!(
        names.host_object("test", "my-namespace"),
        HostName {
            name: "test".into(),
            namespace: "vcluster-8dbb4f21-68aa9749".into()
        }
    );
    assert!(names.is_target_namespace("vcluster-8dbb4f21-68aa9749"));
    assert!(names.is_target_namespace("vcluster-00000000-68aa9749"));
    assert!(!names.is_target_namespace("vcluster-8dbb4f21-00000000"));
    assert!(!names.is_target_namespace("vcluster-ns"));
    assert!(!names.is_target_namespace("vcluster-x-8dbb4f21-68aa9749"));
    // cluster-scoped names don't depend on the mode
    assert_eq!(
        names.host_name_cluster("high-priority"),
        "vcluster-high-priority-x-vcluster-ns-x-my-vcluster"
    );
}

#[test]
fn label_keys_reserved_ones_rewritten_user_keys_kept() {
    // vCluster's own test vector: "release" with vCluster name "suffix".
    let names = Names::new("suffix", "ns", NamespaceMode::Single);
    assert_eq!(
        names.host_label_key("release"),
        "vcluster.loft.sh/label-suffix-x-a4d451ec23"
    );
    // sha256("vcluster.loft.sh/namespace") = 101dcd4e86…
    assert_eq!(
        names.host_label_key("vcluster.loft.sh/namespace"),
        "vcluster.loft.sh/label-suffix-x-101dcd4e86"
    );
    // sha256("vcluster.loft.sh/managed-by") = e5f1b28ab2…
    assert_eq!(
        names.host_label_key("vcluster.loft.sh/managed-by"),
        "vcluster.loft.sh/label-suffix-x-e5f1b28ab2"
    );
    // sha256("vcluster.loft.sh/controlled-by") = 2080cec00f…
    assert_eq!(
        names.host_label_key("vcluster.loft.sh/controlled-by"),
        "vcluster.loft.sh/label-suffix-x-2080cec00f"
    );
    assert_eq!(names.host_label_key("app"), "app");
    assert_eq!(
        names.host_label_key("app.kubernetes.io/name"),
        "app.kubernetes.io/name"
    );

    // multi-namespace mode keeps "release"
    let multi = Names::new("suffix", "ns", NamespaceMode::Multi);
    assert_eq!(multi.host_label_key("release"), "release");
    assert_eq!(
        multi.host_label_key("vcluster.loft.sh/namespace"),
        "vcluster.loft.sh/label-suffix-x-101dcd4e86"
    );
}

#[test]
fn label_keys_back_to_virtual() {
    let names = Names::new("suffix", "ns", NamespaceMode::Single);
    assert_eq!(
        names
            .virtual_label_key("vcluster.loft.sh/label-suffix-x-a4d451ec23")
            .as_deref(),
        Some("release")
    );
    assert_eq!(names.virtual_label_key("app").as_deref(), Some("app"));
    assert_eq!(names.virtual_label_key("vcluster.loft.sh/managed-by"), None);
    assert_eq!(names.virtual_label_key("vcluster.loft.sh/namespace"), None);
    assert_eq!(names.virtual_label_key("release"), None);
    assert_eq!(
        names.virtual_label_key("vcluster.loft.sh/ns-label-suffix-x-cf1227b7b2"),
        None
    );
}

#[test]
fn namespace_label_keys() {
    // sha256("kubernetes.io/metadata.name") = cf1227b7b2…, sha256("team") = ca8b22d0db…
    let names = single();
    assert_eq!(
        names.namespace_label_key("kubernetes.io/metadata.name"),
        "vcluster.loft.sh/ns-label-my-vcluster-x-cf1227b7b2"
    );
    assert_eq!(
        names.namespace_label_key("team"),
        "vcluster.loft.sh/ns-label-my-vcluster-x-ca8b22d0db"
    );
    // a long vCluster name pushes the key past 63 characters: it is shortened like a name
    // (sha256 of the whole key "vcluster.loft.sh/ns-label-a-vcluster-with-a-long-name-x-ca8b22d0db")
    let long = Names::new("a-vcluster-with-a-long-name", "ns", NamespaceMode::Single);
    //   = f2432d8c4d…
    assert_eq!(
        long.namespace_label_key("team"),
        "vcluster.loft.sh/ns-label-a-vcluster-with-a-long-nam-f2432d8c4d"
    );
}

#[test]
fn kind_annotation_values() {
    assert_eq!(kind_annotation_value("v1", "Pod"), "/v1, Kind=Pod");
    assert_eq!(
        kind_annotation_value("apps/v1", "Deployment"),
        "apps/v1, Kind=Deployment"
    );
    assert_eq!(
        kind_annotation_value("networking.k8s.io/v1", "NetworkPolicy"),
        "networking.k8s.io/v1, Kind=NetworkPolicy"
    );
}

fn host_meta(
    name: &str,
    namespace: Option<&str>,
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
) -> ObjectMeta {
    let map = |pairs: &[(&str, &str)]| {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(Into::into),
        labels: map(labels),
        annotations: map(annotations),
        ..Default::default()
    }
}

#[test]
fn virtual_object_from_host_annotations() {
    let names = single();
    let pod = host_meta(
        "test-x-my-namespace-x-my-vcluster",
        Some("vcluster-ns"),
        &[("vcluster.loft.sh/managed-by", "my-vcluster")],
        &[
            ("vcluster.loft.sh/object-name", "test"),
            ("vcluster.loft.sh/object-namespace", "my-namespace"),
            ("vcluster.loft.sh/object-uid", "1234"),
            ("vcluster.loft.sh/object-kind", "/v1, Kind=Pod"),
            (
                "vcluster.loft.sh/object-host-name",
                "test-x-my-namespace-x-my-vcluster",
            ),
            ("vcluster.loft.sh/object-host-namespace", "vcluster-ns"),
        ],
    );
    assert_eq!(
        names.virtual_object(&pod, "/v1, Kind=Pod"),
        Some(VirtualObject {
            name: "test".into(),
            namespace: Some("my-namespace".into()),
            uid: Some("1234".into()),
            kind: Some("/v1, Kind=Pod".into()),
        })
    );
    // another kind's annotation: not ours
    assert_eq!(names.virtual_object(&pod, "/v1, Kind=Service"), None);

    // annotations copied onto an object with another name: not ours
    let mut copied = pod.clone();
    copied.name = Some("copy".into());
    assert_eq!(names.virtual_object(&copied, "/v1, Kind=Pod"), None);

    // another virtual cluster's object in the same namespace
    let mut foreign = pod.clone();
    foreign
        .labels
        .as_mut()
        .unwrap()
        .insert("vcluster.loft.sh/managed-by".into(), "other".into());
    assert_eq!(names.virtual_object(&foreign, "/v1, Kind=Pod"), None);

    // other host namespace
    let mut elsewhere = pod.clone();
    elsewhere.namespace = Some("default".into());
    assert_eq!(names.virtual_object(&elsewhere, "/v1, Kind=Pod"), None);

    // old objects without kind/host-name annotations still resolve
    let old = host_meta(
        "test-x-my-namespace-x-my-vcluster",
        Some("vcluster-ns"),
        &[("vcluster.loft.sh/managed-by", "my-vcluster")],
        &[
            ("vcluster.loft.sh/object-name", "test"),
            ("vcluster.loft.sh/object-namespace", "my-namespace"),
        ],
    );
    assert_eq!(
        names.virtual_object(&old, "/v1, Kind=Pod"),
        Some(VirtualObject {
            name: "test".into(),
            namespace: Some("my-namespace".into()),
            uid: None,
            kind: None,
        })
    );
    // no name annotation: created by someone else
    let unnamed = host_meta(
        "x",
        Some("vcluster-ns"),
        &[("vcluster.loft.sh/managed-by", "my-vcluster")],
        &[],
    );
    assert_eq!(names.virtual_object(&unnamed, "/v1, Kind=Pod"), None);
}

#[test]
fn virtual_object_cluster_scoped_uses_cluster_marker() {
    let names = single();
    let class = host_meta(
        "vcluster-high-priority-x-vcluster-ns-x-my-vcluster",
        None,
        &[("vcluster.loft.sh/managed-by", "vcluster-ns-x-my-vcluster")],
        &[
            ("vcluster.loft.sh/object-name", "high-priority"),
            (
                "vcluster.loft.sh/object-kind",
                "scheduling.k8s.io/v1, Kind=PriorityClass",
            ),
        ],
    );
    assert_eq!(
        names.virtual_object(&class, "scheduling.k8s.io/v1, Kind=PriorityClass"),
        Some(VirtualObject {
            name: "high-priority".into(),
            namespace: None,
            uid: None,
            kind: Some("scheduling.k8s.io/v1, Kind=PriorityClass".into()),
        })
    );
    let mut wrong_marker = class.clone();
    wrong_marker.labels = Some(BTreeMap::from([(
        "vcluster.loft.sh/managed-by".to_string(),
        "my-vcluster".to_string(),
    )]));
    assert_eq!(
        names.virtual_object(&wrong_marker, "scheduling.k8s.io/v1, Kind=PriorityClass"),
        None
    );
}

#[test]
fn virtual_object_multi_namespace() {
    let names = Names::new("my-vcluster", "vcluster-ns", NamespaceMode::Multi);
    let pod = host_meta(
        "test",
        Some("vcluster-8dbb4f21-68aa9749"),
        &[("vcluster.loft.sh/managed-by", "my-vcluster")],
        &[
            ("vcluster.loft.sh/object-name", "test"),
            ("vcluster.loft.sh/object-namespace", "my-namespace"),
        ],
    );
    assert_eq!(
        names
            .virtual_object(&pod, "/v1, Kind=Pod")
            .map(|v| (v.name, v.namespace)),
        Some(("test".into(), Some("my-namespace".into())))
    );
}
