//! The remaining groups: networking, policy, RBAC, scheduling, storage, coordination,
//! discovery, events.k8s.io and ControllerRevision.

use serde_json::Value;

use super::core::{PROTOCOLS, port_num_or_name};
use super::names;
use super::util::{
    Errs, child, get, go_quote, go_string_slice, index, int_of, items, len_of, str_of,
    string_or_empty,
};

fn spec_of(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// validateIngressBackend.
fn ingress_backend(e: &mut Errs, b: &Value, path: &str) {
    match (get(b, "resource"), get(b, "service")) {
        (Some(_), Some(_)) => e.invalid(
            path,
            "".into(),
            "cannot set both resource and service backends",
        ),
        (Some(r), None) => {
            let rp = child(path, "resource");
            e.name_field(r, &rp, "kind", true, |_| Vec::new());
            e.name_field(r, &rp, "name", true, |_| Vec::new());
        }
        (None, Some(s)) => {
            let sp = child(path, "service");
            e.name_field(s, &sp, "name", true, names::dns1035_label);
            let null = Value::Null;
            let port = s.get("port").unwrap_or(&null);
            let name = string_or_empty(port, "name");
            let number = int_of(port, "number").unwrap_or(0);
            let pp = child(&sp, "port");
            match (name.is_empty(), number == 0) {
                (false, false) => {
                    e.invalid(path, "".into(), "cannot set both port name & port number")
                }
                (false, true) => e.messages(&child(&pp, "name"), name, names::port_name(name)),
                (true, false) => {
                    for m in names::port_num(number) {
                        e.invalid(child(&pp, "number"), number.into(), m);
                    }
                }
                (true, true) => e.required(path, "port name or number is required"),
            }
        }
        (None, None) => e.invalid(path, "".into(), "resource or service backend is required"),
    }
}

/// A host of an Ingress rule or TLS entry: DNS name (optionally wildcard), not an IP.
fn ingress_host(e: &mut Errs, host: &str, path: &str) {
    if names::is_ip(host) {
        e.invalid(path, host.into(), "must be a DNS name, not an IP address");
    }
    let msgs = if host.contains('*') {
        names::wildcard_dns1123_subdomain(host)
    } else {
        names::dns1123_subdomain(host)
    };
    e.messages(path, host, msgs);
}

pub fn ingress(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    let rules = items(spec, "rules");
    if rules.is_empty() && get(spec, "defaultBackend").is_none() {
        e.invalid_go(
            "spec",
            "[]networking.IngressRule(nil)",
            "either `defaultBackend` or `rules` must be specified",
        );
    }
    if let Some(b) = get(spec, "defaultBackend") {
        ingress_backend(e, b, "spec.defaultBackend");
    }
    for (i, rule) in rules.iter().enumerate() {
        let rp = index("spec.rules", i);
        let host = string_or_empty(rule, "host");
        if !host.is_empty() {
            ingress_host(e, host, &child(&rp, "host"));
        }
        let Some(http) = get(rule, "http") else {
            continue;
        };
        let hp = child(&rp, "http");
        let paths = items(http, "paths");
        if paths.is_empty() {
            e.required(child(&hp, "paths"), "");
        }
        for (j, p) in paths.iter().enumerate() {
            let pp = index(&child(&hp, "paths"), j);
            let path = string_or_empty(p, "path");
            let ppath = child(&pp, "path");
            match str_of(p, "pathType") {
                None => {
                    e.required(child(&pp, "pathType"), "pathType must be specified");
                    continue;
                }
                Some("Exact" | "Prefix") => {
                    if !path.starts_with('/') {
                        e.invalid(&ppath, path.into(), "must be an absolute path");
                    }
                    for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                        if path.contains(seq) {
                            e.invalid(&ppath, path.into(), format!("must not contain '{seq}'"));
                        }
                    }
                    for suffix in ["/..", "/."] {
                        if path.ends_with(suffix) {
                            e.invalid(&ppath, path.into(), format!("cannot end with '{suffix}'"));
                        }
                    }
                }
                Some("ImplementationSpecific") => {
                    if !path.is_empty() && !path.starts_with('/') {
                        e.invalid(&ppath, path.into(), "must be an absolute path");
                    }
                }
                Some(t) => e.not_supported(
                    child(&pp, "pathType"),
                    t,
                    &["Exact", "ImplementationSpecific", "Prefix"],
                ),
            }
            ingress_backend(
                e,
                p.get("backend").unwrap_or(&Value::Null),
                &child(&pp, "backend"),
            );
        }
    }
    for (i, tls) in items(spec, "tls").iter().enumerate() {
        for (j, h) in items(tls, "hosts").iter().enumerate() {
            let hp = index(&child(&index("spec.tls", i), "hosts"), j);
            ingress_host(e, h.as_str().unwrap_or(""), &hp);
        }
    }
    e.name_field(
        spec,
        "spec",
        "ingressClassName",
        false,
        names::dns1123_subdomain,
    );
}

pub fn ingress_class(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    let path = "spec.controller";
    let controller = string_or_empty(spec, "controller");
    if controller.len() > 250 {
        e.push(crate::error::FieldError::too_long(path, 250));
    }
    match controller.split_once('/') {
        _ if controller.is_empty() => e.required(path, ""),
        Some((host, rest)) if !host.is_empty() && !rest.is_empty() => {
            e.messages(path, host, names::dns1123_subdomain(host));
        }
        _ => e.invalid(
            path,
            controller.into(),
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        ),
    }
    if let Some(p) = get(spec, "parameters") {
        let pp = "spec.parameters";
        e.name_field(p, pp, "kind", true, |_| Vec::new());
        e.name_field(p, pp, "name", true, |_| Vec::new());
        e.one_of(p, pp, "scope", &["Cluster", "Namespace"], false);
    }
}

pub fn ingress_class_update(e: &mut Errs, obj: &Value, old: &Value) {
    e.immutable(spec_of(obj), spec_of(old), "spec", "controller");
}

/// ValidateNetworkPolicyPeer.
fn network_peer(e: &mut Errs, peer: &Value, path: &str) {
    let mut n = 0;
    for sel in ["podSelector", "namespaceSelector"] {
        if let Some(s) = get(peer, sel) {
            n += 1;
            e.label_selector(s, &child(path, sel));
        }
    }
    if let Some(block) = get(peer, "ipBlock") {
        n += 1;
        let bp = child(path, "ipBlock");
        let cidr = string_or_empty(block, "cidr");
        if cidr.is_empty() {
            e.required(child(&bp, "cidr"), "");
        } else if !names::is_cidr(cidr) {
            e.invalid(
                child(&bp, "cidr"),
                cidr.into(),
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            );
        }
    }
    if n == 0 {
        e.required(path, "must specify a peer");
    } else if n > 1 && get(peer, "ipBlock").is_some() {
        e.forbidden(path, "may not specify both ipBlock and another peer");
    }
}

/// ValidateNetworkPolicyPort.
fn network_port(e: &mut Errs, port: &Value, path: &str) {
    if let Some(p) = str_of(port, "protocol").filter(|p| !PROTOCOLS.contains(p)) {
        e.not_supported(child(path, "protocol"), p, &["TCP", "UDP", "SCTP"]);
    }
    let end = int_of(port, "endPort");
    let ep = child(path, "endPort");
    match get(port, "port") {
        Some(Value::String(name)) => {
            if let Some(end) = end {
                e.invalid(
                    &ep,
                    end.into(),
                    "may not be specified when `port` is non-numeric",
                );
            }
            e.messages(&child(path, "port"), name, names::port_name(name));
        }
        Some(n) => {
            let n = n.as_i64().unwrap_or(0);
            port_num_or_name(e, Some(&n.into()), &child(path, "port"));
            if let Some(end) = end {
                if end < n {
                    e.invalid(&ep, n.into(), "must be greater than or equal to `port`");
                }
                for m in names::port_num(end) {
                    e.invalid(&ep, end.into(), m);
                }
            }
        }
        None => {
            if let Some(end) = end {
                e.invalid(
                    &ep,
                    end.into(),
                    "may not be specified when `port` is not specified",
                );
            }
        }
    }
}

pub fn network_policy(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    e.label_selector(
        spec.get("podSelector").unwrap_or(&Value::Null),
        "spec.podSelector",
    );
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in items(spec, dir).iter().enumerate() {
            let rp = index(&child("spec", dir), i);
            for (j, port) in items(rule, "ports").iter().enumerate() {
                network_port(e, port, &index(&child(&rp, "ports"), j));
            }
            for (j, peer) in items(rule, peers).iter().enumerate() {
                network_peer(e, peer, &index(&child(&rp, peers), j));
            }
        }
    }
    let types = items(spec, "policyTypes");
    if types.len() > 2 {
        return e.invalid(
            "spec.policyTypes",
            spec.get("policyTypes").cloned().unwrap_or(Value::Null),
            "may not specify more than two policyTypes",
        );
    }
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if !["Ingress", "Egress"].contains(&t) {
            e.not_supported(index("spec.policyTypes", i), t, &["Ingress", "Egress"]);
        }
    }
}

/// IntOrString members that must be non-negative integers or percentages up to 100%.
fn int_or_percent_fields(e: &mut Errs, obj: &Value, path: &str, fields: &[&str]) {
    for f in fields {
        let p = child(path, f);
        match get(obj, f) {
            Some(Value::String(s)) => {
                e.messages(&p, s, names::percent(s));
                let pct = s.strip_suffix('%').and_then(|n| n.parse::<u64>().ok());
                if pct.is_some_and(|v| v > 100) {
                    e.invalid(&p, s.as_str().into(), "must not be greater than 100%");
                }
            }
            Some(v) => {
                if let Some(n) = v.as_i64().filter(|n| *n < 0) {
                    e.invalid(&p, n.into(), "must be greater than or equal to 0");
                }
            }
            None => {}
        }
    }
}

pub fn pod_disruption_budget(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    if get(spec, "minAvailable").is_some() && get(spec, "maxUnavailable").is_some() {
        e.invalid(
            "spec",
            spec.clone(),
            "minAvailable and maxUnavailable cannot be both set",
        );
    }
    int_or_percent_fields(e, spec, "spec", &["minAvailable", "maxUnavailable"]);
    if let Some(sel) = get(spec, "selector") {
        e.label_selector(sel, "spec.selector");
    }
    e.one_of(
        spec,
        "spec",
        "unhealthyPodEvictionPolicy",
        &["AlwaysAllow", "IfHealthyBudget"],
        false,
    );
}

/// ValidatePolicyRule.
fn policy_rules(e: &mut Errs, obj: &Value, namespaced: bool) {
    for (i, rule) in items(obj, "rules").iter().enumerate() {
        let rp = index("rules", i);
        if len_of(rule, "verbs") == 0 {
            e.required(child(&rp, "verbs"), "verbs must contain at least one value");
        }
        if len_of(rule, "nonResourceURLs") > 0 {
            let urls = go_string_slice(rule.get("nonResourceURLs"));
            let up = child(&rp, "nonResourceURLs");
            if namespaced {
                e.invalid_go(
                    &up,
                    &urls,
                    "namespaced rules cannot apply to non-resource URLs",
                );
            }
            if ["apiGroups", "resources", "resourceNames"]
                .iter()
                .any(|f| len_of(rule, f) > 0)
            {
                e.invalid_go(
                    &up,
                    &urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                );
            }
            continue;
        }
        if len_of(rule, "apiGroups") == 0 {
            e.required(
                child(&rp, "apiGroups"),
                "resource rules must supply at least one api group",
            );
        }
        if len_of(rule, "resources") == 0 {
            e.required(
                child(&rp, "resources"),
                "resource rules must supply at least one resource",
            );
        }
    }
}

pub fn role(e: &mut Errs, obj: &Value) {
    policy_rules(e, obj, true);
}

pub fn cluster_role(e: &mut Errs, obj: &Value) {
    policy_rules(e, obj, false);
    if let Some(agg) = get(obj, "aggregationRule") {
        let selectors = items(agg, "clusterRoleSelectors");
        if selectors.is_empty() {
            e.required(
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            );
        }
        for (i, s) in selectors.iter().enumerate() {
            e.label_selector(s, &index("aggregationRule.clusterRoleSelectors", i));
        }
    }
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// ValidateRoleBinding / ValidateClusterRoleBinding.
fn binding(e: &mut Errs, obj: &Value, namespaced: bool) {
    let null = Value::Null;
    let role_ref = obj.get("roleRef").unwrap_or(&null);
    let group = string_or_empty(role_ref, "apiGroup");
    if group != RBAC_GROUP {
        e.not_supported("roleRef.apiGroup", group, &[RBAC_GROUP]);
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    let kind = string_or_empty(role_ref, "kind");
    if !kinds.contains(&kind) {
        e.not_supported("roleRef.kind", kind, kinds);
    }
    e.name_field(role_ref, "roleRef", "name", true, |n| {
        names::path_segment_name(n, false)
    });
    for (i, s) in items(obj, "subjects").iter().enumerate() {
        let sp = index("subjects", i);
        let name = string_or_empty(s, "name");
        if name.is_empty() {
            e.required(child(&sp, "name"), "");
        }
        let group = string_or_empty(s, "apiGroup");
        match string_or_empty(s, "kind") {
            "ServiceAccount" => {
                if !name.is_empty() {
                    e.messages(&child(&sp, "name"), name, names::dns1123_subdomain(name));
                }
                if !group.is_empty() {
                    e.not_supported(child(&sp, "apiGroup"), group, &[""]);
                }
                if !namespaced && string_or_empty(s, "namespace").is_empty() {
                    e.required(child(&sp, "namespace"), "");
                }
            }
            "User" | "Group" if group != RBAC_GROUP => {
                e.not_supported(child(&sp, "apiGroup"), group, &[RBAC_GROUP])
            }
            "User" | "Group" => {}
            other => e.not_supported(
                child(&sp, "kind"),
                other,
                &["ServiceAccount", "User", "Group"],
            ),
        }
    }
}

pub fn role_binding(e: &mut Errs, obj: &Value) {
    binding(e, obj, true);
}

pub fn cluster_role_binding(e: &mut Errs, obj: &Value) {
    binding(e, obj, false);
}

/// roleRef may not change: `roleRef: Invalid value: rbac.RoleRef{…}: cannot change roleRef`.
pub fn binding_update(e: &mut Errs, obj: &Value, old: &Value) {
    let (n, o) = (obj.get("roleRef"), old.get("roleRef"));
    if n != o {
        let r = n.unwrap_or(&Value::Null);
        let shown = format!(
            "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
            go_quote(string_or_empty(r, "apiGroup")),
            go_quote(string_or_empty(r, "kind")),
            go_quote(string_or_empty(r, "name"))
        );
        e.invalid_go("roleRef", &shown, "cannot change roleRef");
    }
}

/// Built-in priority classes that may use the `system-` prefix.
const SYSTEM_PRIORITY_CLASSES: &[(&str, i64)] = &[
    ("system-cluster-critical", 2_000_000_000),
    ("system-node-critical", 2_000_001_000),
];

pub fn priority_class(e: &mut Errs, obj: &Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let value = int_of(obj, "value").unwrap_or(0);
    if name.starts_with("system-") {
        let err = match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name) {
            None => Some(format!("name {name} is not a known system priority class")),
            Some((_, v)) if *v != value => {
                Some(format!("value of {name} PriorityClass must be {v}"))
            }
            Some(_) => None,
        };
        if let Some(err) = err {
            e.forbidden(
                "metadata.name",
                &format!(
                    "priority class names with 'system-' prefix are reserved for system use only. error: {err}"
                ),
            );
        }
    } else if value > 1_000_000_000 {
        e.forbidden(
            "value",
            "maximum allowed value of a user defined priority is 1000000000",
        );
    }
    e.one_of(
        obj,
        "",
        "preemptionPolicy",
        &["PreemptLowerPriority", "Never"],
        false,
    );
}

pub fn priority_class_update(e: &mut Errs, obj: &Value, old: &Value) {
    if int_of(obj, "value") != int_of(old, "value") {
        e.forbidden("value", "may not be changed in an update.");
    }
    e.immutable(obj, old, "", "preemptionPolicy");
}

pub fn storage_class(e: &mut Errs, obj: &Value) {
    let provisioner = string_or_empty(obj, "provisioner");
    if provisioner.is_empty() {
        e.required("provisioner", "");
    } else {
        let lower = provisioner.to_lowercase();
        e.messages("provisioner", &lower, names::qualified_name(&lower));
    }
    e.one_of(obj, "", "reclaimPolicy", &["Delete", "Retain"], false);
    e.one_of(
        obj,
        "",
        "volumeBindingMode",
        &["Immediate", "WaitForFirstConsumer"],
        false,
    );
}

pub fn storage_class_update(e: &mut Errs, obj: &Value, old: &Value) {
    let empty = Value::Object(Default::default());
    if get(obj, "parameters").unwrap_or(&empty) != get(old, "parameters").unwrap_or(&empty) {
        e.forbidden("parameters", "updates to parameters are forbidden.");
    }
    for f in ["provisioner", "reclaimPolicy"] {
        if get(obj, f) != get(old, f) {
            e.forbidden(f, &format!("updates to {f} are forbidden."));
        }
    }
    e.immutable(obj, old, "", "volumeBindingMode");
}

pub fn lease(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    e.positive(spec, "spec", &["leaseDurationSeconds"]);
    e.nonnegative(spec, "spec", &["leaseTransitions"]);
}

const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];

pub fn endpoint_slice(e: &mut Errs, obj: &Value) {
    e.one_of(obj, "", "addressType", ADDRESS_TYPES, true);
    let ty = string_or_empty(obj, "addressType");
    let endpoints = items(obj, "endpoints");
    if endpoints.len() > 1000 {
        e.push(too_many("endpoints", endpoints.len(), 1000));
    }
    for (i, ep) in endpoints.iter().enumerate() {
        let ap = child(&index("endpoints", i), "addresses");
        let addresses = items(ep, "addresses");
        if addresses.is_empty() {
            e.required(&ap, "must contain at least 1 address");
        } else if addresses.len() > 100 {
            e.push(too_many(&ap, addresses.len(), 100));
        }
        for (j, a) in addresses.iter().enumerate() {
            let a = a.as_str().unwrap_or("");
            let msg = match ty {
                "IPv4" if a.parse::<std::net::Ipv4Addr>().is_err() => {
                    "must be a valid IPv4 address"
                }
                "IPv6" if a.parse::<std::net::Ipv6Addr>().is_err() => {
                    "must be a valid IPv6 address"
                }
                "FQDN" if !names::dns1123_subdomain(a).is_empty() || !a.contains('.') => {
                    "should be a domain with at least two segments separated by dots"
                }
                _ => continue,
            };
            e.invalid(index(&ap, j), a.into(), msg);
        }
        e.name_field(
            ep,
            &index("endpoints", i),
            "hostname",
            false,
            names::dns1123_label,
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, p) in items(obj, "ports").iter().enumerate() {
        let pp = index("ports", i);
        let name = string_or_empty(p, "name");
        if !name.is_empty() {
            e.messages(&child(&pp, "name"), name, names::dns1123_label(name));
        }
        if !seen.insert(name) {
            e.duplicate(child(&pp, "name"), name.into());
        }
        e.one_of(p, &pp, "protocol", PROTOCOLS, false);
    }
}

fn too_many(path: &str, actual: usize, max: usize) -> crate::error::FieldError {
    crate::error::FieldError::new(
        crate::error::FieldErrorKind::TooMany,
        path,
        Some(actual.into()),
        format!("must have at most {max} items"),
    )
}

pub fn endpoint_slice_update(e: &mut Errs, obj: &Value, old: &Value) {
    e.immutable(obj, old, "", "addressType");
}

/// events.k8s.io/v1 Event creation.
pub fn events_v1(e: &mut Errs, obj: &Value) {
    if get(obj, "eventTime").is_none() {
        e.required("eventTime", "");
    } else {
        for f in [
            "reportingController",
            "reportingInstance",
            "action",
            "reason",
        ] {
            if string_or_empty(obj, f).is_empty() {
                e.required(f, "");
            }
        }
        let rc = string_or_empty(obj, "reportingController");
        if !rc.is_empty() {
            e.messages("reportingController", rc, names::qualified_name(rc));
        }
    }
    let ty = string_or_empty(obj, "type");
    if ty != "Normal" && ty != "Warning" {
        e.invalid("type", "".into(), format!("has invalid value: {ty}"));
    }
}

pub fn controller_revision(e: &mut Errs, obj: &Value) {
    if get(obj, "data").is_none() {
        e.required("data", "data is mandatory");
    }
    e.nonnegative(obj, "", &["revision"]);
}

pub fn controller_revision_update(e: &mut Errs, obj: &Value, old: &Value) {
    e.immutable(obj, old, "", "data");
}
