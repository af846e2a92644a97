//! Validation and defaulting of CustomResourceDefinitions as kube-apiserver 1.33 does them for
//! apiextensions.k8s.io/v1 (ValidateCustomResourceDefinition and its update variant,
//! SetDefaults_CustomResourceDefinition), with kube's field paths and wording.

use serde_json::{Value, json};

use super::jsonpath::JsonPath;
use crate::error::FieldError;
use crate::structural;
use crate::validation::names;

fn str_at<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// SetDefaults_CustomResourceDefinition: singular and listKind from the kind, conversion
/// strategy `None`, the webhook service port, and storedVersions from the storage version.
pub fn apply_defaults(crd: &mut Value) {
    let spec = &mut crd["spec"];
    if !spec.is_object() {
        return;
    }
    let kind = str_at(&spec["names"], "kind").to_string();
    if spec["names"].is_object() {
        if str_at(&spec["names"], "singular").is_empty() {
            spec["names"]["singular"] = json!(kind.to_lowercase());
        }
        if str_at(&spec["names"], "listKind").is_empty() && !kind.is_empty() {
            spec["names"]["listKind"] = json!(format!("{kind}List"));
        }
    }
    if spec.get("conversion").is_none_or(Value::is_null) {
        spec["conversion"] = json!({"strategy": "None"});
    }
    if let Some(svc) = spec["conversion"]
        .get_mut("webhook")
        .and_then(|w| w.get_mut("clientConfig"))
        .and_then(|c| c.get_mut("service"))
        && svc.is_object()
        && svc.get("port").is_none()
    {
        svc["port"] = json!(443);
    }
}

/// The storage version appended to `status.storedVersions` (PrepareForCreate/Update).
pub fn record_stored_version(crd: &mut Value) {
    let Some(storage) = super::storage_version(crd) else {
        return;
    };
    if !crd["status"].is_object() {
        crd["status"] = json!({});
    }
    let stored = &mut crd["status"]["storedVersions"];
    if !stored.is_array() {
        *stored = json!([]);
    }
    if let Some(list) = stored.as_array_mut()
        && !list.iter().any(|v| v == storage.as_str())
    {
        list.push(json!(storage));
    }
}

/// The extra `metadata.name` rule of CRDs (the generic ObjectMeta checks come from the
/// caller).
fn name_rule(crd: &Value, errs: &mut Vec<FieldError>) {
    let name = str_at(&crd["metadata"], "name");
    let spec = &crd["spec"];
    let required = format!(
        "{}.{}",
        str_at(&spec["names"], "plural"),
        str_at(spec, "group")
    );
    if !name.is_empty() && name != required {
        errs.push(FieldError::invalid(
            "metadata.name",
            json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
}

/// Field errors of a new CRD (beyond ObjectMeta).
pub fn validate_create(crd: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    name_rule(crd, &mut errs);
    spec(&crd["spec"], &mut errs);
    names_rules(
        &crd["status"]["acceptedNames"],
        "status.acceptedNames",
        &mut errs,
    );
    errs
}

/// Field errors of an update of `old` to `crd` (beyond ObjectMeta).
pub fn validate_update(crd: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    spec(&crd["spec"], &mut errs);
    let established = super::condition_status(old, "Established") == Some("True");
    let immutable = |errs: &mut Vec<FieldError>, path: &str, new: &Value, old: &Value| {
        if new != old {
            errs.push(FieldError::invalid(path, new.clone(), "field is immutable"));
        }
    };
    if established {
        immutable(
            &mut errs,
            "spec.scope",
            &crd["spec"]["scope"],
            &old["spec"]["scope"],
        );
        immutable(
            &mut errs,
            "spec.names.kind",
            &crd["spec"]["names"]["kind"],
            &old["spec"]["names"]["kind"],
        );
    }
    immutable(
        &mut errs,
        "spec.group",
        &crd["spec"]["group"],
        &old["spec"]["group"],
    );
    immutable(
        &mut errs,
        "spec.names.plural",
        &crd["spec"]["names"]["plural"],
        &old["spec"]["names"]["plural"],
    );
    names_rules(
        &crd["status"]["acceptedNames"],
        "status.acceptedNames",
        &mut errs,
    );
    let versions: Vec<&str> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| str_at(v, "name"))
        .collect();
    for (i, stored) in crd["status"]["storedVersions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(s) = stored.as_str()
            && !versions.contains(&s)
        {
            errs.push(FieldError::invalid(
                format!("status.storedVersions[{i}]"),
                json!(s),
                "must appear in spec.versions",
            ));
        }
    }
    errs
}

fn spec(spec: &Value, errs: &mut Vec<FieldError>) {
    let group = str_at(spec, "group");
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let dns = names::dns1123_subdomain(group);
        if !dns.is_empty() {
            errs.push(FieldError::invalid(
                "spec.group",
                json!(group),
                dns.join(","),
            ));
        } else if group.split('.').count() < 2 {
            errs.push(FieldError::invalid(
                "spec.group",
                json!(group),
                "should be a domain with at least one dot",
            ));
        }
    }
    match str_at(spec, "scope") {
        "" => errs.push(FieldError::required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            json!(other),
            &["Cluster", "Namespaced"],
        )),
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        errs.push(FieldError::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut unique = true;
    let mut storage = 0;
    let status_enabled_any = false;
    let _ = status_enabled_any;
    for (i, v) in versions.iter().enumerate() {
        let path = format!("spec.versions[{i}]");
        let name = str_at(v, "name");
        if seen.contains(&name) {
            unique = false;
        }
        seen.push(name);
        if v["storage"].as_bool().unwrap_or(false) {
            storage += 1;
        }
        let dns = names::dns1035_label(name);
        if !dns.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.name"),
                json!(name),
                dns.join(","),
            ));
        }
        version(v, &path, errs);
    }
    if !unique {
        errs.push(FieldError::invalid(
            "spec.versions",
            spec["versions"].clone(),
            "must contain unique version names",
        ));
    }
    if !versions.is_empty() && storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            spec["versions"].clone(),
            "must have exactly one version marked as storage version",
        ));
    }
    let names = &spec["names"];
    for (field, label) in [
        ("plural", "spec.names.plural"),
        ("singular", "spec.names.singular"),
        ("kind", "spec.names.kind"),
        ("listKind", "spec.names.listKind"),
    ] {
        if str_at(names, field).is_empty() {
            errs.push(FieldError::required(label, ""));
        }
    }
    names_rules(names, "spec.names", errs);
    if spec["preserveUnknownFields"].as_bool() == Some(true) {
        errs.push(FieldError::invalid(
            "spec.preserveUnknownFields",
            json!(true),
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }
    let strategy = str_at(&spec["conversion"], "strategy");
    match strategy {
        "None" => {
            if spec["conversion"]
                .get("webhook")
                .is_some_and(|w| !w.is_null())
            {
                errs.push(FieldError::forbidden(
                    "spec.conversion.webhook",
                    "should be empty if spec.conversion.strategy is None",
                ));
            }
        }
        "Webhook" => {
            if spec["conversion"].get("webhook").is_none_or(Value::is_null) {
                errs.push(FieldError::required(
                    "spec.conversion.webhook",
                    "required if spec.conversion.strategy is set to Webhook",
                ));
            }
        }
        "" => {}
        other => errs.push(FieldError::not_supported(
            "spec.conversion.strategy",
            json!(other),
            &["None", "Webhook"],
        )),
    }
}

fn dns1035_lower(value: &str) -> Vec<String> {
    names::dns1035_label(&value.to_lowercase())
}

/// ValidateCustomResourceDefinitionNames.
fn names_rules(names: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if !names.is_object() {
        return;
    }
    for field in ["plural", "singular"] {
        let v = str_at(names, field);
        let dns = names::dns1035_label(v);
        if !v.is_empty() && !dns.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.{field}"),
                json!(v),
                dns.join(","),
            ));
        }
    }
    for field in ["kind", "listKind"] {
        let v = str_at(names, field);
        let dns = dns1035_lower(v);
        if !v.is_empty() && !dns.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.{field}"),
                json!(v),
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    dns.join(",")
                ),
            ));
        }
    }
    for list in ["shortNames", "categories"] {
        for (i, s) in names[list].as_array().into_iter().flatten().enumerate() {
            let s = s.as_str().unwrap_or("");
            let dns = names::dns1035_label(s);
            if !dns.is_empty() {
                errs.push(FieldError::invalid(
                    format!("{path}.{list}[{i}]"),
                    json!(s),
                    dns.join(","),
                ));
            }
        }
    }
    let kind = str_at(names, "kind");
    if !kind.is_empty() && kind == str_at(names, "listKind") {
        errs.push(FieldError::invalid(
            format!("{path}.listKind"),
            json!(kind),
            "kind and listKind may not be the same",
        ));
    }
}

const COLUMN_TYPES: &[&str] = &["number", "integer", "string", "boolean", "date"];
const COLUMN_FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "date",
    "date-time",
    "password",
];

fn json_path_rule(path: &str, value: &str, prefixes: &[&str], detail: &str) -> Option<FieldError> {
    let ok = JsonPath::parse(value).is_ok_and(|p| p.simple_fields().is_some())
        && prefixes
            .iter()
            .any(|pre| value.starts_with(&format!("{pre}.")) && value.len() > pre.len() + 1);
    (!ok).then(|| FieldError::invalid(path, json!(value), detail))
}

fn version(v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let schema = &v["schema"]["openAPIV3Schema"];
    let schema_path = format!("{path}.schema.openAPIV3Schema");
    if schema.is_null() {
        errs.push(FieldError::required(schema_path, "schemas are required"));
    } else {
        errs.extend(structural::check_schema(schema, &schema_path));
    }
    for (i, c) in v["additionalPrinterColumns"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let cpath = format!("{path}.additionalPrinterColumns[{i}]");
        if str_at(c, "name").is_empty() {
            errs.push(FieldError::required(format!("{cpath}.name"), ""));
        }
        match str_at(c, "type") {
            "" => errs.push(FieldError::required(format!("{cpath}.type"), "")),
            t if !COLUMN_TYPES.contains(&t) => errs.push(FieldError::not_supported(
                format!("{cpath}.type"),
                json!(t),
                COLUMN_TYPES,
            )),
            _ => {}
        }
        let format = str_at(c, "format");
        if !format.is_empty() && !COLUMN_FORMATS.contains(&format) {
            errs.push(FieldError::not_supported(
                format!("{cpath}.format"),
                json!(format),
                COLUMN_FORMATS,
            ));
        }
        let jp = str_at(c, "jsonPath");
        if jp.is_empty() {
            errs.push(FieldError::required(format!("{cpath}.jsonPath"), ""));
        } else if JsonPath::parse(jp).is_err() || !jp.starts_with('.') {
            errs.push(FieldError::invalid(
                format!("{cpath}.jsonPath"),
                json!(jp),
                "must be a simple json path starting with .",
            ));
        }
    }
    if let Some(scale) = v["subresources"].get("scale").filter(|s| s.is_object()) {
        let spath = format!("{path}.subresources.scale");
        let spec_path = str_at(scale, "specReplicasPath");
        if spec_path.is_empty() {
            errs.push(FieldError::required(
                format!("{spath}.specReplicasPath"),
                "",
            ));
        } else if let Some(e) = json_path_rule(
            &format!("{spath}.specReplicasPath"),
            spec_path,
            &[".spec"],
            "should be a json path under .spec",
        ) {
            errs.push(e);
        }
        let status_path = str_at(scale, "statusReplicasPath");
        if status_path.is_empty() {
            errs.push(FieldError::required(
                format!("{spath}.statusReplicasPath"),
                "",
            ));
        } else if let Some(e) = json_path_rule(
            &format!("{spath}.statusReplicasPath"),
            status_path,
            &[".status"],
            "should be a json path under .status",
        ) {
            errs.push(e);
        }
        if let Some(sel) = scale["labelSelectorPath"].as_str()
            && let Some(e) = json_path_rule(
                &format!("{spath}.labelSelectorPath"),
                sel,
                &[".spec", ".status"],
                "should be a json path under either .spec or .status",
            )
        {
            errs.push(e);
        }
    }
    let selectable = v["selectableFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if selectable.len() > 8 {
        errs.push(FieldError::new(
            crate::error::FieldErrorKind::TooMany,
            format!("{path}.selectableFields"),
            Some(json!(selectable.len())),
            "must have at most 8 items",
        ));
    }
    let parsed = structural::Schema::from_json(schema);
    for (i, f) in selectable.iter().enumerate() {
        let fpath = format!("{path}.selectableFields[{i}].jsonPath");
        let jp = str_at(f, "jsonPath");
        if jp.is_empty() {
            errs.push(FieldError::required(fpath, ""));
            continue;
        }
        let fields = JsonPath::parse(jp).ok().and_then(|p| {
            p.simple_fields()
                .map(|f| f.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        });
        let Some(fields) = fields.filter(|_| jp.starts_with('.')) else {
            errs.push(FieldError::invalid(
                fpath,
                json!(jp),
                "must be a simple json path starting with .",
            ));
            continue;
        };
        let mut node = Some(&parsed);
        for part in &fields {
            node = node.and_then(|n| n.properties.get(part));
        }
        match node {
            None => errs.push(FieldError::invalid(
                fpath,
                json!(jp),
                "is an invalid path: does not refer to a valid field",
            )),
            Some(n) if !matches!(n.ty.as_str(), "string" | "integer" | "boolean") => {
                errs.push(FieldError::invalid(
                    fpath,
                    json!(jp),
                    "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
                ))
            }
            Some(_) => {}
        }
    }
}
