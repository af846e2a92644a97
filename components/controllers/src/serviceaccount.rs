//! The serviceaccount controller (a `default` ServiceAccount in every namespace) and the
//! root-ca-cert-publisher (a `kube-root-ca.crt` ConfigMap holding the cluster CA in every
//! namespace). Both re-create their object when it is deleted, and leave terminating
//! namespaces alone. They watch only the objects of those names, so a namespace full of
//! ConfigMaps costs them nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};

use crate::queue::Queue;
use crate::{Context, informer, is_status};

pub const DEFAULT_SA: &str = "default";
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

pub async fn run(ctx: Context, service_accounts: bool, root_ca: bool) {
    let root_ca = root_ca && ctx.root_ca.is_some();
    let queue = Queue::new();
    let q = queue.clone();
    let namespaces = ctx
        .informers
        .all::<Namespace, _>(move |ns| q.add(ns.name_any()))
        .await;
    let sas = if service_accounts {
        let q = queue.clone();
        Some(
            informer::start_selected(
                Api::<ServiceAccount>::all(ctx.client.clone()),
                watcher::Config::default().fields(&format!("metadata.name={DEFAULT_SA}")),
                move |sa, _| q.add(sa.namespace().unwrap_or_default()),
            )
            .await,
        )
    } else {
        None
    };
    let cms = if root_ca {
        let q = queue.clone();
        Some(
            informer::start_selected(
                Api::<ConfigMap>::all(ctx.client.clone()),
                watcher::Config::default().fields(&format!("metadata.name={ROOT_CA_CONFIGMAP}")),
                move |cm, _| q.add(cm.namespace().unwrap_or_default()),
            )
            .await,
        )
    } else {
        None
    };
    tracing::info!(
        service_accounts,
        root_ca,
        "serviceaccount controllers started"
    );
    loop {
        let ns = queue.next().await;
        if let Err(e) = sync(&ctx, &namespaces, sas.as_ref(), cms.as_ref(), &ns).await {
            tracing::debug!(namespace = %ns, error = %e, "serviceaccount sync");
            queue.add_after(ns, Duration::from_millis(500));
        }
    }
}

async fn sync(
    ctx: &Context,
    namespaces: &Store<Namespace>,
    sas: Option<&Store<ServiceAccount>>,
    cms: Option<&Store<ConfigMap>>,
    ns: &str,
) -> Result<(), kube::Error> {
    let Some(namespace) = namespaces.get(&ObjectRef::new(ns)) else {
        return Ok(());
    };
    if namespace.metadata.deletion_timestamp.is_some()
        || namespace.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating")
    {
        return Ok(());
    }
    if let Some(sas) = sas
        && sas.get(&ObjectRef::new(DEFAULT_SA).within(ns)).is_none()
    {
        let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), ns);
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(DEFAULT_SA.into()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        match api.create(&Default::default(), &sa).await {
            Ok(_) => tracing::debug!(namespace = ns, "created default service account"),
            Err(e) if is_status(&e, 409) || is_status(&e, 403) || is_status(&e, 404) => {}
            Err(e) => return Err(e),
        }
    }
    if let (Some(cms), Some(pem)) = (cms, ctx.root_ca.as_ref()) {
        let want: BTreeMap<String, String> = [("ca.crt".to_string(), pem.clone())].into();
        let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
        match cms.get(&ObjectRef::new(ROOT_CA_CONFIGMAP).within(ns)) {
            None => {
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(ROOT_CA_CONFIGMAP.into()),
                        annotations: Some(
                            [(
                                "kubernetes.io/description".to_string(),
                                DESCRIPTION.to_string(),
                            )]
                            .into(),
                        ),
                        ..ObjectMeta::default()
                    },
                    data: Some(want),
                    ..ConfigMap::default()
                };
                match api.create(&Default::default(), &cm).await {
                    Ok(_) => {}
                    Err(e) if is_status(&e, 409) || is_status(&e, 403) || is_status(&e, 404) => {}
                    Err(e) => return Err(e),
                }
            }
            Some(cm) if cm.data.as_ref() != Some(&want) => {
                let mut cm = (*cm).clone();
                cm.data = Some(want);
                cm.metadata.managed_fields = None;
                match api
                    .replace(ROOT_CA_CONFIGMAP, &Default::default(), &cm)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_status(&e, 404) => {}
                    Err(e) => return Err(e),
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}
