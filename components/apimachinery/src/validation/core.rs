//! Core (v1) kinds: the pod spec shared by every workload, Service, ConfigMap, Secret,
//! Namespace, Node, persistent volumes and claims, Endpoints, Events, quotas and RC/PodTemplate.

use std::collections::HashSet;

use serde_json::Value;

use super::names;
use super::quantity;
use super::util::{
    Errs, bool_of, child, get, go_string_slice, index, int_of, items, key, len_of, map_of, str_of,
    string_or_empty,
};
use crate::error::{FieldError, FieldErrorKind};

pub const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";
/// kube's MaxSecretSize (also the ConfigMap limit).
pub const MAX_DATA_SIZE: usize = 1024 * 1024;

#[rustfmt::skip]
const PV_SOURCES: &[&str] = &[
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "flocker", "nfs",
    "rbd", "quobyte", "cinder", "cephfs", "iscsi", "fc", "azureFile", "vsphereVolume",
    "photonPersistentDisk", "portworxVolume", "azureDisk", "scaleIO", "local", "storageos",
    "csi",
];

/// Exactly one of `sources` set on `obj`: `must specify a volume type` /
/// `may not specify more than 1 volume type`. Returns the first one found.
pub fn exactly_one<'a>(
    e: &mut Errs,
    obj: &Value,
    path: &str,
    sources: &[&'a str],
    what: &str,
) -> Option<&'a str> {
    let mut found = None;
    for s in sources {
        if get(obj, s).is_some() {
            if found.is_some() {
                e.forbidden(
                    child(path, s),
                    &format!("may not specify more than 1 {what} type"),
                );
            } else {
                found = Some(*s);
            }
        }
    }
    if found.is_none() {
        e.required(path, &format!("must specify a {what} type"));
    }
    found
}

/// ValidatePortNumOrName for an IntOrString (absent means 0, as in Go).
pub fn port_num_or_name(e: &mut Errs, v: Option<&Value>, path: &str) {
    match v {
        Some(Value::String(s)) => e.messages(path, s, names::port_name(s)),
        other => {
            let n = other.and_then(Value::as_i64).unwrap_or(0);
            for m in names::port_num(n) {
                e.invalid(path, n.into(), m);
            }
        }
    }
}

/// A file mode member that must lie in 0..=0777.
fn file_mode(e: &mut Errs, obj: &Value, path: &str, field: &str) {
    if let Some(m) = int_of(obj, field).filter(|m| !(0..=0o777).contains(m)) {
        e.invalid(child(path, field), m.into(), FILE_MODE_ERROR);
    }
}

/// ValidateVolumes: returns the names of the valid volumes, which mounts may refer to.
fn volumes(e: &mut Errs, spec: &Value, path: &str) -> HashSet<String> {
    let vpath = child(path, "volumes");
    let mut valid = HashSet::new();
    for (i, vol) in items(spec, "volumes").iter().enumerate() {
        let ip = index(&vpath, i);
        let before = e.list.len();
        if let Some(src) = exactly_one(e, vol, &ip, super::VOLUME_SOURCES, "volume") {
            let sp = child(&ip, src);
            let s = vol.get(src).unwrap_or(&Value::Null);
            let required = match src {
                "secret" => Some("secretName"),
                "configMap" => Some("name"),
                "persistentVolumeClaim" => Some("claimName"),
                "hostPath" | "nfs" => Some("path"),
                _ => None,
            };
            if let Some(f) = required {
                e.name_field(s, &sp, f, true, |_| Vec::new());
            }
            file_mode(e, s, &sp, "defaultMode");
        }
        let name = string_or_empty(vol, "name");
        let np = child(&ip, "name");
        if name.is_empty() {
            e.required(&np, "");
        } else {
            e.messages(&np, name, names::dns1123_label(name));
        }
        if valid.contains(name) {
            e.duplicate(np, name.into());
        }
        if e.list.len() == before {
            valid.insert(name.to_string());
        }
    }
    valid
}

const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// validateObjectFieldSelector for env: `metadata.labels['k']` or one of ENV_FIELD_PATHS.
fn env_field_ref(e: &mut Errs, r: &Value, path: &str) {
    let version = string_or_empty(r, "apiVersion");
    let fp = string_or_empty(r, "fieldPath");
    let fpath = child(path, "fieldPath");
    if version.is_empty() {
        return e.required(child(path, "apiVersion"), "");
    }
    if fp.is_empty() {
        return e.required(fpath, "");
    }
    let subscripted = ["metadata.labels['", "metadata.annotations['"]
        .iter()
        .any(|p| fp.starts_with(p) && fp.ends_with("']"));
    let known = [
        "metadata.annotations",
        "metadata.labels",
        "spec.restartPolicy",
        "spec.schedulerName",
        "status.phase",
        "spec.host",
    ];
    let err = if version != "v1" {
        Some(format!("unsupported pod version: {version}"))
    } else if subscripted || ENV_FIELD_PATHS.contains(&fp) || known.contains(&fp) {
        None
    } else {
        Some(format!("field label not supported: {fp}"))
    };
    match err {
        Some(err) => e.invalid(
            fpath,
            fp.into(),
            format!("error converting fieldPath: {err}"),
        ),
        None if !subscripted && !ENV_FIELD_PATHS.contains(&fp) && fp != "spec.host" => {
            e.not_supported(fpath, fp, ENV_FIELD_PATHS)
        }
        None => {}
    }
}

/// ValidateEnv.
fn env(e: &mut Errs, c: &Value, path: &str) {
    let epath = child(path, "env");
    for (i, ev) in items(c, "env").iter().enumerate() {
        let ip = index(&epath, i);
        e.name_field(ev, &ip, "name", true, names::env_var_name);
        let Some(from) = get(ev, "valueFrom") else {
            continue;
        };
        let fp = child(&ip, "valueFrom");
        let sources = [
            "fieldRef",
            "resourceFieldRef",
            "configMapKeyRef",
            "secretKeyRef",
        ];
        let n = sources.iter().filter(|s| get(from, s).is_some()).count();
        if let Some(r) = get(from, "fieldRef") {
            env_field_ref(e, r, &child(&fp, "fieldRef"));
        }
        if let Some(r) = get(from, "resourceFieldRef") {
            e.name_field(r, &child(&fp, "resourceFieldRef"), "resource", true, |_| {
                Vec::new()
            });
        }
        for sel in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(r) = get(from, sel) {
                let sp = child(&fp, sel);
                let name = string_or_empty(r, "name");
                e.messages(&child(&sp, "name"), name, names::dns1123_subdomain(name));
                e.name_field(r, &sp, "key", true, names::config_map_key);
            }
        }
        let detail = match n {
            0 => {
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
            }
            _ if !string_or_empty(ev, "value").is_empty() => {
                "may not be specified when `value` is not empty"
            }
            1 => continue,
            _ => "may not have more than one field specified at a time",
        };
        e.invalid(fp, "".into(), detail);
    }
}

/// ValidateVolumeMounts.
fn volume_mounts(e: &mut Errs, c: &Value, path: &str, vols: &HashSet<String>) {
    let mpath = child(path, "volumeMounts");
    let mut seen = HashSet::new();
    for (i, m) in items(c, "volumeMounts").iter().enumerate() {
        let ip = index(&mpath, i);
        let name = string_or_empty(m, "name");
        if name.is_empty() {
            e.required(child(&ip, "name"), "");
        }
        if !vols.contains(name) {
            e.push(FieldError::new(
                FieldErrorKind::NotFound,
                child(&ip, "name"),
                Some(name.into()),
                "",
            ));
        }
        let mount = string_or_empty(m, "mountPath");
        if mount.is_empty() {
            e.required(child(&ip, "mountPath"), "");
        }
        if !seen.insert(mount) {
            e.invalid(child(&ip, "mountPath"), mount.into(), "must be unique");
        }
    }
}

/// ValidateNonnegativeQuantity.
fn nonnegative_quantity(e: &mut Errs, q: &Value, path: &str) {
    if quantity::from_json(q).is_ok_and(|p| p.nanos.is_some_and(|n| n < 0)) {
        e.invalid(
            path,
            quantity_text(q).into(),
            "must be greater than or equal to 0",
        );
    }
}

/// The quantity as kube prints it back.
fn quantity_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !name.starts_with("hugepages-")
}

/// Resource names and quantities of `limits`/`requests` (ValidateResourceRequirements).
pub fn resources(e: &mut Errs, res: &Value, path: &str, container: bool) {
    for kind in ["limits", "requests"] {
        let Some(m) = map_of(res, kind) else {
            continue;
        };
        for (name, q) in m {
            let p = key(&child(path, kind), name);
            let qualified = names::qualified_name(name);
            let standard = ["cpu", "memory", "ephemeral-storage", "storage"]
                .contains(&name.as_str())
                || name.starts_with("hugepages-");
            if !qualified.is_empty() {
                e.messages(&p, name, qualified);
            } else if !name.contains('/') && !standard {
                e.invalid(
                    &p,
                    name.as_str().into(),
                    "must be a standard resource type or fully qualified",
                );
                if container {
                    e.invalid(
                        &p,
                        name.as_str().into(),
                        "must be a standard resource for containers",
                    );
                }
            }
            nonnegative_quantity(e, q, &p);
        }
    }
    let (Some(req), limits) = (map_of(res, "requests"), map_of(res, "limits")) else {
        return;
    };
    let req_path = child(path, "requests");
    for (name, q) in req {
        let parse = |v: &Value| quantity::from_json(v).ok().and_then(|p| p.nanos);
        match limits.and_then(|l| l.get(name)) {
            Some(lim) => {
                let (r, l) = (parse(q), parse(lim));
                let detail = match (r, l) {
                    (Some(r), Some(l)) if r != l && !overcommit_allowed(name) => "equal to",
                    (Some(r), Some(l)) if r > l => "less than or equal to",
                    _ => continue,
                };
                e.invalid(
                    &req_path,
                    quantity_text(q).into(),
                    format!("must be {detail} {name} limit of {}", quantity_text(lim)),
                );
            }
            None if !overcommit_allowed(name) => e.required(
                child(path, "limits"),
                "Limit must be set for non overcommitable resources",
            ),
            None => {}
        }
    }
}

/// validateProbe; liveness and startup probes must have successThreshold 1.
fn probe(e: &mut Errs, c: &Value, path: &str, field: &str) {
    let Some(p) = get(c, field) else {
        return;
    };
    let pp = child(path, field);
    let handlers = ["exec", "httpGet", "tcpSocket", "grpc"];
    if let Some(h @ ("httpGet" | "tcpSocket")) = exactly_one(e, p, &pp, &handlers, "handler") {
        let hp = child(&pp, h);
        port_num_or_name(e, p.get(h).and_then(|x| x.get("port")), &child(&hp, "port"));
    }
    e.nonnegative(
        p,
        &pp,
        &[
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ],
    );
    if field != "readinessProbe"
        && let Some(n) = int_of(p, "successThreshold").filter(|n| *n != 1)
    {
        e.invalid(child(&pp, "successThreshold"), n.into(), "must be 1");
    }
}

/// validateContainerPorts.
fn ports(e: &mut Errs, c: &Value, path: &str) {
    let ppath = child(path, "ports");
    let mut names_seen = HashSet::new();
    for (i, p) in items(c, "ports").iter().enumerate() {
        let ip = index(&ppath, i);
        let name = string_or_empty(p, "name");
        if !name.is_empty() {
            let msgs = names::port_name(name);
            if !msgs.is_empty() {
                e.messages(&child(&ip, "name"), name, msgs);
            } else if !names_seen.insert(name) {
                e.duplicate(child(&ip, "name"), name.into());
            }
        }
        match int_of(p, "containerPort").unwrap_or(0) {
            0 => e.required(child(&ip, "containerPort"), ""),
            n => {
                for m in names::port_num(n) {
                    e.invalid(child(&ip, "containerPort"), n.into(), m);
                }
            }
        }
        if let Some(n) = int_of(p, "hostPort").filter(|n| *n != 0) {
            for m in names::port_num(n) {
                e.invalid(child(&ip, "hostPort"), n.into(), m);
            }
        }
        e.one_of(p, &ip, "protocol", PROTOCOLS, false);
    }
}

/// validateContainerCommon plus probes; `for_pod` adds the checks kube makes only for pods.
fn container(e: &mut Errs, c: &Value, path: &str, vols: &HashSet<String>, for_pod: bool) {
    e.name_field(c, path, "name", true, names::dns1123_label);
    let image = string_or_empty(c, "image");
    if image.is_empty() {
        e.required(child(path, "image"), "");
    } else if for_pod && image.trim() != image {
        e.invalid(
            child(path, "image"),
            image.into(),
            "must not have leading or trailing whitespace",
        );
    }
    e.one_of(
        c,
        path,
        "terminationMessagePolicy",
        &["File", "FallbackToLogsOnError"],
        false,
    );
    ports(e, c, path);
    env(e, c, path);
    volume_mounts(e, c, path, vols);
    e.one_of(
        c,
        path,
        "imagePullPolicy",
        &["Always", "IfNotPresent", "Never"],
        false,
    );
    if let Some(r) = get(c, "resources") {
        resources(e, r, &child(path, "resources"), true);
    }
    for p in ["livenessProbe", "readinessProbe", "startupProbe"] {
        probe(e, c, path, p);
    }
}

/// ValidateTolerations.
fn tolerations(e: &mut Errs, spec: &Value, path: &str) {
    let tpath = child(path, "tolerations");
    for (i, t) in items(spec, "tolerations").iter().enumerate() {
        let ip = index(&tpath, i);
        let k = string_or_empty(t, "key");
        let op = string_or_empty(t, "operator");
        let effect = string_or_empty(t, "effect");
        if !k.is_empty() {
            e.messages(&child(&ip, "key"), k, names::qualified_name(k));
        } else if op != "Exists" {
            e.invalid(
                child(&ip, "operator"),
                op.into(),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            );
        }
        if get(t, "tolerationSeconds").is_some() && effect != "NoExecute" {
            e.invalid(
                child(&ip, "effect"),
                effect.into(),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            );
        }
        let value = string_or_empty(t, "value");
        match op {
            "" | "Equal" => {
                let errs = names::label_value(value);
                if !errs.is_empty() {
                    e.invalid(child(&ip, "operator"), value.into(), errs.join(";"));
                }
            }
            "Exists" if !value.is_empty() => e.invalid(
                child(&ip, "operator"),
                t.clone(),
                "value must be empty when `operator` is 'Exists'",
            ),
            "Exists" => {}
            other => e.not_supported(child(&ip, "operator"), other, &["Equal", "Exists"]),
        }
        if !effect.is_empty() {
            e.one_of(t, &ip, "effect", TAINT_EFFECTS, false);
        }
    }
}

const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// ValidatePodSpec at `path` (`spec`, `spec.template.spec`, …).
pub fn pod_spec(e: &mut Errs, spec: &Value, path: &str, for_pod: bool) {
    let vols = volumes(e, spec, path);
    let mut all_names = HashSet::new();
    let mut host_ports = HashSet::new();
    for field in ["containers", "initContainers"] {
        let cpath = child(path, field);
        let list = items(spec, field);
        for (i, c) in list.iter().enumerate() {
            let ip = index(&cpath, i);
            container(e, c, &ip, &vols, for_pod);
            let name = string_or_empty(c, "name");
            if !name.is_empty() && !all_names.insert(name) {
                e.duplicate(child(&ip, "name"), name.into());
            }
            for (j, p) in items(c, "ports").iter().enumerate() {
                let hp = int_of(p, "hostPort").unwrap_or(0);
                let id = format!(
                    "{}/{}/{hp}",
                    string_or_empty(p, "hostIP"),
                    string_or_empty(p, "protocol")
                );
                if hp != 0 && !host_ports.insert(id.clone()) {
                    e.duplicate(
                        child(&index(&child(&ip, "ports"), j), "hostPort"),
                        id.into(),
                    );
                }
            }
        }
        if field == "containers" && list.is_empty() {
            e.required(cpath, "");
        }
    }
    e.one_of(
        spec,
        path,
        "restartPolicy",
        &["Always", "OnFailure", "Never"],
        false,
    );
    e.one_of(
        spec,
        path,
        "dnsPolicy",
        &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
        false,
    );
    e.labels(spec.get("nodeSelector"), &child(path, "nodeSelector"));
    e.name_field(
        spec,
        path,
        "serviceAccountName",
        false,
        names::dns1123_subdomain,
    );
    e.name_field(spec, path, "nodeName", false, names::dns1123_subdomain);
    if let Some(n) =
        int_of(spec, "activeDeadlineSeconds").filter(|n| !(1..=i64::from(i32::MAX)).contains(n))
    {
        e.invalid(
            child(path, "activeDeadlineSeconds"),
            n.into(),
            names::inclusive_range_error(1, i64::from(i32::MAX)),
        );
    }
    e.name_field(spec, path, "hostname", false, names::dns1123_label);
    e.name_field(spec, path, "subdomain", false, names::dns1123_label);
    tolerations(e, spec, path);
    e.name_field(
        spec,
        path,
        "priorityClassName",
        false,
        names::dns1123_subdomain,
    );
    e.one_of(
        spec,
        path,
        "preemptionPolicy",
        &["PreemptLowerPriority", "Never"],
        false,
    );
}

/// ValidatePodTemplateSpec at `path` (`spec.template`).
/// The template's labels and annotations only: all a StatefulSet's template gets (kube skips
/// its pod spec, whose mounts may name volumeClaimTemplates).
pub fn pod_template_metadata(e: &mut Errs, template: &Value, path: &str) {
    let null = Value::Null;
    let meta = template.get("metadata").unwrap_or(&null);
    e.labels(meta.get("labels"), &child(path, "labels"));
    super::meta::annotations(e, meta.get("annotations"), &child(path, "annotations"));
}

pub fn pod_template(e: &mut Errs, template: &Value, path: &str) {
    let null = Value::Null;
    pod_template_metadata(e, template, path);
    pod_spec(
        e,
        template.get("spec").unwrap_or(&null),
        &child(path, "spec"),
        false,
    );
    if len_of(template.get("spec").unwrap_or(&null), "ephemeralContainers") > 0 {
        e.forbidden(
            child(path, "spec.ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        );
    }
}

pub fn pod(e: &mut Errs, obj: &Value) {
    pod_spec(e, obj.get("spec").unwrap_or(&Value::Null), "spec", true);
}

pub fn pod_template_kind(e: &mut Errs, obj: &Value) {
    pod_template(e, obj.get("template").unwrap_or(&Value::Null), "template");
}

/// ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations and the grace period
/// may change.
pub fn pod_update(e: &mut Errs, obj: &Value, old: &Value) {
    let masked = |o: &Value| {
        let mut spec = o.get("spec").cloned().unwrap_or(Value::Null);
        if let Some(m) = spec.as_object_mut() {
            for f in [
                "activeDeadlineSeconds",
                "tolerations",
                "terminationGracePeriodSeconds",
            ] {
                m.remove(f);
            }
            for list in ["containers", "initContainers"] {
                for c in m
                    .get_mut(list)
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if let Some(c) = c.as_object_mut() {
                        c.remove("image");
                    }
                }
            }
        }
        spec
    };
    if masked(obj) != masked(old) {
        e.forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        );
    }
}

/// The service's cluster IPs, from `clusterIPs` or else `clusterIP`.
fn cluster_ips(spec: &Value) -> Vec<&str> {
    let list: Vec<&str> = items(spec, "clusterIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !list.is_empty() {
        return list;
    }
    str_of(spec, "clusterIP")
        .filter(|s| !s.is_empty())
        .into_iter()
        .collect()
}

/// `%#v` of the (protocol, port) key kube uses to find duplicate service ports.
fn go_service_port_key(protocol: &str, port: i64) -> String {
    format!(
        "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
        super::util::go_quote(protocol)
    )
}

/// ValidateService.
pub fn service(e: &mut Errs, obj: &Value) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let ty = str_of(spec, "type").unwrap_or("ClusterIP");
    let ips = cluster_ips(spec);
    let headless = ips.first() == Some(&"None");
    let svc_ports = items(spec, "ports");
    if svc_ports.is_empty() && !headless && ty != "ExternalName" {
        e.required("spec.ports", "");
    }
    match ty {
        "LoadBalancer" | "NodePort" if headless => e.invalid(
            "spec.clusterIPs[0]",
            "None".into(),
            format!("may not be set to 'None' for {ty} services"),
        ),
        "ExternalName" => {
            for f in ["clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                if len_of(spec, f) > 0 || (f == "ipFamilyPolicy" && get(spec, f).is_some()) {
                    e.forbidden(child("spec", f), "may not be set for ExternalName services");
                }
            }
            let cname = string_or_empty(spec, "externalName").trim_end_matches('.');
            if cname.is_empty() {
                e.required("spec.externalName", "");
            } else {
                e.messages("spec.externalName", cname, names::dns1123_subdomain(cname));
            }
        }
        _ => {}
    }
    let mut port_names = HashSet::new();
    for (i, p) in svc_ports.iter().enumerate() {
        let ip = index("spec.ports", i);
        let name = string_or_empty(p, "name");
        if name.is_empty() && svc_ports.len() > 1 {
            e.required(child(&ip, "name"), "");
        } else if !name.is_empty() {
            e.messages(&child(&ip, "name"), name, names::dns1123_label(name));
            if !port_names.insert(name) {
                e.duplicate(child(&ip, "name"), name.into());
            }
        }
        let port = int_of(p, "port").unwrap_or(0);
        for m in names::port_num(port) {
            e.invalid(child(&ip, "port"), port.into(), m);
        }
        e.one_of(p, &ip, "protocol", PROTOCOLS, false);
        if let Some(tp) = get(p, "targetPort") {
            port_num_or_name(e, Some(tp), &child(&ip, "targetPort"));
        }
        match int_of(p, "nodePort").unwrap_or(0) {
            0 => {}
            _ if ty == "ClusterIP" => e.forbidden(
                child(&ip, "nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ),
            n if !(30000..=32767).contains(&n) => e.invalid(
                child(&ip, "nodePort"),
                n.into(),
                "provided port is not in the valid range. The range of valid ports is 30000-32767",
            ),
            _ => {}
        }
    }
    e.labels(spec.get("selector"), "spec.selector");
    e.one_of(
        spec,
        "spec",
        "sessionAffinity",
        &["ClientIP", "None"],
        false,
    );
    for (i, ip) in ips.iter().enumerate() {
        if *ip != "None" && !names::is_ip(ip) {
            e.invalid(index("spec.clusterIPs", i), (*ip).into(), names::IP_ERROR);
        }
    }
    e.one_of(
        spec,
        "spec",
        "ipFamilyPolicy",
        &["PreferDualStack", "RequireDualStack", "SingleStack"],
        false,
    );
    for (i, f) in items(spec, "ipFamilies").iter().enumerate() {
        let f = f.as_str().unwrap_or("");
        if !["IPv4", "IPv6"].contains(&f) {
            e.not_supported(index("spec.ipFamilies", i), f, &["IPv4", "IPv6"]);
        }
    }
    e.one_of(
        spec,
        "spec",
        "type",
        &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        false,
    );
    let mut seen = HashSet::new();
    for (i, p) in svc_ports.iter().enumerate() {
        let k = (
            string_or_empty(p, "protocol"),
            int_of(p, "port").unwrap_or(0),
        );
        if !seen.insert(k) {
            e.push(FieldError::new(
                FieldErrorKind::Duplicate,
                index("spec.ports", i),
                None,
                go_service_port_key(k.0, k.1),
            ));
        }
    }
    let external = matches!(ty, "NodePort" | "LoadBalancer")
        || (ty == "ClusterIP" && len_of(spec, "externalIPs") > 0);
    match str_of(spec, "externalTrafficPolicy").filter(|p| !p.is_empty()) {
        Some(p) if !external => e.invalid(
            "spec.externalTrafficPolicy",
            p.into(),
            "may only be set for externally-accessible services",
        ),
        _ => e.one_of(
            spec,
            "spec",
            "externalTrafficPolicy",
            &["Cluster", "Local"],
            false,
        ),
    }
    e.one_of(
        spec,
        "spec",
        "internalTrafficPolicy",
        &["Cluster", "Local"],
        false,
    );
}

/// ValidateServiceUpdate: cluster IPs may not change once set (except to/from ExternalName).
pub fn service_update(e: &mut Errs, obj: &Value, old: &Value) {
    let null = Value::Null;
    let (spec, old_spec) = (
        obj.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    let external_name = |s: &Value| str_of(s, "type") == Some("ExternalName");
    if external_name(spec) || external_name(old_spec) {
        return;
    }
    let (new_ips, old_ips) = (cluster_ips(spec), cluster_ips(old_spec));
    let shown = match spec.get("clusterIPs") {
        Some(list) if len_of(spec, "clusterIPs") > 0 => go_string_slice(Some(list)),
        _ => go_string_slice(Some(&Value::from(new_ips.clone()))),
    };
    for (i, (n, o)) in new_ips.iter().zip(&old_ips).enumerate() {
        if n != o {
            e.invalid_go(
                index("spec.clusterIPs", i),
                &shown,
                "may not change once set",
            );
        }
    }
}

/// The size of a data value: bytes of a string, decoded bytes of base64 binary data.
fn data_size(v: &Value, binary: bool) -> usize {
    use base64::Engine as _;
    let s = v.as_str().unwrap_or("");
    if binary {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_or(s.len(), |b| b.len())
    } else {
        s.len()
    }
}

/// Key checks and total size of `data`-like maps; returns the total size.
fn data_keys(e: &mut Errs, obj: &Value, field: &str, binary: bool) -> usize {
    let Some(m) = map_of(obj, field) else {
        return 0;
    };
    let mut total = 0;
    for (k, v) in m {
        e.messages(&key(field, k), k, names::config_map_key(k));
        total += data_size(v, binary);
    }
    total
}

pub fn config_map(e: &mut Errs, obj: &Value) {
    let mut total = data_keys(e, obj, "data", false);
    for k in map_of(obj, "data").into_iter().flat_map(|m| m.keys()) {
        if map_of(obj, "binaryData").is_some_and(|b| b.contains_key(k)) {
            e.invalid(
                key("data", k),
                k.as_str().into(),
                "duplicate of key present in binaryData",
            );
        }
    }
    total += data_keys(e, obj, "binaryData", true);
    if total > MAX_DATA_SIZE {
        e.push(FieldError::too_long("", MAX_DATA_SIZE));
    }
}

/// `immutable: true` freezes the data maps (absent and empty count as equal).
fn immutable_data(e: &mut Errs, obj: &Value, old: &Value, fields: &[&str]) {
    if !bool_of(old, "immutable") {
        return;
    }
    if !bool_of(obj, "immutable") {
        e.forbidden("immutable", "field is immutable when `immutable` is set");
    }
    let empty = Value::Object(Default::default());
    for f in fields {
        if get(obj, f).unwrap_or(&empty) != get(old, f).unwrap_or(&empty) {
            e.forbidden(*f, "field is immutable when `immutable` is set");
        }
    }
}

pub fn config_map_update(e: &mut Errs, obj: &Value, old: &Value) {
    immutable_data(e, obj, old, &["data", "binaryData"]);
}

/// Data keys a secret type requires (all of them, or any one for basic-auth).
const SECRET_TYPE_KEYS: &[(&str, &[&str], bool)] = &[
    ("kubernetes.io/dockercfg", &[".dockercfg"], true),
    (
        "kubernetes.io/dockerconfigjson",
        &[".dockerconfigjson"],
        true,
    ),
    ("kubernetes.io/basic-auth", &["username", "password"], false),
    ("kubernetes.io/ssh-auth", &["ssh-privatekey"], true),
    ("kubernetes.io/tls", &["tls.crt", "tls.key"], true),
];

pub fn secret(e: &mut Errs, obj: &Value) {
    if data_keys(e, obj, "data", true) > MAX_DATA_SIZE {
        e.push(FieldError::too_long("data", MAX_DATA_SIZE));
    }
    let ty = string_or_empty(obj, "type");
    let data = map_of(obj, "data");
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
    if ty == "kubernetes.io/service-account-token" {
        let sa = obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("kubernetes.io/service-account.name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if sa.is_empty() {
            e.required(
                "metadata.annotations[kubernetes.io/service-account.name]",
                "",
            );
        }
    }
    if let Some((_, keys, all)) = SECRET_TYPE_KEYS.iter().find(|(t, _, _)| *t == ty) {
        let missing: Vec<&&str> = keys.iter().filter(|k| !has(k)).collect();
        if (*all && !missing.is_empty()) || (!*all && missing.len() == keys.len()) {
            for k in missing {
                e.required(key("data", k), "");
            }
        }
    }
}

pub fn secret_update(e: &mut Errs, obj: &Value, old: &Value) {
    let ty = |o: &Value| str_of(o, "type").unwrap_or("Opaque").to_string();
    if ty(obj) != ty(old) {
        e.invalid("type", ty(obj).into(), "field is immutable");
    }
    immutable_data(e, obj, old, &["data"]);
}

/// A finalizer in kube's spec.finalizers / metadata.finalizers sense.
fn finalizer(e: &mut Errs, f: &str, path: &str) {
    e.messages(path, f, names::qualified_name(f));
    if !f.contains('/') && !["kubernetes", "orphan", "foregroundDeletion"].contains(&f) {
        e.invalid(
            path,
            f.into(),
            "name is neither a standard finalizer name nor is it fully qualified",
        );
    }
}

pub fn namespace(e: &mut Errs, obj: &Value) {
    let null = Value::Null;
    for f in items(obj.get("spec").unwrap_or(&null), "finalizers") {
        finalizer(e, f.as_str().unwrap_or(""), "spec.finalizers");
    }
}

pub fn node(e: &mut Errs, obj: &Value) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    for (i, t) in items(spec, "taints").iter().enumerate() {
        let ip = index("spec.taints", i);
        let k = string_or_empty(t, "key");
        e.messages(&child(&ip, "key"), k, names::qualified_name(k));
        let v = string_or_empty(t, "value");
        let errs = names::label_value(v);
        if !errs.is_empty() {
            e.invalid(child(&ip, "value"), v.into(), errs.join(";"));
        }
        e.one_of(t, &ip, "effect", TAINT_EFFECTS, true);
    }
    for (i, c) in items(spec, "podCIDRs").iter().enumerate() {
        let c = c.as_str().unwrap_or("");
        if !names::is_cidr(c) {
            e.invalid(
                index("spec.podCIDRs", i),
                c.into(),
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            );
        }
    }
}

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

/// Access modes of a PV or PVC spec.
fn access_modes(e: &mut Errs, spec: &Value, path: &str, required_detail: &str) {
    let modes = items(spec, "accessModes");
    if modes.is_empty() {
        e.required(child(path, "accessModes"), required_detail);
    }
    for m in modes {
        let m = m.as_str().unwrap_or("");
        if !ACCESS_MODES.contains(&m) {
            e.not_supported(child(path, "accessModes"), m, ACCESS_MODES);
        }
    }
    if modes.len() > 1 && modes.iter().any(|m| m.as_str() == Some("ReadWriteOncePod")) {
        e.forbidden(
            child(path, "accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        );
    }
}

/// A storage quantity that must be > 0.
fn positive_storage(e: &mut Errs, q: &Value, path: &str) {
    if quantity::from_json(q).is_ok_and(|p| p.nanos.is_some_and(|n| n <= 0)) {
        e.invalid(path, quantity_text(q).into(), "must be greater than zero");
    }
}

/// ValidatePersistentVolumeClaimSpec at `path`.
pub fn pvc_spec(e: &mut Errs, spec: &Value, path: &str) {
    access_modes(e, spec, path, "at least 1 access mode is required");
    if let Some(sel) = get(spec, "selector") {
        e.label_selector(sel, &child(path, "selector"));
    }
    let storage_path = key(&child(path, "resources"), "storage");
    match spec
        .get("resources")
        .and_then(|r| r.get("requests"))
        .and_then(|r| r.get("storage"))
    {
        Some(q) => positive_storage(e, q, &storage_path),
        None => e.required(storage_path, ""),
    }
    e.name_field(
        spec,
        path,
        "storageClassName",
        false,
        names::dns1123_subdomain,
    );
    e.one_of(spec, path, "volumeMode", &["Block", "Filesystem"], false);
}

pub fn pvc(e: &mut Errs, obj: &Value) {
    pvc_spec(e, obj.get("spec").unwrap_or(&Value::Null), "spec");
}

/// ValidatePersistentVolumeClaimUpdate: the spec is frozen except requests and the
/// attributes class (and a volumeName set once); storage may not shrink.
pub fn pvc_update(e: &mut Errs, obj: &Value, old: &Value) {
    let masked = |o: &Value, fill_volume: bool| {
        let mut spec = o.get("spec").cloned().unwrap_or(Value::Null);
        if let Some(m) = spec.as_object_mut() {
            m.remove("volumeAttributesClassName");
            if fill_volume {
                m.remove("volumeName");
            }
            if let Some(req) = m
                .get_mut("resources")
                .and_then(|r| r.get_mut("requests"))
                .and_then(Value::as_object_mut)
            {
                req.remove("storage");
            }
        }
        spec
    };
    let null = Value::Null;
    let old_volume_unset =
        string_or_empty(old.get("spec").unwrap_or(&null), "volumeName").is_empty();
    if masked(obj, old_volume_unset) != masked(old, old_volume_unset) {
        e.forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        );
    }
    let storage = |o: &Value| {
        o.pointer("/spec/resources/requests/storage")
            .and_then(|q| quantity::from_json(q).ok())
            .and_then(|q| q.nanos)
    };
    if let (Some(n), Some(o)) = (storage(obj), storage(old))
        && n < o
    {
        e.forbidden(
            "spec.resources.requests.storage",
            "field can not be less than previous value",
        );
    }
}

pub fn pv(e: &mut Errs, obj: &Value) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    access_modes(e, spec, "spec", "");
    match map_of(spec, "capacity") {
        None => e.required("spec.capacity", ""),
        Some(cap) => {
            if !cap.contains_key("storage") || cap.len() > 1 {
                e.push(FieldError::not_supported(
                    "spec.capacity",
                    Value::Object(cap.clone()),
                    &["storage"],
                ));
            }
            for (k, q) in cap {
                positive_storage(e, q, &key("spec.capacity", k));
            }
        }
    }
    e.one_of(
        spec,
        "spec",
        "persistentVolumeReclaimPolicy",
        &["Delete", "Recycle", "Retain"],
        false,
    );
    exactly_one(e, spec, "spec", PV_SOURCES, "volume");
    e.one_of(spec, "spec", "volumeMode", &["Block", "Filesystem"], false);
}

pub fn endpoints(e: &mut Errs, obj: &Value) {
    for (i, ss) in items(obj, "subsets").iter().enumerate() {
        let sp = index("subsets", i);
        for list in ["addresses", "notReadyAddresses"] {
            for (j, a) in items(ss, list).iter().enumerate() {
                let ip = string_or_empty(a, "ip");
                if !names::is_ip(ip) {
                    e.invalid(
                        child(&index(&child(&sp, list), j), "ip"),
                        ip.into(),
                        names::IP_ERROR,
                    );
                }
            }
        }
        let ports = items(ss, "ports");
        for (j, p) in ports.iter().enumerate() {
            let pp = index(&child(&sp, "ports"), j);
            if ports.len() > 1 || !string_or_empty(p, "name").is_empty() {
                e.name_field(p, &pp, "name", ports.len() > 1, names::dns1123_label);
            }
            let n = int_of(p, "port").unwrap_or(0);
            for m in names::port_num(n) {
                e.invalid(child(&pp, "port"), n.into(), m);
            }
            e.one_of(p, &pp, "protocol", PROTOCOLS, false);
        }
    }
}

/// Legacy (core/v1) events: only the namespace agreement kube checks.
pub fn event(e: &mut Errs, obj: &Value) {
    let null = Value::Null;
    let ns = obj
        .get("metadata")
        .and_then(|m| str_of(m, "namespace"))
        .unwrap_or("");
    let involved = string_or_empty(obj.get("involvedObject").unwrap_or(&null), "namespace");
    let ok = match (involved.is_empty(), get(obj, "eventTime").is_some()) {
        (true, false) => ns.is_empty() || ns == "default",
        (true, true) => ns == "default" || ns == "kube-system",
        (false, false) => involved == ns,
        (false, true) => true,
    };
    if !ok {
        e.invalid(
            "involvedObject.namespace",
            involved.into(),
            "does not match event.namespace",
        );
    }
}

/// Quantities under `hard` (ResourceQuota) or each limit item (LimitRange) are non-negative.
fn quantities(e: &mut Errs, map: Option<&Value>, path: &str) {
    for (k, q) in map.and_then(Value::as_object).into_iter().flatten() {
        let p = key(path, k);
        e.messages(&p, k, names::qualified_name(k));
        nonnegative_quantity(e, q, &p);
    }
}

pub fn resource_quota(e: &mut Errs, obj: &Value) {
    quantities(e, obj.pointer("/spec/hard"), "spec.hard");
}

pub fn limit_range(e: &mut Errs, obj: &Value) {
    let null = Value::Null;
    for (i, l) in items(obj.get("spec").unwrap_or(&null), "limits")
        .iter()
        .enumerate()
    {
        let ip = index("spec.limits", i);
        e.name_field(l, &ip, "type", true, names::qualified_name);
        for f in [
            "max",
            "min",
            "default",
            "defaultRequest",
            "maxLimitRequestRatio",
        ] {
            quantities(e, l.get(f), &child(&ip, f));
        }
    }
}
