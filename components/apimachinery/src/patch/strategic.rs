//! Strategic merge patch with the semantics of k8s.io/apimachinery/pkg/util/strategicpatch as the
//! API server applies it: merge-keyed lists, primitive sets, `$patch`, `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` directives; null deletes.

use serde_json::{Map, Value};

use super::meta::{PatchStrategy, Ty};
use super::{PatchError, go_fmt, go_fmt_list, go_type};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const LIST: &str = "[]interface {}";

/// Applies a strategic merge patch to `doc`, an object of OpenAPI type `definition`
/// (e.g. `io.k8s.api.apps.v1.Deployment`). Unknown definitions and fields merge like JSON merge
/// patch (maps merge, lists replace), still honouring directives.
pub fn strategic_merge_patch(
    doc: &Value,
    patch: &Value,
    definition: &str,
) -> Result<Value, PatchError> {
    let patch = match patch {
        Value::Object(p) => p,
        // Go decodes `null` into an empty patch map
        Value::Null => return Ok(doc.clone()),
        other => return Err(PatchError::NotAnObject(json_kind(other))),
    };
    let Value::Object(doc) = doc else {
        return Err(PatchError::BadJsonDoc);
    };
    let merged = merge_map(doc.clone(), patch.clone(), Ty::root(definition))?;
    Ok(Value::Object(merged.unwrap_or_default()))
}

/// Merges `patch` into `original`; `None` means the patch deleted the map (`$patch: delete`).
fn merge_map(mut original: Map<String, Value>, mut patch: Map<String, Value>, ty: Ty) -> MapResult {
    if let Some(directive) = patch.get(DIRECTIVE) {
        match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                return Ok(Some(clean_map(patch)));
            }
            Some("delete") => return Ok(None),
            Some("merge") => {
                patch.remove(DIRECTIVE);
            }
            _ => return Err(bad_patch_type(directive, &patch)),
        }
    }
    retain_keys(&mut original, &mut patch)?;
    set_element_order(&mut original, &mut patch, ty)?;

    for (key, patch_value) in patch {
        let (key, delete_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            Some(rest) => match rest.strip_prefix('/') {
                Some(field) => (field.to_string(), true),
                None => return Err(PatchError::BadPrimitiveListFormat),
            },
            None => (key, false),
        };
        let Some(orig_value) = original.remove(&key) else {
            if !delete_list
                && !patch_value.is_null()
                && let Some(v) = clean(patch_value)
            {
                original.insert(key, v);
            }
            continue;
        };
        if patch_value.is_null() {
            continue; // null deletes the field
        }
        let merged = match (orig_value, patch_value) {
            (Value::Array(o), Value::Array(p)) => {
                let (sub, meta) = ty.field(&key);
                if meta.strategy == PatchStrategy::Merge || delete_list {
                    let list = merge_list(o, p, sub.items(), meta.merge_key, delete_list)?;
                    Some(Value::Array(list))
                } else {
                    clean(Value::Array(p))
                }
            }
            // a delete list only applies to a list
            (o, _) if delete_list => Some(o),
            (Value::Object(o), Value::Object(p)) => {
                let (sub, meta) = ty.field(&key);
                if meta.strategy == PatchStrategy::Replace {
                    Some(Value::Object(clean_map(p)))
                } else {
                    merge_map(o, p, sub)?.map(Value::Object)
                }
            }
            (_, p) => clean(p),
        };
        if let Some(v) = merged {
            original.insert(key, v);
        }
    }
    Ok(Some(original))
}

type MapResult = Result<Option<Map<String, Value>>, PatchError>;

/// `$retainKeys`: validates the patch against the list and clears the other keys of `original`.
fn retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(keys) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(keys) = keys else {
        return Err(PatchError::BadRetainKeysFormat);
    };
    let retained = |k: &str| keys.iter().any(|v| v.as_str() == Some(k));
    let all_listed = patch.iter().all(|(k, v)| {
        v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
            || retained(k)
    });
    if !all_listed {
        return Err(PatchError::BadRetainKeysFormat);
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// `$setElementOrder/<list>`: merges the list with its patch (if any) and orders the result
/// by the directive; elements the directive does not name keep their relative order.
fn set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    ty: Ty,
) -> Result<(), PatchError> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in directives {
        let Some(order) = patch.remove(&directive) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type(LIST, &order));
        };
        let field = directive.strip_prefix(SET_ELEMENT_ORDER);
        let Some(field) = field.and_then(|f| f.strip_prefix('/')) else {
            return Err(PatchError::BadSetElementOrderFormat);
        };
        let list = |m: &Map<String, Value>| match m.get(field) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(other) => Err(bad_arg_type(LIST, other)),
        };
        let (orig_list, patch_list) = (list(original)?, list(patch)?);
        let (sub, meta) = ty.field(field);
        let key = meta.merge_key;
        validate_order(patch_list.as_deref().unwrap_or_default(), &order, key)?;
        let merged = match (orig_list.clone(), patch_list) {
            (None, None) => continue,
            (Some(o), None) => o,
            (None, Some(p)) => clean_list(p),
            (Some(o), Some(p)) if meta.strategy == PatchStrategy::Merge => {
                merge_list(o, p, sub.items(), key, false)?
            }
            (Some(_), Some(p)) => clean_list(p),
        };
        patch.remove(field);
        let ordered = order_list(
            merged,
            &order,
            orig_list.as_deref().unwrap_or_default(),
            key,
        )?;
        original.insert(field.to_string(), Value::Array(ordered));
    }
    Ok(())
}

/// Checks that the patch list names its elements in the order `$setElementOrder` gives.
fn validate_order(patch: &[Value], order: &[Value], key: Option<&str>) -> Result<(), PatchError> {
    if patch.is_empty() || order.is_empty() {
        return Ok(());
    }
    let mut items = Vec::with_capacity(patch.len());
    for p in patch {
        match (key, p) {
            (Some(_), Value::Object(m)) if is_delete(m) => {}
            (Some(_), Value::Object(_)) | (None, _) => items.push(p),
            (Some(_), other) => return Err(bad_arg_type("map[string]interface {}", other)),
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < items.len() && j < order.len() {
        if items[i].get(DIRECTIVE).is_some() {
            i += 1;
            continue;
        }
        if key_equal(items[i], &order[j], key)? {
            i += 1;
        }
        j += 1;
    }
    if i < items.len() {
        return Err(PatchError::SetElementOrderMismatch {
            patch: go_fmt_list(patch),
            order: go_fmt_list(order),
        });
    }
    Ok(())
}

fn key_equal(a: &Value, b: &Value, key: Option<&str>) -> Result<bool, PatchError> {
    let Some(key) = key else {
        return Ok(json_eq(a, b));
    };
    Ok(json_eq(merge_key_of(a, key)?, merge_key_of(b, key)?))
}

fn merge_key_of<'a>(v: &'a Value, key: &str) -> Result<&'a Value, PatchError> {
    match v {
        Value::Object(m) => m.get(key).ok_or_else(|| no_merge_key(v, key)),
        other => Err(bad_arg_type("map[string]interface {}", other)),
    }
}

/// Merges two lists of a field with strategy `merge` (or applies a delete list).
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: Ty,
    key: Option<&str>,
    delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&original, &patch)?;
    if kind != "object" {
        if delete_list {
            let keep = |v: &Value| !patch.iter().any(|p| json_eq(p, v));
            return Ok(original.into_iter().filter(keep).collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(&patch) {
            if !merged.iter().any(|m| json_eq(m, v)) {
                merged.push(v.clone());
            }
        }
        return order_list(merged, &patch, &original, None);
    }
    let Some(key) = key else {
        return Err(PatchError::NoMergeKeyDeclared(items.name().to_string()));
    };
    let mut original = original;
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for p in patch {
        let Value::Object(m) = p else { continue }; // element_kind: all are objects
        let Some(directive) = m.get(DIRECTIVE) else {
            plain.push(Value::Object(m));
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(value) = m.get(key) else {
                    return Err(no_merge_key(&Value::Object(m), key));
                };
                original.retain(|o| !o.get(key).is_some_and(|v| json_eq(v, value)));
            }
            Some("replace") => replace = true,
            Some("merge") => return Err(PatchError::MergeListDirective),
            _ => return Err(bad_patch_type(directive, &m)),
        }
    }
    if replace {
        return Ok(clean_list(plain));
    }
    let mut merged = original.clone();
    for p in &plain {
        let value = merge_key_of(p, key)?;
        let found = merged
            .iter()
            .position(|o| o.get(key).is_some_and(|v| json_eq(v, value)));
        match (found, p) {
            (Some(i), Value::Object(pm)) => {
                if let Value::Object(om) = std::mem::take(&mut merged[i]) {
                    let m = merge_map(om, pm.clone(), items)?.unwrap_or_default();
                    merged[i] = Value::Object(m);
                }
            }
            _ => merged.extend(clean(p.clone())),
        }
    }
    order_list(merged, &plain, &original, Some(key))
}

/// The common JSON kind of the elements of both lists.
fn element_kind(a: &[Value], b: &[Value]) -> Result<&'static str, PatchError> {
    let mut kind = None;
    for v in a.iter().chain(b) {
        let k = json_kind(v);
        match kind {
            None if k == "array" => return Err(PatchError::ListOfLists),
            None => kind = Some(k),
            Some(prev) if prev != k => {
                let both = format!("[{} {}]", go_fmt_list(a), go_fmt_list(b));
                return Err(PatchError::MixedListTypes(both));
            }
            Some(_) => {}
        }
    }
    Ok(kind.unwrap_or("null"))
}

/// Orders a merged list: elements named by `order` (the patch list or `$setElementOrder`) in
/// that order, the others in their `server` (original) order, interleaved where the original
/// order relates them; unrelated patch elements come first, as kube does.
fn order_list(
    merged: Vec<Value>,
    order: &[Value],
    server: &[Value],
    key: Option<&str>,
) -> Result<Vec<Value>, PatchError> {
    if let Some(k) = key {
        for v in merged.iter().chain(order) {
            merge_key_of(v, k)?;
        }
    }
    let pos = |list: &[Value], v: &Value| position(list, v, key);
    let (mut from_patch, mut server_only): (Vec<Value>, Vec<Value>) =
        merged.into_iter().partition(|v| pos(order, v).is_some());
    from_patch.sort_by_cached_key(|v| pos(order, v).unwrap_or(usize::MAX));
    server_only.sort_by_cached_key(|v| pos(server, v).unwrap_or(usize::MAX));

    let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = from_patch.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => {
                matches!((pos(server, l), pos(server, r)), (Some(a), Some(b)) if a < b)
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_left { left.next() } else { right.next() });
    }
    Ok(out)
}

fn ident<'a>(v: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(k) => v.get(k),
        None => Some(v),
    }
}

/// Where `v` (by merge key, or by value for primitives) is in `list`.
fn position(list: &[Value], v: &Value, key: Option<&str>) -> Option<usize> {
    let id = ident(v, key)?;
    list.iter()
        .position(|x| ident(x, key).is_some_and(|i| json_eq(i, id)))
}

/// A patch value taken as is: drops null fields, maps and elements carrying `$patch`, and
/// parallel-list directives (`None` when the value itself is a directive map).
fn clean(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) if m.contains_key(DIRECTIVE) => None,
        Value::Object(m) => Some(Value::Object(clean_map(m))),
        Value::Array(a) => Some(Value::Array(clean_list(a))),
        v => Some(v),
    }
}

fn clean_map(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, v)| !v.is_null() && !is_directive_key(k))
        .filter_map(|(k, v)| clean(v).map(|v| (k, v)))
        .collect()
}

fn clean_list(a: Vec<Value>) -> Vec<Value> {
    a.into_iter().filter_map(clean).collect()
}

fn is_directive_key(k: &str) -> bool {
    k == DIRECTIVE
        || k == RETAIN_KEYS
        || k.starts_with(SET_ELEMENT_ORDER)
        || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

fn is_delete(m: &Map<String, Value>) -> bool {
    m.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

/// Equality as Go's `==` on decoded JSON: numbers compare as float64.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

use crate::validation::fields::json_kind;

fn no_merge_key(map: &Value, key: &str) -> PatchError {
    PatchError::NoMergeKey {
        map: go_fmt(map),
        key: key.to_string(),
    }
}

fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> PatchError {
    PatchError::BadPatchType {
        directive: go_fmt(directive),
        map: go_fmt(&Value::Object(map.clone())),
    }
}

fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    PatchError::BadArgType {
        expected: expected.to_string(),
        actual: go_type(actual).to_string(),
    }
}
