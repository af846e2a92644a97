//! The typed walks of structured-merge-diff over JSON values: the field set of a value, the
//! comparison of two values, the merge of an applied configuration into a live object, and the
//! removal of a set of fields from a value.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::path::{Path, PathElement, go_quote, path_string, value_equal};
use super::set::FieldSet;
use super::typed::{Atom, ListRel, Ty};

static NULL: Value = Value::Null;

/// The path element of a list item: its key fields (map lists) or its value (sets).
pub(crate) fn item_pe(rel: &ListRel, elem: &Ty<'_>, item: &Value) -> Result<PathElement, String> {
    match rel {
        ListRel::Atomic => Err("invalid indexing of non-associative list".into()),
        ListRel::Map(keys) if !keys.is_empty() => {
            let m = match item {
                Value::Null => {
                    return Err("associative list with keys may not have a null element".into());
                }
                Value::Object(m) => m,
                _ => {
                    return Err("associative list with keys may not have non-map elements".into());
                }
            };
            let mut fields = Vec::with_capacity(keys.len());
            for k in keys {
                match m.get(k).cloned().or_else(|| elem.key_default(k)) {
                    Some(v) => fields.push((k.clone(), v)),
                    None => {
                        return Err(format!(
                            "associative list with keys has an element that omits key field {} (and doesn't have default value)",
                            go_quote(k)
                        ));
                    }
                }
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(fields))
        }
        _ => match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => {
                Err("associative list without keys has an element that's an explicit null".into())
            }
            v => Ok(PathElement::Value(v.clone())),
        },
    }
}

fn with(path: &Path, pe: PathElement) -> Path {
    let mut p = path.clone();
    p.push(pe);
    p
}

/// The set of fields a value sets (structured-merge-diff's `ToFieldSet`): every scalar, atomic
/// list or map and list item; granular maps only when empty, null, or not a declared field.
pub(crate) fn to_field_set(ty: &Ty<'_>, v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    fs_node(ty, v, &mut Vec::new(), &mut out);
    out
}

fn fs_node(ty: &Ty<'_>, v: &Value, path: &mut Path, out: &mut FieldSet) {
    match ty.atom(Some(v)) {
        Atom::Scalar => out.insert(path),
        Atom::List {
            rel: ListRel::Atomic,
            ..
        } => out.insert(path),
        Atom::List { elem, rel } => {
            let Value::Array(items) = v else { return };
            let mut seen = BTreeSet::new();
            let mut duplicates = BTreeSet::new();
            for item in items {
                if let Ok(pe) = item_pe(&rel, &elem, item)
                    && !seen.insert(pe.clone())
                    && duplicates.insert(pe.clone())
                {
                    out.insert(&with(path, pe));
                }
            }
            for item in items {
                let Ok(pe) = item_pe(&rel, &elem, item) else {
                    continue;
                };
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe);
                fs_node(&elem, item, path, out);
                out.insert(path);
                path.pop();
            }
        }
        Atom::Map { atomic: true } => out.insert(path),
        Atom::Map { atomic: false } => {
            let Value::Object(m) = v else { return };
            for (k, val) in m {
                let child = ty.child(k);
                path.push(PathElement::Field(k.clone()));
                fs_node(&child, val, path, out);
                let empty_map = matches!(val, Value::Object(o) if o.is_empty());
                if val.is_null() || empty_map || !ty.declares(k) {
                    out.insert(path);
                }
                path.pop();
            }
        }
    }
}

/// Structural errors of an applied configuration (duplicate list items, items without their
/// keys), as `path: message` lines.
pub(crate) fn validate(ty: &Ty<'_>, v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    validate_node(ty, v, &mut Vec::new(), &mut errs);
    errs
}

fn validate_node(ty: &Ty<'_>, v: &Value, path: &mut Path, errs: &mut Vec<String>) {
    let prefix = |path: &Path| {
        let p = path_string(path);
        if p.is_empty() {
            String::new()
        } else {
            format!("{p}: ")
        }
    };
    match ty.atom(Some(v)) {
        Atom::Scalar
        | Atom::List {
            rel: ListRel::Atomic,
            ..
        }
        | Atom::Map { atomic: true } => {}
        Atom::List { elem, rel } => {
            let Value::Array(items) = v else { return };
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                match item_pe(&rel, &elem, item) {
                    Err(e) => errs.push(format!("{}element {i}: {e}", prefix(path))),
                    Ok(pe) => {
                        if !seen.insert(pe.clone()) {
                            errs.push(format!("{}duplicate entries for key {pe}", prefix(path)));
                            continue;
                        }
                        path.push(pe);
                        validate_node(&elem, item, path, errs);
                        path.pop();
                    }
                }
            }
        }
        Atom::Map { atomic: false } => {
            let Value::Object(m) = v else { return };
            for (k, val) in m {
                path.push(PathElement::Field(k.clone()));
                validate_node(&ty.child(k), val, path, errs);
                path.pop();
            }
        }
    }
}

/// What changed between two values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub removed: FieldSet,
    pub modified: FieldSet,
    pub added: FieldSet,
}

impl Comparison {
    pub fn is_same(&self) -> bool {
        self.removed.is_empty() && self.modified.is_empty() && self.added.is_empty()
    }
}

/// Compares `lhs` (before) with `rhs` (after), as structured-merge-diff's `Compare`.
pub(crate) fn compare(ty: &Ty<'_>, lhs: &Value, rhs: &Value) -> Comparison {
    let mut c = Comparison::default();
    cmp_node(ty, Some(lhs), Some(rhs), &mut Vec::new(), &mut c);
    c
}

fn cmp_leaf(l: Option<&Value>, r: Option<&Value>, path: &Path, c: &mut Comparison) {
    match (l, r) {
        (None, _) => c.added.insert(path),
        (_, None) => c.removed.insert(path),
        (Some(a), Some(b)) if !value_equal(a, b) => c.modified.insert(path),
        _ => {}
    }
}

fn cmp_node(
    ty: &Ty<'_>,
    l: Option<&Value>,
    r: Option<&Value>,
    path: &mut Path,
    c: &mut Comparison,
) {
    let leaf = match ty.atom(r.or(l)) {
        Atom::Scalar => {
            cmp_leaf(l, r, path, c);
            true
        }
        Atom::List { elem, rel } => {
            let la = l.and_then(Value::as_array);
            let ra = r.and_then(Value::as_array);
            let empty = la.is_none_or(Vec::is_empty) && ra.is_none_or(Vec::is_empty);
            if rel == ListRel::Atomic || empty {
                cmp_leaf(l, r, path, c);
                true
            } else {
                cmp_list(&elem, &rel, la, ra, path, c);
                false
            }
        }
        Atom::Map { atomic } => {
            let lm = l.and_then(Value::as_object);
            let rm = r.and_then(Value::as_object);
            let empty = lm.is_none_or(Map::is_empty) && rm.is_none_or(Map::is_empty);
            if atomic || empty {
                cmp_leaf(l, r, path, c);
                true
            } else {
                let mut keys: BTreeSet<&String> = BTreeSet::new();
                keys.extend(lm.into_iter().flat_map(Map::keys));
                keys.extend(rm.into_iter().flat_map(Map::keys));
                for k in keys {
                    path.push(PathElement::Field(k.clone()));
                    cmp_node(
                        &ty.child(k),
                        lm.and_then(|m| m.get(k)),
                        rm.and_then(|m| m.get(k)),
                        path,
                        c,
                    );
                    path.pop();
                }
                false
            }
        }
    };
    if !leaf {
        if l.is_none() {
            c.added.insert(path);
        } else if r.is_none() {
            c.removed.insert(path);
        }
    }
}

type Indexed<'v> = (Vec<PathElement>, BTreeMap<PathElement, Vec<&'v Value>>);

fn index_items<'v>(rel: &ListRel, elem: &Ty<'_>, items: Option<&'v Vec<Value>>) -> Indexed<'v> {
    let mut order = Vec::new();
    let mut by_pe: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
    for item in items.into_iter().flatten() {
        let Ok(pe) = item_pe(rel, elem, item) else {
            continue;
        };
        let entry = by_pe.entry(pe.clone()).or_default();
        if entry.is_empty() {
            order.push(pe);
        }
        entry.push(item);
    }
    (order, by_pe)
}

fn cmp_list(
    elem: &Ty<'_>,
    rel: &ListRel,
    la: Option<&Vec<Value>>,
    ra: Option<&Vec<Value>>,
    path: &mut Path,
    c: &mut Comparison,
) {
    let (l_order, l_by) = index_items(rel, elem, la);
    let (r_order, r_by) = index_items(rel, elem, ra);
    let all = l_order
        .iter()
        .chain(r_order.iter().filter(|pe| !l_by.contains_key(*pe)));
    for pe in all {
        let ll = l_by.get(pe).map(Vec::as_slice).unwrap_or_default();
        let rl = r_by.get(pe).map(Vec::as_slice).unwrap_or_default();
        path.push(pe.clone());
        match (ll.len(), rl.len()) {
            (0..=1, 0..=1) => cmp_node(elem, ll.first().copied(), rl.first().copied(), path, c),
            (2.., 2..) => {
                let same =
                    ll.len() == rl.len() && ll.iter().zip(rl).all(|(a, b)| value_equal(a, b));
                if !same {
                    c.modified.insert(path);
                }
            }
            (2.., _) => {
                if let Some(r0) = rl.first() {
                    cmp_node(elem, None, Some(r0), path, c);
                }
                c.removed.insert(path);
            }
            (_, _) => {
                if let Some(l0) = ll.first() {
                    cmp_node(elem, Some(l0), None, path, c);
                }
                c.added.insert(path);
            }
        }
        path.pop();
    }
}

/// Merges `rhs` (an applied configuration) into `lhs` (the live object): rhs wins at leaves,
/// granular maps and lists merge item by item, live-only list items keep their place.
pub(crate) fn merge(ty: &Ty<'_>, lhs: &Value, rhs: &Value) -> Result<Value, Vec<String>> {
    let mut errs = Vec::new();
    let out = merge_node(ty, Some(lhs), Some(rhs), &mut Vec::new(), &mut errs);
    if errs.is_empty() {
        Ok(out.unwrap_or(Value::Object(Map::new())))
    } else {
        Err(errs)
    }
}

fn merge_node(
    ty: &Ty<'_>,
    l: Option<&Value>,
    r: Option<&Value>,
    path: &mut Path,
    errs: &mut Vec<String>,
) -> Option<Value> {
    let leaf = || r.or(l).cloned();
    match ty.atom(r.or(l)) {
        Atom::Scalar => leaf(),
        Atom::List { elem, rel } => {
            let la = l.and_then(Value::as_array);
            let ra = r.and_then(Value::as_array);
            let empty = la.is_none_or(Vec::is_empty) && ra.is_none_or(Vec::is_empty);
            if rel == ListRel::Atomic || empty {
                return leaf();
            }
            merge_list(&elem, &rel, la, ra, path, errs)
        }
        Atom::Map { atomic } => {
            let lm = l.and_then(Value::as_object);
            let rm = r.and_then(Value::as_object);
            let empty = lm.is_none_or(Map::is_empty) && rm.is_none_or(Map::is_empty);
            if atomic || empty {
                return leaf();
            }
            let mut keys: BTreeSet<&String> = BTreeSet::new();
            keys.extend(lm.into_iter().flat_map(Map::keys));
            keys.extend(rm.into_iter().flat_map(Map::keys));
            let mut out = Map::new();
            for k in keys {
                path.push(PathElement::Field(k.clone()));
                let merged = merge_node(
                    &ty.child(k),
                    lm.and_then(|m| m.get(k)),
                    rm.and_then(|m| m.get(k)),
                    path,
                    errs,
                );
                path.pop();
                if let Some(v) = merged {
                    out.insert(k.clone(), v);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
    }
}

fn merge_list(
    elem: &Ty<'_>,
    rel: &ListRel,
    la: Option<&Vec<Value>>,
    ra: Option<&Vec<Value>>,
    path: &mut Path,
    errs: &mut Vec<String>,
) -> Option<Value> {
    let here = path_string(path);
    let err = |e: String| {
        if here.is_empty() {
            e
        } else {
            format!("{here}: {e}")
        }
    };
    let mut r_pes = Vec::new();
    let mut r_obs: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for (i, item) in ra.into_iter().flatten().enumerate() {
        match item_pe(rel, elem, item) {
            Err(e) => errs.push(err(format!("element {i}: {e}"))),
            Ok(pe) if r_obs.contains_key(&pe) => {
                errs.push(err(format!("duplicate entries for key {pe}")));
            }
            Ok(pe) => {
                r_obs.insert(pe.clone(), item);
                r_pes.push(pe);
            }
        }
    }
    let l_items: Vec<&Value> = la.into_iter().flatten().collect();
    let mut l_pes = Vec::new();
    let mut l_obs: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for (i, item) in l_items.iter().enumerate() {
        match item_pe(rel, elem, item) {
            Err(e) => errs.push(err(format!("element {i}: {e}"))),
            Ok(pe) => {
                if l_obs.contains_key(&pe) {
                    // duplicated items are not merged with the new value
                    l_obs.insert(pe.clone(), &NULL);
                } else {
                    l_obs.insert(pe.clone(), item);
                }
                l_pes.push(pe);
            }
        }
    }
    if !errs.is_empty() {
        return None;
    }
    let mut shared = r_pes
        .iter()
        .filter(|pe| l_obs.contains_key(*pe))
        .cloned()
        .collect::<Vec<_>>()
        .into_iter();
    let mut next_shared = shared.next();
    let mut merged_rhs: BTreeSet<PathElement> = BTreeSet::new();
    let mut out = Vec::new();
    let (l_len, r_len) = (l_pes.len(), r_pes.len());
    let (mut li, mut ri) = (0, 0);
    let mut item =
        |pe: &PathElement, l: Option<&Value>, r: Option<&Value>, out: &mut Vec<Value>| {
            path.push(pe.clone());
            if let Some(v) = merge_node(elem, l, r, path, errs) {
                out.push(v);
            }
            path.pop();
        };
    while li < l_len || ri < r_len {
        if li < l_len && ri < r_len {
            let pe = &l_pes[li];
            if *pe == r_pes[ri] {
                merged_rhs.insert(pe.clone());
                item(pe, l_obs.get(pe).copied(), r_obs.get(pe).copied(), &mut out);
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if r_obs.contains_key(pe) && next_shared.as_ref().is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < l_len {
            let pe = &l_pes[li];
            if !r_obs.contains_key(pe) {
                item(pe, Some(l_items[li]), None, &mut out);
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < r_len {
            let pe = &r_pes[ri];
            merged_rhs.insert(pe.clone());
            item(pe, l_obs.get(pe).copied(), r_obs.get(pe).copied(), &mut out);
            ri += 1;
            if next_shared.as_ref() == Some(pe) {
                next_shared = shared.next();
            }
        }
    }
    (!out.is_empty()).then_some(Value::Array(out))
}

/// `value` without the fields, list items and map entries in `set` (structured-merge-diff's
/// `RemoveItems`). Containers left empty become `null`.
pub(crate) fn remove_items(ty: &Ty<'_>, v: &Value, set: &FieldSet) -> Value {
    match ty.atom(Some(v)) {
        Atom::Scalar => v.clone(),
        Atom::List { elem, rel } => {
            let Value::Array(items) = v else {
                return Value::Null;
            };
            if items.is_empty() || rel == ListRel::Atomic {
                return Value::Null;
            }
            let mut out = Vec::new();
            for item in items {
                match item_pe(&rel, &elem, item) {
                    Ok(pe) => {
                        if set.is_member(&pe) {
                            continue;
                        }
                        match set.child(&pe).filter(|s| !s.is_empty()) {
                            Some(sub) => out.push(remove_items(&elem, item, sub)),
                            None => out.push(item.clone()),
                        }
                    }
                    Err(_) => out.push(item.clone()),
                }
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Array(out)
            }
        }
        Atom::Map { atomic } => {
            let Value::Object(m) = v else {
                return Value::Null;
            };
            if m.is_empty() || atomic {
                return Value::Null;
            }
            let mut out = Map::new();
            for (k, val) in m {
                let pe = PathElement::Field(k.clone());
                if set.is_member(&pe) {
                    continue;
                }
                let kept = match set.child(&pe).filter(|s| !s.is_empty()) {
                    Some(sub) => remove_items(&ty.child(k), val, sub),
                    None => val.clone(),
                };
                out.insert(k.clone(), kept);
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
    }
}

/// `set` plus every declared struct field it has children below (structured-merge-diff's
/// `EnsureNamedFieldsAreMembers`), so removing such a field removes the whole struct.
pub(crate) fn ensure_named(ty: &Ty<'_>, set: &FieldSet) -> FieldSet {
    let atom = ty.atom(None);
    let mut members = set.members().clone();
    let mut children = BTreeMap::new();
    for (pe, child) in set.children() {
        let child_ty = match (pe, &atom) {
            (PathElement::Field(name), Atom::Map { .. }) => {
                if ty.declares(name) {
                    members.insert(pe.clone());
                }
                ty.child(name)
            }
            (PathElement::Key(_), Atom::List { elem, .. }) => *elem,
            _ => Ty::deduced(),
        };
        children.insert(pe.clone(), ensure_named(&child_ty, child));
    }
    FieldSet::from_parts(members, children)
}
