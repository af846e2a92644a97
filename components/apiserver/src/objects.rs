//! Objects over the revisioned store: JSON in and out, `metadata.resourceVersion` = the row's
//! revision, and store errors mapped to the Status errors kube-apiserver returns.

use serde_json::Value;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::Resource;
use warren_store::{KeyValue, ListOptions, Store, StoreError};

/// Maps a store error for one named object to its API error.
pub fn store_error(res: &Resource, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::AlreadyExists { .. } => ApiError::already_exists(&res.group, &res.plural, name),
        StoreError::NotFound { .. } => ApiError::not_found(&res.group, &res.plural, name),
        StoreError::Conflict { .. } => ApiError::conflict_modified(&res.group, &res.plural, name),
        other => general_store_error(other),
    }
}

/// Maps a store error that is not about one object.
pub fn general_store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Compacted {
            requested,
            compacted,
        } => ApiError::expired(requested, compacted),
        StoreError::FutureRevision { requested, current } => {
            let mut err = ApiError::new(
                warren_apimachinery::error::Reason::Timeout,
                format!("Too large resource version: {requested}, current: {current}"),
            );
            err.retry_after_seconds = Some(1);
            err
        }
        other => ApiError::internal(other.to_string()),
    }
}

/// Decodes a stored value and stamps its resourceVersion.
pub fn decode_kv(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is corrupt: {e}", kv.key)))?;
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

pub fn set_resource_version(obj: &mut Value, rev: i64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rev.to_string()));
    }
}

/// Serializes an object for storage with the revision it is stored at as its resourceVersion,
/// so reads can hand out the stored bytes as they are.
pub fn encode_at(obj: &mut Value, rev: i64) -> Vec<u8> {
    set_resource_version(obj, rev);
    serde_json::to_vec(obj).unwrap_or_default()
}

/// Runs a blocking store call off the async runtime.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("store task failed: {e}")))
}

/// The object store used by the handlers.
#[derive(Clone)]
pub struct Objects {
    pub store: Store,
    /// Bumped on Service updates and deletes (the address allocator's cache goes stale).
    pub service_changes: crate::service_alloc::ServiceChanges,
}

fn is_core_service(res: &Resource) -> bool {
    res.group.is_empty() && res.kind == "Service"
}

impl Objects {
    pub async fn get(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(Value, i64), ApiError> {
        let key = res.storage_key(namespace, name);
        let store = self.store.clone();
        let kv = blocking(move || store.get(&key))
            .await?
            .map_err(|e| store_error(res, name, e))?
            .ok_or_else(|| ApiError::not_found(&res.group, &res.plural, name))?;
        let mut obj = decode_kv(&kv)?;
        crate::admission::read_form(res, &mut obj);
        Ok((obj, kv.mod_revision))
    }

    /// The stored bytes of one object (already carrying its resourceVersion).
    pub async fn get_raw(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let key = res.storage_key(namespace, name);
        let store = self.store.clone();
        let kv = blocking(move || store.get(&key))
            .await?
            .map_err(|e| store_error(res, name, e))?
            .ok_or_else(|| ApiError::not_found(&res.group, &res.plural, name))?;
        if crate::admission::transforms_reads(res) {
            let mut obj = decode_kv(&kv)?;
            crate::admission::read_form(res, &mut obj);
            return Ok(serde_json::to_vec(&obj).unwrap_or_default());
        }
        Ok(kv.value)
    }

    pub async fn get_opt(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<(Value, i64)>, ApiError> {
        match self.get(res, namespace, name).await {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.code() == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn create(&self, res: &Resource, obj: &mut Value) -> Result<(), ApiError> {
        self.write(res, obj, |store, key, value_for| {
            store.create_with(key, value_for)
        })
        .await
    }

    /// Writes `obj` if the stored object is still at `expected_rev`.
    pub async fn update(
        &self,
        res: &Resource,
        obj: &mut Value,
        expected_rev: i64,
    ) -> Result<(), ApiError> {
        let written = self
            .write(res, obj, move |store, key, value_for| {
                store.update_with(key, value_for, Some(expected_rev))
            })
            .await;
        if is_core_service(res) {
            self.service_changes.bump();
        }
        written
    }

    /// Runs a store write off the async runtime; the object is encoded with the revision the
    /// store assigns, and comes back stamped with it.
    async fn write(
        &self,
        res: &Resource,
        obj: &mut Value,
        op: impl FnOnce(&Store, &str, &mut dyn FnMut(i64) -> Vec<u8>) -> Result<i64, StoreError>
        + Send
        + 'static,
    ) -> Result<(), ApiError> {
        let (ns, name) = namespace_and_name(obj);
        let key = res.storage_key(ns.as_deref(), &name);
        let store = self.store.clone();
        let mut owned = std::mem::take(obj);
        // custom resources are stored at their CRD's storage version
        let served_version = crate::admission::to_storage(res, &mut owned);
        let (result, mut back) = blocking(move || {
            let r = op(&store, &key, &mut |rev| encode_at(&mut owned, rev));
            (r, owned)
        })
        .await?;
        if let (Some(v), Some(m)) = (served_version, back.as_object_mut()) {
            m.insert("apiVersion".into(), v);
        }
        *obj = back;
        let rev = result.map_err(|e| store_error(res, &name, e))?;
        set_resource_version(obj, rev);
        Ok(())
    }

    /// Removes the object if it is still at `expected_rev`; returns the removed object.
    pub async fn delete(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
        expected_rev: i64,
    ) -> Result<Value, ApiError> {
        let key = res.storage_key(namespace, name);
        let store = self.store.clone();
        let deleted = blocking(move || store.delete(&key, Some(expected_rev))).await?;
        if is_core_service(res) {
            self.service_changes.bump();
        }
        let (_, kv) = deleted.map_err(|e| store_error(res, name, e))?;
        let mut obj = decode_kv(&kv)?;
        crate::admission::read_form(res, &mut obj);
        Ok(obj)
    }

    /// One page of raw rows under `prefix`.
    pub async fn list_page(
        &self,
        prefix: String,
        opts: ListOptions,
    ) -> Result<warren_store::ListPage, ApiError> {
        let store = self.store.clone();
        blocking(move || store.list(&prefix, &opts))
            .await?
            .map_err(general_store_error)
    }
}

/// `(metadata.namespace, metadata.name)` of an object.
pub fn namespace_and_name(obj: &Value) -> (Option<String>, String) {
    let meta = obj.get("metadata");
    let ns = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    (ns, name)
}
