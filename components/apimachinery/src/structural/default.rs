//! Defaulting from structural schemas (structuraldefaulting.Default) and the removal of `null`
//! values of non-nullable fields without defaults (PruneNonNullableNullsWithoutDefaults), both
//! as kube-apiserver applies them when decoding a custom resource from a request or storage.

use serde_json::Value;

use super::Schema;

fn non_nullable_null(v: &Value, s: Option<&Schema>) -> bool {
    v.is_null() && s.is_some_and(|s| !s.nullable)
}

/// Sets the schema's defaults on absent fields (and on `null`s of non-nullable ones), top down.
pub fn apply_defaults(schema: &Schema, x: &mut Value) {
    match x {
        Value::Object(map) => {
            for (k, prop) in &schema.properties {
                let Some(default) = &prop.default else {
                    continue;
                };
                let missing = match map.get(k) {
                    None => true,
                    Some(v) => non_nullable_null(v, Some(prop)),
                };
                if missing {
                    map.insert(k.clone(), default.clone());
                }
            }
            for (k, v) in map.iter_mut() {
                if let Some(prop) = schema.properties.get(k) {
                    apply_defaults(prop, v);
                } else if let Some(extra) = schema.additional_properties.as_deref() {
                    if non_nullable_null(v, Some(extra)) {
                        *v = extra.default.clone().unwrap_or(Value::Null);
                    }
                    apply_defaults(extra, v);
                }
            }
        }
        Value::Array(list) => {
            let Some(items) = schema.items.as_deref() else {
                return;
            };
            for v in list.iter_mut() {
                if non_nullable_null(v, Some(items)) {
                    *v = items.default.clone().unwrap_or(Value::Null);
                }
                apply_defaults(items, v);
            }
        }
        _ => {}
    }
}

/// Drops object members that are `null` where the schema neither allows `null` nor has a
/// default.
pub fn prune_non_nullable_nulls(schema: &Schema, x: &mut Value) {
    match x {
        Value::Object(map) => {
            map.retain(|k, v| match schema.properties.get(k) {
                Some(p) => !(v.is_null() && !p.nullable && p.default.is_none()),
                None => true,
            });
            for (k, v) in map.iter_mut() {
                if let Some(p) = schema.properties.get(k) {
                    prune_non_nullable_nulls(p, v);
                }
            }
        }
        Value::Array(list) => {
            if let Some(items) = schema.items.as_deref() {
                for v in list.iter_mut() {
                    prune_non_nullable_nulls(items, v);
                }
            }
        }
        _ => {}
    }
}
