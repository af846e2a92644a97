//! ControllerRevisions, the history the statefulset and daemonset controllers keep of their pod
//! templates (kube's `pkg/controller/history` plus the bits both controllers share).
//!
//! A revision's `data` is a strategic merge patch that restores the owner's template:
//! `{"spec":{"template":{"$patch":"replace",…}}}` — `kubectl rollout undo` applies it as is. Its
//! name is `<owner>-<hash>`; its `revision` number orders the history (the newest template has
//! the highest), and a template that comes back (a rollback) gets its old revision renumbered
//! rather than a new one.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use crate::deployment::util::safe_encode_string;
use crate::is_status;
use crate::replicaset::controller_ref;
use crate::selector::Selector;

/// The pod label naming the revision a pod was made from (a StatefulSet writes the revision's
/// name, a DaemonSet its hash); DaemonSet revisions carry it too.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";
/// The label holding a StatefulSet revision's hash (`history.ControllerRevisionHashLabel`).
pub const REVISION_HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// FNV-1, 32 bits (Go's hash/fnv New32; the revision hash uses it, not FNV-1a).
pub fn fnv32(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h = h.wrapping_mul(0x0100_0193);
        h ^= u32::from(*b);
    }
    h
}

/// `HashControllerRevision`: FNV-1 over the serialized data, then the collision count's
/// decimal digits when there is one, rendered as `SafeEncodeString(decimal(hash))`.
pub fn hash_revision_data(raw: &[u8], collision_count: Option<i32>) -> String {
    let mut data = raw.to_vec();
    if let Some(c) = collision_count {
        data.extend_from_slice(c.to_string().as_bytes());
    }
    safe_encode_string(&fnv32(&data).to_string())
}

/// `ControllerRevisionName`: `<prefix>-<hash>`, the prefix cut to 223 bytes so the name stays
/// within 253.
pub fn revision_name(prefix: &str, hash: &str) -> String {
    let mut cut = prefix.len().min(223);
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{hash}", &prefix[..cut])
}

/// JSON as Go's encoding/json writes a decoded map: keys sorted (serde_json's map is ordered)
/// and `<`, `>`, `&`, U+2028 and U+2029 escaped. These characters only occur inside strings,
/// so replacing them in the output is exact.
pub fn go_json(v: &Value) -> String {
    let s = v.to_string();
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The revision data for a pod template: a strategic merge patch replacing `spec.template`.
/// Go always writes the template's `metadata.creationTimestamp` (as null); so does this.
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Some(obj) = t.as_object_mut() {
        let meta = obj.entry("metadata").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.entry("creationTimestamp").or_insert(Value::Null);
        }
        obj.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": t}})
}

/// The pod template a revision restores (its patch's `spec.template`).
pub fn template_of(rev: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = rev.data.as_ref()?.0.get("spec")?.get("template")?.clone();
    if let Some(obj) = t.as_object_mut() {
        obj.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// Whether a revision holds exactly this data (kube compares the raw bytes; equal canonical
/// JSON is the same thing here).
pub fn same_data(rev: &ControllerRevision, data: &Value) -> bool {
    rev.data.as_ref().is_some_and(|d| &d.0 == data)
}

/// kube's byRevision order: by revision number, then creation time, then name.
pub fn sort_revisions(revs: &mut [ControllerRevision]) {
    revs.sort_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then_with(|| {
                let t =
                    |r: &ControllerRevision| r.metadata.creation_timestamp.as_ref().map(|t| t.0);
                t(a).cmp(&t(b))
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// One more than the highest revision number (1 for an empty history).
pub fn next_revision(revs: &[ControllerRevision]) -> i64 {
    revs.iter().map(|r| r.revision).max().map_or(1, |m| m + 1)
}

/// The revisions to delete to keep `limit` non-live ones: the oldest non-live first. `sorted`
/// is in [`sort_revisions`] order; `live` names revisions in use (current, update, or a pod's).
pub fn revisions_to_prune(
    sorted: &[ControllerRevision],
    live: &HashSet<String>,
    limit: i32,
) -> Vec<String> {
    let history: Vec<String> = sorted
        .iter()
        .map(|r| r.name_any())
        .filter(|n| !live.contains(n))
        .collect();
    let limit = limit.max(0) as usize;
    if history.len() <= limit {
        return Vec::new();
    }
    history[..history.len() - limit].to_vec()
}

// ---------------------------------------------------------------------------------------------
// the API side

/// The revisions of an owner: those in its namespace matching its selector that it controls or
/// that nobody controls (orphans, which the caller may adopt).
pub fn owned_or_orphaned(
    store: &Store<ControllerRevision>,
    namespace: &str,
    selector: &Selector,
    owner_uid: &str,
) -> (Vec<ControllerRevision>, Vec<ControllerRevision>) {
    let mut owned = Vec::new();
    let mut orphans = Vec::new();
    for r in store.state() {
        if r.metadata.namespace.as_deref() != Some(namespace)
            || !selector.matches(r.metadata.labels.as_ref())
        {
            continue;
        }
        match controller_ref(&r.metadata) {
            Some(c) if c.uid == owner_uid => owned.push(Arc::unwrap_or_clone(r)),
            Some(_) => {}
            None => orphans.push(Arc::unwrap_or_clone(r)),
        }
    }
    (owned, orphans)
}

/// Revisions this owner controls that its selector no longer matches.
pub fn owned_unmatched(
    store: &Store<ControllerRevision>,
    namespace: &str,
    selector: &Selector,
    owner_uid: &str,
) -> Vec<ControllerRevision> {
    store
        .state()
        .into_iter()
        .filter(|r| {
            r.metadata.namespace.as_deref() == Some(namespace)
                && !selector.matches(r.metadata.labels.as_ref())
                && controller_ref(&r.metadata).is_some_and(|c| c.uid == owner_uid)
        })
        .map(Arc::unwrap_or_clone)
        .collect()
}

fn api(client: &Client, namespace: &str) -> Api<ControllerRevision> {
    Api::namespaced(client.clone(), namespace)
}

/// Adds the owner as controller of an orphaned revision (guarded by its uid). None when it is
/// gone or changed meanwhile.
pub async fn adopt(
    client: &Client,
    rev: &ControllerRevision,
    owner: &OwnerReference,
) -> Result<Option<ControllerRevision>, kube::Error> {
    let mut refs = rev.metadata.owner_references.clone().unwrap_or_default();
    refs.push(owner.clone());
    set_owner_refs(client, rev, json!(refs)).await
}

/// Drops the owner from a revision's ownerReferences.
pub async fn release(
    client: &Client,
    rev: &ControllerRevision,
    owner_uid: &str,
) -> Result<(), kube::Error> {
    let refs: Vec<&OwnerReference> = rev
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.uid != owner_uid)
        .collect();
    let refs = if refs.is_empty() {
        Value::Null
    } else {
        json!(refs)
    };
    set_owner_refs(client, rev, refs).await.map(|_| ())
}

async fn set_owner_refs(
    client: &Client,
    rev: &ControllerRevision,
    refs: Value,
) -> Result<Option<ControllerRevision>, kube::Error> {
    let patch = json!({"metadata": {"ownerReferences": refs, "uid": rev.metadata.uid}});
    let ns = rev.metadata.namespace.as_deref().unwrap_or_default();
    match api(client, ns)
        .patch(
            &rev.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(r) => Ok(Some(r)),
        Err(e) if is_status(&e, 404) || is_status(&e, 409) || is_status(&e, 422) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `CreateControllerRevision`: creates `rev` named `<owner>-<hash of its data and the collision
/// count>`. A revision of that name with the same data is the one wanted (made before, the
/// cache just has not shown it); with other data the name collided, so the count goes up and
/// the name is computed again.
pub async fn create(
    client: &Client,
    namespace: &str,
    owner_name: &str,
    mut rev: ControllerRevision,
    collision_count: &mut i32,
) -> Result<ControllerRevision, kube::Error> {
    let data = rev.data.clone().map(|d| d.0).unwrap_or(Value::Null);
    let raw = go_json(&data);
    let api = api(client, namespace);
    for _ in 0..32 {
        let hash = hash_revision_data(raw.as_bytes(), Some(*collision_count));
        rev.metadata.name = Some(revision_name(owner_name, &hash));
        rev.metadata.namespace = Some(namespace.to_string());
        rev.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(REVISION_HASH_LABEL.to_string(), hash);
        match api.create(&PostParams::default(), &rev).await {
            Ok(created) => return Ok(created),
            Err(e) if is_status(&e, 409) => {
                let name = rev.name_any();
                if let Some(existing) = api.get_opt(&name).await?
                    && same_data(&existing, &data)
                {
                    return Ok(existing);
                }
                *collision_count += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Err(kube::Error::Api(
        kube::core::Status::failure("too many ControllerRevision name collisions", "Conflict")
            .with_code(409)
            .boxed(),
    ))
}

/// `UpdateControllerRevision`: gives a revision a new revision number.
pub async fn renumber(
    client: &Client,
    rev: &ControllerRevision,
    revision: i64,
) -> Result<ControllerRevision, kube::Error> {
    if rev.revision == revision {
        return Ok(rev.clone());
    }
    let ns = rev.metadata.namespace.as_deref().unwrap_or_default();
    let patch = json!({"revision": revision});
    api(client, ns)
        .patch(
            &rev.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
}

/// Deletes a revision (gone already is fine).
pub async fn delete(client: &Client, rev: &ControllerRevision) -> Result<(), kube::Error> {
    let ns = rev.metadata.namespace.as_deref().unwrap_or_default();
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: rev.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api(client, ns).delete(&rev.name_any(), &dp).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A revision object (not yet named) for an owner's template.
pub fn new_revision(
    owner: OwnerReference,
    labels: std::collections::BTreeMap<String, String>,
    annotations: Option<std::collections::BTreeMap<String, String>>,
    data: Value,
    revision: i64,
) -> ControllerRevision {
    ControllerRevision {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            labels: Some(labels),
            annotations: annotations.filter(|a| !a.is_empty()),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn fnv1_known_vectors() {
        // Go's hash/fnv tests for New32
        assert_eq!(fnv32(b""), 0x811c9dc5);
        assert_eq!(fnv32(b"a"), 0x050c5d7e);
        assert_eq!(fnv32(b"ab"), 0x70772d38);
        assert_eq!(fnv32(b"abc"), 0x439c2f4b);
    }

    #[test]
    fn hash_and_name() {
        // FNV-1 of "abc" is 1134309195; its digits through SafeEncodeString
        assert_eq!(fnv32(b"abc"), 1_134_309_195);
        assert_eq!(
            hash_revision_data(b"abc", None),
            safe_encode_string("1134309195")
        );
        // the collision count's decimal digits follow the data
        assert_eq!(
            hash_revision_data(b"ab", Some(0)),
            hash_revision_data(b"ab0", None)
        );
        assert_ne!(
            hash_revision_data(b"ab", Some(0)),
            hash_revision_data(b"ab", Some(1))
        );
        assert_eq!(revision_name("web", "7b8c9d"), "web-7b8c9d");
        let long = "a".repeat(300);
        assert_eq!(revision_name(&long, "h").len(), 225);
    }

    #[test]
    fn go_json_sorts_and_escapes() {
        let v = json!({"b": 1, "a": {"z": "<&>", "y": [true, null]}});
        assert_eq!(
            go_json(&v),
            r#"{"a":{"y":[true,null],"z":"\u003c\u0026\u003e"},"b":1}"#
        );
    }

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "db".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn template_patch_round_trips() {
        let t = template("nginx:1");
        let patch = template_patch(&t);
        assert_eq!(
            go_json(&patch),
            r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"db"}},"spec":{"containers":[{"image":"nginx:1","name":"c"}]}}}}"#
        );
        let rev = new_revision(
            OwnerReference::default(),
            Default::default(),
            None,
            patch.clone(),
            1,
        );
        assert_eq!(template_of(&rev), Some(t));
        assert!(same_data(&rev, &patch));
        assert!(!same_data(&rev, &template_patch(&template("nginx:2"))));
    }

    fn rev(name: &str, revision: i64) -> ControllerRevision {
        ControllerRevision {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            data: None,
            revision,
        }
    }

    #[test]
    fn ordering_numbering_and_pruning() {
        let mut revs = vec![rev("c", 3), rev("a", 1), rev("b2", 2), rev("b1", 2)];
        sort_revisions(&mut revs);
        let names: Vec<String> = revs.iter().map(|r| r.name_any()).collect();
        assert_eq!(names, ["a", "b1", "b2", "c"]);
        assert_eq!(next_revision(&revs), 4);
        assert_eq!(next_revision(&[]), 1);
        // c is live (current), b1 is a pod's: of a and b2 keep one, the newest
        let live: HashSet<String> = ["c".to_string(), "b1".to_string()].into();
        assert_eq!(revisions_to_prune(&revs, &live, 1), ["a"]);
        assert_eq!(revisions_to_prune(&revs, &live, 0), ["a", "b2"]);
        assert!(revisions_to_prune(&revs, &live, 2).is_empty());
    }
}
