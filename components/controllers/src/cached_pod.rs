//! The form the shared informer caches pods in. A typed `Pod` takes 17-21 KB of heap even when
//! its JSON is 2-3 KB (k8s-openapi's `Pod` is 2 KB inline, each `Container` 2 KB, each `Volume`
//! 3 KB), and a virtual cluster caches every pod it has. [`CachedPod`] keeps typed only what
//! the caches are scanned by — the metadata but its annotations, and the node — and the
//! annotations, spec and status as JSON, decoded by the reader that needs them. The JSON is
//! compressed against another pod's ([`PodPacker`]): most of a pod is what its siblings have too.

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
#[derive(Clone, Debug)]
pub struct CachedPod {
    /// Without labels (in [`CachedPod::labels`]), annotations (in `body`; no scan reads them)
    /// and managedFields: a map of a few strings takes a B-tree node of ~540 bytes plus an
    /// allocation per string.
    pub metadata: ObjectMeta,
    labels: Labels,
    node_name: Option<String>,
    /// `{"annotations":…,"spec":…,"status":…}`
    body: PackedJson,
}

/// JSON held whole, or LZ4-compressed against the JSON of a similar pod. Pods of one workload
/// differ in a few names, addresses and times, so a pod's JSON compressed against another's
/// takes 5-20% of its size; a pod that compresses badly becomes the dictionary of the next
/// ones (see [`PodPacker`]).
#[derive(Clone, Debug)]
enum PackedJson {
    Whole(Arc<[u8]>),
    Compressed {
        dictionary: Arc<[u8]>,
        bytes: Box<[u8]>,
        len: u32,
    },
}

impl PackedJson {
    fn unpack(&self) -> Cow<'_, [u8]> {
        match self {
            PackedJson::Whole(json) => Cow::Borrowed(json),
            PackedJson::Compressed {
                dictionary,
                bytes,
                len,
            } => match lz4_flex::block::decompress_with_dict(bytes, *len as usize, dictionary) {
                Ok(json) => Cow::Owned(json),
                Err(e) => {
                    // only if lz4_flex could not read what it wrote
                    tracing::error!(error = %e, "cached pod unreadable");
                    Cow::Borrowed(b"{}")
                }
            },
        }
    }
}

/// Packs the pods of one cache: compresses each pod's JSON against a dictionary, the JSON of
/// an earlier pod, and makes a pod that compresses to more than half its size the next
/// dictionary (so the dictionary follows what the cache holds; an old dictionary lives as
/// long as pods packed against it). A cache of unlike pods costs what it would unpacked.
#[derive(Default)]
pub struct PodPacker {
    dictionary: Option<Arc<[u8]>>,
}

impl PodPacker {
    pub fn pack(&mut self, pod: &Pod) -> CachedPod {
        let json = body_json(pod);
        let body = match (&self.dictionary, u32::try_from(json.len())) {
            (Some(dictionary), Ok(len)) => {
                let bytes = lz4_flex::block::compress_with_dict(&json, dictionary);
                (bytes.len() * 2 <= json.len()).then(|| PackedJson::Compressed {
                    dictionary: dictionary.clone(),
                    bytes: bytes.into_boxed_slice(),
                    len,
                })
            }
            _ => None,
        };
        let body = body.unwrap_or_else(|| {
            let whole: Arc<[u8]> = json.into();
            self.dictionary = Some(whole.clone());
            PackedJson::Whole(whole)
        });
        CachedPod::with_body(pod, body)
    }
}

fn body_json(pod: &Pod) -> Vec<u8> {
    let body = BodyRef {
        annotations: &pod.metadata.annotations,
        spec: &pod.spec,
        status: &pod.status,
    };
    // Serializing k8s-openapi types into a Vec cannot fail (no maps with non-string keys, no
    // I/O); an empty body would decode as a pod without spec and status.
    serde_json::to_vec(&body).unwrap_or_default()
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
    /// The pod with its JSON held whole (a cache packs with [`PodPacker`]).
    pub fn new(pod: &Pod) -> CachedPod {
        CachedPod::with_body(pod, PackedJson::Whole(body_json(pod).into()))
    }

    /// Only the pod's metadata, for a cache deletion (which reads only the key).
    pub(crate) fn key_only(pod: &Pod) -> CachedPod {
        CachedPod::with_body(pod, PackedJson::Whole(Arc::from(&b"{}"[..])))
    }

    fn with_body(pod: &Pod, body: PackedJson) -> CachedPod {
        let mut metadata = pod.metadata.clone();
        metadata.annotations = None;
        let labels = Labels::new(metadata.labels.take().as_ref());
        CachedPod {
            metadata,
            labels,
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            body,
        }
    }

    /// The pod's labels (`metadata.labels` of the cached form is empty).
    pub fn labels(&self) -> &Labels {
        &self.labels
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
        } = match serde_json::from_slice(&self.body.unpack()) {
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
                labels: self.labels.to_map(),
                ..self.metadata.clone()
            },
            spec,
            status,
        }
    }

    /// Whether the JSON of annotations, spec and status contains `text`: a quick filter before decoding
    /// (a pod that references an object by name has the name, quoted, in its JSON).
    pub fn mentions(&self, text: &str) -> bool {
        memchr::memmem::find(&self.body.unpack(), text.as_bytes()).is_some()
    }

    /// The JSON of annotations, spec and status, in bytes (unpacked).
    pub fn body_len(&self) -> usize {
        self.body.unpack().len()
    }

    /// What the JSON of annotations, spec and status takes in the cache, in bytes: its
    /// compressed size, or its size if the pod holds it whole (possibly shared as a dictionary).
    pub fn packed_len(&self) -> usize {
        match &self.body {
            PackedJson::Whole(json) => json.len(),
            PackedJson::Compressed { bytes, .. } => bytes.len(),
        }
    }
}

impl PartialEq for CachedPod {
    fn eq(&self, other: &CachedPod) -> bool {
        self.metadata == other.metadata
            && self.labels == other.labels
            && self.node_name == other.node_name
            && self.body.unpack() == other.body.unpack()
    }
}

/// Labels as one string, `key NUL value NUL key NUL value`, in key order: one allocation
/// instead of a B-tree node and two strings per label. (No API server accepts a NUL in a label.)
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels(Option<Box<str>>);

impl Labels {
    pub fn new(labels: Option<&BTreeMap<String, String>>) -> Labels {
        Labels(labels.map(|map| {
            let mut packed = String::new();
            for (key, value) in map {
                if !packed.is_empty() {
                    packed.push('\0');
                }
                packed.push_str(key);
                packed.push('\0');
                packed.push_str(value);
            }
            packed.into_boxed_str()
        }))
    }

    /// The labels as pairs, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut parts = self
            .0
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| p.split('\0'));
        std::iter::from_fn(move || {
            let parts = parts.as_mut()?;
            Some((parts.next()?, parts.next()?))
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// `metadata.labels` as the pod had it (`None` and an empty map kept apart).
    pub fn to_map(&self) -> Option<BTreeMap<String, String>> {
        self.0.as_ref()?;
        Some(
            self.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
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
            && selector.matches_labels(|k| p.labels.get(k))
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
                None => selector.matches_labels(|k| p.labels.get(k)),
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
