//! The form the shared informer caches pods in. A typed `Pod` takes 17-21 KB of heap even when
//! its JSON is 2-3 KB (k8s-openapi's `Pod` is 2 KB inline, each `Container` 2 KB, each `Volume`
//! 3 KB), and a virtual cluster caches every pod it has. [`CachedPod`] keeps typed only what
//! the caches are scanned by — the metadata but its annotations, and the node — and the
//! annotations, spec and status as JSON, decoded by the reader that needs them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::runtime::reflector::Store;
use serde::{Deserialize, Serialize};

use crate::replicaset::controller_ref;
use crate::selector::Selector;

#[cfg(test)]
mod tests;

/// A pod as the shared informer caches it: see the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedPod {
    /// Without annotations (in `body`: a map of a few strings takes a B-tree node of ~540
    /// bytes plus an allocation per string; no scan reads them) and managedFields.
    pub metadata: ObjectMeta,
    node_name: Option<String>,
    /// `{"annotations":…,"spec":…,"status":…}`
    body: Box<[u8]>,
}

#[derive(Serialize)]
struct BodyRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: &'a Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: &'a Option<PodSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: &'a Option<PodStatus>,
}

#[derive(Deserialize)]
struct Body {
    annotations: Option<BTreeMap<String, String>>,
    spec: Option<PodSpec>,
    status: Option<PodStatus>,
}

impl CachedPod {
    pub fn new(pod: &Pod) -> CachedPod {
        let body = BodyRef {
            annotations: &pod.metadata.annotations,
            spec: &pod.spec,
            status: &pod.status,
        };
        let mut metadata = pod.metadata.clone();
        metadata.annotations = None;
        CachedPod {
            metadata,
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            // Serializing k8s-openapi types into a Vec cannot fail (no maps with non-string
            // keys, no I/O); an empty body would decode as a pod without spec and status.
            body: serde_json::to_vec(&body)
                .unwrap_or_default()
                .into_boxed_slice(),
        }
    }

    /// `spec.nodeName`, without decoding the pod.
    pub fn node_name(&self) -> Option<&str> {
        self.node_name.as_deref()
    }

    /// The whole pod (as cached: without managedFields).
    pub fn decode(&self) -> Pod {
        let Body {
            annotations,
            spec,
            status,
        } = match serde_json::from_slice(&self.body) {
            Ok(body) => body,
            Err(e) => {
                // only if k8s-openapi could not read what it wrote
                tracing::error!(error = %e, pod = ?self.metadata.name, "cached pod unreadable");
                Body {
                    annotations: None,
                    spec: None,
                    status: None,
                }
            }
        };
        Pod {
            metadata: ObjectMeta {
                annotations,
                ..self.metadata.clone()
            },
            spec,
            status,
        }
    }

    /// Whether the JSON of annotations, spec and status contains `text`: a quick filter before decoding
    /// (a pod that references an object by name has the name, quoted, in its JSON).
    pub fn mentions(&self, text: &str) -> bool {
        memchr::memmem::find(&self.body, text.as_bytes()).is_some()
    }

    /// The JSON held for spec and status, in bytes.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }
}

impl From<&Pod> for CachedPod {
    fn from(pod: &Pod) -> CachedPod {
        CachedPod::new(pod)
    }
}

impl Resource for CachedPod {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        Pod::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        Pod::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        Pod::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        Pod::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The pods in `namespace` that `selector` matches, decoded.
pub fn selected(pods: &Store<CachedPod>, namespace: &str, selector: &Selector) -> Vec<Arc<Pod>> {
    decoded(pods, |p| {
        p.metadata.namespace.as_deref() == Some(namespace)
            && selector.matches(p.metadata.labels.as_ref())
    })
}

/// The pods in `namespace` an owner may claim, decoded: those it controls (`owner_uid`), and
/// orphans its `selector` matches. Owner controllers read no other pods, and decoding only
/// these keeps a sync cheap in a namespace of thousands of pods.
pub fn claimable(
    pods: &Store<CachedPod>,
    namespace: &str,
    owner_uid: &str,
    selector: &Selector,
) -> Vec<Arc<Pod>> {
    decoded(pods, |p| {
        p.metadata.namespace.as_deref() == Some(namespace)
            && match controller_ref(&p.metadata) {
                Some(r) => r.uid == owner_uid,
                None => selector.matches(p.metadata.labels.as_ref()),
            }
    })
}

/// The cached pods `keep` accepts, decoded.
pub fn decoded(pods: &Store<CachedPod>, keep: impl Fn(&CachedPod) -> bool) -> Vec<Arc<Pod>> {
    pods.state()
        .iter()
        .filter(|p| keep(p))
        .map(|p| Arc::new(p.decode()))
        .collect()
}
