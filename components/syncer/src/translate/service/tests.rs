use super::*;
use crate::names::NamespaceMode;

#[test]
fn virtual_service_to_host_service() {
    let names = Names::new("suffix", "vcluster-ns", NamespaceMode::Single);
    let virtual_service: Service = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "svc-1",
            "resourceVersion": "7",
            "annotations": {"field.cattle.io/publicEndpoints": "[]", "team": "a"}
        },
        "spec": {
            "type": "NodePort",
            "selector": {"app": "web", "release": "r1"},
            "clusterIP": "10.0.0.5",
            "clusterIPs": ["10.0.0.5"],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}],
            "sessionAffinity": "None"
        },
        "status": {"loadBalancer": {}}
    }))
    .unwrap();
    let host = host_service(&names, &virtual_service, None);
    assert_eq!(
        serde_json::to_value(&host).unwrap(),
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "web-x-shop-x-suffix",
                "namespace": "vcluster-ns",
                "labels": {
                    "vcluster.loft.sh/managed-by": "suffix",
                    "vcluster.loft.sh/namespace": "shop"
                },
                "annotations": {
                    "team": "a",
                    "vcluster.loft.sh/managed-annotations": "team",
                    "vcluster.loft.sh/object-host-name": "web-x-shop-x-suffix",
                    "vcluster.loft.sh/object-host-namespace": "vcluster-ns",
                    "vcluster.loft.sh/object-kind": "/v1, Kind=Service",
                    "vcluster.loft.sh/object-name": "web",
                    "vcluster.loft.sh/object-namespace": "shop",
                    "vcluster.loft.sh/object-uid": "svc-1"
                }
            },
            "spec": {
                "type": "NodePort",
                "selector": {
                    "app": "web",
                    "vcluster.loft.sh/label-suffix-x-a4d451ec23": "r1",
                    "vcluster.loft.sh/managed-by": "suffix",
                    "vcluster.loft.sh/namespace": "shop"
                },
                "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
                "sessionAffinity": "None"
            }
        })
    );
}

#[test]
fn headless_and_selectorless_services() {
    let names = Names::new("suffix", "vcluster-ns", NamespaceMode::Multi);
    let virtual_service: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "db", "namespace": "shop"},
        "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}
    }))
    .unwrap();
    let host = host_service(&names, &virtual_service, None);
    assert_eq!(host.metadata.name.as_deref(), Some("db"));
    assert_eq!(
        host.metadata.namespace.as_deref(),
        Some("vcluster-8d9001d3-e7ca7eb7")
    );
    let spec = host.spec.unwrap();
    assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
    assert_eq!(spec.selector, None);
}

#[test]
fn cluster_ips_come_from_the_host() {
    let host: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web-x-shop-x-suffix"},
        "spec": {"clusterIP": "10.96.3.4", "clusterIPs": ["10.96.3.4", "fd00::4"]}
    }))
    .unwrap();
    assert_eq!(
        virtual_cluster_ips(&host),
        Some((
            "10.96.3.4".to_owned(),
            vec!["10.96.3.4".to_owned(), "fd00::4".to_owned()]
        ))
    );
    let single: Service =
        serde_json::from_value(serde_json::json!({"spec": {"clusterIP": "None"}})).unwrap();
    assert_eq!(
        virtual_cluster_ips(&single),
        Some(("None".to_owned(), vec!["None".to_owned()]))
    );
    let pending: Service = serde_json::from_value(serde_json::json!({"spec": {}})).unwrap();
    assert_eq!(virtual_cluster_ips(&pending), None);
}
