//! The CustomResourceDefinition controller: every CRD in the store is reconciled (at start-up,
//! before the server reports ready, and then on every change, from a watch of the CRD
//! prefix). Reconciling checks the CRD's names against the other CRDs of its group, makes the
//! catalog serve its versions, and records `acceptedNames`, `NamesAccepted` and `Established`
//! in its status — in that order, so a client that sees `Established` finds the resource.
//! Deleting a CRD marks it (finalizer `customresourcecleanup.apiextensions.k8s.io`,
//! `Terminating` condition); the controller then deletes its objects, stops serving it and
//! removes it.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use warren_apimachinery::crd::{self as crdlib, CLEANUP_FINALIZER};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::Resource;
use warren_store::ListOptions;

use crate::meta;
use crate::objects::namespace_and_name;
use crate::resources::{self, Addressed, DeleteOptions, ListRequest};
use crate::state::AppState;

const PLURAL: &str = "customresourcedefinitions";

/// Whether `res` is the CustomResourceDefinition resource itself.
pub fn is_crd(res: &Resource) -> bool {
    res.group == crdlib::GROUP && res.plural == PLURAL && res.custom.is_none()
}

/// On the first delete of a CRD: the cleanup finalizer and the `Terminating` condition (the
/// controller deletes the objects, then the CRD).
pub fn mark_deleting(res: &Resource, crd: &mut Value) {
    if !is_crd(res) {
        return;
    }
    let finalizers = meta::meta_mut(crd)
        .entry("finalizers")
        .or_insert_with(|| json!([]));
    if let Some(list) = finalizers.as_array_mut()
        && !list.iter().any(|f| f == CLEANUP_FINALIZER)
    {
        list.push(json!(CLEANUP_FINALIZER));
    }
    set_condition(
        crd,
        "Terminating",
        "True",
        "InstanceDeletionInProgress",
        "CustomResource deletion is in progress",
    );
}

/// The OpenAPI definitions of a custom resource version (v2 shape when `v2`), and the
/// built-in definitions they refer to added to `roots`.
pub fn openapi_definitions(
    r: &Resource,
    v2: bool,
    roots: &mut Vec<String>,
    out: &mut Map<String, Value>,
) {
    if r.custom.is_none() {
        return;
    }
    out.extend(crdlib::openapi::definitions(r, v2));
    for d in crdlib::openapi::referenced_definitions() {
        if !roots.iter().any(|x| x == d) {
            roots.push(d.to_string());
        }
    }
}

fn set_condition(crd: &mut Value, ty: &str, status: &str, reason: &str, message: &str) {
    if !crd["status"].is_object() {
        crd["status"] = json!({});
    }
    let conditions = &mut crd["status"]["conditions"];
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    let Some(list) = conditions.as_array_mut() else {
        return;
    };
    let now = meta::now_rfc3339();
    match list.iter_mut().find(|c| c["type"] == ty) {
        Some(c) => {
            if c["status"] != status {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(message);
        }
        None => list.push(json!({
            "type": ty,
            "status": status,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        })),
    }
}

fn crd_resource(state: &AppState) -> Result<Arc<Resource>, ApiError> {
    state
        .catalog
        .find(crdlib::GROUP, "v1", PLURAL)
        .ok_or_else(|| ApiError::internal("customresourcedefinitions not served"))
}

/// Starts the controller: reconciles every stored CRD (so a restarted server serves them
/// before it is ready), then follows changes in the background.
pub async fn start(state: &Arc<AppState>) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let from = match initial_sync(state).await {
        Ok(rev) => rev,
        Err(e) => {
            tracing::warn!(error = %e, "reconciling CustomResourceDefinitions");
            0
        }
    };
    tokio::spawn(watch_loop(Arc::downgrade(state), tx.clone(), from));
    tokio::spawn(worker(Arc::downgrade(state), tx, rx));
}

/// Every CRD in the store reconciled once; returns the revision the list was read at.
async fn initial_sync(state: &Arc<AppState>) -> Result<i64, ApiError> {
    let res = crd_resource(state)?;
    let a = Addressed {
        res,
        namespace: None,
        name: None,
        subresource: None,
        finalize: false,
    };
    let listed = resources::list_objects(state, &a, &ListRequest::everything(&a)).await?;
    let mut retry = Vec::new();
    for crd in &listed.items {
        let (_, name) = namespace_and_name(crd);
        match reconcile(state, &name).await {
            Ok(true) => {}
            Ok(false) => retry.push(name),
            Err(e) => tracing::warn!(crd = %name, error = %e, "reconcile"),
        }
    }
    for name in retry {
        // a CRD still deleting its objects: the worker picks it up again
        let state = Arc::downgrade(state);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Some(state) = state.upgrade() {
                let _ = reconcile(&state, &name).await;
            }
        });
    }
    Ok(listed.revision)
}

/// Feeds the names of changed CRDs to the worker; re-lists after a compaction.
async fn watch_loop(state: Weak<AppState>, tx: mpsc::UnboundedSender<String>, mut from: i64) {
    let prefix = {
        let Some(s) = state.upgrade() else { return };
        match crd_resource(&s) {
            Ok(r) => r.storage_prefix(),
            Err(_) => return,
        }
    };
    loop {
        let watcher = {
            let Some(s) = state.upgrade() else { return };
            let store = s.objects.store.clone();
            let prefix = prefix.clone();
            crate::objects::blocking(move || store.watch(&prefix, from)).await
        };
        let mut watcher = match watcher {
            Ok(Ok(w)) => w,
            _ => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let Some(s) = state.upgrade() else { return };
                from = s.objects.store.current_revision();
                // changes between the failed watch and now: reconcile everything
                if let Ok(names) = all_names(&s).await {
                    names.into_iter().for_each(|n| {
                        let _ = tx.send(n);
                    });
                }
                continue;
            }
        };
        while let Some(event) = watcher.next().await {
            match event {
                Ok(ev) => {
                    from = ev.kv.mod_revision;
                    if let Some(name) = ev.kv.key.strip_prefix(&prefix)
                        && tx.send(name.to_string()).is_err()
                    {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        if state.upgrade().is_none() {
            return;
        }
    }
}

async fn all_names(state: &Arc<AppState>) -> Result<Vec<String>, ApiError> {
    let res = crd_resource(state)?;
    let page = state
        .objects
        .list_page(res.storage_prefix(), ListOptions::default())
        .await?;
    let mut names: Vec<String> = page
        .items
        .iter()
        .filter_map(|kv| {
            kv.key
                .strip_prefix(&res.storage_prefix())
                .map(str::to_string)
        })
        .collect();
    // CRDs the catalog serves but the store no longer has
    names.extend(
        state
            .catalog
            .all()
            .iter()
            .filter_map(|r| r.custom.as_ref().map(|c| c.crd_name.clone())),
    );
    names.sort();
    names.dedup();
    Ok(names)
}

/// Reconciles queued CRDs one at a time; retries those still cleaning up.
async fn worker(
    state: Weak<AppState>,
    tx: mpsc::UnboundedSender<String>,
    mut rx: mpsc::UnboundedReceiver<String>,
) {
    while let Some(name) = rx.recv().await {
        let Some(s) = state.upgrade() else { return };
        let done = match reconcile(&s, &name).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(crd = %name, error = %e, "reconcile");
                e.code() != 409 && e.code() < 500
            }
        };
        drop(s);
        if !done {
            let tx = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = tx.send(name);
            });
        }
    }
}

/// The names the CRD claims in its group (plural, singular, short names) and its kinds.
fn claimed(crd: &Value, from_status: bool) -> (BTreeSet<String>, BTreeSet<String>) {
    let names = if from_status {
        &crd["status"]["acceptedNames"]
    } else {
        &crd["spec"]["names"]
    };
    let mut resources = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for k in ["plural", "singular"] {
        if let Some(s) = names[k].as_str().filter(|s| !s.is_empty()) {
            resources.insert(s.to_string());
        }
    }
    for s in names["shortNames"].as_array().into_iter().flatten() {
        if let Some(s) = s.as_str() {
            resources.insert(s.to_string());
        }
    }
    for k in ["kind", "listKind"] {
        if let Some(s) = names[k].as_str().filter(|s| !s.is_empty()) {
            kinds.insert(s.to_string());
        }
    }
    (resources, kinds)
}

/// The first naming conflict with another CRD of the same group, as kube's naming controller
/// words it: `(reason, message)`.
async fn name_conflict(
    state: &Arc<AppState>,
    crd_res: &Arc<Resource>,
    crd: &Value,
) -> Result<Option<(&'static str, String)>, ApiError> {
    let a = Addressed {
        res: crd_res.clone(),
        namespace: None,
        name: None,
        subresource: None,
        finalize: false,
    };
    let listed = resources::list_objects(state, &a, &ListRequest::everything(&a)).await?;
    let group = crd["spec"]["group"].as_str().unwrap_or("");
    let name = meta::meta_str(crd, "name").unwrap_or("");
    let (mut taken, mut taken_kinds) = (BTreeSet::new(), BTreeSet::new());
    for other in &listed.items {
        if other["spec"]["group"].as_str() != Some(group)
            || meta::meta_str(other, "name") == Some(name)
        {
            continue;
        }
        let (r, k) = claimed(other, true);
        taken.extend(r);
        taken_kinds.extend(k);
    }
    let names = &crd["spec"]["names"];
    let s = |k: &str| names[k].as_str().unwrap_or("").to_string();
    if taken.contains(&s("plural")) {
        return Ok(Some((
            "PluralConflict",
            format!("{:?} is already in use", s("plural")),
        )));
    }
    if taken.contains(&s("singular")) {
        return Ok(Some((
            "SingularConflict",
            format!("{:?} is already in use", s("singular")),
        )));
    }
    for short in names["shortNames"].as_array().into_iter().flatten() {
        let short = short.as_str().unwrap_or("");
        if taken.contains(short) {
            return Ok(Some((
                "ShortNamesConflict",
                format!("{short:?} is already in use"),
            )));
        }
    }
    if taken_kinds.contains(&s("kind")) {
        return Ok(Some((
            "KindConflict",
            format!("{:?} is already in use", s("kind")),
        )));
    }
    if taken_kinds.contains(&s("listKind")) {
        return Ok(Some((
            "ListKindConflict",
            format!("{:?} is already in use", s("listKind")),
        )));
    }
    Ok(None)
}

/// Brings the catalog and the CRD's status in line with the stored CRD. Returns false when it
/// must run again (objects still being deleted).
async fn reconcile(state: &Arc<AppState>, name: &str) -> Result<bool, ApiError> {
    let crd_res = crd_resource(state)?;
    let Some((crd, rev)) = state.objects.get_opt(&crd_res, None, name).await? else {
        // gone (or removed behind our back): stop serving and drop what it stored
        let served = state.catalog.custom(name);
        state.catalog.set_custom(name, Vec::new());
        if let Some(r) = served.first() {
            delete_stored_objects(state, r).await?;
        }
        return Ok(true);
    };
    if meta::meta_str(&crd, "deletionTimestamp").is_some() {
        return finalize(state, &crd_res, crd, rev).await;
    }
    let mut next = crd.clone();
    match name_conflict(state, &crd_res, &crd).await? {
        Some((reason, message)) => {
            set_condition(&mut next, "NamesAccepted", "False", reason, &message);
            if crdlib::condition_status(&crd, "Established") != Some("True") {
                set_condition(
                    &mut next,
                    "Established",
                    "False",
                    "NotAccepted",
                    "not all names are accepted",
                );
                state.catalog.set_custom(name, Vec::new());
            }
        }
        None => {
            let resources = crdlib::resources_from_crd(&crd);
            state.catalog.set_custom(name, resources);
            next["status"]["acceptedNames"] = accepted_names(&crd);
            set_condition(
                &mut next,
                "NamesAccepted",
                "True",
                "NoConflicts",
                "no conflicts found",
            );
            set_condition(
                &mut next,
                "Established",
                "True",
                "InitialNamesAccepted",
                "the initial names have been accepted",
            );
        }
    }
    crdlib::validation::record_stored_version(&mut next);
    if next != crd {
        match state.objects.update(&crd_res, &mut next, rev).await {
            Ok(()) => {}
            // a newer version is on its way through the watch
            Err(e) if e.code() == 409 || e.code() == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// `spec.names` as kube records them in `status.acceptedNames`.
fn accepted_names(crd: &Value) -> Value {
    let names = &crd["spec"]["names"];
    let mut out = Map::new();
    for k in [
        "plural",
        "singular",
        "shortNames",
        "kind",
        "listKind",
        "categories",
    ] {
        if let Some(v) = names.get(k).filter(|v| !v.is_null()) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// Deletes the CRD's objects; once none are left, removes the finalizer and the CRD.
async fn finalize(
    state: &Arc<AppState>,
    crd_res: &Arc<Resource>,
    crd: Value,
    rev: i64,
) -> Result<bool, ApiError> {
    let name = meta::meta_str(&crd, "name").unwrap_or("").to_string();
    if !state.catalog.custom(&name).is_empty() {
        // still served for reads and deletes, no longer for creates
        state
            .catalog
            .set_custom(&name, crdlib::resources_from_crd(&crd));
    }
    let resources = match state.catalog.custom(&name).first() {
        Some(r) => Some(r.clone()),
        None => crdlib::resources_from_crd(&crd)
            .into_iter()
            .next()
            .map(Arc::new),
    };
    if let Some(r) = &resources {
        let remaining = delete_objects(state, r).await?;
        if remaining > 0 {
            return Ok(false);
        }
    }
    state.catalog.set_custom(&name, Vec::new());
    let finalizers: Vec<String> = meta::finalizers(&crd)
        .into_iter()
        .filter(|f| f != CLEANUP_FINALIZER)
        .collect();
    if finalizers.is_empty() {
        match state.objects.delete(crd_res, None, &name, rev).await {
            Ok(_) => {}
            Err(e) if e.code() == 404 => {}
            Err(e) => return Err(e),
        }
    } else {
        let mut next = crd.clone();
        meta::meta_mut(&mut next).insert("finalizers".into(), json!(finalizers));
        if let Err(e) = state.objects.update(crd_res, &mut next, rev).await
            && e.code() != 409
        {
            return Err(e);
        }
    }
    Ok(true)
}

/// Deletes every object of a custom resource through the normal delete path (finalizers are
/// honoured). Returns how many were still there.
async fn delete_objects(state: &Arc<AppState>, res: &Arc<Resource>) -> Result<usize, ApiError> {
    let a = Addressed {
        res: res.clone(),
        namespace: None,
        name: None,
        subresource: None,
        finalize: false,
    };
    let listed = resources::list_objects(state, &a, &ListRequest::everything(&a)).await?;
    let remaining = listed.items.len();
    for obj in listed.items {
        if meta::meta_str(&obj, "deletionTimestamp").is_some() {
            continue;
        }
        let (ns, name) = namespace_and_name(&obj);
        let one = Addressed {
            res: res.clone(),
            namespace: ns,
            name: Some(name.clone()),
            subresource: None,
            finalize: false,
        };
        match resources::delete(state, &one, &name, &DeleteOptions::default()).await {
            Ok(_) => {}
            Err(e) if e.code() == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(remaining)
}

/// Removes whatever is stored under a resource's prefix (a CRD that vanished without its
/// finalizer running).
async fn delete_stored_objects(state: &Arc<AppState>, res: &Arc<Resource>) -> Result<(), ApiError> {
    let page = state
        .objects
        .list_page(res.storage_prefix(), ListOptions::default())
        .await?;
    for kv in page.items {
        let store = state.objects.store.clone();
        let key = kv.key.clone();
        let _ = crate::objects::blocking(move || store.delete(&key, None)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::OpenApiCache;
    use crate::state::Catalog;

    fn widgets(generation: i64, description: &str) -> Value {
        json!({
            "metadata": {"name": "widgets.example.com", "uid": "u1", "generation": generation},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                          "listKind": "WidgetList", "shortNames": ["wd"], "categories": ["all"]},
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false,
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1", "served": true, "storage": true,
                     "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                     "schema": {"openAPIV3Schema": {"type": "object", "description": description,
                        "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}}},
                ],
            },
        })
    }

    fn hash_of(index: &Value, path: &str) -> Option<String> {
        index["paths"][path]["serverRelativeURL"]
            .as_str()
            .map(str::to_string)
    }

    #[test]
    fn catalog_discovery_and_openapi_follow_crds() {
        let c = Catalog::default();
        let cache = OpenApiCache::default();
        let index = cache.v3_index(&c);
        assert!(hash_of(&index, "apis/example.com/v1").is_none());
        let core_hash = hash_of(&index, "api/v1").expect("core");
        let g0 = c.generation();

        c.set_custom(
            "widgets.example.com",
            crdlib::resources_from_crd(&widgets(1, "A widget.")),
        );
        assert!(c.generation() > g0);
        let g1 = c.generation();
        // the same CRD again (a status write): nothing changes
        c.set_custom(
            "widgets.example.com",
            crdlib::resources_from_crd(&widgets(1, "A widget.")),
        );
        assert_eq!(c.generation(), g1);
        assert!(c.find("example.com", "v1", "widgets").is_some());
        assert_eq!(
            c.groups().last(),
            Some(&(
                "example.com".to_string(),
                vec!["v1".into(), "v1beta1".into()]
            ))
        );

        // legacy and aggregated discovery
        let list = crate::discovery::resource_list(&c, "example.com", "v1").expect("v1");
        let names: Vec<&str> = list["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(names, ["widgets", "widgets/status", "widgets/scale"]);
        assert_eq!(list["resources"][0]["shortNames"], json!(["wd"]));
        assert_eq!(list["resources"][0]["categories"], json!(["all"]));
        let group = crate::discovery::group(&c, "example.com").expect("group");
        assert_eq!(group["preferredVersion"]["version"], "v1");
        let agg = crate::discovery::aggregated(&c, false);
        let ours = agg["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|g| g["metadata"]["name"] == "example.com")
            .expect("example.com");
        assert_eq!(ours["versions"][0]["version"], "v1");
        assert_eq!(
            ours["versions"][0]["resources"][0]["shortNames"],
            json!(["wd"])
        );

        // OpenAPI v3: the custom definition, no strategic merge patches
        let index = cache.v3_index(&c);
        let first = hash_of(&index, "apis/example.com/v1").expect("served");
        assert_eq!(
            hash_of(&index, "api/v1").as_deref(),
            Some(core_hash.as_str())
        );
        let doc = cache.v3_document(&c, "apis/example.com/v1").expect("doc");
        let doc: Value = serde_json::from_slice(&doc.body).expect("json");
        let def = &doc["components"]["schemas"]["com.example.v1.Widget"];
        assert_eq!(def["description"], "A widget.");
        assert_eq!(def["x-kubernetes-group-version-kind"][0]["kind"], "Widget");
        assert!(
            doc["components"]["schemas"]
                .get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
                .is_some()
        );
        let patch = &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
            ["requestBody"]["content"];
        assert!(patch.get("application/merge-patch+json").is_some());
        assert!(
            patch
                .get("application/strategic-merge-patch+json")
                .is_none()
        );
        // v2, JSON and protobuf
        let v2: Value = serde_json::from_slice(&cache.v2(&c).body).expect("v2");
        assert!(
            v2["definitions"]
                .get("com.example.v1beta1.WidgetList")
                .is_some()
        );
        assert!(!cache.v2_protobuf(&c).body.is_empty());

        // a schema change moves the hash of that group-version only
        c.set_custom(
            "widgets.example.com",
            crdlib::resources_from_crd(&widgets(2, "A changed widget.")),
        );
        let index = cache.v3_index(&c);
        let second = hash_of(&index, "apis/example.com/v1").expect("served");
        assert_ne!(first, second);
        assert_eq!(hash_of(&index, "api/v1"), Some(core_hash));
        let v2: Value = serde_json::from_slice(&cache.v2(&c).body).expect("v2");
        assert_eq!(
            v2["definitions"]["com.example.v1.Widget"]["description"],
            "A changed widget."
        );

        // and removal takes it all away
        c.set_custom("widgets.example.com", Vec::new());
        assert!(c.find("example.com", "v1", "widgets").is_none());
        assert!(hash_of(&cache.v3_index(&c), "apis/example.com/v1").is_none());
        assert!(crate::discovery::group(&c, "example.com").is_none());
    }

    #[test]
    fn deleting_a_crd_marks_it_for_cleanup() {
        let crd_res = warren_apimachinery::registry::find_builtin(
            crdlib::GROUP,
            "v1",
            "customresourcedefinitions",
        )
        .expect("crd resource");
        assert!(is_crd(crd_res));
        let mut crd = widgets(1, "w");
        mark_deleting(crd_res, &mut crd);
        mark_deleting(crd_res, &mut crd);
        assert_eq!(crd["metadata"]["finalizers"], json!([CLEANUP_FINALIZER]));
        assert_eq!(crdlib::condition_status(&crd, "Terminating"), Some("True"));
        let pods = warren_apimachinery::registry::find_builtin("", "v1", "pods").expect("pods");
        let mut pod = json!({"metadata": {"name": "p"}});
        mark_deleting(pods, &mut pod);
        assert!(pod["metadata"].get("finalizers").is_none());
        let (names, kinds) = claimed(&widgets(1, "w"), false);
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["wd", "widget", "widgets"]
        );
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["Widget", "WidgetList"]
        );
    }
}
