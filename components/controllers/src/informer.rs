//! Informers: a watch feeding a local cache (kube-runtime's reflector store) and a callback per
//! changed object.

use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

/// Starts watching `api`; `on_change` runs for every added, modified or deleted object (and for
/// each object of a re-list). Returns the cache once it holds the initial list.
pub async fn start<K, F>(api: Api<K>, on_change: F) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    F: Fn(&K) + Send + 'static,
{
    start_with_deletes(api, move |obj, _deleted| on_change(obj)).await
}

/// Like [`start`]; the callback also learns whether the object was deleted.
pub async fn start_with_deletes<K, F>(api: Api<K>, on_change: F) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    F: Fn(&K, bool) + Send + 'static,
{
    start_selected(api, watcher::Config::default(), on_change).await
}

/// Like [`start_with_deletes`], for the objects `config`'s selectors pick: a controller that
/// needs a few objects of a kind (one name, one type) caches only those.
pub async fn start_selected<K, F>(api: Api<K>, config: watcher::Config, on_change: F) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    F: Fn(&K, bool) + Send + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, config).default_backoff().reflect(writer);
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                    on_change(&obj, false)
                }
                Ok(watcher::Event::Delete(obj)) => on_change(&obj, true),
                Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
                Err(e) => {
                    tracing::debug!(error = %e, kind = %K::kind(&()), "watch");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    });
    let _ = reader.wait_until_ready().await;
    reader
}
