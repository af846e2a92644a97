//! Shared server state: the object store, the served resources, the PKI and background hooks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use warren_apimachinery::registry::{self, Resource};

use crate::namespace::NamespaceCleanup;
use crate::objects::Objects;
use crate::pki::ClusterPki;

/// The resources the API serves. Built-ins today; CRDs will add entries at run time.
pub struct Catalog {
    resources: Vec<Arc<Resource>>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog {
            resources: registry::builtin_resources()
                .iter()
                .cloned()
                .map(Arc::new)
                .collect(),
        }
    }
}

impl Catalog {
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    pub fn all(&self) -> &[Arc<Resource>] {
        &self.resources
    }

    /// Groups with their versions, core first, in registration order.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for r in &self.resources {
            match groups.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, versions)) if !versions.contains(&r.version) => {
                    versions.push(r.version.clone())
                }
                Some(_) => {}
                None => groups.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        groups
    }

    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Resource>> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.group == group && r.version == version)
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
