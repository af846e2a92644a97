//! Table tests: exact answers for every kind of name, checked against the answers CoreDNS's
//! kubernetes plugin gives for the same objects (its documented behaviour and test cases; TTL
//! 5 and serial 1499347823 as there).

use std::str::FromStr;

use k8s_openapi::api::core::v1::{Endpoints, Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

use super::*;

const SOA: &str = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1499347823 7200 1800 86400 5";

fn svc(ns: &str, name: &str, spec: serde_json::Value) -> Service {
    serde_json::from_value(json!({"metadata": {"namespace": ns, "name": name}, "spec": spec}))
        .unwrap()
}

fn slice(ns: &str, name: &str, service: &str, body: serde_json::Value) -> EndpointSlice {
    let mut v = json!({
        "metadata": {"namespace": ns, "name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
    });
    for (k, val) in body.as_object().unwrap() {
        v[k] = val.clone();
    }
    serde_json::from_value(v).unwrap()
}

/// A watch event's pod as DNS reads it (the fields it skips included).
fn pod(ns: &str, name: &str, ip: &str, phase: &str) -> WatchedPod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"namespace": ns, "name": name, "uid": "u", "labels": {"app": "a"},
                     "managedFields": [{"manager": "kubectl", "operation": "Update",
                                        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": phase, "podIP": ip},
    }))
    .unwrap()
}

/// The objects of the table: CoreDNS's test fixture (svc1, svc6, hdls1, external, …) plus the
/// names warren adds (pod hostnames, mapped host services, the zone's own kube-dns).
fn cluster() -> ClusterState {
    let mut s = ClusterState::default();
    for ns in ["testns", "default", "kube-system", "empty-ns"] {
        let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        s.apply_namespace(&n);
    }
    let http = json!([{"name": "http", "port": 80, "protocol": "TCP"}]);
    s.apply_service(&svc(
        "testns",
        "svc1",
        json!({"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": http}),
    ));
    s.apply_service(&svc(
        "testns",
        "svcempty",
        json!({"clusterIP": "10.0.0.2", "ports": http}),
    ));
    s.apply_service(&svc(
        "testns",
        "svc6",
        json!({"clusterIP": "1234:abcd::1", "ports": http}),
    ));
    s.apply_service(&svc(
        "testns",
        "svc-dual-stack",
        json!({"clusterIP": "10.0.0.3", "clusterIPs": ["10.0.0.3", "10::3"], "ports": http}),
    ));
    s.apply_service(&svc(
        "testns",
        "svcmulti",
        json!({"clusterIP": "10.0.0.9", "ports": [
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"name": "dns", "port": 53, "protocol": "UDP"},
        ]}),
    ));
    s.apply_service(&svc(
        "testns",
        "hdls1",
        json!({"clusterIP": "None", "ports": http}),
    ));
    s.apply_slice(&slice(
        "testns",
        "hdls1-v4",
        "hdls1",
        json!({
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["172.0.0.2"]},
                {"addresses": ["172.0.0.3"], "conditions": {"ready": true}},
                {"addresses": ["172.0.0.4"], "hostname": "dup-name"},
                {"addresses": ["172.0.0.5"], "hostname": "dup-name"},
                {"addresses": ["172.0.0.99"], "conditions": {"ready": false}},
            ],
        }),
    ));
    s.apply_slice(&slice(
        "testns",
        "hdls1-v6",
        "hdls1",
        json!({
            "addressType": "IPv6",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["5678:abcd::1"]}, {"addresses": ["5678:abcd::2"]}],
        }),
    ));
    s.apply_service(&svc("testns", "hdlsprtls", json!({"clusterIP": "None"})));
    s.apply_slice(&slice(
        "testns",
        "hdlsprtls-1",
        "hdlsprtls",
        json!({"endpoints": [{"addresses": ["172.0.0.20"]}]}),
    ));
    s.apply_service(&svc(
        "testns",
        "hdls-empty",
        json!({"clusterIP": "None", "ports": http}),
    ));
    s.apply_service(&svc(
        "testns",
        "external",
        json!({"type": "ExternalName", "externalName": "ext.interwebs.test", "ports": http}),
    ));
    s.apply_service(&svc(
        "testns",
        "external-to-svc",
        json!({"type": "ExternalName", "externalName": "svc1.testns.svc.cluster.local"}),
    ));
    s.apply_service(&svc(
        "testns",
        "external-ip",
        json!({"type": "ExternalName", "externalName": "1.2.3.4"}),
    ));
    // a StatefulSet-style headless service: the pod's hostname published on its endpoint
    s.apply_service(&svc(
        "testns",
        "web",
        json!({"clusterIP": "None", "ports": http}),
    ));
    s.apply_slice(&slice(
        "testns",
        "web-abc",
        "web",
        json!({
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.244.0.5"], "hostname": "web-0",
                           "targetRef": {"kind": "Pod", "namespace": "testns", "name": "web-0"}}],
        }),
    ));
    // a host service mapped in (vCluster's fromHost mapping): a selector-less headless service
    // whose Endpoints hold the host ClusterIP
    s.apply_service(&svc(
        "testns",
        "mapped",
        json!({"clusterIP": "None", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}),
    ));
    let ep: Endpoints = serde_json::from_value(json!({
        "metadata": {"namespace": "testns", "name": "mapped"},
        "subsets": [{"addresses": [{"ip": "10.100.7.7"}],
                     "notReadyAddresses": [{"ip": "10.100.7.8"}],
                     "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}],
    }))
    .unwrap();
    s.apply_endpoints(&ep);
    // ClusterIP service also reachable per endpoint name
    let ep1 = slice(
        "testns",
        "svc1-x",
        "svc1",
        json!({
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.244.1.1"]}],
        }),
    );
    s.apply_slice(&ep1);
    // the zone's own Service, its Endpoints at this server's address
    s.apply_service(&svc(
        "kube-system",
        "kube-dns",
        json!({"clusterIP": "10.96.0.10", "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        ]}),
    ));
    let kd: Endpoints = serde_json::from_value(json!({
        "metadata": {"namespace": "kube-system", "name": "kube-dns"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                     "ports": [{"name": "dns", "port": 1053, "protocol": "UDP"}]}],
    }))
    .unwrap();
    s.apply_endpoints(&kd);
    // the API server shares the loopback address, on another port: not a name server
    s.apply_service(&svc(
        "default",
        "kubernetes",
        json!({"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}),
    ));
    let api: Endpoints = serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "kubernetes"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                     "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}],
    }))
    .unwrap();
    s.apply_endpoints(&api);
    s.apply_pod(&pod("testns", "pod-a", "10.244.0.9", "Running"));
    s.apply_pod(&pod("testns", "pod-done", "10.244.0.10", "Succeeded"));
    s.modified = 1499347823;
    s
}

fn config(pods: PodMode) -> ZoneConfig {
    let mut c = ZoneConfig::new("cluster.local", 5).unwrap();
    c.pods = pods;
    c.local_ips = vec!["127.0.0.1".parse().unwrap()];
    c.local_port = Some(1053);
    c
}

/// One row: question, expected rcode, answer/additional/authority sections as text.
struct Case {
    qname: &'static str,
    qtype: RecordType,
    rcode: ResponseCode,
    answer: &'static [&'static str],
    extra: &'static [&'static str],
    /// The SOA in the authority section (every NXDOMAIN and NODATA).
    soa: bool,
}

const fn case(
    qname: &'static str,
    qtype: RecordType,
    rcode: ResponseCode,
    answer: &'static [&'static str],
    extra: &'static [&'static str],
    soa: bool,
) -> Case {
    Case {
        qname,
        qtype,
        rcode,
        answer,
        extra,
        soa,
    }
}

use RecordType as T;
use ResponseCode as R;

/// Answers CoreDNS gives for these names (its handler tests and README), one per row.
const COREDNS_CASES: &[Case] = &[
    // ClusterIP service: A, SRV for the service and for _port._proto
    case(
        "svc1.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
        &[],
        false,
    ),
    case(
        "svc1.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &["svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local."],
        &["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
        false,
    ),
    case(
        "_http._tcp.svc1.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[
            "_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.",
        ],
        &["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
        false,
    ),
    // a ClusterIP service without endpoints still answers its ClusterIP
    case(
        "svcempty.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.2"],
        &[],
        false,
    ),
    // IPv6 service: AAAA; A is NODATA
    case(
        "svc6.testns.svc.cluster.local.",
        T::AAAA,
        R::NoError,
        &["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"],
        &[],
        false,
    ),
    case(
        "svc6.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &["svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc6.testns.svc.cluster.local."],
        &["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"],
        false,
    ),
    // AAAA of an IPv4-only service: NODATA with SOA
    case(
        "svc1.testns.svc.cluster.local.",
        T::AAAA,
        R::NoError,
        &[],
        &[],
        true,
    ),
    // a service or namespace that does not exist: NXDOMAIN with SOA
    case(
        "svc0.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "svc0.testns.svc.cluster.local.",
        T::AAAA,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "svc0.svc-nons.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // headless: every ready endpoint address (not-ready ones left out)
    case(
        "hdls1.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &[
            "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
            "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
            "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
            "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
        ],
        &[],
        false,
    ),
    case(
        "hdls1.testns.svc.cluster.local.",
        T::AAAA,
        R::NoError,
        &[
            "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
            "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
        ],
        &[],
        false,
    ),
    // headless SRV: one target per endpoint name (hostname, else dashed IP), weight 100/6
    case(
        "_http._tcp.hdls1.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 172-0-0-2.hdls1.testns.svc.cluster.local.",
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 172-0-0-3.hdls1.testns.svc.cluster.local.",
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 dup-name.hdls1.testns.svc.cluster.local.",
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 5678-abcd--1.hdls1.testns.svc.cluster.local.",
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 5678-abcd--2.hdls1.testns.svc.cluster.local.",
        ],
        &[
            "172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
            "172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
            "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
            "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
            "5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
            "5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
        ],
        false,
    ),
    // endpoint names: dashed IP, hostname (two endpoints share one)
    case(
        "172-0-0-2.hdls1.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2"],
        &[],
        false,
    ),
    case(
        "5678-abcd--2.hdls1.testns.svc.cluster.local.",
        T::AAAA,
        R::NoError,
        &["5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2"],
        &[],
        false,
    ),
    case(
        "dup-name.hdls1.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &[
            "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
            "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
        ],
        &[],
        false,
    ),
    case(
        "bogusendpoint.hdls1.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "bogusendpoint.svc0.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // headless and portless: A works, SRV has nothing to say
    case(
        "hdlsprtls.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"],
        &[],
        false,
    ),
    case(
        "172-0-0-20.hdlsprtls.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["172-0-0-20.hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"],
        &[],
        false,
    ),
    case(
        "hdlsprtls.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[],
        &[],
        true,
    ),
    // dual stack: A and AAAA, one SRV target with both addresses as glue, weight 50
    case(
        "svc-dual-stack.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3"],
        &[],
        false,
    ),
    case(
        "svc-dual-stack.testns.svc.cluster.local.",
        T::AAAA,
        R::NoError,
        &["svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3"],
        &[],
        false,
    ),
    case(
        "svc-dual-stack.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[
            "svc-dual-stack.testns.svc.cluster.local. 5 IN SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local.",
        ],
        &[
            "svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3",
            "svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3",
        ],
        false,
    ),
    // TXT: the schema version; NODATA for other existing names, NXDOMAIN for the rest
    case(
        "dns-version.cluster.local.",
        T::TXT,
        R::NoError,
        &["dns-version.cluster.local. 28800 IN TXT 1.1.0"],
        &[],
        false,
    ),
    case(
        "svc1.testns.svc.cluster.local.",
        T::TXT,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case(
        "svc0.svc-nons.svc.cluster.local.",
        T::TXT,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // the structural names are NODATA; anything else under the zone NXDOMAIN
    case("svc.cluster.local.", T::A, R::NoError, &[], &[], true),
    case("pod.cluster.local.", T::A, R::NoError, &[], &[], true),
    case(
        "testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case("svc.cluster.local.", T::NS, R::NoError, &[], &[], true),
    case(
        "testns.svc.cluster.local.",
        T::NS,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case("foo.cluster.local.", T::NS, R::NXDomain, &[], &[], true),
    case("foo.svc.cluster.local.", T::NS, R::NXDomain, &[], &[], true),
    // SOA only at the apex; elsewhere NODATA, even for names that do not exist
    case(
        "svc1.testns.svc.cluster.local.",
        T::SOA,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case("cluster.local.", T::SOA, R::NoError, &[SOA], &[], false),
    // ExternalName: CNAME; nothing below it
    case(
        "external.testns.svc.cluster.local.",
        T::CNAME,
        R::NoError,
        &["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."],
        &[],
        false,
    ),
    case(
        "endpoint.external.testns.svc.cluster.local.",
        T::CNAME,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "subdomain.subdomain.external.testns.svc.cluster.local.",
        T::CNAME,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
];

/// Names beyond CoreDNS's own table: same rules, other corners.
const WARREN_CASES: &[Case] = &[
    // pod hostname + subdomain of a headless service
    case(
        "web-0.web.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["web-0.web.testns.svc.cluster.local. 5 IN A 10.244.0.5"],
        &[],
        false,
    ),
    case(
        "_http._tcp.web.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[
            "_http._tcp.web.testns.svc.cluster.local. 5 IN SRV 0 100 80 web-0.web.testns.svc.cluster.local.",
        ],
        &["web-0.web.testns.svc.cluster.local. 5 IN A 10.244.0.5"],
        false,
    ),
    // a mapped host service resolves to the host address its Endpoints carry
    case(
        "mapped.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["mapped.testns.svc.cluster.local. 5 IN A 10.100.7.7"],
        &[],
        false,
    ),
    case(
        "_pg._tcp.mapped.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[
            "_pg._tcp.mapped.testns.svc.cluster.local. 5 IN SRV 0 100 5432 10-100-7-7.mapped.testns.svc.cluster.local.",
        ],
        &["10-100-7-7.mapped.testns.svc.cluster.local. 5 IN A 10.100.7.7"],
        false,
    ),
    // headless without ready endpoints: NXDOMAIN (the name has no data at all)
    case(
        "hdls-empty.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // a ClusterIP service's endpoints have names too
    case(
        "10-244-1-1.svc1.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["10-244-1-1.svc1.testns.svc.cluster.local. 5 IN A 10.244.1.1"],
        &[],
        false,
    ),
    // SRV over several ports: all of them, weights split
    case(
        "svcmulti.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[
            "svcmulti.testns.svc.cluster.local. 5 IN SRV 0 50 80 svcmulti.testns.svc.cluster.local.",
            "svcmulti.testns.svc.cluster.local. 5 IN SRV 0 50 53 svcmulti.testns.svc.cluster.local.",
        ],
        &["svcmulti.testns.svc.cluster.local. 5 IN A 10.0.0.9"],
        false,
    ),
    case(
        "_dns._udp.svcmulti.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[
            "_dns._udp.svcmulti.testns.svc.cluster.local. 5 IN SRV 0 100 53 svcmulti.testns.svc.cluster.local.",
        ],
        &["svcmulti.testns.svc.cluster.local. 5 IN A 10.0.0.9"],
        false,
    ),
    // a port/protocol that the service does not have: NXDOMAIN
    case(
        "_https._tcp.svc1.testns.svc.cluster.local.",
        T::SRV,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "_http._udp.svc1.testns.svc.cluster.local.",
        T::SRV,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // two labels before the service are port and protocol even without underscores
    case(
        "http.tcp.svc1.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &["http.tcp.svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
        &[],
        false,
    ),
    // too many labels
    case(
        "a.b.c.svc1.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // ExternalName inside the zone: the CNAME and the target's address
    case(
        "external-to-svc.testns.svc.cluster.local.",
        T::A,
        R::NoError,
        &[
            "external-to-svc.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.",
            "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1",
        ],
        &[],
        false,
    ),
    // an IP as externalName is no CNAME: NXDOMAIN
    case(
        "external-ip.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // SRV of an ExternalName: NODATA
    case(
        "external.testns.svc.cluster.local.",
        T::SRV,
        R::NoError,
        &[],
        &[],
        true,
    ),
    // CNAME query of a ClusterIP service: NODATA
    case(
        "svc1.testns.svc.cluster.local.",
        T::CNAME,
        R::NoError,
        &[],
        &[],
        true,
    ),
    // other types: NODATA for existing names, NXDOMAIN for others
    case(
        "svc1.testns.svc.cluster.local.",
        T::MX,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case(
        "svc1.testns.svc.cluster.local.",
        T::PTR,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case(
        "svc1.testns.svc.cluster.local.",
        T::HINFO,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case(
        "svc0.testns.svc.cluster.local.",
        T::HINFO,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "svc1.testns.svc.cluster.local.",
        T::ANY,
        R::NoError,
        &[],
        &[],
        true,
    ),
    // a namespace without services
    case(
        "empty-ns.svc.cluster.local.",
        T::A,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case(
        "nothing.empty-ns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // TXT of a namespace name: NXDOMAIN (it has no entries), as CoreDNS
    case(
        "testns.svc.cluster.local.",
        T::TXT,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // apex: A is NODATA; NS names this server's Service, glue its ClusterIP
    case("cluster.local.", T::A, R::NoError, &[], &[], true),
    case("cluster.local.", T::TXT, R::NXDomain, &[], &[], true),
    case(
        "cluster.local.",
        T::NS,
        R::NoError,
        &["cluster.local. 5 IN NS kube-dns.kube-system.svc.cluster.local."],
        &["kube-dns.kube-system.svc.cluster.local. 5 IN A 10.96.0.10"],
        false,
    ),
    case(
        "ns.dns.cluster.local.",
        T::A,
        R::NoError,
        &["ns.dns.cluster.local. 5 IN A 10.96.0.10"],
        &[],
        false,
    ),
    case(
        "dns-version.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // search-path expansions of ndots:5 clients end in NXDOMAIN quickly
    case(
        "svc1.testns.svc.cluster.local.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "www.example.com.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "www.example.com.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "www.example.com.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "svc1.testns.testns.svc.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    // pods insecure: any address in the namespace's pod name space
    case(
        "1-2-3-4.testns.pod.cluster.local.",
        T::A,
        R::NoError,
        &["1-2-3-4.testns.pod.cluster.local. 5 IN A 1.2.3.4"],
        &[],
        false,
    ),
    case(
        "1-2-3-4.testns.pod.cluster.local.",
        T::AAAA,
        R::NoError,
        &[],
        &[],
        true,
    ),
    case(
        "fd00--1.testns.pod.cluster.local.",
        T::AAAA,
        R::NoError,
        &["fd00--1.testns.pod.cluster.local. 5 IN AAAA fd00::1"],
        &[],
        false,
    ),
    case(
        "1-2-3.testns.pod.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "1-2-3-4.nons.pod.cluster.local.",
        T::A,
        R::NXDomain,
        &[],
        &[],
        true,
    ),
    case(
        "testns.pod.cluster.local.",
        T::A,
        R::NoError,
        &[],
        &[],
        true,
    ),
    // zone transfers are refused
    case("cluster.local.", T::AXFR, R::Refused, &[], &[], false),
    // case is kept in the answer's owner name
    case(
        "SVC1.TestNS.svc.Cluster.Local.",
        T::A,
        R::NoError,
        &["SVC1.TestNS.svc.Cluster.Local. 5 IN A 10.0.0.1"],
        &[],
        false,
    ),
];

fn text(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            r.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn check(snapshot: &Snapshot, c: &Case) {
    let qname = Name::from_ascii(c.qname).unwrap();
    let Resolution::Answer(a) = snapshot.answer(&qname, c.qtype) else {
        panic!("{} {}: forwarded", c.qname, c.qtype);
    };
    let what = format!("{} {}", c.qname, c.qtype);
    assert_eq!(a.rcode, c.rcode, "{what}: rcode");
    assert_eq!(text(&a.answers), c.answer, "{what}: answer");
    assert_eq!(text(&a.additionals), c.extra, "{what}: additional");
    let authority = text(&a.authority);
    if c.soa {
        let zone_soa = if c.qname.starts_with("SVC1") {
            SOA.replace("cluster.local.", "Cluster.Local.")
        } else {
            SOA.to_string()
        };
        assert_eq!(authority, vec![zone_soa], "{what}: authority");
    } else {
        assert!(authority.is_empty(), "{what}: authority {authority:?}");
    }
    assert_eq!(a.authoritative, c.rcode != R::Refused, "{what}: AA");
    assert!(a.chase.is_none(), "{what}: chase");
}

#[test]
fn answers_as_coredns_documents() {
    let snapshot = Snapshot::build(&cluster(), &config(PodMode::Insecure), true);
    for c in COREDNS_CASES {
        check(&snapshot, c);
    }
}

#[test]
fn answers_every_record_kind() {
    let snapshot = Snapshot::build(&cluster(), &config(PodMode::Insecure), true);
    for c in WARREN_CASES {
        check(&snapshot, c);
    }
}

#[test]
fn external_name_outside_the_zone_is_chased_upstream() {
    let snapshot = Snapshot::build(&cluster(), &config(PodMode::Insecure), true);
    let q = Name::from_str("external.testns.svc.cluster.local.").unwrap();
    let Resolution::Answer(a) = snapshot.answer(&q, T::A) else {
        panic!("forwarded")
    };
    assert_eq!(a.rcode, R::NoError);
    assert_eq!(
        text(&a.answers),
        ["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."]
    );
    let chase = a.chase.expect("chase");
    assert_eq!(chase.target, Name::from_str("ext.interwebs.test.").unwrap());
    assert_eq!(chase.qtype, T::A);
    assert_eq!(text(&[chase.soa]), [SOA]);
}

#[test]
fn pod_modes() {
    let verified = Snapshot::build(&cluster(), &config(PodMode::Verified), true);
    check(
        &verified,
        &case(
            "10-244-0-9.testns.pod.cluster.local.",
            T::A,
            R::NoError,
            &["10-244-0-9.testns.pod.cluster.local. 5 IN A 10.244.0.9"],
            &[],
            false,
        ),
    );
    // no such pod, a pod of another namespace, a finished pod
    check(
        &verified,
        &case(
            "1-2-3-4.testns.pod.cluster.local.",
            T::A,
            R::NXDomain,
            &[],
            &[],
            true,
        ),
    );
    check(
        &verified,
        &case(
            "10-244-0-9.default.pod.cluster.local.",
            T::A,
            R::NXDomain,
            &[],
            &[],
            true,
        ),
    );
    check(
        &verified,
        &case(
            "10-244-0-10.testns.pod.cluster.local.",
            T::A,
            R::NXDomain,
            &[],
            &[],
            true,
        ),
    );
    let disabled = Snapshot::build(&cluster(), &config(PodMode::Disabled), true);
    check(
        &disabled,
        &case(
            "10-244-0-9.testns.pod.cluster.local.",
            T::A,
            R::NXDomain,
            &[],
            &[],
            true,
        ),
    );
}

#[test]
fn reverse_names() {
    let snapshot = Snapshot::build(&cluster(), &config(PodMode::Insecure), true);
    let ptr = |q: &str| match snapshot.answer(&Name::from_str(q).unwrap(), T::PTR) {
        Resolution::Answer(a) => {
            assert_eq!(a.rcode, R::NoError);
            assert!(a.authoritative);
            Some(text(&a.answers))
        }
        Resolution::Forward => None,
    };
    // a ClusterIP
    assert_eq!(
        ptr("1.0.0.10.in-addr.arpa.").unwrap(),
        ["1.0.0.10.in-addr.arpa. 5 IN PTR svc1.testns.svc.cluster.local."]
    );
    // an IPv6 ClusterIP
    assert_eq!(
        ptr("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa.").unwrap(),
        [
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. 5 IN PTR svc6.testns.svc.cluster.local."
        ]
    );
    // endpoints: hostname or dashed IP, under their service
    assert_eq!(
        ptr("4.0.0.172.in-addr.arpa.").unwrap(),
        ["4.0.0.172.in-addr.arpa. 5 IN PTR dup-name.hdls1.testns.svc.cluster.local."]
    );
    assert_eq!(
        ptr("5.0.244.10.in-addr.arpa.").unwrap(),
        ["5.0.244.10.in-addr.arpa. 5 IN PTR web-0.web.testns.svc.cluster.local."]
    );
    assert_eq!(
        ptr("7.7.100.10.in-addr.arpa.").unwrap(),
        ["7.7.100.10.in-addr.arpa. 5 IN PTR 10-100-7-7.mapped.testns.svc.cluster.local."]
    );
    // a pod behind no service (warren's addition)
    assert_eq!(
        ptr("9.0.244.10.in-addr.arpa.").unwrap(),
        ["9.0.244.10.in-addr.arpa. 5 IN PTR 10-244-0-9.testns.pod.cluster.local."]
    );
    // unknown addresses, partial names and other types go upstream
    assert_eq!(ptr("8.8.8.8.in-addr.arpa."), None);
    assert_eq!(ptr("0.10.in-addr.arpa."), None);
    assert_eq!(
        snapshot.answer(&Name::from_str("1.0.0.10.in-addr.arpa.").unwrap(), T::A),
        Resolution::Forward
    );
}

#[test]
fn outside_names_are_forwarded() {
    let snapshot = Snapshot::build(&cluster(), &config(PodMode::Insecure), true);
    for q in ["www.example.com.", "local.", "cluster.", "xcluster.local."] {
        assert_eq!(
            snapshot.answer(&Name::from_str(q).unwrap(), T::A),
            Resolution::Forward,
            "{q}"
        );
    }
}

#[test]
fn before_the_first_sync_nxdomain_is_servfail() {
    let snapshot = Snapshot::build(&cluster(), &config(PodMode::Insecure), false);
    check(
        &snapshot,
        &case(
            "svc0.testns.svc.cluster.local.",
            T::A,
            R::ServFail,
            &[],
            &[],
            true,
        ),
    );
    // what is known already answers
    check(
        &snapshot,
        &case(
            "svc1.testns.svc.cluster.local.",
            T::A,
            R::NoError,
            &["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
            &[],
            false,
        ),
    );
}

#[test]
fn without_our_endpoints_the_name_server_is_ns_dns() {
    let mut c = config(PodMode::Insecure);
    c.local_ips = vec!["10.1.2.3".parse().unwrap()];
    let snapshot = Snapshot::build(&cluster(), &c, true);
    check(
        &snapshot,
        &case(
            "cluster.local.",
            T::NS,
            R::NoError,
            &["cluster.local. 5 IN NS ns.dns.cluster.local."],
            &["ns.dns.cluster.local. 5 IN A 10.1.2.3"],
            false,
        ),
    );
}

#[test]
fn changes_show_in_the_next_snapshot() {
    let mut state = cluster();
    state.delete_service("testns", "svc1");
    state.apply_service(&svc("testns", "svc2", json!({"clusterIP": "10.0.0.22"})));
    let snapshot = Snapshot::build(&state, &config(PodMode::Insecure), true);
    check(
        &snapshot,
        &case(
            "svc1.testns.svc.cluster.local.",
            T::A,
            R::NXDomain,
            &[],
            &[],
            true,
        ),
    );
    // a service without ports still has its address
    check(
        &snapshot,
        &case(
            "svc2.testns.svc.cluster.local.",
            T::A,
            R::NoError,
            &["svc2.testns.svc.cluster.local. 5 IN A 10.0.0.22"],
            &[],
            false,
        ),
    );
    // slices take precedence over Endpoints; without slices Endpoints are used
    state.delete_slice("testns", "web-abc");
    let snapshot = Snapshot::build(&state, &config(PodMode::Insecure), true);
    check(
        &snapshot,
        &case(
            "web-0.web.testns.svc.cluster.local.",
            T::A,
            R::NXDomain,
            &[],
            &[],
            true,
        ),
    );
}

#[test]
fn dashed_ips() {
    assert_eq!(dashed_ip(&"10.1.2.3".parse().unwrap()), "10-1-2-3");
    assert_eq!(dashed_ip(&"fd00::1".parse().unwrap()), "fd00--1");
    assert_eq!(dashed_ip(&"fd00::".parse().unwrap()), "fd00--0");
}

/// Pod updates that leave its IP and activity alone (status conditions, labels) do not make
/// the snapshot stale; a new IP, the end of a pod and a delete do.
#[test]
fn only_pod_changes_dns_answers_from_count() {
    let mut s = ClusterState::default();
    assert!(s.apply_pod(&pod("ns", "a", "10.244.0.9", "Pending")));
    assert!(!s.apply_pod(&pod("ns", "a", "10.244.0.9", "Running")));
    assert!(s.apply_pod(&pod("ns", "a", "10.244.0.10", "Running")));
    assert!(s.apply_pod(&pod("ns", "a", "10.244.0.10", "Succeeded")));
    assert!(s.delete_pod("ns", "a"));
    assert!(!s.delete_pod("ns", "a"));
}
