//! Table and PartialObjectMetadata responses (what `kubectl get` asks for).

use serde_json::{Value, json};
use warren_apimachinery::registry::Resource;
use warren_apimachinery::table::{IncludeObject, table_for};

/// A `meta.k8s.io/v1` Table of `objects`, with list metadata when it answers a list.
pub fn table(res: &Resource, objects: Vec<Value>, list_meta: Option<Value>) -> Value {
    if let Some(info) = res.custom.as_deref() {
        let mut t = warren_apimachinery::crd::table(
            info,
            &objects,
            IncludeObject::Metadata,
            chrono::Utc::now(),
        );
        t["metadata"] = list_meta.unwrap_or_else(|| json!({}));
        return t;
    }
    let mut t = table_for(
        &res.group,
        &res.kind,
        &objects,
        IncludeObject::Metadata,
        chrono::Utc::now(),
    );
    t["metadata"] = list_meta.unwrap_or_else(|| json!({}));
    t
}

/// The metadata-only view of an object.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A PartialObjectMetadataList from a list body.
pub fn partial_metadata_list(list: &Value) -> Value {
    let items: Vec<Value> = list["items"]
        .as_array()
        .map(|a| a.iter().map(partial_metadata).collect())
        .unwrap_or_default();
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "items": items,
    })
}
