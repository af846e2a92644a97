//! The label/field selector filter of a list, watch or deletecollection request.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::Resource;
use warren_apimachinery::selector::{FieldSelector, LabelSelector, Labels};

use crate::request::Query;

#[derive(Debug, Clone)]
pub struct ListFilter {
    group: String,
    kind: String,
    /// Custom resources select on name, namespace and the CRD's selectable fields.
    custom: bool,
    label: LabelSelector,
    field: FieldSelector,
    exact_name: Option<String>,
}

impl ListFilter {
    /// Parses `labelSelector` and `fieldSelector`; a bad selector or an unsupported field is a
    /// 400, as in kube.
    pub fn from_query(res: &Resource, query: &Query) -> Result<ListFilter, ApiError> {
        let label = match query.get("labelSelector") {
            Some(s) => LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => LabelSelector::everything(),
        };
        let field = match query.get("fieldSelector") {
            Some(s) => {
                let f =
                    FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?;
                match res.custom.as_deref() {
                    Some(info) => {
                        let selectable: Vec<&str> =
                            info.selectable_fields.iter().map(String::as_str).collect();
                        f.validate_custom(res.namespaced, &selectable)
                    }
                    None => f.validate(&res.group, &res.kind),
                }
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
                f
            }
            None => FieldSelector::everything(),
        };
        let exact_name = field
            .requires_exact_match("metadata.name")
            .map(str::to_string);
        Ok(ListFilter {
            group: res.group.clone(),
            kind: res.kind.clone(),
            custom: res.custom.is_some(),
            label,
            field,
            exact_name,
        })
    }

    pub fn everything(res: &Resource) -> ListFilter {
        ListFilter {
            group: res.group.clone(),
            kind: res.kind.clone(),
            custom: res.custom.is_some(),
            label: LabelSelector::everything(),
            field: FieldSelector::everything(),
            exact_name: None,
        }
    }

    pub fn matches(&self, obj: &Value) -> bool {
        if self.custom {
            return self.label.matches_object(obj) && self.field.matches_custom(obj);
        }
        self.label.matches_object(obj)
            && self
                .field
                .matches(&self.group, &self.kind, obj)
                .unwrap_or(false)
    }

    /// The name a `metadata.name=<x>` field selector pins, which allows a key lookup.
    pub fn exact_name(&self) -> Option<&str> {
        self.exact_name.as_deref()
    }

    pub fn disable_exact_name(&mut self) {
        self.exact_name = None;
    }

    pub fn is_everything(&self) -> bool {
        self.label.is_empty() && self.field.is_empty()
    }
}

/// Just the metadata a label / name / namespace filter needs, borrowed from the stored bytes.
#[derive(Deserialize)]
struct MetadataOnly<'a> {
    #[serde(borrow, default)]
    metadata: LightMeta<'a>,
}

#[derive(Deserialize, Default)]
struct LightMeta<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    labels: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,
}

struct LightLabels<'m, 'a>(Option<&'m BTreeMap<Cow<'a, str>, Cow<'a, str>>>);

impl Labels for LightLabels<'_, '_> {
    fn label(&self, key: &str) -> Option<&str> {
        self.0.and_then(|m| m.get(key)).map(|v| v.as_ref())
    }
}

impl ListFilter {
    /// Whether the field selector only looks at name and namespace, so the stored bytes can be
    /// filtered without building the whole object.
    fn metadata_only(&self) -> bool {
        self.field
            .requirements()
            .iter()
            .all(|r| matches!(r.field.as_str(), "metadata.name" | "metadata.namespace"))
    }

    /// Filters stored JSON bytes. Reads only the metadata when that is enough.
    pub fn matches_bytes(&self, bytes: &[u8]) -> bool {
        if self.is_everything() {
            return true;
        }
        if !self.metadata_only() {
            return serde_json::from_slice::<Value>(bytes).is_ok_and(|v| self.matches(&v));
        }
        let Ok(light) = serde_json::from_slice::<MetadataOnly<'_>>(bytes) else {
            return false;
        };
        let meta = &light.metadata;
        self.label.matches(&LightLabels(meta.labels.as_ref()))
            && self.field.matches_fields(|field| match field {
                "metadata.name" => meta.name.as_deref().unwrap_or("").to_string(),
                _ => meta.namespace.as_deref().unwrap_or("").to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_apimachinery::registry::find_builtin;

    #[test]
    fn byte_filter_agrees_with_value_filter() {
        let res = find_builtin("", "v1", "pods").expect("pods");
        let objs = [
            r#"{"metadata":{"name":"a","namespace":"n","labels":{"app":"web","t":"x"}},"status":{"phase":"Running"}}"#,
            r#"{"metadata":{"name":"b","namespace":"n","labels":{"app":"db"}},"status":{"phase":"Pending"}}"#,
            r#"{"metadata":{"name":"c\u0041","namespace":"m"}}"#,
            r#"{"kind":"Pod"}"#,
        ];
        for sel in [
            "labelSelector=app%3Dweb",
            "labelSelector=app%21%3Dweb",
            "labelSelector=%21t",
            "fieldSelector=metadata.name%3Db",
            "fieldSelector=metadata.namespace%21%3Dn",
            "fieldSelector=status.phase%3DRunning",
            "labelSelector=app+in+(web,db)&fieldSelector=metadata.name%21%3Da",
            "",
        ] {
            let f = ListFilter::from_query(res, &Query::parse(Some(sel))).expect(sel);
            for o in objs {
                let v: Value = serde_json::from_str(o).expect("json");
                assert_eq!(f.matches_bytes(o.as_bytes()), f.matches(&v), "{sel} on {o}");
            }
        }
    }
}
