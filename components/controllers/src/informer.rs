//! Informers: a watch feeding a local cache (kube-runtime's reflector store) and a callback per
//! changed object. [`Informers`] shares one watch and cache per kind between controllers;
//! [`start_selected`] is for the few objects a single controller selects by field.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

pub use crate::cached_pod::CachedPod;
use crate::cached_pod::PodPacker;

/// Starts watching `api`; `on_change` runs for every added, modified or deleted object (and for
/// each object of a re-list). Returns the cache once it holds the initial list. Cached objects
/// carry no managedFields (see [`Informers`]).
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
    start_selected_trimmed(api, config, |_| {}, on_change).await
}

/// Like [`start_selected`]; `trim` drops what the caller never reads from each object before
/// it is cached (big caches of big objects).
pub async fn start_selected_trimmed<K, T, F>(
    api: Api<K>,
    config: watcher::Config,
    trim: T,
    on_change: F,
) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    T: FnMut(&mut K) + Send + 'static,
    F: Fn(&K, bool) + Send + 'static,
{
    start_cached(
        api,
        config,
        trim,
        |w, e| w.apply_watcher_event(e),
        on_change,
    )
    .await
}

/// Like [`start_selected_trimmed`] for pods, cached as [`CachedPod`]s.
pub async fn start_selected_pods<T, F>(
    api: Api<Pod>,
    config: watcher::Config,
    trim: T,
    on_change: F,
) -> Store<CachedPod>
where
    T: FnMut(&mut Pod) + Send + 'static,
    F: Fn(&Pod, bool) + Send + 'static,
{
    start_cached(api, config, trim, pod_cache_writer(), on_change).await
}

/// [`spawn_cached`], returning the cache once it holds the first list.
async fn start_cached<K, C, T, A, F>(
    api: Api<K>,
    config: watcher::Config,
    trim: T,
    apply: A,
    on_change: F,
) -> Store<C>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    C: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    T: FnMut(&mut K) + Send + 'static,
    A: FnMut(&mut Writer<C>, &watcher::Event<K>) + Send + 'static,
    F: Fn(&K, bool) + Send + 'static,
{
    let reader = spawn_cached(api, config, trim, apply, on_change);
    let _ = reader.wait_until_ready().await;
    reader
}

/// Watches `api`, trims each object, puts it into a cache of `C` with `apply`, then calls
/// `on_change`; returns the cache (filled in the background).
fn spawn_cached<K, C, T, A, F>(
    api: Api<K>,
    config: watcher::Config,
    mut trim: T,
    mut apply: A,
    on_change: F,
) -> Store<C>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    C: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    T: FnMut(&mut K) + Send + 'static,
    A: FnMut(&mut Writer<C>, &watcher::Event<K>) + Send + 'static,
    F: Fn(&K, bool) + Send + 'static,
{
    let (reader, mut writer) = reflector::store::<C>();
    let stream = watcher(api, config)
        .default_backoff()
        .modify(move |o: &mut K| {
            o.meta_mut().managed_fields = None;
            trim(o);
        });
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if let Ok(event) = &item {
                apply(&mut writer, event);
            }
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
    reader
}

type Callback<K> = Arc<dyn Fn(&K, bool) + Send + Sync>;

/// One watch of a kind shared by every controller that caches it (client-go's shared informer
/// factory): one cache and one stream instead of one per controller. Watched objects are `K`;
/// the cache holds them as `C` (`K` itself, or a compact form such as [`CachedPod`]).
/// Cached objects carry no managedFields — no controller reads them, and they are a good part
/// of an object's size.
struct Shared<K: Resource<DynamicType = ()> + 'static, C: Resource<DynamicType = ()> + 'static> {
    store: Store<C>,
    subscribers: Arc<Mutex<Vec<Callback<K>>>>,
    /// true once the cache holds the first full list
    ready: tokio::sync::watch::Receiver<bool>,
}

impl<K, C> Shared<K, C>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    C: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    /// `apply` puts each watch event into the cache (converting `K` to `C`).
    fn start<A>(client: Client, apply: A) -> Shared<K, C>
    where
        A: FnMut(&mut Writer<C>, &watcher::Event<K>) + Send + 'static,
    {
        let subscribers: Arc<Mutex<Vec<Callback<K>>>> = Arc::default();
        let subs = subscribers.clone();
        let reader = spawn_cached(
            Api::<K>::all(client),
            watcher::Config::default(),
            |_| {},
            apply,
            move |obj: &K, deleted| {
                let current: Vec<Callback<K>> =
                    subs.lock().unwrap_or_else(|e| e.into_inner()).clone();
                for f in current {
                    f(obj, deleted);
                }
            },
        );
        // kube-runtime's Store::wait_until_ready wakes only one of several concurrent waiters:
        // one task waits, and every subscriber watches `ready`.
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let filled = reader.clone();
        tokio::spawn(async move {
            if filled.wait_until_ready().await.is_ok() {
                ready_tx.send_replace(true);
            }
        });
        Shared {
            store: reader,
            subscribers,
            ready,
        }
    }
}

/// Puts pod watch events into a cache of [`CachedPod`]s, packed by one [`PodPacker`].
fn pod_cache_writer() -> impl FnMut(&mut Writer<CachedPod>, &watcher::Event<Pod>) + Send + 'static {
    use watcher::Event;
    let mut packer = PodPacker::default();
    move |writer, event| {
        writer.apply_watcher_event(&match event {
            Event::Apply(p) => Event::Apply(packer.pack(p)),
            // only its key is read
            Event::Delete(p) => Event::Delete(CachedPod::key_only(p)),
            Event::Init => Event::Init,
            Event::InitApply(p) => Event::InitApply(packer.pack(p)),
            Event::InitDone => Event::InitDone,
        })
    }
}

/// The shared informers of one controller process, started on first use.
#[derive(Clone)]
pub struct Informers {
    client: Client,
    started: Arc<Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>>,
}

impl Informers {
    pub fn new(client: Client) -> Informers {
        Informers {
            client,
            started: Arc::default(),
        }
    }

    /// The shared cache of every `K` in the cluster; `on_change` runs for each change (and once
    /// for each object already cached when it subscribes). Returns once the cache is filled.
    /// Pods have their own: [`Informers::pods_with_deletes`].
    pub async fn all_with_deletes<K, F>(&self, on_change: F) -> Store<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        F: Fn(&K, bool) + Send + Sync + 'static,
    {
        debug_assert!(
            TypeId::of::<K>() != TypeId::of::<Pod>(),
            "pods are cached compactly: Informers::pods_with_deletes"
        );
        let (store, cached) = self
            .subscribe::<K, K, _, _>(on_change, |w, e| w.apply_watcher_event(e))
            .await;
        // A late subscriber hears of what is already cached (callbacks only enqueue keys, so
        // hearing of an object twice is harmless).
        for (obj, callback) in cached {
            callback(&obj, false);
        }
        store
    }

    /// Like [`Informers::all_with_deletes`], for callbacks that do not care about deletions.
    pub async fn all<K, F>(&self, on_change: F) -> Store<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        F: Fn(&K) + Send + Sync + 'static,
    {
        self.all_with_deletes(move |obj: &K, _| on_change(obj))
            .await
    }

    /// The shared cache of every pod, held as [`CachedPod`]s; `on_change` sees whole pods.
    pub async fn pods_with_deletes<F>(&self, on_change: F) -> Store<CachedPod>
    where
        F: Fn(&Pod, bool) + Send + Sync + 'static,
    {
        let (store, cached) = self
            .subscribe::<Pod, CachedPod, _, _>(on_change, pod_cache_writer())
            .await;
        for (obj, callback) in cached {
            callback(&obj.decode(), false);
        }
        store
    }

    /// Subscribes `on_change` to the shared watch of `K` cached as `C` (starting it with
    /// `apply` if it is the first) and waits for the cache to be filled. Returns the cache and
    /// what it held then, for the caller to tell the new subscriber of.
    #[allow(clippy::type_complexity)]
    async fn subscribe<K, C, F, A>(
        &self,
        on_change: F,
        apply: A,
    ) -> (Store<C>, Vec<(Arc<C>, Callback<K>)>)
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        C: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
        F: Fn(&K, bool) + Send + Sync + 'static,
        A: FnMut(&mut Writer<C>, &watcher::Event<K>) + Send + 'static,
    {
        let shared: Arc<Shared<K, C>> = {
            let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
            let entry = started
                .entry(TypeId::of::<C>())
                .or_insert_with(|| Arc::new(Shared::<K, C>::start(self.client.clone(), apply)));
            match entry.clone().downcast::<Shared<K, C>>() {
                Ok(s) => s,
                Err(_) => unreachable!("informers are keyed by their cached type"),
            }
        };
        let callback: Callback<K> = Arc::new(on_change);
        shared
            .subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(callback.clone());
        // kube-runtime's Store::wait_until_ready wakes only one of several concurrent waiters
        let mut ready = shared.ready.clone();
        let _ = ready.wait_for(|r| *r).await;
        let cached = shared
            .store
            .state()
            .into_iter()
            .map(|obj| (obj, callback.clone()))
            .collect();
        (shared.store.clone(), cached)
    }
}
