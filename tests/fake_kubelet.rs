//! A test-only fake kubelet for warren's virtual cluster (the little sibling of the host test
//! bed's `hostcluster/fake_node.rs`, whose pod status shape it follows): it registers one Ready
//! node, moves every pod to Running and Ready with an IP after [`FakeKubelet::start`]'s
//! `ready_after`, and removes pods being deleted (gracePeriodSeconds=0) after `delete_after`.
//!
//! Pods are not bound to the node: warren serves no `pods/binding` subresource yet and
//! `spec.nodeName` is immutable on update, so `spec.nodeName` stays empty (the controllers do
//! not need it). Include with `#[path = "fake_kubelet.rs"] mod fake_kubelet;`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::oneshot;

pub const NODE: &str = "warren-node-0";

pub struct FakeKubelet {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn now() -> String {
    Timestamp::now().to_string()
}

impl FakeKubelet {
    pub fn start(kubeconfig: &Path, ready_after: Duration, delete_after: Duration) -> FakeKubelet {
        let kubeconfig = kubeconfig.to_path_buf();
        let (stop, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let client = match client(&kubeconfig).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                if let Err(e) = register(&client).await {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    _ = run(client, ready_after, delete_after) => {}
                    _ = stop_rx => {}
                }
            });
        });
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("fake kubelet: {e}"),
            Err(_) => panic!("fake kubelet died"),
        }
        FakeKubelet {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn client(path: &Path) -> Result<Client, String> {
    let kc = Kubeconfig::read_from(path).map_err(|e| e.to_string())?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    Client::try_from(cfg).map_err(|e| e.to_string())
}

async fn register(client: &Client) -> Result<(), String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE,
            "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
        "spec": {"podCIDR": "10.244.0.0/24"},
    }))
    .map_err(|e| e.to_string())?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(format!("register node: {e}")),
    }
    let t = now();
    let status = json!({"status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "kubelet is posting ready status", "lastHeartbeatTime": t,
            "lastTransitionTime": t}],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                      {"type": "Hostname", "address": NODE}],
        "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        "nodeInfo": {"kubeletVersion": "v1.33.0-fake", "containerRuntimeVersion": "fake://1",
            "architecture": "amd64", "operatingSystem": "linux", "bootID": "", "kernelVersion": "",
            "kubeProxyVersion": "", "machineID": "", "osImage": "fake", "systemUUID": ""},
    }});
    nodes
        .patch_status(NODE, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .map_err(|e| format!("node status: {e}"))?;
    Ok(())
}

async fn run(client: Client, ready_after: Duration, delete_after: Duration) {
    let pods: Api<Pod> = Api::all(client.clone());
    let mut watch = watcher(pods, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Pod, bool)>();
    let mut ips: HashMap<String, u8> = HashMap::new();
    let mut next_ip: u8 = 2;
    let mut scheduled: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            ev = watch.next() => match ev {
                Some(Ok(pod)) => {
                    let uid = pod.uid().unwrap_or_default();
                    let deleting = pod.metadata.deletion_timestamp.is_some();
                    let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                    let key = format!("{uid}/{deleting}");
                    if (deleting || !running) && scheduled.insert(key) {
                        let tx = tx.clone();
                        let delay = if deleting { delete_after } else { ready_after };
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            let _ = tx.send((pod, deleting));
                        });
                    }
                }
                Some(Err(e)) => eprintln!("fake-kubelet: watch: {e}"),
                None => return,
            },
            Some((pod, deleting)) = rx.recv() => {
                let ns = pod.namespace().unwrap_or_default();
                let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                if deleting {
                    let _ = api.delete(&pod.name_any(), &DeleteParams::default().grace_period(0)).await;
                    continue;
                }
                let uid = pod.uid().unwrap_or_default();
                let ip = *ips.entry(uid).or_insert_with(|| {
                    next_ip = next_ip.wrapping_add(1).max(2);
                    next_ip
                });
                let t = now();
                let ip = format!("10.244.0.{ip}");
                let containers: Vec<serde_json::Value> = pod
                    .spec
                    .iter()
                    .flat_map(|s| s.containers.iter())
                    .map(|c| json!({"name": c.name, "image": c.image, "imageID": "",
                        "containerID": format!("fake://{}", c.name), "ready": true,
                        "started": true, "restartCount": 0,
                        "state": {"running": {"startedAt": t}}}))
                    .collect();
                let conditions: Vec<serde_json::Value> =
                    ["PodScheduled", "Initialized", "ContainersReady", "Ready"]
                        .iter()
                        .map(|c| json!({"type": c, "status": "True", "lastTransitionTime": t}))
                        .collect();
                let status = json!({"status": {
                    "phase": "Running",
                    "conditions": conditions,
                    "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
                    "podIP": ip, "podIPs": [{"ip": ip}],
                    "startTime": t, "qosClass": "BestEffort",
                    "containerStatuses": containers,
                }});
                if let Err(e) = api
                    .patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&status))
                    .await
                    && !matches!(&e, kube::Error::Api(s) if s.code == 404)
                {
                    eprintln!("fake-kubelet: pod status {}: {e}", pod.name_any());
                }
            }
        }
    }
}
