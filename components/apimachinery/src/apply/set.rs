//! Sets of field paths (structured-merge-diff's `fieldpath.Set`): a trie whose nodes hold the
//! path elements that are members themselves and the children below other elements, with the
//! set algebra the ownership rules need and the `fieldsV1` JSON encoding of managedFields.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::path::{Path, PathElement};

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    /// A set of the given paths.
    pub fn from_paths<I: IntoIterator<Item = Path>>(paths: I) -> FieldSet {
        let mut s = FieldSet::new();
        for p in paths {
            s.insert(&p);
        }
        s
    }

    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.descend(first).insert(rest),
        }
    }

    /// The child set below `pe`, created when missing.
    pub fn descend(&mut self, pe: &PathElement) -> &mut FieldSet {
        self.children.entry(pe.clone()).or_default()
    }

    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// The paths below `pe` (relative to it); empty when there are none.
    pub fn with_prefix(&self, pe: &PathElement) -> FieldSet {
        self.children.get(pe).cloned().unwrap_or_default()
    }

    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    pub fn is_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    pub(super) fn members(&self) -> &BTreeSet<PathElement> {
        &self.members
    }

    pub(super) fn children(&self) -> &BTreeMap<PathElement, FieldSet> {
        &self.children
    }

    pub(super) fn from_parts(
        members: BTreeSet<PathElement>,
        children: BTreeMap<PathElement, FieldSet>,
    ) -> FieldSet {
        FieldSet { members, children }
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.union(&other.members).cloned().collect();
        let mut children = self.children.clone();
        for (pe, set) in &other.children {
            match children.get_mut(pe) {
                Some(mine) => *mine = mine.union(set),
                None => {
                    children.insert(pe.clone(), set.clone());
                }
            }
        }
        FieldSet { members, children }
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, set)| {
                let theirs = other.children.get(pe)?;
                let both = set.intersection(theirs);
                (!both.is_empty()).then(|| (pe.clone(), both))
            })
            .collect();
        FieldSet { members, children }
    }

    /// The paths of `self` that are not in `other` (exact paths: a member of `other` does not
    /// remove the paths below it).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, set)| match other.children.get(pe) {
                None => Some((pe.clone(), set.clone())),
                Some(theirs) => {
                    let diff = set.difference(theirs);
                    (!diff.is_empty()).then(|| (pe.clone(), diff))
                }
            })
            .collect();
        FieldSet { members, children }
    }

    /// Like [`FieldSet::difference`], but a member of `other` also removes everything below it.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter(|(pe, _)| !other.members.contains(*pe))
            .filter_map(|(pe, set)| match other.children.get(pe) {
                None => Some((pe.clone(), set.clone())),
                Some(theirs) => {
                    let diff = set.recursive_difference(theirs);
                    (!diff.is_empty()).then(|| (pe.clone(), diff))
                }
            })
            .collect();
        FieldSet { members, children }
    }

    /// Only the paths under the top-level elements in `keep` (and those elements themselves).
    pub fn only_top(&self, keep: &[PathElement]) -> FieldSet {
        FieldSet {
            members: self
                .members
                .iter()
                .filter(|m| keep.contains(m))
                .cloned()
                .collect(),
            children: self
                .children
                .iter()
                .filter(|(pe, _)| keep.contains(pe))
                .map(|(pe, s)| (pe.clone(), s.clone()))
                .collect(),
        }
    }

    /// Every member path, members of a node before the paths below its children, all in
    /// element order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(p);
        }
        for (pe, set) in &self.children {
            prefix.push(pe.clone());
            set.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The `fieldsV1` JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        for m in &self.members {
            if !self.children.contains_key(m) {
                out.insert(m.serialize(), Value::Object(Map::new()));
            }
        }
        for (pe, set) in &self.children {
            let member = self.members.contains(pe);
            out.insert(pe.serialize(), Value::Object(set.emit(member)));
        }
        out
    }

    /// Reads `fieldsV1` JSON. Keys of unknown element types are skipped.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        let Value::Object(m) = v else {
            return Err("fieldsV1 must be a JSON object".into());
        };
        let (set, _) = read_node(m)?;
        Ok(set.unwrap_or_default())
    }
}

/// The children of one node and whether the node itself is a member.
fn read_node(m: &Map<String, Value>) -> Result<(Option<FieldSet>, bool), String> {
    let mut children: Option<FieldSet> = None;
    let mut is_member = false;
    for (key, value) in m {
        if key == "." {
            is_member = true;
            continue;
        }
        let Some(pe) = PathElement::deserialize(key)? else {
            continue;
        };
        let Value::Object(sub) = value else {
            return Err(format!("fieldsV1 entry {key} must be a JSON object"));
        };
        let (grandchildren, child_is_member) = read_node(sub)?;
        let node = children.get_or_insert_with(FieldSet::new);
        if child_is_member {
            node.members.insert(pe.clone());
        }
        if let Some(g) = grandchildren {
            node.children.insert(pe, g);
        }
    }
    if children.is_none() {
        is_member = true;
    }
    Ok((children, is_member))
}
