//! Shared pieces of the validators: field paths in kube's notation, tolerant JSON accessors,
//! Go `%#v` renderings that kube puts in messages, and an error collector with the checks every
//! kind reuses (enums, non-negative numbers, names, label maps).

use serde_json::{Map, Value};

use super::names;
use crate::error::{FieldError, FieldErrorKind};

/// `parent.child` (or `child` at the root).
pub fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[i]`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// `parent[key]` (field.Path.Key: the key unquoted).
pub fn key(parent: &str, k: &str) -> String {
    format!("{parent}[{k}]")
}

/// A member that is present and not null.
pub fn get<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.get(k).filter(|x| !x.is_null())
}

pub fn str_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// The string member, or "" (Go's zero value).
pub fn string_or_empty<'a>(v: &'a Value, k: &str) -> &'a str {
    str_of(v, k).unwrap_or("")
}

pub fn int_of(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

pub fn bool_of(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// The array member, or an empty slice.
pub fn items<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub fn map_of<'a>(v: &'a Value, k: &str) -> Option<&'a Map<String, Value>> {
    v.get(k).and_then(Value::as_object)
}

/// How many entries a map/array member has (0 when absent).
pub fn len_of(v: &Value, k: &str) -> usize {
    match v.get(k) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

pub(crate) use crate::selector::go_quote;

/// `%#v` of a map[string]string: keys sorted, `map[string]string(nil)` when absent.
pub fn go_string_map(v: Option<&Value>) -> String {
    let Some(m) = v.and_then(Value::as_object) else {
        return "map[string]string(nil)".into();
    };
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v.as_str().unwrap_or(""))))
        .collect();
    format!("map[string]string{{{}}}", body.join(", "))
}

/// `%#v` of a []string.
pub fn go_string_slice(v: Option<&Value>) -> String {
    let Some(a) = v.and_then(Value::as_array) else {
        return "[]string(nil)".into();
    };
    let body: Vec<String> = a
        .iter()
        .map(|s| go_quote(s.as_str().unwrap_or("")))
        .collect();
    format!("[]string{{{}}}", body.join(", "))
}

/// `%#v` of a metav1.LabelSelector, as in `spec.selector: Invalid value: v1.LabelSelector{…}`.
pub fn go_label_selector(v: Option<&Value>) -> String {
    let v = v.unwrap_or(&Value::Null);
    let exprs = match v.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let body: Vec<String> = list
                .iter()
                .map(|r| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(string_or_empty(r, "key")),
                        go_quote(string_or_empty(r, "operator")),
                        go_string_slice(r.get("values"))
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", body.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_string_map(v.get("matchLabels"))
    )
}

/// Whether a LabelSelector (JSON) selects `labels`; an absent selector selects nothing.
pub fn selector_matches(selector: &Value, labels: Option<&Map<String, Value>>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let labels_ok = map_of(selector, "matchLabels")
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    labels_ok
        && items(selector, "matchExpressions").iter().all(|r| {
            let have = label(string_or_empty(r, "key"));
            let mut values = items(r, "values").iter().filter_map(Value::as_str);
            match string_or_empty(r, "operator") {
                "In" => have.is_some_and(|h| values.any(|v| v == h)),
                "NotIn" => have.is_none_or(|h| !values.any(|v| v == h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            }
        })
}

/// Whether a selector has no requirements at all.
pub fn selector_is_empty(selector: &Value) -> bool {
    len_of(selector, "matchLabels") + len_of(selector, "matchExpressions") == 0
}

/// Collects field errors; the checks shared by every kind live here.
#[derive(Debug, Default)]
pub struct Errs {
    pub list: Vec<FieldError>,
}

impl Errs {
    pub fn push(&mut self, e: FieldError) {
        self.list.push(e);
    }

    pub fn required(&mut self, path: impl Into<String>, detail: &str) {
        self.push(FieldError::required(path, detail));
    }

    pub fn forbidden(&mut self, path: impl Into<String>, detail: &str) {
        self.push(FieldError::forbidden(path, detail));
    }

    pub fn invalid(&mut self, path: impl Into<String>, value: Value, detail: impl Into<String>) {
        self.push(FieldError::invalid(path, value, detail));
    }

    /// An Invalid error whose value kube prints with `%#v` (Go syntax, unquoted).
    pub fn invalid_go(&mut self, path: impl Into<String>, go_value: &str, detail: &str) {
        self.push(FieldError::new(
            FieldErrorKind::Invalid,
            path,
            None,
            format!("{go_value}: {detail}"),
        ));
    }

    pub fn duplicate(&mut self, path: impl Into<String>, value: Value) {
        self.push(FieldError::duplicate(path, value));
    }

    pub fn not_supported(&mut self, path: impl Into<String>, value: &str, allowed: &[&str]) {
        self.push(FieldError::not_supported(path, Value::from(value), allowed));
    }

    /// One Invalid error per message (kube's `for _, msg := range IsX(v)` loops).
    pub fn messages(&mut self, path: &str, value: &str, msgs: Vec<String>) {
        for m in msgs {
            self.invalid(path, Value::from(value), m);
        }
    }

    /// A string field restricted to `allowed`; absent is fine unless `required`.
    pub fn one_of(
        &mut self,
        obj: &Value,
        parent: &str,
        field: &str,
        allowed: &[&str],
        required: bool,
    ) {
        match obj.get(field).and_then(Value::as_str) {
            Some(v) if !allowed.contains(&v) => {
                self.not_supported(child(parent, field), v, allowed)
            }
            None if required => self.required(child(parent, field), ""),
            _ => {}
        }
    }

    /// Integers that must be >= 0 (ValidateNonnegativeField).
    pub fn nonnegative(&mut self, obj: &Value, parent: &str, fields: &[&str]) {
        for f in fields {
            if let Some(n) = int_of(obj, f).filter(|n| *n < 0) {
                self.invalid(
                    child(parent, f),
                    n.into(),
                    "must be greater than or equal to 0",
                );
            }
        }
    }

    /// Integers that must be > 0 when set.
    pub fn positive(&mut self, obj: &Value, parent: &str, fields: &[&str]) {
        for f in fields {
            if let Some(n) = int_of(obj, f).filter(|n| *n <= 0) {
                self.invalid(child(parent, f), n.into(), "must be greater than 0");
            }
        }
    }

    /// A required string field checked by a format validator.
    pub fn name_field(
        &mut self,
        obj: &Value,
        parent: &str,
        field: &str,
        required: bool,
        check: fn(&str) -> Vec<String>,
    ) {
        let path = child(parent, field);
        match str_of(obj, field).filter(|s| !s.is_empty()) {
            Some(v) => self.messages(&path, v, check(v)),
            None if required => self.required(path, ""),
            None => {}
        }
    }

    /// ValidateLabels: qualified-name keys and label values, errors on the map's path.
    pub fn labels(&mut self, map: Option<&Value>, path: &str) {
        let Some(m) = map.and_then(Value::as_object) else {
            return;
        };
        for (k, v) in m {
            self.messages(path, k, names::qualified_name(k));
            let v = v.as_str().unwrap_or("");
            self.messages(path, v, names::label_value(v));
        }
    }

    /// ValidateLabelSelector.
    pub fn label_selector(&mut self, sel: &Value, path: &str) {
        for (i, r) in items(sel, "matchExpressions").iter().enumerate() {
            let rp = index(&child(path, "matchExpressions"), i);
            let n = len_of(r, "values");
            match string_or_empty(r, "operator") {
                "In" | "NotIn" if n == 0 => self.required(
                    child(&rp, "values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ),
                "Exists" | "DoesNotExist" if n > 0 => self.forbidden(
                    child(&rp, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ),
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                op => self.invalid(
                    child(&rp, "operator"),
                    op.into(),
                    "not a valid selector operator",
                ),
            }
            let k = string_or_empty(r, "key");
            self.messages(&child(&rp, "key"), k, names::qualified_name(k));
        }
        self.labels(sel.get("matchLabels"), &child(path, "matchLabels"));
    }

    /// ValidateImmutableField for a JSON member: `field is immutable` with the new value.
    pub fn immutable(&mut self, new: &Value, old: &Value, parent: &str, field: &str) {
        let (n, o) = (get(new, field), get(old, field));
        if n != o {
            self.invalid(
                child(parent, field),
                n.cloned().unwrap_or(Value::Null),
                "field is immutable",
            );
        }
    }
}
