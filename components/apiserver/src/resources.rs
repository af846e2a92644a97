//! The verbs on resources: create, get, list, update, patch, delete, deletecollection (watch is
//! in `watch.rs`), with kube-apiserver's metadata, precondition and error rules.

use std::sync::Arc;

use serde_json::{Value, json};
use warren_apimachinery::error::{ApiError, FieldError};
use warren_apimachinery::patch::{self, PatchType};
use warren_apimachinery::registry::{Resource, Subresource};
use warren_store::{KeyValue, ListOptions};

use crate::filter::ListFilter;
use crate::meta::{self, WriteScope};
use crate::objects::namespace_and_name;
use crate::request::{FieldValidation, Query, ResourcePath};
use crate::state::AppState;

/// The outcome of a verb: status code, body, and `Warning` headers.
pub struct Reply {
    pub code: u16,
    pub body: Value,
    /// Pre-encoded JSON sent instead of `body` (stored bytes passed through unparsed).
    pub raw: Option<bytes::Bytes>,
    pub warnings: Vec<String>,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply::with_code(200, body, Vec::new())
    }
    fn with_code(code: u16, body: Value, warnings: Vec<String>) -> Reply {
        Reply {
            code,
            body,
            raw: None,
            warnings,
        }
    }
    fn raw(bytes: Vec<u8>) -> Reply {
        Reply {
            code: 200,
            body: Value::Null,
            raw: Some(bytes::Bytes::from(bytes)),
            warnings: Vec::new(),
        }
    }
}

/// The resolved request: which resource, where, which object.
pub struct Addressed {
    pub res: Arc<Resource>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<Subresource>,
    /// `namespaces/<name>/finalize`
    pub finalize: bool,
}

/// Resolves a resource path against the served resources; kube's 404 wording otherwise.
pub fn address(state: &AppState, rp: &ResourcePath) -> Result<Addressed, ApiError> {
    let not_found = || {
        ApiError::new(
            warren_apimachinery::error::Reason::NotFound,
            "the server could not find the requested resource",
        )
    };
    let res = state
        .catalog
        .find(&rp.group, &rp.version, &rp.plural)
        .ok_or_else(not_found)?;
    if !res.namespaced && rp.namespace.is_some() {
        return Err(not_found());
    }
    let (subresource, finalize) = match rp.subresource.as_deref() {
        None => (None, false),
        Some("status") if res.has_subresource(Subresource::Status) => {
            (Some(Subresource::Status), false)
        }
        Some("scale") if res.has_subresource(Subresource::Scale) => {
            (Some(Subresource::Scale), false)
        }
        Some("finalize") if res.group.is_empty() && res.plural == "namespaces" => (None, true),
        Some(_) => return Err(not_found()),
    };
    Ok(Addressed {
        res,
        namespace: rp.namespace.clone(),
        name: rp.name.clone(),
        subresource,
        finalize,
    })
}

/// The body's apiVersion/kind must name the endpoint's type; missing ones are filled in from
/// the endpoint, as kube's decoder does.
fn type_name_check(res: &Resource, obj: &mut Value) -> Result<(), ApiError> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if !api_version.is_empty() && api_version != res.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            res.api_version()
        )));
    }
    if !kind.is_empty() && kind != res.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            res.kind
        )));
    }
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(res.api_version()));
        m.insert("kind".into(), Value::String(res.kind.clone()));
    }
    Ok(())
}

fn invalid(res: &Resource, obj: &Value, errors: &[FieldError]) -> ApiError {
    let (_, name) = namespace_and_name(obj);
    ApiError::invalid(&res.group, &res.kind, &name, errors)
}

/// The namespace must exist and not be terminating before anything is created in it.
async fn check_namespace_open(state: &AppState, ns: &str) -> Result<(), ApiError> {
    let ns_res = state.catalog.namespaces();
    match state.objects.get_opt(&ns_res, None, ns).await? {
        None => Err(ApiError::not_found("", "namespaces", ns)),
        Some((obj, _)) if meta::meta_str(&obj, "deletionTimestamp").is_some() => {
            let mut e = ApiError::forbidden(format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ));
            e.name = Some(ns.to_string());
            e.kind = Some("namespaces".into());
            e.causes = vec![json!({
                "reason": "NamespaceTerminating",
                "message": format!("namespace {ns} is being terminated"),
                "field": "metadata.namespace",
            })];
            Err(e)
        }
        Some(_) => Ok(()),
    }
}

/// On create, status comes from the server, not the client (kube's PrepareForCreate), except
/// for the kinds whose creators legitimately set it.
fn reset_status_on_create(res: &Resource, obj: &mut Value) {
    let keeps_status = matches!(
        (res.group.as_str(), res.kind.as_str()),
        ("", "Node") | ("", "PersistentVolume") | ("", "PersistentVolumeClaim")
    );
    if res.has_subresource(Subresource::Status)
        && !keeps_status
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
}

/// The ServiceAccount admission plugin's default: pods run as `default`.
fn default_service_account(res: &Resource, obj: &mut Value) {
    if !(res.group.is_empty() && res.kind == "Pod") {
        return;
    }
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        return;
    }
    if spec.get("serviceAccountName").is_none() {
        spec["serviceAccountName"] = json!("default");
    }
    if let Some(sa) = spec.get("serviceAccountName").cloned() {
        spec["serviceAccount"] = sa;
    }
}

/// POST: create an object.
pub async fn create(
    state: &Arc<AppState>,
    a: &Addressed,
    query: &Query,
    obj: Value,
) -> Result<Reply, ApiError> {
    create_tracked(
        state,
        a,
        query,
        obj,
        crate::managed_fields::Tracking::Update,
    )
    .await
}

/// Create, recording managedFields as `tracking` says (server-side apply brings its own).
pub(crate) async fn create_tracked(
    state: &Arc<AppState>,
    a: &Addressed,
    query: &Query,
    mut obj: Value,
    tracking: crate::managed_fields::Tracking,
) -> Result<Reply, ApiError> {
    let res = &a.res;
    let mut warnings = Vec::new();
    type_name_check(res, &mut obj)?;
    crate::admission::check_create(res)?;
    crate::admission::check_fields(
        res,
        &mut obj,
        FieldValidation::from_query(query)?,
        &mut warnings,
    )?;
    let dry_run = query.dry_run()?;
    if res.namespaced {
        let body_ns = meta::meta_str(&obj, "namespace").unwrap_or("");
        match a.namespace.as_deref() {
            Some(url_ns) if !body_ns.is_empty() && body_ns != url_ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            Some(_) => {}
            None => {
                return Err(ApiError::method_not_allowed(
                    "the server does not allow this method on the requested resource",
                ));
            }
        }
    }
    let admission_name = crate::quota_admission::error_name(&obj);
    meta::prepare_create(res, &mut obj, a.namespace.as_deref());
    reset_status_on_create(res, &mut obj);
    crate::admission::apply_defaults(res, &mut obj);
    crate::managed_fields::on_create(a, query, &mut obj, tracking)?;
    default_service_account(res, &mut obj);
    if res.group.is_empty()
        && res.kind == "Pod"
        && let Some(ns) = a.namespace.as_deref()
    {
        crate::sa_admission::admit(state, ns, &mut obj).await?;
    }
    crate::quota_admission::default_limits(state, res, a.namespace.as_deref(), &mut obj).await?;
    let errors = crate::admission::validate_create(res, &obj);
    if !errors.is_empty() {
        return Err(invalid(res, &obj, &errors));
    }
    crate::auth::admit(state, res, &obj, None)?;
    if let Some(ns) = a.namespace.as_deref() {
        check_namespace_open(state, ns).await?;
    }
    let ns = a.namespace.as_deref();
    crate::quota_admission::check_limits(state, res, ns, &obj, None, &admission_name).await?;
    crate::quota_admission::charge_quota(state, res, ns, &obj, None, &admission_name, dry_run)
        .await?;
    let is_service = res.group.is_empty() && res.kind == "Service";
    let mut host_assigned = false;
    if is_service
        && !dry_run
        && let Some(hook) = state.services.hook()
    {
        // An existing name must fail before the host is touched.
        let (ns, name) = namespace_and_name(&obj);
        if state
            .objects
            .get_opt(res, ns.as_deref(), &name)
            .await?
            .is_some()
        {
            return Err(ApiError::already_exists(&res.group, &res.plural, &name));
        }
        host_assigned = hook
            .before_create(&mut obj)
            .await
            .map_err(|e| ApiError::internal(format!("host cluster: {e}")))?;
    }
    let allocation = if is_service && !host_assigned {
        let everywhere = Addressed {
            res: a.res.clone(),
            namespace: None,
            name: None,
            subresource: None,
            finalize: false,
        };
        let load_existing = || async {
            let all =
                list_objects(state, &everywhere, &ListRequest::everything(&everywhere)).await?;
            Ok(all.items)
        };
        Some(state.services.allocate(&mut obj, load_existing).await?)
    } else {
        None
    };
    if dry_run {
        let (ns, name) = namespace_and_name(&obj);
        if state
            .objects
            .get_opt(res, ns.as_deref(), &name)
            .await?
            .is_some()
        {
            return Err(ApiError::already_exists(&res.group, &res.plural, &name));
        }
        return Ok(Reply::with_code(201, obj, warnings));
    }
    state.objects.create(res, &mut obj).await?;
    if let Some(allocation) = allocation {
        allocation.commit();
    }
    Ok(Reply::with_code(201, obj, warnings))
}

/// GET one object (or its status / scale). Plain JSON answers pass the stored bytes through.
pub async fn get(
    state: &Arc<AppState>,
    a: &Addressed,
    name: &str,
    raw: bool,
) -> Result<Reply, ApiError> {
    if raw && a.subresource != Some(Subresource::Scale) {
        let bytes = state
            .objects
            .get_raw(&a.res, a.namespace.as_deref(), name)
            .await?;
        return Ok(Reply::raw(bytes));
    }
    let (obj, _) = state
        .objects
        .get(&a.res, a.namespace.as_deref(), name)
        .await?;
    match a.subresource {
        Some(Subresource::Scale) => Ok(Reply::ok(scale_of(&a.res, &obj))),
        _ => Ok(Reply::ok(obj)),
    }
}

/// The autoscaling/v1 Scale view of a scalable object.
pub(crate) fn scale_of(res: &Resource, obj: &Value) -> Value {
    if let Some(scale) = crate::admission::scale_of(res, obj) {
        return scale;
    }
    let m = &obj["metadata"];
    let selector = obj["spec"]
        .get("selector")
        .map(|s| {
            if res.kind == "ReplicationController" {
                warren_apimachinery::selector::format_labels(
                    s.as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))),
                )
            } else {
                warren_apimachinery::selector::LabelSelector::from_label_selector(s)
                    .map(|sel| sel.to_string())
                    .unwrap_or_default()
            }
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"),
            "namespace": m.get("namespace"),
            "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"),
            "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": obj["spec"].get("replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": obj["status"].get("replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

/// List parameters shared by list and deletecollection.
pub struct ListRequest {
    pub filter: ListFilter,
    pub limit: Option<usize>,
    pub continue_token: Option<ContinueToken>,
    /// `None`: latest; `Some(r)`: read at exactly r.
    pub exact_revision: Option<i64>,
    /// `resourceVersion=N` with NotOlderThan semantics: latest must be at least N.
    pub min_revision: Option<i64>,
}

/// The opaque continue token: the revision the list is read at and the last key returned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContinueToken {
    #[serde(rename = "v")]
    pub version: String,
    #[serde(rename = "rv")]
    pub revision: i64,
    #[serde(rename = "start")]
    pub start_after: String,
}

impl ContinueToken {
    pub fn encode(&self) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(s: &str) -> Result<ContinueToken, ApiError> {
        use base64::Engine;
        let bad = || ApiError::bad_request(format!("continue key is not valid: {s:?}"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| bad())?;
        let token: ContinueToken = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if token.version != "meta.k8s.io/v1" || token.revision <= 0 {
            return Err(bad());
        }
        Ok(token)
    }
}

impl ListRequest {
    /// Every object, at the latest revision.
    pub fn everything(a: &Addressed) -> ListRequest {
        ListRequest {
            filter: ListFilter::everything(&a.res),
            limit: None,
            continue_token: None,
            exact_revision: None,
            min_revision: None,
        }
    }

    pub fn from_query(a: &Addressed, query: &Query) -> Result<ListRequest, ApiError> {
        let filter = ListFilter::from_query(&a.res, query)?;
        let limit = match query.int("limit")? {
            Some(n) if n > 0 => Some(n as usize),
            _ => None,
        };
        let continue_token = query
            .get("continue")
            .map(ContinueToken::decode)
            .transpose()?;
        let rv = query.get("resourceVersion");
        let rv_num =
            match rv {
                None => None,
                Some(s) => Some(s.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version {s:?}"))
                })?),
            };
        let matching = query.get("resourceVersionMatch");
        let (exact_revision, min_revision) = match (matching, rv_num) {
            (_, _) if continue_token.is_some() && rv.is_some_and(|r| r != "0") => {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            (Some("Exact"), Some(0) | None) => {
                return Err(ApiError::bad_request(
                    "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\" or unset",
                ));
            }
            (Some("Exact"), Some(n)) => (Some(n), None),
            (Some("NotOlderThan"), None) => {
                return Err(ApiError::bad_request(
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            (Some("NotOlderThan") | None, Some(n)) if n > 0 => (None, Some(n)),
            (Some("NotOlderThan") | None, _) => (None, None),
            (Some(other), _) => {
                return Err(ApiError::bad_request(format!(
                    "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
                )));
            }
        };
        Ok(ListRequest {
            filter,
            limit,
            continue_token,
            exact_revision,
            min_revision,
        })
    }
}

/// The items of a list, the revision it was read at, and where to continue.
pub struct ListResult<T = Value> {
    pub items: Vec<T>,
    pub revision: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<u64>,
}

/// Turns a stored row into a list item if the filter keeps it.
type KeepFn<T> = fn(KeyValue, &ListFilter) -> Result<Option<T>, ApiError>;

fn keep_object(kv: KeyValue, filter: &ListFilter) -> Result<Option<Value>, ApiError> {
    let obj = crate::objects::decode_kv(&kv)?;
    Ok(filter.matches(&obj).then_some(obj))
}

fn keep_bytes(kv: KeyValue, filter: &ListFilter) -> Result<Option<Vec<u8>>, ApiError> {
    Ok(filter.matches_bytes(&kv.value).then_some(kv.value))
}

/// Reads a (possibly paginated) list of objects.
pub async fn list_objects(
    state: &AppState,
    a: &Addressed,
    req: &ListRequest,
) -> Result<ListResult, ApiError> {
    let mut result = list_core(state, a, req, keep_object).await?;
    if crate::admission::transforms_reads(&a.res) {
        for item in &mut result.items {
            crate::admission::read_form(&a.res, item);
        }
    }
    Ok(result)
}

/// Reads a list as the stored JSON bytes of each item (no parse beyond what filtering needs).
pub async fn list_raw(
    state: &AppState,
    a: &Addressed,
    req: &ListRequest,
) -> Result<ListResult<Vec<u8>>, ApiError> {
    list_core(state, a, req, keep_bytes).await
}

/// Pages are filled up to `limit` matching items even when selectors filter most rows, as
/// kube's storage layer does.
async fn list_core<T: Send + 'static>(
    state: &AppState,
    a: &Addressed,
    req: &ListRequest,
    keep: KeepFn<T>,
) -> Result<ListResult<T>, ApiError> {
    let prefix = a.res.storage_list_prefix(a.namespace.as_deref());
    let mut start_after = req.continue_token.as_ref().map(|t| t.start_after.clone());
    let mut revision = req
        .continue_token
        .as_ref()
        .map(|t| t.revision)
        .or(req.exact_revision);
    if let (Some(min), None) = (req.min_revision, revision) {
        wait_for_revision(state, min).await?;
    }
    if let Some(name) = req.filter.exact_name() {
        // metadata.name=<x>: one key lookup, not a scan
        return single_name_list(state, a, req, name, revision, keep).await;
    }
    let mut items = Vec::new();
    loop {
        let want = req.limit.map(|l| l - items.len());
        let page = state
            .objects
            .list_page(
                prefix.clone(),
                ListOptions {
                    revision,
                    start_after: start_after.clone(),
                    limit: want,
                },
            )
            .await
            .map_err(|e| {
                if e.code() == 410 && req.continue_token.is_some() {
                    ApiError::new(
                        warren_apimachinery::error::Reason::Expired,
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    )
                } else {
                    e
                }
            })?;
        revision = Some(page.revision);
        let last_key = page.items.last().map(|kv| kv.key.clone());
        let (more, page_revision, remaining) = (page.more, page.revision, page.remaining);
        for kv in page.items {
            if let Some(item) = keep(kv, &req.filter)? {
                items.push(item);
            }
        }
        let filled = req.limit.is_some_and(|l| items.len() >= l);
        if !more {
            return Ok(ListResult {
                items,
                revision: page_revision,
                continue_token: None,
                remaining: None,
            });
        }
        if filled {
            let token = ContinueToken {
                version: "meta.k8s.io/v1".into(),
                revision: page_revision,
                start_after: last_key.unwrap_or_default(),
            };
            let remaining = req.filter.is_everything().then_some(remaining);
            return Ok(ListResult {
                items,
                revision: page_revision,
                continue_token: Some(token.encode()),
                remaining,
            });
        }
        start_after = last_key;
    }
}

async fn single_name_list<T: Send + 'static>(
    state: &AppState,
    a: &Addressed,
    req: &ListRequest,
    name: &str,
    revision: Option<i64>,
    keep: KeepFn<T>,
) -> Result<ListResult<T>, ApiError> {
    let store = state.objects.store.clone();
    let current = store.current_revision();
    let mut items = Vec::new();
    let namespaces: Vec<Option<String>> = match (&a.namespace, a.res.namespaced) {
        (Some(ns), _) => vec![Some(ns.clone())],
        (None, false) => vec![None],
        // all namespaces: fall back to a scan filtered by name
        (None, true) => Vec::new(),
    };
    if namespaces.is_empty() {
        let mut scan = ListRequest {
            filter: req.filter.clone(),
            limit: req.limit,
            continue_token: req.continue_token.clone(),
            exact_revision: revision,
            min_revision: None,
        };
        scan.filter.disable_exact_name();
        return Box::pin(list_core(state, a, &scan, keep)).await;
    }
    for ns in namespaces {
        let key = a.res.storage_key(ns.as_deref(), name);
        let s = store.clone();
        let kv = crate::objects::blocking(move || match revision {
            Some(r) => s.get_at(&key, r),
            None => s.get(&key),
        })
        .await?
        .map_err(crate::objects::general_store_error)?;
        if let Some(kv) = kv
            && let Some(item) = keep(kv, &req.filter)?
        {
            items.push(item);
        }
    }
    Ok(ListResult {
        items,
        revision: revision.unwrap_or(current),
        continue_token: None,
        remaining: None,
    })
}

/// `resourceVersion=N` (NotOlderThan) for a revision the store has not reached yet waits up to
/// 3 seconds, then answers 504 "Too large resource version" as kube does.
async fn wait_for_revision(state: &AppState, min: i64) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let current = state.objects.store.current_revision();
        if current >= min {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(crate::objects::general_store_error(
                warren_store::StoreError::FutureRevision {
                    requested: min,
                    current,
                },
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// GET collection: a `<Kind>List`. Plain JSON answers pass the stored bytes through.
pub async fn list(
    state: &Arc<AppState>,
    a: &Addressed,
    query: &Query,
    raw: bool,
) -> Result<Reply, ApiError> {
    let req = ListRequest::from_query(a, query)?;
    if raw && !crate::admission::transforms_reads(&a.res) {
        let result = list_raw(state, a, &req).await?;
        return Ok(Reply::raw(raw_list_body(&a.res, result)));
    }
    let result = list_objects(state, a, &req).await?;
    Ok(Reply::ok(list_body(&a.res, result)))
}

fn list_metadata<T>(result: &ListResult<T>) -> Value {
    let mut metadata = json!({"resourceVersion": result.revision.to_string()});
    if let Some(c) = &result.continue_token {
        metadata["continue"] = json!(c);
    }
    if let Some(r) = result.remaining {
        metadata["remainingItemCount"] = json!(r);
    }
    metadata
}

/// A `<Kind>List` assembled from stored item bytes.
fn raw_list_body(res: &Resource, result: ListResult<Vec<u8>>) -> Vec<u8> {
    let head = json!({
        "kind": res.list_kind(),
        "apiVersion": res.api_version(),
        "metadata": list_metadata(&result),
    })
    .to_string();
    let total: usize = result.items.iter().map(|i| i.len() + 1).sum();
    let mut out = Vec::with_capacity(head.len() + total + 16);
    // head is `{...}`: reopen it to append the items
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in result.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"]}");
    out
}

pub fn list_body(res: &Resource, result: ListResult) -> Value {
    json!({
        "kind": res.list_kind(),
        "apiVersion": res.api_version(),
        "metadata": list_metadata(&result),
        "items": result.items,
    })
}

/// The common tail of update and patch: carry over server fields, default, validate, finish
/// deletion when the last finalizer goes, and write if anything changed.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_update(
    state: &AppState,
    a: &Addressed,
    mut new: Value,
    old: Value,
    old_rev: i64,
    query: &Query,
    mut warnings: Vec<String>,
    tracking: crate::managed_fields::Tracking,
) -> Result<Reply, ApiError> {
    let res = &a.res;
    let scope = if a.subresource == Some(Subresource::Status) {
        WriteScope::Status
    } else {
        WriteScope::Main
    };
    if let Some(rv) = meta::meta_str(&new, "resourceVersion")
        && rv != old_rev.to_string()
    {
        let (_, name) = namespace_and_name(&old);
        return Err(ApiError::conflict_modified(&res.group, &res.plural, &name));
    }
    crate::admission::check_fields(
        res,
        &mut new,
        FieldValidation::from_query(query)?,
        &mut warnings,
    )?;
    meta::prepare_update(res, &mut new, &old, scope);
    crate::admission::apply_defaults(res, &mut new);
    if res.kind == "Namespace" && res.group.is_empty() && scope == WriteScope::Main {
        // spec.finalizers only change through /finalize
        new["spec"] = old.get("spec").cloned().unwrap_or(json!({}));
    }
    let errors = crate::admission::validate_update(res, &new, &old);
    if !errors.is_empty() {
        return Err(invalid(res, &new, &errors));
    }
    crate::auth::admit(state, res, &new, Some(&old))?;
    if scope == WriteScope::Main {
        let (ns, name) = (a.namespace.as_deref(), namespace_and_name(&new).1);
        crate::quota_admission::check_limits(state, res, ns, &new, Some(&old), &name).await?;
        let dry_run = query.dry_run()?;
        crate::quota_admission::charge_quota(state, res, ns, &new, Some(&old), &name, dry_run)
            .await?;
    }
    crate::managed_fields::on_update(a, query, &old, &mut new, tracking)?;
    if meta::semantically_equal(&new, &old) {
        return Ok(Reply::with_code(200, old, warnings));
    }
    if query.dry_run()? {
        return Ok(Reply::with_code(200, new, warnings));
    }
    let deleting = meta::meta_str(&new, "deletionTimestamp").is_some();
    if deleting && meta::finalizers(&new).is_empty() && !namespace_blocks_deletion(res, &new) {
        let (ns, name) = namespace_and_name(&new);
        state
            .objects
            .delete(res, ns.as_deref(), &name, old_rev)
            .await?;
        return Ok(Reply::with_code(200, new, warnings));
    }
    state.objects.update(res, &mut new, old_rev).await?;
    Ok(Reply::with_code(200, new, warnings))
}

/// A namespace is only removed once its `spec.finalizers` are empty too.
fn namespace_blocks_deletion(res: &Resource, obj: &Value) -> bool {
    res.group.is_empty()
        && res.kind == "Namespace"
        && obj["spec"]
            .get("finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
}

/// PUT: replace an object (or its status / scale / namespace finalizers).
pub async fn update(
    state: &Arc<AppState>,
    a: &Addressed,
    name: &str,
    query: &Query,
    mut new: Value,
) -> Result<Reply, ApiError> {
    let res = &a.res;
    let (old, old_rev) = state.objects.get(res, a.namespace.as_deref(), name).await?;
    if a.subresource == Some(Subresource::Scale) {
        return write_scale(state, a, query, new, old, old_rev).await;
    }
    type_name_check(res, &mut new)?;
    let body_name = meta::meta_str(&new, "name").unwrap_or("");
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let (Some(url_ns), Some(body_ns)) =
        (a.namespace.as_deref(), meta::meta_str(&new, "namespace"))
        && !body_ns.is_empty()
        && body_ns != url_ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if a.finalize {
        let mut next = old.clone();
        next["spec"]["finalizers"] = new["spec"].get("finalizers").cloned().unwrap_or(json!([]));
        return finalize_namespace(state, a, next, old, old_rev).await;
    }
    write_update(
        state,
        a,
        new,
        old,
        old_rev,
        query,
        Vec::new(),
        crate::managed_fields::Tracking::Update,
    )
    .await
}

async fn finalize_namespace(
    state: &AppState,
    a: &Addressed,
    next: Value,
    old: Value,
    old_rev: i64,
) -> Result<Reply, ApiError> {
    let (_, name) = namespace_and_name(&old);
    if meta::meta_str(&next, "deletionTimestamp").is_some()
        && !namespace_blocks_deletion(&a.res, &next)
        && meta::finalizers(&next).is_empty()
    {
        state.objects.delete(&a.res, None, &name, old_rev).await?;
        return Ok(Reply::ok(next));
    }
    let mut next = next;
    state.objects.update(&a.res, &mut next, old_rev).await?;
    Ok(Reply::ok(next))
}

/// Writes `spec.replicas` from a Scale object back to its parent.
async fn write_scale(
    state: &AppState,
    a: &Addressed,
    query: &Query,
    scale: Value,
    old: Value,
    old_rev: i64,
) -> Result<Reply, ApiError> {
    let replicas = scale["spec"]
        .get("replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if replicas < 0 {
        let (_, name) = namespace_and_name(&old);
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            &name,
            &[FieldError::invalid(
                "spec.replicas",
                json!(replicas),
                "must be greater than or equal to 0",
            )],
        ));
    }
    if let Some(rv) = meta::meta_str(&scale, "resourceVersion")
        && rv != old_rev.to_string()
    {
        let (_, name) = namespace_and_name(&old);
        return Err(ApiError::conflict_modified(
            &a.res.group,
            &a.res.plural,
            &name,
        ));
    }
    let mut new = old.clone();
    crate::admission::set_replicas(&a.res, &mut new, replicas);
    let main = Addressed {
        res: a.res.clone(),
        namespace: a.namespace.clone(),
        name: a.name.clone(),
        subresource: None,
        finalize: false,
    };
    let reply = write_update(
        state,
        &main,
        new,
        old,
        old_rev,
        query,
        Vec::new(),
        crate::managed_fields::Tracking::Scale,
    )
    .await?;
    Ok(Reply::ok(scale_of(&a.res, &reply.body)))
}

/// PATCH: json, merge or strategic merge patch, retried on write conflicts like kube's
/// GuaranteedUpdate (a patch without a resourceVersion never fails on a concurrent write).
pub async fn patch(
    state: &Arc<AppState>,
    a: &Addressed,
    name: &str,
    query: &Query,
    patch_type: PatchType,
    patch_body: Value,
) -> Result<Reply, ApiError> {
    let res = &a.res;
    crate::admission::check_patch_type(res, patch_type)?;
    crate::managed_fields::check_patch_options(query, patch_type)?;
    if patch_type == PatchType::Apply {
        return crate::managed_fields::apply_patch(state, a, name, query, patch_body).await;
    }
    let definition = if a.subresource == Some(Subresource::Scale) {
        "io.k8s.api.autoscaling.v1.Scale".to_string()
    } else {
        res.definition.clone()
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (old, old_rev) = state.objects.get(res, a.namespace.as_deref(), name).await?;
        let current_view = if a.subresource == Some(Subresource::Scale) {
            scale_of(res, &old)
        } else {
            old.clone()
        };
        let mut patched = match patch_type {
            PatchType::Json => patch::json_patch(&current_view, &patch_body),
            PatchType::Merge => patch::merge_patch(&current_view, &patch_body),
            PatchType::StrategicMerge => {
                patch::strategic_merge_patch(&current_view, &patch_body, &definition)
            }
            PatchType::Apply => {
                return Err(ApiError::unsupported_media_type(
                    "application/apply-patch+yaml",
                ));
            }
        }
        .map_err(ApiError::from)?;
        let result = if a.subresource == Some(Subresource::Scale) {
            write_scale(state, a, query, patched, old, old_rev).await
        } else {
            if meta::meta_str(&patched, "name").is_some_and(|n| n != name) {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    meta::meta_str(&patched, "name").unwrap_or("")
                )));
            }
            type_name_check(res, &mut patched)?;
            write_update(
                state,
                a,
                patched,
                old,
                old_rev,
                query,
                Vec::new(),
                crate::managed_fields::Tracking::Update,
            )
            .await
        };
        match result {
            Err(e)
                if e.code() == 409
                    && attempts < 5
                    && meta::meta_str(&patch_body, "resourceVersion").is_none() =>
            {
                continue;
            }
            other => return other,
        }
    }
}

/// DeleteOptions from the body (or the query, as kubectl may send either).
#[derive(Debug, Default)]
pub struct DeleteOptions {
    pub propagation: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub grace_period: Option<i64>,
    pub dry_run: bool,
}

impl DeleteOptions {
    pub fn parse(body: Option<&Value>, query: &Query) -> Result<DeleteOptions, ApiError> {
        let mut o = DeleteOptions {
            propagation: query.get("propagationPolicy").map(str::to_string),
            grace_period: query.int("gracePeriodSeconds")?,
            dry_run: query.dry_run()?,
            ..Default::default()
        };
        if let Some(b) = body {
            if let Some(p) = b.get("propagationPolicy").and_then(Value::as_str) {
                o.propagation = Some(p.to_string());
            }
            if b.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
                o.propagation = Some("Orphan".into());
            }
            if let Some(g) = b.get("gracePeriodSeconds").and_then(Value::as_i64) {
                o.grace_period = Some(g);
            }
            if let Some(pre) = b.get("preconditions") {
                o.precondition_uid = pre.get("uid").and_then(Value::as_str).map(str::to_string);
                o.precondition_rv = pre
                    .get("resourceVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            if let Some(d) = b.get("dryRun").and_then(Value::as_array)
                && d.iter().any(|v| v == "All")
            {
                o.dry_run = true;
            }
        }
        match o.propagation.as_deref() {
            None | Some("Orphan" | "Background" | "Foreground") => Ok(o),
            Some(other) => Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &[FieldError::not_supported(
                    "propagationPolicy",
                    json!(other),
                    &["Foreground", "Background", "Orphan", "nil"],
                )],
            )),
        }
    }
}

/// DELETE one object: immediate when nothing holds it, else marked with deletionTimestamp
/// until its finalizers are removed.
pub async fn delete(
    state: &Arc<AppState>,
    a: &Addressed,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Reply, ApiError> {
    let res = &a.res;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (old, old_rev) = state.objects.get(res, a.namespace.as_deref(), name).await?;
        if let Some(uid) = &opts.precondition_uid
            && meta::meta_str(&old, "uid") != Some(uid.as_str())
        {
            return Err(ApiError::conflict(
                &res.group,
                &res.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta::meta_str(&old, "uid").unwrap_or("")
                ),
            ));
        }
        if let Some(rv) = &opts.precondition_rv
            && *rv != old_rev.to_string()
        {
            return Err(ApiError::conflict(
                &res.group,
                &res.plural,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {old_rev}"
                ),
            ));
        }
        let result = delete_once(state, a, name, opts, old, old_rev).await;
        match result {
            Err(e) if e.code() == 409 && attempts < 5 && opts.precondition_rv.is_none() => continue,
            other => return other,
        }
    }
}

/// The finalizers an object keeps when deleted, with the garbage collector's `orphan` or
/// `foregroundDeletion` set from the propagation policy (kube's
/// deletionFinalizersForGarbageCollection); without a policy, the ones already there stay.
fn gc_finalizers(opts: &DeleteOptions, existing: &[String]) -> Vec<String> {
    let has = |f: &str| existing.iter().any(|e| e == f);
    let (orphan, foreground) = match opts.propagation.as_deref() {
        Some("Orphan") => (true, false),
        Some("Foreground") => (false, true),
        Some(_) => (false, false),
        None => (has("orphan"), has("foregroundDeletion")),
    };
    let mut out: Vec<String> = existing
        .iter()
        .filter(|f| *f != "orphan" && *f != "foregroundDeletion")
        .cloned()
        .collect();
    if orphan {
        out.push("orphan".into());
    }
    if foreground {
        out.push("foregroundDeletion".into());
    }
    out
}

/// kube's pod CheckGracefulDelete: the grace period a DELETE gives a pod — the request's, else
/// the pod's terminationGracePeriodSeconds (kube defaults it to 30); 0 for pods that never ran
/// on a node or have finished; negative asks become 1. `None` for other kinds.
pub(crate) fn pod_grace_period(res: &Resource, pod: &Value, opts: &DeleteOptions) -> Option<i64> {
    if !(res.group.is_empty() && res.kind == "Pod") {
        return None;
    }
    let mut period = opts.grace_period.unwrap_or_else(|| {
        pod["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(0)
    });
    let unscheduled = pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty);
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if unscheduled || finished {
        period = 0;
    }
    if period < 0 {
        period = 1;
    }
    Some(period)
}

async fn delete_once(
    state: &AppState,
    a: &Addressed,
    name: &str,
    opts: &DeleteOptions,
    old: Value,
    old_rev: i64,
) -> Result<Reply, ApiError> {
    let res = &a.res;
    let is_namespace = res.group.is_empty() && res.kind == "Namespace";
    if is_namespace && matches!(name, "default" | "kube-system" | "kube-public") {
        let mut e = ApiError::forbidden(format!(
            "namespaces {name:?} is forbidden: this namespace may not be deleted"
        ));
        e.name = Some(name.to_string());
        e.kind = Some("namespaces".into());
        return Err(e);
    }
    let current = meta::finalizers(&old);
    let wanted = gc_finalizers(opts, &current);
    if let Some(period) = pod_grace_period(res, &old, opts).filter(|p| *p > 0) {
        // A running pod is deleted gracefully: marked with the time its kubelet must have
        // stopped it by; the kubelet (or the syncer) removes it with a grace period of 0.
        let running_out = old["metadata"]["deletionGracePeriodSeconds"].as_i64();
        if running_out.is_some_and(|g| g <= period) {
            return Ok(Reply::ok(old));
        }
        let mut marked = old.clone();
        let until = chrono::Utc::now() + chrono::Duration::seconds(period);
        let m = meta::meta_mut(&mut marked);
        m.insert(
            "deletionTimestamp".into(),
            json!(until.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        m.insert("deletionGracePeriodSeconds".into(), json!(period));
        if wanted.is_empty() {
            m.remove("finalizers");
        } else {
            m.insert("finalizers".into(), json!(wanted));
        }
        if !opts.dry_run {
            state.objects.update(res, &mut marked, old_rev).await?;
        }
        return Ok(Reply::ok(marked));
    }
    let pending = !wanted.is_empty() || is_namespace || crate::crd::is_crd(res);
    if pending {
        let mut marked = old.clone();
        let first = meta::meta_str(&marked, "deletionTimestamp").is_none();
        if first || wanted != current {
            let m = meta::meta_mut(&mut marked);
            if first {
                m.insert("deletionTimestamp".into(), json!(meta::now_rfc3339()));
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            if wanted.is_empty() {
                m.remove("finalizers");
            } else {
                m.insert("finalizers".into(), json!(wanted));
            }
            if first && is_namespace {
                marked["status"]["phase"] = json!("Terminating");
            }
            if first {
                crate::crd::mark_deleting(res, &mut marked);
            }
            if !opts.dry_run {
                state.objects.update(res, &mut marked, old_rev).await?;
            }
        }
        if is_namespace && !opts.dry_run {
            state.namespace_cleanup.notify(name.to_string());
        }
        return Ok(Reply::ok(marked));
    }
    if opts.dry_run {
        return Ok(Reply::ok(old));
    }
    let deleted = state
        .objects
        .delete(res, a.namespace.as_deref(), name, old_rev)
        .await?;
    if res.group.is_empty() && res.kind == "Pod" {
        return Ok(Reply::ok(deleted));
    }
    Ok(Reply::ok(json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": name,
            "group": res.group,
            "kind": res.plural,
            "uid": meta::meta_str(&deleted, "uid"),
        },
    })))
}

/// DELETE collection: deletes every object the selectors match; answers with their list.
pub async fn delete_collection(
    state: &Arc<AppState>,
    a: &Addressed,
    query: &Query,
    opts: &DeleteOptions,
) -> Result<Reply, ApiError> {
    let req = ListRequest::from_query(a, query)?;
    let listed = list_objects(state, a, &req).await?;
    let mut deleted = Vec::new();
    for obj in listed.items {
        let (ns, name) = namespace_and_name(&obj);
        let one = Addressed {
            res: a.res.clone(),
            namespace: ns,
            name: Some(name.clone()),
            subresource: None,
            finalize: false,
        };
        match delete(state, &one, &name, opts).await {
            Ok(_) => deleted.push(obj),
            Err(e) if e.code() == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Reply::ok(list_body(
        &a.res,
        ListResult {
            items: deleted,
            revision: state.objects.store.current_revision(),
            continue_token: None,
            remaining: None,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_grace_period_as_kube() {
        let pods = warren_apimachinery::registry::find_builtin("", "v1", "pods").expect("pods");
        let cms = warren_apimachinery::registry::find_builtin("", "v1", "configmaps").expect("cms");
        let opts = |g: Option<i64>| DeleteOptions {
            grace_period: g,
            ..Default::default()
        };
        let running = json!({"spec": {"nodeName": "n", "terminationGracePeriodSeconds": 30}, "status": {"phase": "Running"}});
        assert_eq!(pod_grace_period(pods, &running, &opts(None)), Some(30));
        assert_eq!(pod_grace_period(pods, &running, &opts(Some(5))), Some(5));
        assert_eq!(pod_grace_period(pods, &running, &opts(Some(0))), Some(0));
        assert_eq!(pod_grace_period(pods, &running, &opts(Some(-3))), Some(1));
        let pending = json!({"spec": {"terminationGracePeriodSeconds": 30}});
        assert_eq!(pod_grace_period(pods, &pending, &opts(None)), Some(0));
        let done = json!({"spec": {"nodeName": "n", "terminationGracePeriodSeconds": 30}, "status": {"phase": "Succeeded"}});
        assert_eq!(pod_grace_period(pods, &done, &opts(None)), Some(0));
        assert_eq!(pod_grace_period(cms, &running, &opts(None)), None);
    }

    #[test]
    fn gc_finalizers_follow_the_propagation_policy() {
        let with = |p: Option<&str>| DeleteOptions {
            propagation: p.map(str::to_string),
            ..Default::default()
        };
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            gc_finalizers(&with(Some("Orphan")), &f(&["a"])),
            f(&["a", "orphan"])
        );
        assert_eq!(
            gc_finalizers(&with(Some("Foreground")), &f(&["orphan"])),
            f(&["foregroundDeletion"])
        );
        assert_eq!(
            gc_finalizers(&with(Some("Background")), &f(&["foregroundDeletion", "x"])),
            f(&["x"])
        );
        assert_eq!(gc_finalizers(&with(None), &f(&["orphan"])), f(&["orphan"]));
        assert!(gc_finalizers(&with(None), &[]).is_empty());
    }

    #[test]
    fn continue_token_round_trip_and_garbage() {
        let t = ContinueToken {
            version: "meta.k8s.io/v1".into(),
            revision: 42,
            start_after: "/registry/core/configmaps/default/a".into(),
        };
        assert_eq!(ContinueToken::decode(&t.encode()), Ok(t));
        assert!(ContinueToken::decode("!!!").is_err());
        assert!(ContinueToken::decode("e30").is_err());
    }
}
