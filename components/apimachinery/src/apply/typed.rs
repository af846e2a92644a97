//! The schema view server-side apply walks objects with: for every position, whether the value
//! there is a scalar, a list (atomic, a set, or a map keyed by some fields) or a map (a struct
//! with declared fields or a map of one element type; granular or atomic).
//!
//! Structure comes from the OpenAPI schemas (the built-in definitions of [`crate::schema`] or a
//! custom resource's schema). The k8s-openapi schemas carry no `x-kubernetes-list-type` &co, so
//! for the built-in types the Go markers are read from [`super::go_types`] (generated from
//! k8s.io/api 1.33), and a list without a marker falls back to its strategic-merge tags from
//! [`crate::patch::field_patch_meta`] (`merge` with a key: a map keyed by it; `merge` without
//! one: a set), as kube's openapi models do. Schemas that say nothing make the type "deduced"
//! from the value: maps are granular, lists atomic.
//!
//! The same Go facts drive [`normalize`]: kube-apiserver compares objects after a round trip
//! through its Go structs, where non-pointer structs are always written (`{}`), fields without
//! `omitempty` are always written (`null`, `""`, `0`) and zero `omitempty` scalars, empty
//! `omitempty` slices and maps and null pointers disappear. Which fields exist in "the empty
//! object" decides whether a parent shows up as `.` in fieldsV1.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::go_types::GO_TYPES;
use crate::patch::{FieldPatchMeta, PatchStrategy, field_patch_meta};
use crate::schema;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// What the Go types say about one field.
#[derive(Debug, Default)]
pub(crate) struct GoField {
    /// Non-pointer struct: always written, as an object.
    is_struct: bool,
    /// Written even when zero (no `omitempty`): the zero value.
    always: Option<Value>,
    /// `omitempty` non-pointer scalar: dropped when equal to this.
    omit_zero: Option<Value>,
    list_type: Option<String>,
    list_keys: Vec<String>,
    map_type: Option<String>,
    struct_type: Option<String>,
    /// `+default=` literal.
    default: Option<Value>,
}

#[derive(Debug, Default)]
pub(crate) struct GoType {
    struct_type: Option<String>,
    map_type: Option<String>,
    fields: HashMap<&'static str, GoField>,
}

fn go_types() -> &'static HashMap<&'static str, GoType> {
    static TYPES: OnceLock<HashMap<&'static str, GoType>> = OnceLock::new();
    TYPES.get_or_init(|| {
        GO_TYPES
            .iter()
            .map(|(name, type_markers, fields)| {
                let mut t = GoType::default();
                for tok in type_markers.split_whitespace() {
                    match tok.split_once('=') {
                        Some(("st", v)) => t.struct_type = Some(v.to_string()),
                        Some(("mt", v)) => t.map_type = Some(v.to_string()),
                        _ => {}
                    }
                }
                for (field, facts) in fields.iter() {
                    t.fields.insert(field, parse_facts(facts));
                }
                (*name, t)
            })
            .collect()
    })
}

fn parse_facts(facts: &str) -> GoField {
    let mut f = GoField::default();
    let literal = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    for (i, tok) in facts.split_whitespace().enumerate() {
        if i == 0 {
            f.is_struct = tok == "s";
            continue;
        }
        match tok.split_once('=') {
            Some(("n", v)) => f.always = Some(literal(v)),
            Some(("z", v)) => f.omit_zero = Some(literal(v)),
            Some(("lt", v)) => f.list_type = Some(v.to_string()),
            Some(("lk", v)) => f.list_keys = v.split(',').map(str::to_string).collect(),
            Some(("mt", v)) => f.map_type = Some(v.to_string()),
            Some(("st", v)) => f.struct_type = Some(v.to_string()),
            Some(("d", v)) => f.default = Some(literal(v)),
            _ => {}
        }
    }
    f
}

fn go_field(def: Option<&str>, field: &str) -> Option<&'static GoField> {
    go_types().get(def?)?.fields.get(field)
}

/// How the items of a list are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListRel {
    /// Replaced as a whole.
    Atomic,
    /// Scalars, each item its own key.
    Set,
    /// Maps, identified by these fields.
    Map(Vec<String>),
}

/// What kind of value a position holds.
#[derive(Debug, Clone)]
pub(crate) enum Atom<'t> {
    Scalar,
    List {
        elem: Ty<'t>,
        rel: ListRel,
    },
    /// A struct or a map; `atomic` ones are replaced as a whole.
    Map {
        atomic: bool,
    },
}

/// A position in the type tree.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ty<'t> {
    /// The property schema as written (extensions may sit beside a `$ref`).
    raw: Option<&'t Value>,
    /// The schema with `$ref` followed; `None` when deduced from the value.
    schema: Option<&'t Value>,
    /// The definition name of `schema`, when it is a named built-in definition.
    def: Option<&'t str>,
    /// Go facts of the field this position was reached through.
    go: Option<&'static GoField>,
    /// Strategic-merge tags of that field.
    patch: Option<FieldPatchMeta>,
    /// The root of a custom resource schema, whose `metadata` is ObjectMeta whatever the
    /// schema says.
    custom_root: bool,
}

fn resolve(s: &Value) -> (&Value, Option<&str>) {
    match schema::ref_name(s).and_then(|n| schema::definitions().get_key_value(n)) {
        Some((name, d)) => (d, Some(name.as_str())),
        None => (s, None),
    }
}

fn ext<'a>(ty: &Ty<'a>, key: &str) -> Option<&'a Value> {
    ty.raw
        .and_then(|r| r.get(key))
        .or_else(|| ty.schema.and_then(|s| s.get(key)))
}

impl<'t> Ty<'t> {
    /// The type of a built-in resource by its definition name (e.g.
    /// `io.k8s.api.apps.v1.Deployment`); deduced when unknown.
    pub fn builtin(definition: &str) -> Ty<'static> {
        match schema::definitions().get_key_value(definition) {
            Some((name, s)) => Ty {
                raw: Some(s),
                schema: Some(s),
                def: Some(name.as_str()),
                ..Ty::default()
            },
            None => Ty::default(),
        }
    }

    /// The type described by an OpenAPI v3 schema (a custom resource's `openAPIV3Schema`),
    /// using its `x-kubernetes-*` extensions.
    pub fn from_schema(s: &'t Value) -> Ty<'t> {
        Ty {
            raw: Some(s),
            schema: Some(s),
            custom_root: true,
            ..Ty::default()
        }
    }

    /// A type known only from values.
    pub fn deduced() -> Ty<'t> {
        Ty::default()
    }

    fn of(raw: &'t Value) -> Ty<'t> {
        let (schema, def) = resolve(raw);
        Ty {
            raw: Some(raw),
            schema: Some(schema),
            def,
            ..Ty::default()
        }
    }

    fn properties(&self) -> Option<&'t Map<String, Value>> {
        self.schema?.get("properties")?.as_object()
    }

    /// Whether `name` is a declared field of this struct.
    pub(crate) fn declares(&self, name: &str) -> bool {
        (self.custom_root && name == "metadata")
            || self.properties().is_some_and(|p| p.contains_key(name))
    }

    /// The type of field (or map key) `name`.
    pub(crate) fn child(&self, name: &str) -> Ty<'t> {
        if self.custom_root && name == "metadata" {
            return Ty::builtin(OBJECT_META);
        }
        if let Some(def) = self.def
            && let Some(known) = builtin_children().get(def)
        {
            return match known.fields.get(name) {
                Some(t) => *t,
                None => known.elem.unwrap_or_default(),
            };
        }
        self.child_uncached(name)
    }

    fn child_uncached(&self, name: &str) -> Ty<'t> {
        let Some(s) = self.schema else {
            return Ty::default();
        };
        if let Some(prop) = self.properties().and_then(|p| p.get(name)) {
            let mut t = Ty::of(prop);
            t.go = go_field(self.def, name);
            t.patch = self.def.and_then(|d| field_patch_meta(d, name));
            return t;
        }
        match s.get("additionalProperties") {
            Some(ap @ Value::Object(_)) => Ty::of(ap),
            _ => Ty::default(),
        }
    }

    /// The type of list items.
    pub(crate) fn items(&self) -> Ty<'t> {
        match self.schema.and_then(|s| s.get("items")) {
            Some(items @ Value::Object(_)) => Ty::of(items),
            _ => Ty::default(),
        }
    }

    /// The default of key field `name` of this (list element) struct.
    pub(crate) fn key_default(&self, name: &str) -> Option<Value> {
        if let Some(d) = go_field(self.def, name).and_then(|f| f.default.clone()) {
            return Some(d);
        }
        self.properties()?.get(name)?.get("default").cloned()
    }

    fn is_scalar_schema(s: &Value) -> bool {
        s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true)
            || matches!(
                s.get("type").and_then(Value::as_str),
                Some("string" | "integer" | "number" | "boolean")
            )
    }

    fn is_list_schema(s: &Value) -> bool {
        s.get("type").and_then(Value::as_str) == Some("array") || s.get("items").is_some()
    }

    fn is_map_schema(s: &Value) -> bool {
        s.get("properties").is_some() || s.get("additionalProperties").is_some_and(Value::is_object)
    }

    /// The atom for this position, given the value found there (which decides deduced types).
    pub(crate) fn atom(&self, value: Option<&Value>) -> Atom<'t> {
        let by_value = |v: Option<&Value>| match v {
            Some(Value::Object(_)) => Atom::Map { atomic: false },
            Some(Value::Array(_)) => Atom::List {
                elem: Ty::default(),
                rel: ListRel::Atomic,
            },
            Some(Value::Null) | None => Atom::Map { atomic: false },
            _ => Atom::Scalar,
        };
        let Some(s) = self.schema else {
            return by_value(value);
        };
        if Ty::is_scalar_schema(s) {
            return Atom::Scalar;
        }
        if Ty::is_list_schema(s) {
            return match value {
                Some(Value::Object(_)) => Atom::Scalar,
                _ => Atom::List {
                    elem: self.items(),
                    rel: self.list_rel(),
                },
            };
        }
        if Ty::is_map_schema(s) {
            return match value {
                Some(Value::Array(_)) => Atom::Scalar,
                Some(v) if !v.is_object() && !v.is_null() => Atom::Scalar,
                _ => Atom::Map {
                    atomic: self.map_atomic(),
                },
            };
        }
        by_value(value)
    }

    fn list_rel(&self) -> ListRel {
        if let Some(t) = ext(self, "x-kubernetes-list-type").and_then(Value::as_str) {
            return match t {
                "set" => ListRel::Set,
                "map" => ListRel::Map(
                    ext(self, "x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|k| {
                            k.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => ListRel::Atomic,
            };
        }
        if let Some(go) = self.go
            && let Some(t) = go.list_type.as_deref()
        {
            return match t {
                "set" => ListRel::Set,
                "map" => ListRel::Map(go.list_keys.clone()),
                _ => ListRel::Atomic,
            };
        }
        let (merge, key) = match self.patch {
            Some(p) => (
                p.strategy == PatchStrategy::Merge,
                p.merge_key.map(str::to_string),
            ),
            None => {
                let strategy = ext(self, "x-kubernetes-patch-strategy")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                (
                    strategy.split(',').any(|s| s == "merge"),
                    ext(self, "x-kubernetes-patch-merge-key")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                )
            }
        };
        match (merge, key) {
            (true, Some(k)) => ListRel::Map(vec![k]),
            (true, None) => ListRel::Set,
            _ => ListRel::Atomic,
        }
    }

    fn map_atomic(&self) -> bool {
        let word = |v: Option<&str>| v.map(|t| t == "atomic");
        if let Some(a) = word(ext(self, "x-kubernetes-map-type").and_then(Value::as_str)) {
            return a;
        }
        if let Some(go) = self.go
            && let Some(a) = word(go.struct_type.as_deref()).or(word(go.map_type.as_deref()))
        {
            return a;
        }
        if let Some(t) = self.def.and_then(|d| go_types().get(d)) {
            return word(t.struct_type.as_deref())
                .or(word(t.map_type.as_deref()))
                .unwrap_or(false);
        }
        false
    }

    /// Whether values here are an `omitempty` slice or map without Go facts (so an empty one is
    /// dropped by a Go round trip).
    fn is_collection(&self) -> bool {
        match self.schema {
            Some(s) => {
                Ty::is_list_schema(s)
                    || (s.get("properties").is_none()
                        && s.get("additionalProperties").is_some_and(Value::is_object))
            }
            None => false,
        }
    }
}

/// The children of every built-in definition, resolved once: walks look fields up here rather
/// than through the schema, the Go facts and the strategic-merge tags each time.
struct Children {
    fields: HashMap<&'static str, Ty<'static>>,
    /// The `additionalProperties` type.
    elem: Option<Ty<'static>>,
}

fn builtin_children() -> &'static HashMap<&'static str, Children> {
    static CHILDREN: OnceLock<HashMap<&'static str, Children>> = OnceLock::new();
    CHILDREN.get_or_init(|| {
        schema::definitions()
            .iter()
            .map(|(name, s)| {
                let ty = Ty {
                    raw: Some(s),
                    schema: Some(s),
                    def: Some(name.as_str()),
                    ..Ty::default()
                };
                let fields = s
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|props| {
                        props
                            .keys()
                            .map(|k| (k.as_str(), ty.child_uncached(k)))
                            .collect()
                    })
                    .unwrap_or_default();
                let elem = match s.get("additionalProperties") {
                    Some(ap @ Value::Object(_)) => Some(Ty::of(ap)),
                    _ => None,
                };
                (name.as_str(), Children { fields, elem })
            })
            .collect()
    })
}

/// The value as kube-apiserver holds it after decoding into its Go struct and encoding it back
/// (see the module docs), without `metadata.managedFields`. Identity for types without Go facts
/// (custom resources) but for their metadata.
pub fn normalize(ty: &Ty<'_>, v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let Some(go_type) = ty.def.and_then(|d| go_types().get(d)) else {
                if ty.schema.is_some_and(|s| s.get("properties").is_none()) {
                    // a map: values are typed by the element
                    let elem = ty.child("");
                    return Value::Object(
                        m.iter()
                            .map(|(k, x)| (k.clone(), normalize(&elem, x)))
                            .collect(),
                    );
                }
                return v.clone();
            };
            let mut out = Map::new();
            for (k, x) in m {
                if k == "managedFields" && ty.def == Some(OBJECT_META) {
                    // never part of what is owned or compared
                    continue;
                }
                let child = ty.child(k);
                let facts = go_type.fields.get(k.as_str());
                let always = facts.is_some_and(|f| f.is_struct || f.always.is_some());
                if x.is_null() {
                    if always {
                        out.insert(k.clone(), zero_of(&child, facts));
                    }
                    continue;
                }
                if let Some(z) = facts.and_then(|f| f.omit_zero.as_ref())
                    && x == z
                {
                    continue;
                }
                if !always && ty.declares(k) {
                    let empty = matches!(x, Value::Array(a) if a.is_empty())
                        || matches!(x, Value::Object(o) if o.is_empty());
                    if empty && child.is_collection() {
                        continue;
                    }
                }
                out.insert(k.clone(), normalize(&child, x));
            }
            for (k, f) in &go_type.fields {
                if (f.is_struct || f.always.is_some()) && !out.contains_key(*k) {
                    out.insert((*k).to_string(), zero_of(&ty.child(k), Some(f)));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let elem = ty.items();
            Value::Array(a.iter().map(|x| normalize(&elem, x)).collect())
        }
        other => other.clone(),
    }
}

fn zero_of(ty: &Ty<'_>, facts: Option<&GoField>) -> Value {
    match facts {
        Some(f) if f.is_struct => normalize(ty, &Value::Object(Map::new())),
        Some(f) => f.always.clone().unwrap_or(Value::Null),
        None => Value::Null,
    }
}

/// The empty object of a type as Go writes it (`status: {}`, `creationTimestamp: null`, ...).
pub fn zero_object(ty: &Ty<'_>) -> Value {
    normalize(ty, &Value::Object(Map::new()))
}
