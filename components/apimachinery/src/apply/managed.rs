//! `metadata.managedFields` and the ownership rules around it, following kube-apiserver's field
//! manager (k8s.io/apimachinery/pkg/util/managedfields/internal) layered over
//! structured-merge-diff's `Updater`:
//!
//! - entries are keyed by manager, operation, subresource and (for updates) API version;
//! - an update (create, update, non-apply patch) moves every field it changed to its manager
//!   (`Update` entry, time stamped) and drops removed fields from everyone;
//! - an apply merges the configuration into the live object, prunes what the applier applied
//!   before but no longer does (unless someone else owns it), and fails with conflicts when it
//!   changes fields other managers own, unless forced;
//! - the manager `kubectl` may take over fields that kubectl's client-side apply owned when the
//!   live value still equals the `last-applied-configuration` annotation, and keeps that
//!   annotation in step with what it applies;
//! - objects without managedFields are not tracked by updates; the first apply to one records
//!   its existing fields as `before-first-apply`;
//! - at most 10 `Update` entries are kept, the oldest merged into `ancient-changes`.
//!
//! Every API version is treated as having the same schema (no conversion between versions).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::path::{Path, go_json, go_quote, path_string};
use super::set::FieldSet;
use super::typed::{Ty, normalize, zero_object};
use super::walk::{Comparison, compare, ensure_named, merge, remove_items, to_field_set, validate};
use crate::error::{ApiError, Reason};

/// The annotation kubectl's client-side apply keeps the applied configuration in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// kube-apiserver's cap on `Update` entries.
pub const MAX_UPDATE_MANAGERS: usize = 10;
const CURRENT_OPERATION: &str = "current-operation";
const BEFORE_FIRST_APPLY: &str = "before-first-apply";
const ANCIENT_CHANGES: &str = "ancient-changes";
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// `Apply` or `Update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// Who owns a set of fields: kube's manager identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerKey {
    pub manager: String,
    pub operation: Operation,
    /// Part of the identity of `Update` managers only.
    pub api_version: String,
    pub subresource: String,
}

impl ManagerKey {
    pub fn new(manager: &str, operation: Operation, api_version: &str, subresource: &str) -> Self {
        ManagerKey {
            manager: manager.to_string(),
            operation,
            api_version: match operation {
                Operation::Apply => String::new(),
                Operation::Update => api_version.to_string(),
            },
            subresource: subresource.to_string(),
        }
    }

    /// The identifier string kube builds (the JSON of the entry without fields and time); it
    /// orders managers in conflict messages.
    pub fn identity(&self) -> String {
        let mut parts = Vec::new();
        if !self.manager.is_empty() {
            parts.push(format!("\"manager\":{}", go_json(&json!(self.manager))));
        }
        parts.push(format!("\"operation\":\"{}\"", self.operation.as_str()));
        if !self.api_version.is_empty() {
            parts.push(format!(
                "\"apiVersion\":{}",
                go_json(&json!(self.api_version))
            ));
        }
        if !self.subresource.is_empty() {
            parts.push(format!(
                "\"subresource\":{}",
                go_json(&json!(self.subresource))
            ));
        }
        format!("{{{}}}", parts.join(","))
    }

    /// As conflict messages name a manager: `"mgr"`, `"mgr" with subresource "status"`,
    /// `"mgr" using apps/v1` for updaters.
    pub fn describe(&self) -> String {
        let mut s = go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {}", go_quote(&self.subresource));
        }
        if self.operation == Operation::Update {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }
}

/// The fields one manager owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Owned {
    pub key: ManagerKey,
    pub set: FieldSet,
    pub api_version: String,
    pub applied: bool,
    pub time: Option<String>,
}

/// The decoded managedFields of an object, by manager identity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Managed {
    pub managers: BTreeMap<String, Owned>,
}

impl Managed {
    pub fn is_empty(&self) -> bool {
        self.managers.is_empty()
    }

    /// Decodes `metadata.managedFields` entries; any invalid entry fails the whole list.
    pub fn decode(entries: Option<&Value>) -> Result<Managed, String> {
        let mut m = Managed::default();
        let list = match entries {
            None | Some(Value::Null) => return Ok(m),
            Some(Value::Array(a)) => a,
            Some(_) => return Err("managedFields must be a list".into()),
        };
        for (i, e) in list.iter().enumerate() {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
            let operation = match s("operation") {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return Err("operation must be `Apply` or `Update`".into()),
            };
            if s("apiVersion").is_empty() {
                return Err("apiVersion must not be empty".into());
            }
            match s("fieldsType") {
                "FieldsV1" => {}
                "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
                other => {
                    return Err(format!(
                        "invalid fieldsType {other:?} in managed fields entry {i}"
                    ));
                }
            }
            let set = match e.get("fieldsV1") {
                None | Some(Value::Null) => FieldSet::new(),
                Some(v) => FieldSet::from_fields_v1(v)
                    .map_err(|err| format!("error decoding set: {err}"))?,
            };
            let key = ManagerKey::new(s("manager"), operation, s("apiVersion"), s("subresource"));
            m.managers.insert(
                key.identity(),
                Owned {
                    key,
                    set,
                    api_version: s("apiVersion").to_string(),
                    applied: operation == Operation::Apply,
                    time: e.get("time").and_then(Value::as_str).map(str::to_string),
                },
            );
        }
        Ok(m)
    }

    /// The managedFields entries, in kube's order (operation, time, manager, apiVersion,
    /// subresource); `None` when there are none.
    pub fn encode(&self) -> Option<Value> {
        if self.managers.is_empty() {
            return None;
        }
        let mut entries: Vec<&Owned> = self.managers.values().collect();
        entries.sort_by(|p, q| {
            let op = |o: &Owned| if o.applied { "Apply" } else { "Update" };
            op(p)
                .cmp(op(q))
                .then_with(|| seconds(p.time.as_deref()).cmp(&seconds(q.time.as_deref())))
                .then_with(|| p.key.manager.cmp(&q.key.manager))
                .then_with(|| p.api_version.cmp(&q.api_version))
                .then_with(|| p.key.subresource.cmp(&q.key.subresource))
        });
        let list = entries
            .into_iter()
            .map(|o| {
                let mut e = Map::new();
                if !o.key.manager.is_empty() {
                    e.insert("manager".into(), json!(o.key.manager));
                }
                let op = if o.applied {
                    Operation::Apply
                } else {
                    o.key.operation
                };
                e.insert("operation".into(), json!(op.as_str()));
                e.insert("apiVersion".into(), json!(o.api_version));
                if let Some(t) = &o.time {
                    e.insert("time".into(), json!(t));
                }
                e.insert("fieldsType".into(), json!("FieldsV1"));
                e.insert("fieldsV1".into(), o.set.to_fields_v1());
                if !o.key.subresource.is_empty() {
                    e.insert("subresource".into(), json!(o.key.subresource));
                }
                Value::Object(e)
            })
            .collect();
        Some(Value::Array(list))
    }

    fn set_of(&self, id: &str) -> Option<&FieldSet> {
        self.managers.get(id).map(|o| &o.set)
    }

    fn all_fields(&self) -> FieldSet {
        self.managers
            .values()
            .fold(FieldSet::new(), |acc, o| acc.union(&o.set))
    }
}

fn seconds(t: Option<&str>) -> i64 {
    t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.timestamp())
        .unwrap_or(0)
}

/// Fields a write resets (kube's `GetResetFields` of the strategy), never owned by anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    None,
    /// Main resource of a kind with a status subresource: `status` is not the writer's.
    Status,
    /// The status subresource: only `status` is.
    AllButStatus,
}

impl Reset {
    fn filter(self, s: &FieldSet) -> FieldSet {
        let status = super::path::PathElement::field("status");
        match self {
            Reset::None => s.clone(),
            Reset::Status => s.recursive_difference(&FieldSet::from_paths([vec![status]])),
            Reset::AllButStatus => s.only_top(&[status]),
        }
    }

    fn filter_comparison(self, c: Comparison) -> Comparison {
        if self == Reset::None {
            return c;
        }
        Comparison {
            removed: self.filter(&c.removed),
            modified: self.filter(&c.modified),
            added: self.filter(&c.added),
        }
    }
}

/// One write, as the field manager sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The type of the object.
    pub ty: Ty<'a>,
    /// Group/version of the resource (`apps/v1`, `v1`).
    pub api_version: &'a str,
    pub kind: &'a str,
    /// `""`, `status` or `scale`.
    pub subresource: &'a str,
    /// The field manager; `""` becomes `unknown` for updates.
    pub manager: &'a str,
    /// RFC 3339 time of the write.
    pub now: &'a str,
    pub reset: Reset,
}

/// A field another manager owns and an apply would change.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub manager: ManagerKey,
    pub path: Path,
}

/// Why an apply failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyError {
    Conflicts(Vec<Conflict>),
    BadRequest(String),
    Internal(String),
}

impl ApplyError {
    /// The Status error kube-apiserver answers with.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            ApplyError::Conflicts(conflicts) => {
                let mut e = ApiError::new(Reason::Conflict, conflict_message(conflicts));
                e.causes = conflicts
                    .iter()
                    .map(|c| {
                        json!({
                            "reason": "FieldManagerConflict",
                            "message": format!("conflict with {}", c.manager.describe()),
                            "field": path_string(&c.path),
                        })
                    })
                    .collect();
                e
            }
            ApplyError::BadRequest(m) => ApiError::bad_request(m.clone()),
            ApplyError::Internal(m) => {
                let mut e = ApiError::new(Reason::InternalError, m.clone());
                e.code = Some(500);
                e
            }
        }
    }
}

/// `Apply failed with 1 conflict: conflict with "mgr" using apps/v1: .spec.replicas`, or the
/// multi-line form grouped by manager.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [c] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            c.manager.describe(),
            path_string(&c.path)
        );
    }
    let mut by_manager: BTreeMap<String, (ManagerKey, Vec<&Path>)> = BTreeMap::new();
    for c in conflicts {
        by_manager
            .entry(c.manager.identity())
            .or_insert_with(|| (c.manager.clone(), Vec::new()))
            .1
            .push(&c.path);
    }
    let mut lines = Vec::new();
    for (key, paths) in by_manager.values() {
        lines.push(format!("conflicts with {}:", key.describe()));
        lines.extend(paths.iter().map(|p| format!("- {}", path_string(p))));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

fn strip_managed_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    o
}

fn set_managed_fields(obj: &mut Value, managed: &Managed) {
    let encoded = managed.encode();
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    match encoded {
        Some(list) => {
            let meta = root
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(m) = meta.as_object_mut() {
                m.insert("managedFields".into(), list);
            }
        }
        None => {
            if let Some(m) = root.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("managedFields");
            }
        }
    }
}

/// The metadata paths no manager ever owns (kube's stripMetaManager).
fn strip_meta(set: &FieldSet) -> FieldSet {
    static STRIP: std::sync::OnceLock<FieldSet> = std::sync::OnceLock::new();
    let strip = STRIP.get_or_init(|| {
        let f = super::path::PathElement::field;
        let mut strip = FieldSet::new();
        strip.insert(&[f("apiVersion")]);
        strip.insert(&[f("kind")]);
        strip.insert(&[f("metadata")]);
        for m in [
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        ] {
            strip.insert(&[f("metadata"), f(m)]);
        }
        strip
    });
    set.difference(strip)
}

/// Ownership bookkeeping of one write: conflicts of `workflow` with the other managers, and
/// removed fields dropped from everyone (structured-merge-diff's `Updater.update`).
fn update_owners(
    req: &Request<'_>,
    old: &Value,
    new: &Value,
    managed: &mut Managed,
    workflow: &str,
    force: bool,
) -> Result<Comparison, Vec<Conflict>> {
    let cmp = req.reset.filter_comparison(compare(&req.ty, old, new));
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts: Vec<(String, FieldSet)> = Vec::new();
    for (id, owned) in &managed.managers {
        if id == workflow {
            continue;
        }
        let c = owned.set.intersection(&changed);
        if !c.is_empty() {
            conflicts.push((id.clone(), c));
        }
    }
    if !force && !conflicts.is_empty() {
        let mut out = Vec::new();
        for (id, set) in &conflicts {
            let key = managed.managers[id].key.clone();
            out.extend(set.paths().into_iter().map(|path| Conflict {
                manager: key.clone(),
                path,
            }));
        }
        return Err(out);
    }
    for (id, c) in &conflicts {
        if let Some(o) = managed.managers.get_mut(id) {
            o.set = o.set.difference(c);
        }
    }
    if !cmp.removed.is_empty() {
        for (id, o) in managed.managers.iter_mut() {
            if id != workflow {
                o.set = o.set.difference(&cmp.removed);
            }
        }
    }
    managed.managers.retain(|_, o| !o.set.is_empty());
    Ok(cmp)
}

/// An update by `key` (kube's managedFieldsUpdater over structured-merge-diff's `Update`):
/// the fields the write changed join the manager's set, stamped with `time`.
fn record_update(
    req: &Request<'_>,
    old: &Value,
    new: &Value,
    managed: &mut Managed,
    key: &ManagerKey,
    time: Option<&str>,
) {
    let current = ManagerKey::new(CURRENT_OPERATION, Operation::Update, "", "").identity();
    // the current operation is not among the managers, so it never conflicts (force)
    let Ok(cmp) = update_owners(req, old, new, managed, &current, true) else {
        return;
    };
    let changed = req.reset.filter(&cmp.modified.union(&cmp.added));
    let changed = strip_meta(&changed);
    if changed.is_empty() {
        return;
    }
    let id = key.identity();
    let set = match managed.set_of(&id) {
        Some(previous) => changed.union(previous),
        None => changed,
    };
    managed.managers.insert(
        id,
        Owned {
            key: key.clone(),
            set,
            api_version: req.api_version.to_string(),
            applied: false,
            time: time.map(str::to_string),
        },
    );
}

/// Caps `Update` managers at [`MAX_UPDATE_MANAGERS`], merging the oldest into
/// `ancient-changes` per API version.
fn cap_update_managers(managed: &mut Managed) {
    let mut updaters: Vec<String> = managed
        .managers
        .iter()
        .filter(|(_, o)| !o.applied)
        .map(|(id, _)| id.clone())
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|a, b| {
        let t = |id: &String| seconds(managed.managers[id].time.as_deref());
        t(a).cmp(&t(b)).then_with(|| a.cmp(b))
    });
    let mut first_of_version: BTreeMap<String, String> = BTreeMap::new();
    let mut length = updaters.len();
    for id in &updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(owned) = managed.managers.get(id).cloned() else {
            continue;
        };
        let version = owned.api_version.clone();
        let bucket_key = ManagerKey::new(ANCIENT_CHANGES, Operation::Update, &version, "");
        let bucket = bucket_key.identity();
        match first_of_version.get(&version) {
            Some(first) => {
                if !managed.managers.contains_key(&bucket)
                    && let Some(mut f) = managed.managers.remove(first)
                {
                    f.key = bucket_key.clone();
                    managed.managers.insert(bucket.clone(), f);
                }
                if let Some(b) = managed.managers.get_mut(&bucket) {
                    b.set = owned.set.union(&b.set);
                    b.time = owned.time.clone();
                }
                managed.managers.remove(id);
                length -= 1;
            }
            None => {
                first_of_version.insert(version, id.clone());
            }
        }
    }
}

/// The live object and managedFields the update starts from (kube's decodeLiveOrNew): those
/// sent with the new object unless absent, undecodable or sent to a subresource; `[]` or
/// `[{}]` resets them.
fn starting_managed(req: &Request<'_>, live: &Value, new: &Value) -> Managed {
    let live_managed = || {
        Managed::decode(live.get("metadata").and_then(|m| m.get("managedFields")))
            .unwrap_or_default()
    };
    if !req.subresource.is_empty() {
        return live_managed();
    }
    let sent = new.get("metadata").and_then(|m| m.get("managedFields"));
    match sent {
        Some(Value::Array(a)) if a.is_empty() => return Managed::default(),
        Some(Value::Array(a)) if a.len() == 1 && a[0].as_object().is_some_and(Map::is_empty) => {
            return Managed::default();
        }
        _ => {}
    }
    match Managed::decode(sent) {
        Ok(m) if !m.is_empty() => m,
        _ => live_managed(),
    }
}

/// Records a create (`live` is `None`) or an update in `new`'s `metadata.managedFields`.
/// Objects that exist without managedFields stay untracked, as in kube.
pub fn update_managed_fields(req: &Request<'_>, live: Option<&Value>, new: &mut Value) {
    let zero;
    let live_obj = match live {
        Some(l) => l,
        None => {
            zero = zero_object(&req.ty);
            &zero
        }
    };
    let mut managed = starting_managed(req, live_obj, new);
    if managed.is_empty() && live.is_some() {
        set_managed_fields(new, &managed);
        return;
    }
    let manager = if req.manager.is_empty() {
        "unknown"
    } else {
        req.manager
    };
    let key = ManagerKey::new(manager, Operation::Update, req.api_version, req.subresource);
    // normalize leaves managedFields out
    let old = normalize(&req.ty, live_obj);
    let newer = normalize(&req.ty, new);
    // kube carries a scale write's managers over from the Scale object without their times
    let time = (req.subresource != "scale").then_some(req.now);
    record_update(req, &old, &newer, &mut managed, &key, time);
    cap_update_managers(&mut managed);
    set_managed_fields(new, &managed);
}

/// What an apply produced: the object to write (with managedFields) and whether anything but
/// managedFields changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub object: Value,
    pub changed: bool,
}

/// Server-side apply of `config` by `req.manager` onto `live` (`None`: the object is created).
/// The result is not defaulted or validated yet.
pub fn apply(
    req: &Request<'_>,
    live: Option<&Value>,
    config: &Value,
    force: bool,
) -> Result<Applied, ApplyError> {
    let gv_kind = |v: &Value| {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        (s("apiVersion"), s("kind"))
    };
    let (config_gv, config_kind) = gv_kind(config);
    if config_gv != req.api_version || config_kind != req.kind {
        let (group, version) = match config_gv.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), config_gv.clone()),
        };
        return Err(ApplyError::BadRequest(format!(
            "invalid object type: {group}/{version}, Kind={config_kind}"
        )));
    }
    if config
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into(),
        ));
    }
    let errs = validate(&req.ty, config);
    if !errs.is_empty() {
        let meta = |k: &str| {
            config
                .get("metadata")
                .and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let detail = match errs.as_slice() {
            [one] => one.clone(),
            many => format!(
                "errors:\n{}",
                many.iter()
                    .map(|e| format!("  {e}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        return Err(ApplyError::Internal(format!(
            "failed to create typed patch object ({}/{}; {}, Kind={}): {detail}",
            meta("namespace"),
            meta("name"),
            req.api_version,
            req.kind
        )));
    }
    let zero = zero_object(&req.ty);
    let live_obj = live.unwrap_or(&zero);
    let managed = Managed::decode(
        live_obj
            .get("metadata")
            .and_then(|m| m.get("managedFields")),
    )
    .map_err(|e| ApplyError::Internal(format!("failed to decode managed fields: {e}")))?;

    let attempt = |force: bool| apply_once(req, live_obj, &zero, config, managed.clone(), force);
    let (mut object, managed, changed) = match attempt(force) {
        Err(ApplyError::Conflicts(conflicts)) if kubectl_last_applied(req) => {
            match allowed_from_last_applied(req, live_obj) {
                Some(allowed) => {
                    let remaining: Vec<Conflict> = conflicts
                        .iter()
                        .filter(|c| !allowed.has(&c.path))
                        .cloned()
                        .collect();
                    if remaining.is_empty() {
                        attempt(true)?
                    } else {
                        return Err(ApplyError::Conflicts(remaining));
                    }
                }
                None => return Err(ApplyError::Conflicts(conflicts)),
            }
        }
        other => other?,
    };
    if kubectl_last_applied(req) && has_last_applied(&object) {
        set_last_applied(&mut object, &build_last_applied(config));
    }
    set_managed_fields(&mut object, &managed);
    Ok(Applied { object, changed })
}

type Outcome = (Value, Managed, bool);

fn apply_once(
    req: &Request<'_>,
    live: &Value,
    zero: &Value,
    config: &Value,
    mut managed: Managed,
    force: bool,
) -> Result<Outcome, ApplyError> {
    let live_t = normalize(&req.ty, live);
    if managed.is_empty() {
        let key = ManagerKey::new(
            BEFORE_FIRST_APPLY,
            Operation::Update,
            req.api_version,
            req.subresource,
        );
        record_update(req, zero, &live_t, &mut managed, &key, Some(req.now));
        cap_update_managers(&mut managed);
    }
    let key = ManagerKey::new(
        req.manager,
        Operation::Apply,
        req.api_version,
        req.subresource,
    );
    let id = key.identity();
    let merged = merge(&req.ty, &live_t, config)
        .map_err(|e| ApplyError::Internal(format!("failed to merge config: {}", e.join("; "))))?;
    let last = managed.managers.get(&id).cloned();
    let set = req.reset.filter(&to_field_set(&req.ty, config));
    managed.managers.insert(
        id.clone(),
        Owned {
            key: key.clone(),
            set,
            api_version: req.api_version.to_string(),
            applied: true,
            time: last.as_ref().and_then(|l| l.time.clone()),
        },
    );
    let pruned = prune(req, &merged, &managed, last.as_ref().map(|l| &l.set));
    update_owners(req, &live_t, &pruned, &mut managed, &id, force)
        .map_err(ApplyError::Conflicts)?;
    if let Some(o) = managed.managers.get_mut(&id) {
        o.set = strip_meta(&o.set);
        if o.set.is_empty() {
            managed.managers.remove(&id);
        }
    }
    let changed = pruned != live_t;
    if changed {
        // kube carries scale managers over from the Scale object without their times
        if let Some(o) = managed.managers.get_mut(&id)
            && req.subresource != "scale"
        {
            o.time = Some(req.now.to_string());
        }
        Ok((drop_nulls(pruned), managed, true))
    } else {
        Ok((strip_managed_fields(live), managed, false))
    }
}

/// Removes what the applier applied last time but not this time, unless another manager (or
/// the new configuration) owns it (structured-merge-diff's `prune`).
fn prune(req: &Request<'_>, merged: &Value, managed: &Managed, last: Option<&FieldSet>) -> Value {
    let Some(last) = last.filter(|s| !s.is_empty()) else {
        return merged.clone();
    };
    let ty = &req.ty;
    let named = |s: &FieldSet| ensure_named(ty, s);
    let last = named(last);
    let pruned = remove_items(ty, merged, &last);
    // add back what anyone owns
    let merged_set = named(&to_field_set(ty, merged));
    let pruned_set = named(&to_field_set(ty, &pruned));
    let owned = named(&managed.all_fields());
    let pruned = remove_items(
        ty,
        merged,
        &merged_set.difference(&pruned_set.union(&owned)),
    );
    // add back what the applier never owned
    let pruned_set = named(&to_field_set(ty, &pruned));
    remove_items(
        ty,
        merged,
        &merged_set.difference(&pruned_set).intersection(&last),
    )
}

/// `null` members dropped, as decoding into Go types does.
fn drop_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k, drop_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// Whether kubectl's client-side apply annotation plays a part: for the manager `kubectl`, on
/// the object itself (a Scale has no annotations).
fn kubectl_last_applied(req: &Request<'_>) -> bool {
    req.manager == "kubectl" && req.subresource != "scale"
}

fn annotations(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.get("annotations")?.as_object()
}

fn has_last_applied(obj: &Value) -> bool {
    annotations(obj)
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// The fields kubectl's client-side apply set that still hold the value it applied: the
/// manager `kubectl` may take them over without a conflict.
fn allowed_from_last_applied(req: &Request<'_>, live: &Value) -> Option<FieldSet> {
    let text = annotations(live)?.get(LAST_APPLIED)?.as_str()?;
    if text.is_empty() {
        return None;
    }
    let last: Value = serde_json::from_str(text).ok()?;
    if last.get("apiVersion").and_then(Value::as_str) != Some(req.api_version) {
        return None;
    }
    let live_t = normalize(&req.ty, live);
    if !validate(&req.ty, &live_t).is_empty() || !validate(&req.ty, &last).is_empty() {
        return None;
    }
    let set = to_field_set(&req.ty, &last);
    let cmp = compare(&req.ty, &last, &live_t);
    Some(
        set.difference(&cmp.modified)
            .difference(&cmp.added)
            .difference(&cmp.removed),
    )
}

/// The annotation value kubectl would write for `config`: its JSON without the annotation.
fn build_last_applied(config: &Value) -> String {
    let mut c = config.clone();
    if let Some(a) = c
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED);
    }
    format!("{}\n", go_json(&c))
}

fn set_last_applied(obj: &mut Value, value: &str) {
    let Some(a) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    a.insert(LAST_APPLIED.into(), Value::String(value.to_string()));
    let size: usize = a
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if size > MAX_ANNOTATIONS_BYTES {
        a.remove(LAST_APPLIED);
    }
}
