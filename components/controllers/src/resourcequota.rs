//! The resourcequota controller: every ResourceQuota's `status.hard` mirrors `spec.hard` and
//! `status.used` holds what the namespace uses of each hard resource it can measure (pods and
//! their compute requests and limits, services, node ports, load balancers, claims and storage,
//! and object counts `count/<resource>.<group>` of any served resource), honouring the quota's
//! scopes. The arithmetic is kube's quota evaluators ([`warren_apimachinery::quota`]).
//!
//! The kinds a quota measures are watched on demand ("monitors", found through discovery), and
//! any change to an object of such a kind recounts the quotas of its namespace; every quota is
//! also recounted every five minutes (kube's resource-quota-sync-period).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use kube::api::{ApiResource, DynamicObject, PostParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use serde_json::Value;
use tokio::sync::Mutex;
use warren_apimachinery::quota::{self, Evaluator, ResourceList};

use crate::queue::{self, Queue};
use crate::{Context, Error, is_status};

pub const CONTROLLER: &str = "resourcequota-controller";
/// kube-controller-manager's --resource-quota-sync-period.
pub const FULL_RESYNC: Duration = Duration::from_secs(5 * 60);
/// How long a new quota waits for its first count.
pub const NEW_QUOTA_DELAY: Duration = Duration::from_millis(200);

/// The new status of a quota, or None when its status already says so.
pub fn desired_status(quota: &Value, measured: &ResourceList) -> Option<ResourceQuotaStatus> {
    let hard = quota::list_from_json(quota["spec"].get("hard"));
    let status = &quota["status"];
    let previous = quota::list_from_json(status.get("used"));
    let used = quota::sync_used(&previous, &hard, measured);
    let old_hard = quota::list_from_json(status.get("hard"));
    let same_hard = status.get("hard").is_some_and(|h| h.is_object()) && old_hard == hard;
    let same_used = status.get("used").is_some_and(|u| u.is_object())
        && previous.len() == used.len()
        && previous.iter().zip(&used).all(|(a, b)| a == b);
    if same_hard && same_used {
        return None;
    }
    let to_map = |l: &ResourceList| {
        l.iter()
            .map(|(k, v)| (k.clone(), K8sQuantity(v.to_string())))
            .collect()
    };
    Some(ResourceQuotaStatus {
        hard: Some(to_map(&hard)),
        used: Some(to_map(&used)),
    })
}

/// Whether a quota's status lags its spec (new, or hard limits changed).
pub fn needs_sync(rq: &ResourceQuota) -> bool {
    let spec_hard = rq.spec.as_ref().and_then(|s| s.hard.as_ref());
    let status = rq.status.as_ref();
    let parse = |m: Option<&std::collections::BTreeMap<String, K8sQuantity>>| -> ResourceList {
        m.into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.0.parse().ok()?)))
            .collect()
    };
    status.and_then(|s| s.used.as_ref()).is_none()
        || parse(spec_hard) != parse(status.and_then(|s| s.hard.as_ref()))
}

/// A watched kind: its cache, filled once the initial list is in.
type Monitor = Store<DynamicObject>;

struct Ctl {
    ctx: Context,
    quotas: Store<ResourceQuota>,
    queue: Queue,
    monitors: Mutex<HashMap<(String, String), Option<Monitor>>>,
}

pub async fn run(ctx: Context) {
    let queue = Queue::new();
    let q = queue.clone();
    let quotas = ctx
        .informers
        .all::<ResourceQuota, _>(move |rq: &ResourceQuota| {
            // status.used changes come from admission and from here: only new quotas and
            // changed hard limits need a recount (kube's updateQuota)
            let key = queue::key(rq.metadata.namespace.as_deref(), &rq.name_any());
            if rq.status.as_ref().and_then(|s| s.used.as_ref()).is_none() {
                // kube-controller-manager sees a new quota a moment after it is written;
                // clients that read and update a fresh quota at once (the conformance suite
                // does) rely on that
                q.add_after(key, NEW_QUOTA_DELAY)
            } else if needs_sync(rq) {
                q.add(key)
            }
        })
        .await;
    for rq in quotas.state() {
        queue.add(queue::key(rq.metadata.namespace.as_deref(), &rq.name_any()));
    }
    let (q, all) = (queue.clone(), quotas.clone());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(FULL_RESYNC).await;
            for rq in all.state() {
                q.add(queue::key(rq.metadata.namespace.as_deref(), &rq.name_any()));
            }
        }
    });
    tracing::info!(controller = CONTROLLER, "started");
    let ctl = Arc::new(Ctl {
        ctx,
        quotas,
        queue: queue.clone(),
        monitors: Mutex::new(HashMap::new()),
    });
    loop {
        let key = queue.next().await;
        match ctl.sync(&key).await {
            Ok(()) => {}
            Err(e) => {
                tracing::debug!(controller = CONTROLLER, key, error = %e, "sync failed");
                queue.add_after(key, Duration::from_millis(500));
            }
        }
    }
}

impl Ctl {
    async fn sync(self: &Arc<Self>, key: &str) -> Result<(), Error> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(rq) = self.quotas.get(&ObjectRef::new(name).within(ns)) else {
            return Ok(());
        };
        let value = serde_json::to_value(rq.as_ref()).map_err(|e| Error::Invalid(e.to_string()))?;
        let hard = quota::list_from_json(value["spec"].get("hard"));
        let hard_names: Vec<String> = hard.keys().cloned().collect();
        let scopes = quota::scope_requirements(&value);
        let now = chrono::Utc::now();
        let mut measured = ResourceList::new();
        for evaluator in Evaluator::for_hard(&hard_names) {
            let resources = evaluator.matching_resources(&hard_names);
            let (group, resource) = evaluator.group_resource();
            let Some(items) = self.items(group, resource, ns).await? else {
                // not served (yet): leave what was measured before
                continue;
            };
            let used = evaluator.usage_stats(&resources, &scopes, items.iter(), now);
            measured = quota::add(&measured, &used);
        }
        let Some(status) = desired_status(&value, &measured) else {
            return Ok(());
        };
        let mut next = (*rq).clone();
        next.status = Some(status);
        let api: Api<ResourceQuota> = Api::namespaced(self.ctx.client.clone(), ns);
        match api
            .replace_status(name, &PostParams::default(), &next)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The objects of a kind in a namespace, from its monitor (started on first use); None
    /// when the kind is not served.
    async fn items(
        self: &Arc<Self>,
        group: &str,
        resource: &str,
        ns: &str,
    ) -> Result<Option<Vec<Value>>, Error> {
        let key = (group.to_string(), resource.to_string());
        let existing = self.monitors.lock().await.get(&key).cloned();
        let monitor = match existing {
            Some(Some(m)) => m,
            Some(None) => return Ok(None),
            None => {
                let m = self.start_monitor(group, resource).await?;
                self.monitors.lock().await.insert(key, m.clone());
                match m {
                    Some(m) => m,
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(
            monitor
                .state()
                .iter()
                .filter(|o| o.metadata.namespace.as_deref() == Some(ns))
                .filter_map(|o| serde_json::to_value(o.as_ref()).ok())
                .collect(),
        ))
    }

    async fn start_monitor(
        self: &Arc<Self>,
        group: &str,
        resource: &str,
    ) -> Result<Option<Monitor>, Error> {
        let found = match kube::discovery::group(&self.ctx.client, group).await {
            Ok(g) => g
                .recommended_resources()
                .into_iter()
                .find(|(ar, _)| ar.plural == resource)
                .map(|(ar, _)| ar),
            Err(kube::Error::Api(s)) if s.code == 404 => None,
            Err(kube::Error::Discovery(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(ar) = found else {
            tracing::debug!(group, resource, "quota: kind not served");
            return Ok(None);
        };
        Ok(Some(self.watch(ar).await))
    }

    /// Watches a kind; every change recounts the quotas of the object's namespace.
    async fn watch(self: &Arc<Self>, ar: ApiResource) -> Monitor {
        let api: Api<DynamicObject> = Api::all_with(self.ctx.client.clone(), &ar);
        let writer = reflector::store::Writer::new(ar.clone());
        let reader = writer.as_reader();
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .reflect(writer);
        let (quotas, queue) = (self.quotas.clone(), self.queue.clone());
        let kind = ar.kind.clone();
        let evaluator = Evaluator::for_resource(&ar.group, &ar.plural);
        tokio::spawn(async move {
            futures::pin_mut!(stream);
            // the last usage seen per object: only changes in usage recount (kube's
            // replenishment), so quota status writes by admission do not race a recount
            let mut seen: HashMap<String, ResourceList> = HashMap::new();
            let usage = |obj: &DynamicObject| {
                let v = serde_json::to_value(obj).unwrap_or_default();
                evaluator.usage(&v, chrono::Utc::now())
            };
            let recount = |obj: &DynamicObject| {
                let ns = obj.metadata.namespace.clone().unwrap_or_default();
                for q in quotas.state() {
                    if q.metadata.namespace.as_deref() == Some(ns.as_str()) {
                        queue.add(queue::key(Some(&ns), &q.name_any()));
                    }
                }
            };
            while let Some(item) = stream.next().await {
                match item {
                    Ok(watcher::Event::InitApply(obj)) => {
                        seen.insert(obj.uid().unwrap_or_default(), usage(&obj));
                    }
                    Ok(watcher::Event::Apply(obj)) => {
                        let now = usage(&obj);
                        if seen.insert(obj.uid().unwrap_or_default(), now.clone()) != Some(now) {
                            recount(&obj);
                        }
                    }
                    Ok(watcher::Event::Delete(obj)) => {
                        seen.remove(&obj.uid().unwrap_or_default());
                        recount(&obj);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, kind, "quota monitor watch");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        let _ = reader.wait_until_ready().await;
        reader
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use warren_apimachinery::quantity::Quantity;

    #[test]
    fn status_mirrors_hard_and_reports_used() {
        let rq = json!({
            "metadata": {"name": "q1", "namespace": "d"},
            "spec": {"hard": {"pods": "2", "requests.memory": "1Gi", "count/deployments.apps": "1"}},
        });
        let measured: ResourceList = [
            ("pods".to_string(), Quantity::from_int(1)),
            ("count/pods".to_string(), Quantity::from_int(1)),
            (
                "requests.memory".to_string(),
                Quantity::parse("256Mi").expect("q"),
            ),
        ]
        .into();
        let status = desired_status(&rq, &measured).expect("first status");
        assert_eq!(
            serde_json::to_value(&status).expect("json"),
            json!({
                "hard": {"count/deployments.apps": "1", "pods": "2", "requests.memory": "1Gi"},
                "used": {"pods": "1", "requests.memory": "256Mi"},
            })
        );
        // written back: nothing changes
        let mut written = rq.clone();
        written["status"] = serde_json::to_value(&status).expect("json");
        assert_eq!(desired_status(&written, &measured), None);
        // the same usage spelled differently is still the same
        written["status"]["used"]["requests.memory"] = json!("268435456");
        assert_eq!(desired_status(&written, &measured), None);
        // a new hard limit: status.hard follows
        written["spec"]["hard"]["pods"] = json!("3");
        let next = desired_status(&written, &measured).expect("hard changed");
        assert_eq!(
            next.hard
                .as_ref()
                .and_then(|h| h.get("pods"))
                .map(|q| q.0.as_str()),
            Some("3")
        );
    }
}
