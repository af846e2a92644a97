//! Shared server state: the object store, the served resources, the PKI and background hooks.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use warren_apimachinery::registry::{self, Resource};

use crate::namespace::NamespaceCleanup;
use crate::objects::Objects;
use crate::pki::ClusterPki;

/// The resources the API serves: the built-ins plus what established CRDs add at run time.
/// Lookups hand out `Arc`s, so a request keeps the resource it resolved even while a CRD
/// changes; `generation` moves on every change (discovery and OpenAPI caches key on it).
pub struct Catalog {
    inner: RwLock<CatalogInner>,
}

struct CatalogInner {
    /// Built-ins followed by every CRD's resources, in registration order.
    all: Vec<Arc<Resource>>,
    builtin_len: usize,
    /// CRD name → its resources (one per served version).
    custom: BTreeMap<String, Vec<Arc<Resource>>>,
    generation: u64,
}

impl Default for Catalog {
    fn default() -> Self {
        let builtin: Vec<Arc<Resource>> = registry::builtin_resources()
            .iter()
            .cloned()
            .map(Arc::new)
            .collect();
        Catalog {
            inner: RwLock::new(CatalogInner {
                builtin_len: builtin.len(),
                all: builtin,
                custom: BTreeMap::new(),
                generation: 0,
            }),
        }
    }
}

impl Catalog {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, CatalogInner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        self.read()
            .all
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    /// Every served resource (a snapshot).
    pub fn all(&self) -> Vec<Arc<Resource>> {
        self.read().all.clone()
    }

    /// Changes whenever a CRD adds, changes or removes resources.
    pub fn generation(&self) -> u64 {
        self.read().generation
    }

    /// Serves `resources` for the CRD `crd_name` (replacing what it served before); an empty
    /// list stops serving it.
    pub fn set_custom(&self, crd_name: &str, resources: Vec<Resource>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let current = inner.custom.get(crd_name);
        let unchanged = match current {
            Some(cur) => {
                cur.len() == resources.len() && cur.iter().zip(&resources).all(|(a, b)| **a == *b)
            }
            None => resources.is_empty(),
        };
        if unchanged {
            return;
        }
        if resources.is_empty() {
            inner.custom.remove(crd_name);
        } else {
            inner.custom.insert(
                crd_name.to_string(),
                resources.into_iter().map(Arc::new).collect(),
            );
        }
        let mut all: Vec<Arc<Resource>> = inner.all[..inner.builtin_len].to_vec();
        for list in inner.custom.values() {
            all.extend(list.iter().cloned());
        }
        inner.all = all;
        inner.generation += 1;
    }

    /// The resources a CRD currently serves.
    pub fn custom(&self, crd_name: &str) -> Vec<Arc<Resource>> {
        self.read()
            .custom
            .get(crd_name)
            .cloned()
            .unwrap_or_default()
    }

    /// Groups with their versions, core first, in registration order.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for r in &self.read().all {
            match groups.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, versions)) if !versions.contains(&r.version) => {
                    versions.push(r.version.clone())
                }
                Some(_) => {}
                None => groups.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        // several CRDs may share a group: versions by kube's priority
        for (_, versions) in groups.iter_mut() {
            if versions.len() > 1 {
                versions.sort_by(|a, b| warren_apimachinery::crd::compare_versions(a, b));
            }
        }
        groups
    }

    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<Resource>> {
        self.read()
            .all
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .cloned()
            .collect()
    }

    pub fn namespaces(&self) -> Arc<Resource> {
        self.find("", "v1", "namespaces")
            .unwrap_or_else(|| Arc::new(registry::builtin_resources()[0].clone()))
    }
}

pub struct AppState {
    pub objects: Objects,
    pub pki: ClusterPki,
    pub catalog: Catalog,
    pub namespace_cleanup: NamespaceCleanup,
    pub openapi: crate::openapi::OpenApiCache,
    pub services: crate::service_alloc::ServiceAllocator,
    pub ready: AtomicBool,
    pub listen: SocketAddr,
    pub auth: crate::auth::Auth,
}
