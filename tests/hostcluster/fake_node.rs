//! A fake node agent for tests (in the spirit of kwok), for a cluster without kubelets and
//! without kube-scheduler. Only APIs Kubernetes 1.20 serves are used: core/v1 nodes, pods,
//! pods/status, pods/binding, events and coordination.k8s.io/v1 leases.
//!
//! [`FakeNodes::start`] registers Ready nodes (and clears the `node.kubernetes.io/not-ready`
//! taint the TaintNodesByCondition admission plugin puts on new nodes), then keeps them alive:
//! the node Lease is renewed and the status conditions' heartbeat refreshed every
//! [`FakeNodeConfig::heartbeat`]. It plays kube-scheduler (binds pods with an empty
//! `spec.nodeName` and the default scheduler to its nodes round-robin, honouring
//! `nodeSelector`, required node affinity and NoSchedule/NoExecute taints) and kubelet (pods
//! on its nodes become Running and Ready with an IP from the node's pod CIDR and running
//! container statuses; pods being deleted
//! are removed with gracePeriodSeconds=0 once their `deletionTimestamp` is reached; the
//! apiserver sets that to the time of the delete request plus the grace period). A pod can be
//! started after a delay (`FakeNodeConfig::start_after`), made not ready or failed on request
//! ([`FakeNodes::set_pod_ready`], [`FakeNodes::fail_pod`]).
//!
//! A pod can also finish by itself, like a batch container: with the annotation
//! `fake-node.warren.test/exit-after` (a Go duration such as `300ms` or `2s`) its containers
//! exit that long after it started running, with the code in `fake-node.warren.test/exit-code`
//! (default `0`). With restartPolicy Never the pod ends: phase Succeeded for code 0, else
//! Failed, with terminated container statuses (reason Completed or Error, the exitCode) and
//! Ready/ContainersReady False (reason PodCompleted). With OnFailure a zero exit ends it the
//! same way, a non-zero one restarts the containers (restartCount and lastState go up, and
//! they exit again after the same time). Always-restarting pods ignore the annotations.
//!
//! The agent runs on a thread with its own tokio runtime, so it serves synchronous and async
//! tests alike; dropping the [`FakeNodes`] stops it (the nodes stay registered).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    Binding, Event as CoreEvent, EventSource, Node, NodeSelectorTerm, ObjectReference, Pod, Taint,
    Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
const NODE_LEASE_NS: &str = "kube-node-lease";
/// Every fake node's address: the apiserver may try to reach a "kubelet" (logs, exec) and must
/// then only ever dial loopback, where nothing answers.
const NODE_IP: &str = "127.0.0.1";
/// How long after starting a pod's containers exit (test-only annotation).
pub const EXIT_AFTER_ANNOTATION: &str = "fake-node.warren.test/exit-after";
/// The exit code they exit with (default 0).
pub const EXIT_CODE_ANNOTATION: &str = "fake-node.warren.test/exit-code";

/// What to start.
#[derive(Clone, Debug)]
pub struct FakeNodeConfig {
    /// How many nodes.
    pub nodes: usize,
    /// Nodes are named `<prefix>-0`, `<prefix>-1`, ...
    pub name_prefix: String,
    /// Node i gets the pod CIDR `10.244.<first_subnet + i>.0/24` (distinct values keep the pod
    /// IPs of several agents on one cluster apart).
    pub first_subnet: u8,
    /// Lease renewal and node status heartbeat period (kubelet: 10s).
    pub heartbeat: Duration,
    /// If set, pods being deleted go away after at most this long, whatever their grace period
    /// (like a container that exits on SIGTERM at once).
    pub max_grace: Option<Duration>,
    /// How long a pod bound to a node takes to start (become Running and Ready); 0 = at once.
    pub start_after: Duration,
}

impl Default for FakeNodeConfig {
    fn default() -> Self {
        FakeNodeConfig {
            nodes: 1,
            name_prefix: "fake-node".to_string(),
            first_subnet: 0,
            heartbeat: Duration::from_secs(10),
            max_grace: None,
            start_after: Duration::ZERO,
        }
    }
}

impl FakeNodeConfig {
    pub fn node_names(&self) -> Vec<String> {
        (0..self.nodes)
            .map(|i| format!("{}-{i}", self.name_prefix))
            .collect()
    }
}

/// What a pod on a fake node should look like.
#[derive(Clone, Debug, PartialEq)]
enum Desired {
    Running {
        ready: bool,
    },
    Failed {
        reason: String,
        message: String,
    },
    /// The containers exited by themselves (the exit annotations) and the pod ended.
    Exited {
        exit_code: i32,
    },
}

enum Cmd {
    SetPod {
        namespace: String,
        name: String,
        desired: Desired,
        reply: std::sync::mpsc::Sender<Result<(), String>>,
    },
    Stop,
}

/// A running fake node agent.
pub struct FakeNodes {
    names: Vec<String>,
    cmds: mpsc::UnboundedSender<Cmd>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeNodes {
    /// Registers the nodes, waits until they are Ready and untainted, and starts serving pods.
    pub fn start(kubeconfig: &Path, cfg: FakeNodeConfig) -> Result<FakeNodes, String> {
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let names = cfg.node_names();
        let kubeconfig = kubeconfig.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("fake-nodes".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("tokio runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let agent = tokio::time::timeout(
                        Duration::from_secs(90),
                        Agent::register(&kubeconfig, cfg),
                    )
                    .await
                    .unwrap_or_else(|_| Err("node registration timed out".to_string()));
                    match agent {
                        Ok(agent) => {
                            let _ = ready_tx.send(Ok(()));
                            agent.run(cmd_rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| format!("spawn fake node thread: {e}"))?;
        let mut nodes = FakeNodes {
            names,
            cmds,
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(nodes),
            Ok(Err(e)) => {
                nodes.stop();
                Err(e)
            }
            Err(_) => {
                nodes.stop();
                Err("fake node agent died during registration".to_string())
            }
        }
    }

    /// The registered node names.
    pub fn node_names(&self) -> &[String] {
        &self.names
    }

    /// Marks a pod on one of the nodes not ready (containers running but not ready, Ready and
    /// ContainersReady False), or ready again.
    pub fn set_pod_ready(&self, namespace: &str, name: &str, ready: bool) -> Result<(), String> {
        self.send(namespace, name, Desired::Running { ready })
    }

    /// Marks a pod on one of the nodes Failed (containers terminated with exit code 1).
    pub fn fail_pod(&self, namespace: &str, name: &str, message: &str) -> Result<(), String> {
        self.send(
            namespace,
            name,
            Desired::Failed {
                reason: "Error".to_string(),
                message: message.to_string(),
            },
        )
    }

    fn send(&self, namespace: &str, name: &str, desired: Desired) -> Result<(), String> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.cmds
            .send(Cmd::SetPod {
                namespace: namespace.to_string(),
                name: name.to_string(),
                desired,
                reply,
            })
            .map_err(|_| "fake node agent stopped".to_string())?;
        rx.recv()
            .map_err(|_| "fake node agent stopped".to_string())?
    }

    /// Stops the agent (heartbeats stop too; the nodes are not deleted).
    pub fn stop(&mut self) {
        let _ = self.cmds.send(Cmd::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeNodes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One node's pod IP pool: 10.244.<subnet>.2 - .254.
struct Slot {
    name: String,
    subnet: u8,
    labels: BTreeMap<String, String>,
    used: HashSet<u8>,
}

impl Slot {
    fn cidr(&self) -> String {
        format!("10.244.{}.0/24", self.subnet)
    }

    fn ip(&self, host: u8) -> String {
        format!("10.244.{}.{host}", self.subnet)
    }

    fn parse(&self, ip: &str) -> Option<u8> {
        ip.strip_prefix(&format!("10.244.{}.", self.subnet))?
            .parse()
            .ok()
    }

    fn allocate(&mut self) -> Option<u8> {
        let host = (2..=254u8).find(|h| !self.used.contains(h))?;
        self.used.insert(host);
        Some(host)
    }
}

struct PodIp {
    slot: usize,
    /// None for host-network pods.
    host: Option<u8>,
}

struct Agent {
    client: Client,
    cfg: FakeNodeConfig,
    slots: Vec<Slot>,
    by_name: HashMap<String, usize>,
    /// Registration time: the lastTransitionTime of the node conditions.
    since: String,
    rr: usize,
    ips: HashMap<String, PodIp>,
    desired: HashMap<String, Desired>,
    /// uid -> (namespace, name, when its containers exit) for pods with the exit annotation
    exits: HashMap<String, (String, String, Instant)>,
    /// uid -> container restarts so far (restartPolicy OnFailure)
    restarts: HashMap<String, i32>,
    /// uid -> (namespace, name, when to remove it)
    deleting: HashMap<String, (String, String, Instant)>,
    /// uid -> when the binding was sent (to not bind twice while the watch catches up)
    bound: HashMap<String, Instant>,
    /// pods to look at again: (namespace, name) -> when
    retry: HashMap<(String, String), Instant>,
    /// uid -> when its containers have started (with `start_after`)
    starting: HashMap<String, Instant>,
    /// uids seen in the current watch (re)list
    listing: Option<HashSet<String>>,
    event_seq: u64,
}

fn now() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

async fn client_from(kubeconfig: &Path) -> Result<Client, String> {
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| format!("read kubeconfig: {e}"))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| format!("kubeconfig: {e}"))?;
    Client::try_from(config).map_err(|e| format!("kube client: {e}"))
}

impl Agent {
    async fn register(kubeconfig: &Path, cfg: FakeNodeConfig) -> Result<Agent, String> {
        let client = client_from(kubeconfig).await?;
        let slots: Vec<Slot> = cfg
            .node_names()
            .into_iter()
            .enumerate()
            .map(|(i, name)| Slot {
                labels: [
                    ("kubernetes.io/hostname", name.as_str()),
                    ("kubernetes.io/os", "linux"),
                    ("kubernetes.io/arch", "amd64"),
                    ("beta.kubernetes.io/os", "linux"),
                    ("beta.kubernetes.io/arch", "amd64"),
                    ("node.warren.dev/fake", "true"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                name,
                subnet: cfg.first_subnet.wrapping_add(i as u8),
                used: HashSet::new(),
            })
            .collect();
        let by_name = slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        let agent = Agent {
            client,
            cfg,
            slots,
            by_name,
            since: now(),
            rr: 0,
            ips: HashMap::new(),
            desired: HashMap::new(),
            exits: HashMap::new(),
            restarts: HashMap::new(),
            deleting: HashMap::new(),
            bound: HashMap::new(),
            retry: HashMap::new(),
            starting: HashMap::new(),
            listing: None,
            event_seq: 0,
        };
        for i in 0..agent.slots.len() {
            agent.register_node(i).await?;
        }
        agent.heartbeat().await;
        Ok(agent)
    }

    fn conditions(&self, heartbeat: &str) -> Value {
        let cond = |t: &str, status: &str, reason: &str, message: &str| {
            json!({"type": t, "status": status, "reason": reason, "message": message,
                   "lastHeartbeatTime": heartbeat, "lastTransitionTime": self.since})
        };
        json!([
            cond(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available"
            ),
            cond(
                "DiskPressure",
                "False",
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure"
            ),
            cond(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available"
            ),
            cond(
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status"
            ),
        ])
    }

    fn node_object(&self, slot: &Slot) -> Value {
        let resources =
            json!({"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "100Gi"});
        json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": slot.name,
                "labels": slot.labels,
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
            },
            "spec": {"podCIDR": slot.cidr(), "podCIDRs": [slot.cidr()]},
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "conditions": self.conditions(&now()),
                "addresses": [{"type": "InternalIP", "address": NODE_IP}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": format!("fake-{}", slot.name),
                    "systemUUID": format!("fake-{}", slot.name),
                    "bootID": format!("fake-{}", slot.name),
                    "kernelVersion": "5.10.0-fake",
                    "osImage": "warren fake node",
                    "containerRuntimeVersion": "fake://1.0.0",
                    "kubeletVersion": "v1.20.2",
                    "kubeProxyVersion": "v1.20.2",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        })
    }

    async fn register_node(&self, i: usize) -> Result<(), String> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let slot = &self.slots[i];
        let object = self.node_object(slot);
        let node: Node = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
        match nodes.create(&PostParams::default(), &node).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => {
                // registered before (an agent restarted): take it over
                let pp = PatchParams::default();
                let meta = json!({"metadata": object["metadata"]});
                nodes
                    .patch(&slot.name, &pp, &Patch::Merge(&meta))
                    .await
                    .map_err(|e| format!("patch node {}: {e}", slot.name))?;
                let status = json!({"status": object["status"]});
                nodes
                    .patch_status(&slot.name, &pp, &Patch::Merge(&status))
                    .await
                    .map_err(|e| format!("patch node status {}: {e}", slot.name))?;
            }
            Err(e) => return Err(format!("create node {}: {e}", slot.name)),
        }
        // TaintNodesByCondition puts the not-ready taint on every new node; a kubelet's Ready
        // status makes the node lifecycle controller lift it. Lift it at once (when that
        // controller runs too, whichever comes first wins).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut node = nodes
                .get(&slot.name)
                .await
                .map_err(|e| format!("get node {}: {e}", slot.name))?;
            let spec = node.spec.get_or_insert_with(Default::default);
            let taints = spec.taints.take().unwrap_or_default();
            let kept: Vec<_> = taints
                .iter()
                .filter(|t| t.key != NOT_READY_TAINT && t.key != UNREACHABLE_TAINT)
                .cloned()
                .collect();
            if kept.len() == taints.len() {
                return Ok(());
            }
            spec.taints = if kept.is_empty() { None } else { Some(kept) };
            match nodes
                .replace(&slot.name, &PostParams::default(), &node)
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 409) => {}
                Err(e) => return Err(format!("untaint node {}: {e}", slot.name)),
            }
            if Instant::now() > deadline {
                return Err(format!("node {} stays tainted", slot.name));
            }
        }
    }

    /// Renews every node's Lease and refreshes the status conditions' heartbeat.
    async fn heartbeat(&self) {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), NODE_LEASE_NS);
        for slot in &self.slots {
            let t = now();
            let status = json!({"status": {"conditions": self.conditions(&t)}});
            let node = match nodes
                .patch_status(&slot.name, &PatchParams::default(), &Patch::Merge(&status))
                .await
            {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("fake-node: heartbeat of {}: {e}", slot.name);
                    continue;
                }
            };
            let renew = MicroTime(Timestamp::now());
            let patch = json!({"spec": {"holderIdentity": slot.name, "leaseDurationSeconds": 40,
                                        "renewTime": renew}});
            match leases
                .patch(&slot.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) => {
                    let lease: Result<Lease, _> = serde_json::from_value(json!({
                        "metadata": {
                            "name": slot.name,
                            "namespace": NODE_LEASE_NS,
                            "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                "name": slot.name, "uid": node.uid().unwrap_or_default()}],
                        },
                        "spec": patch["spec"],
                    }));
                    if let Ok(lease) = lease
                        && let Err(e) = leases.create(&PostParams::default(), &lease).await
                    {
                        eprintln!("fake-node: create lease {}: {e}", slot.name);
                    }
                }
                Err(e) => eprintln!("fake-node: renew lease {}: {e}", slot.name),
            }
        }
    }

    async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
        let pods: Api<Pod> = Api::all(self.client.clone());
        let mut watch = watcher(pods, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut heartbeat = tokio::time::interval(self.cfg.heartbeat);
        heartbeat.tick().await;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                ev = watch.next() => match ev {
                    Some(Ok(watcher::Event::Apply(pod))) => self.on_pod(pod).await,
                    Some(Ok(watcher::Event::InitApply(pod))) => {
                        if let (Some(seen), Some(uid)) = (self.listing.as_mut(), pod.uid()) {
                            seen.insert(uid);
                        }
                        self.on_pod(pod).await
                    }
                    Some(Ok(watcher::Event::Delete(pod))) => self.forget(&pod.uid().unwrap_or_default()),
                    Some(Ok(watcher::Event::Init)) => self.listing = Some(HashSet::new()),
                    Some(Ok(watcher::Event::InitDone)) => {
                        if let Some(seen) = self.listing.take() {
                            let gone: Vec<String> =
                                self.ips.keys().filter(|u| !seen.contains(*u)).cloned().collect();
                            for uid in gone {
                                self.forget(&uid);
                            }
                        }
                    }
                    Some(Err(e)) => eprintln!("fake-node: pod watch: {e}"),
                    None => return,
                },
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::SetPod { namespace, name, desired, reply }) => {
                        let r = self.set_pod(&namespace, &name, desired).await;
                        let _ = reply.send(r);
                    }
                    Some(Cmd::Stop) | None => return,
                },
                _ = heartbeat.tick() => self.heartbeat().await,
                _ = tick.tick() => self.due().await,
            }
        }
    }

    async fn set_pod(
        &mut self,
        namespace: &str,
        name: &str,
        desired: Desired,
    ) -> Result<(), String> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let pod = api.get(name).await.map_err(|e| e.to_string())?;
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        if !node.is_some_and(|n| self.by_name.contains_key(&n)) {
            return Err(format!("pod {namespace}/{name} is not on a fake node"));
        }
        self.desired.insert(pod.uid().unwrap_or_default(), desired);
        self.reconcile(&pod).await.map_err(|e| e.to_string())
    }

    /// Deletions whose time has come, and retries.
    async fn due(&mut self) {
        let now = Instant::now();
        let expired: Vec<(String, String, String)> = self
            .deleting
            .iter()
            .filter(|(_, (_, _, at))| *at <= now)
            .map(|(uid, (ns, name, _))| (uid.clone(), ns.clone(), name.clone()))
            .collect();
        for (uid, ns, name) in expired {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(uid.clone()),
                    resource_version: None,
                }),
                ..Default::default()
            };
            match api.delete(&name, &dp).await {
                Ok(_) => {
                    self.deleting.remove(&uid);
                }
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {
                    self.forget(&uid);
                }
                Err(e) => {
                    eprintln!("fake-node: delete pod {ns}/{name}: {e}");
                    if let Some(entry) = self.deleting.get_mut(&uid) {
                        entry.2 = now + Duration::from_secs(1);
                    }
                }
            }
        }
        let exited: Vec<(String, String, String)> = self
            .exits
            .iter()
            .filter(|(_, (_, _, at))| *at <= now)
            .map(|(uid, (ns, name, _))| (uid.clone(), ns.clone(), name.clone()))
            .collect();
        for (uid, ns, name) in exited {
            self.exits.remove(&uid);
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
            let Ok(Some(pod)) = api.get_opt(&name).await else {
                continue;
            };
            if pod.uid().as_deref() != Some(uid.as_str())
                || pod.metadata.deletion_timestamp.is_some()
            {
                continue;
            }
            let code = self.exit_code(&pod).unwrap_or(0);
            let policy = pod
                .spec
                .as_ref()
                .and_then(|s| s.restart_policy.clone())
                .unwrap_or_else(|| "Always".to_string());
            match (policy.as_str(), code) {
                ("Always", _) => continue,
                ("OnFailure", c) if c != 0 => {
                    // the containers restart and run again for the same time
                    *self.restarts.entry(uid.clone()).or_insert(0) += 1;
                    if let Some(after) = exit_after(&pod) {
                        self.exits
                            .insert(uid.clone(), (ns.clone(), name.clone(), now + after));
                    }
                }
                _ => {
                    self.desired
                        .insert(uid.clone(), Desired::Exited { exit_code: code });
                }
            }
            self.on_pod(pod).await;
        }
        let again: Vec<(String, String)> = self
            .retry
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for (ns, name) in again {
            self.retry.remove(&(ns.clone(), name.clone()));
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
            if let Ok(Some(pod)) = api.get_opt(&name).await {
                self.on_pod(pod).await;
            }
        }
        self.bound
            .retain(|_, at| now.duration_since(*at) < Duration::from_secs(30));
    }

    /// The exit code a pod's containers exit with, when it asks to exit.
    fn exit_code(&self, pod: &Pod) -> Option<i32> {
        exit_after(pod)?;
        Some(
            pod.annotations()
                .get(EXIT_CODE_ANNOTATION)
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(0),
        )
    }

    fn forget(&mut self, uid: &str) {
        if let Some(PodIp {
            slot,
            host: Some(host),
        }) = self.ips.remove(uid)
        {
            self.slots[slot].used.remove(&host);
        }
        self.desired.remove(uid);
        self.starting.remove(uid);
        self.exits.remove(uid);
        self.restarts.remove(uid);
        self.deleting.remove(uid);
        self.bound.remove(uid);
    }

    async fn on_pod(&mut self, pod: Pod) {
        let key = (pod.namespace().unwrap_or_default(), pod.name_any());
        if let Err(e) = self.reconcile(&pod).await
            && !is_status(&e, 404)
        {
            eprintln!("fake-node: pod {}/{}: {e}", key.0, key.1);
            self.retry
                .insert(key, Instant::now() + Duration::from_secs(1));
        }
    }

    async fn reconcile(&mut self, pod: &Pod) -> Result<(), kube::Error> {
        let uid = pod.uid().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        let terminal = phase == "Succeeded" || phase == "Failed";
        let slot = spec
            .node_name
            .as_ref()
            .and_then(|n| self.by_name.get(n).copied());

        if let Some(deleted) = &pod.metadata.deletion_timestamp {
            // a second delete may shorten the grace period: the earliest deadline wins
            if slot.is_some() {
                let left_ms = deleted.0.as_millisecond() - Timestamp::now().as_millisecond();
                let mut wait = Duration::from_millis(left_ms.max(0) as u64);
                if terminal {
                    wait = Duration::ZERO;
                }
                if let Some(cap) = self.cfg.max_grace {
                    wait = wait.min(cap);
                }
                let mut at = Instant::now() + wait;
                if let Some((_, _, earlier)) = self.deleting.get(&uid) {
                    at = at.min(*earlier);
                }
                let entry = (pod.namespace().unwrap_or_default(), pod.name_any(), at);
                self.deleting.insert(uid, entry);
            }
            return Ok(());
        }

        let Some(slot) = slot else {
            let default_scheduler = matches!(
                spec.scheduler_name.as_deref(),
                None | Some("") | Some("default-scheduler")
            );
            if spec.node_name.is_none() && default_scheduler && !terminal {
                self.schedule(pod, &spec).await?;
            }
            return Ok(());
        };

        let desired = self
            .desired
            .get(&uid)
            .cloned()
            .unwrap_or(Desired::Running { ready: true });
        if matches!(desired, Desired::Running { .. })
            && !self.exits.contains_key(&uid)
            && let Some(after) = exit_after(pod)
        {
            let entry = (
                pod.namespace().unwrap_or_default(),
                pod.name_any(),
                Instant::now() + after,
            );
            self.exits.insert(uid.clone(), entry);
        }
        let not_started = pod.status.as_ref().is_none_or(|s| s.start_time.is_none());
        if not_started && !self.cfg.start_after.is_zero() {
            let at = *self
                .starting
                .entry(uid.clone())
                .or_insert_with(|| Instant::now() + self.cfg.start_after);
            if Instant::now() < at {
                let key = (pod.namespace().unwrap_or_default(), pod.name_any());
                self.retry.insert(key, at);
                return Ok(());
            }
        }
        self.starting.remove(&uid);
        let restarts = self.restarts.get(&uid).copied().unwrap_or(0);
        let ip = self.pod_ip(pod, &uid, slot, spec.host_network == Some(true));
        let status = pod.status.clone().unwrap_or_default();
        let ready_now = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let (want_phase, want_ready) = match &desired {
            Desired::Running { ready } => ("Running", *ready),
            Desired::Failed { .. } => ("Failed", false),
            Desired::Exited { exit_code: 0 } => ("Succeeded", false),
            Desired::Exited { .. } => ("Failed", false),
        };
        let restarts_now: i32 = status
            .container_statuses
            .iter()
            .flatten()
            .map(|c| c.restart_count)
            .max()
            .unwrap_or(0);
        let up_to_date = phase == want_phase
            && status.pod_ip.as_deref() == Some(ip.as_str())
            && ready_now == want_ready
            && status.container_statuses.as_ref().map(Vec::len) == Some(spec.containers.len())
            && restarts_now == restarts;
        if up_to_date || (terminal && phase != want_phase) {
            return Ok(());
        }
        let first_start = status.start_time.is_none();
        let patch = self.pod_status(pod, &spec, &ip, &desired);
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        api.patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
        if first_start {
            let node = self.slots[slot].name.clone();
            self.event(pod, "Started", "Started containers", "kubelet", Some(&node))
                .await;
        }
        Ok(())
    }

    /// The pod's IP: kept when it already has one from this node's CIDR, else allocated.
    fn pod_ip(&mut self, pod: &Pod, uid: &str, slot: usize, host_network: bool) -> String {
        if host_network {
            self.ips
                .entry(uid.to_string())
                .or_insert(PodIp { slot, host: None });
            return NODE_IP.to_string();
        }
        if let Some(PodIp {
            slot: s,
            host: Some(h),
        }) = self.ips.get(uid)
        {
            return self.slots[*s].ip(*h);
        }
        let existing = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| self.slots[slot].parse(ip));
        let host = match existing {
            Some(h) => {
                self.slots[slot].used.insert(h);
                h
            }
            None => match self.slots[slot].allocate() {
                Some(h) => h,
                None => {
                    eprintln!("fake-node: {} is out of pod IPs", self.slots[slot].name);
                    254
                }
            },
        };
        self.ips.insert(
            uid.to_string(),
            PodIp {
                slot,
                host: Some(host),
            },
        );
        self.slots[slot].ip(host)
    }

    fn pod_status(
        &self,
        pod: &Pod,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        ip: &str,
        desired: &Desired,
    ) -> Value {
        let t = now();
        let uid = pod.uid().unwrap_or_default();
        let started = pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or_else(|| json!(t));
        let (phase, ready, reason, message) = match desired {
            Desired::Running { ready } => ("Running", *ready, None, None),
            Desired::Failed { reason, message } => {
                ("Failed", false, Some(reason.clone()), Some(message.clone()))
            }
            Desired::Exited { exit_code: 0 } => ("Succeeded", false, None, None),
            Desired::Exited { .. } => ("Failed", false, None, None),
        };
        let restarts = self.restarts.get(&uid).copied().unwrap_or(0);
        let container_id = |name: &str| format!("fake://{uid}/{name}");
        let exited = |code: i32| if code == 0 { "Completed" } else { "Error" };
        let state = |name: &str| match desired {
            Desired::Running { .. } => json!({"running": {"startedAt": started}}),
            Desired::Failed { message, .. } => json!({"terminated": {
                "exitCode": 1, "reason": "Error", "message": message,
                "startedAt": started, "finishedAt": t, "containerID": container_id(name)}}),
            Desired::Exited { exit_code } => json!({"terminated": {
                "exitCode": exit_code, "reason": exited(*exit_code),
                "startedAt": started, "finishedAt": t, "containerID": container_id(name)}}),
        };
        // after an OnFailure restart: how the previous run ended
        let last_state = |name: &str| match self.exit_code(pod) {
            Some(code) if restarts > 0 => json!({"terminated": {
                "exitCode": code, "reason": exited(code),
                "startedAt": started, "finishedAt": t, "containerID": container_id(name)}}),
            _ => json!({}),
        };
        let containers: Vec<Value> = spec
            .containers
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "image": c.image.clone().unwrap_or_default(),
                    "imageID": format!("fake://{}", c.image.clone().unwrap_or_default()),
                    "containerID": container_id(&c.name),
                    "ready": ready,
                    "started": phase == "Running",
                    "restartCount": restarts,
                    "state": state(&c.name),
                    "lastState": last_state(&c.name),
                })
            })
            .collect();
        let init: Vec<Value> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| {
                json!({
                    "name": c.name,
                    "image": c.image.clone().unwrap_or_default(),
                    "imageID": format!("fake://{}", c.image.clone().unwrap_or_default()),
                    "containerID": container_id(&c.name),
                    "ready": true,
                    "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                              "startedAt": started, "finishedAt": started,
                              "containerID": container_id(&c.name)}},
                })
            })
            .collect();
        let cond = |ty: &str, ok: bool| {
            let mut c = json!({"type": ty, "status": if ok { "True" } else { "False" },
                               "lastProbeTime": null, "lastTransitionTime": t});
            if !ok {
                let ended = matches!(desired, Desired::Exited { .. });
                c["reason"] = json!(if ended {
                    "PodCompleted"
                } else {
                    "ContainersNotReady"
                });
            }
            c
        };
        json!({"status": {
            "phase": phase,
            "reason": reason,
            "message": message,
            "hostIP": NODE_IP,
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": started,
            "conditions": [
                cond("Initialized", true),
                cond("Ready", ready),
                cond("ContainersReady", ready),
                cond("PodScheduled", true),
            ],
            "containerStatuses": containers,
            "initContainerStatuses": if init.is_empty() { Value::Null } else { json!(init) },
        }})
    }

    /// Binds an unscheduled pod to the next node (round-robin) that fits its node selector and
    /// required node affinity and whose taints it tolerates.
    async fn schedule(
        &mut self,
        pod: &Pod,
        spec: &k8s_openapi::api::core::v1::PodSpec,
    ) -> Result<(), kube::Error> {
        let uid = pod.uid().unwrap_or_default();
        if self.bound.contains_key(&uid) {
            return Ok(());
        }
        let n = self.slots.len();
        let nodes: Api<Node> = Api::all(self.client.clone());
        let mut chosen = None;
        for i in (0..n).map(|k| (self.rr + k) % n) {
            // the live node: labels and taints may have changed since it registered
            if nodes
                .get_opt(&self.slots[i].name)
                .await?
                .is_some_and(|node| fits(&node, spec))
            {
                chosen = Some(i);
                break;
            }
        }
        let Some(slot) = chosen else {
            // like kube-scheduler's unschedulable queue: look again once nodes may have changed
            let key = (pod.namespace().unwrap_or_default(), pod.name_any());
            self.retry
                .insert(key, Instant::now() + Duration::from_secs(1));
            return Ok(());
        };
        self.rr = (slot + 1) % n;
        let node = self.slots[slot].name.clone();
        let ns = pod.namespace().unwrap_or_default();
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(pod.name_any()),
                namespace: Some(ns.clone()),
                uid: pod.uid(),
                ..Default::default()
            },
            target: ObjectReference {
                api_version: Some("v1".to_string()),
                kind: Some("Node".to_string()),
                name: Some(node.clone()),
                ..Default::default()
            },
        };
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        match api
            .create_subresource::<Binding, Value>(
                "binding",
                &pod.name_any(),
                &PostParams::default(),
                &binding,
            )
            .await
        {
            Ok(_) => {}
            // bound by someone else meanwhile, or gone
            Err(e) if is_status(&e, 409) || is_status(&e, 404) => return Ok(()),
            Err(e) => return Err(e),
        }
        self.bound.insert(uid, Instant::now());
        let message = format!("Successfully assigned {ns}/{} to {node}", pod.name_any());
        self.event(pod, "Scheduled", &message, "default-scheduler", None)
            .await;
        Ok(())
    }

    /// A core/v1 Event about the pod, as kube-scheduler or the kubelet would record it.
    async fn event(
        &mut self,
        pod: &Pod,
        reason: &str,
        message: &str,
        component: &str,
        host: Option<&str>,
    ) {
        self.event_seq += 1;
        let ns = pod.namespace().unwrap_or_default();
        let stamp = Time(Timestamp::now());
        let ev = CoreEvent {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}{:04x}",
                    pod.name_any(),
                    Timestamp::now().as_nanosecond(),
                    self.event_seq
                )),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".to_string()),
                kind: Some("Pod".to_string()),
                name: Some(pod.name_any()),
                namespace: Some(ns.clone()),
                uid: pod.uid(),
                resource_version: pod.resource_version(),
                ..Default::default()
            },
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            source: Some(EventSource {
                component: Some(component.to_string()),
                host: host.map(str::to_string),
            }),
            first_timestamp: Some(stamp.clone()),
            last_timestamp: Some(stamp),
            count: Some(1),
            type_: Some("Normal".to_string()),
            ..Default::default()
        };
        let api: Api<CoreEvent> = Api::namespaced(self.client.clone(), &ns);
        if let Err(e) = api.create(&PostParams::default(), &ev).await
            && !is_status(&e, 403)
            && !is_status(&e, 404)
        {
            eprintln!("fake-node: event {reason} for {ns}/{}: {e}", pod.name_any());
        }
    }
}

/// The `exit-after` annotation of a pod that asks its containers to exit by themselves
/// (restartPolicy Never or OnFailure; Always pods keep running).
fn exit_after(pod: &Pod) -> Option<Duration> {
    let policy = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref());
    if !matches!(policy, Some("Never" | "OnFailure")) {
        return None;
    }
    parse_duration(pod.annotations().get(EXIT_AFTER_ANNOTATION)?.trim())
}

/// A Go duration made of `<number><unit>` parts (`ms`, `s`, `m`, `h`), such as `300ms`, `1.5s`
/// or `1m30s`.
fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    Some(Duration::from_secs_f64(total))
}

/// kube-scheduler's filters that matter here: `nodeSelector`, required node affinity (labels
/// and the `metadata.name` field), and the node's NoSchedule/NoExecute taints (a cordoned node
/// counts as tainted `node.kubernetes.io/unschedulable`) against the pod's tolerations.
fn fits(node: &Node, spec: &k8s_openapi::api::core::v1::PodSpec) -> bool {
    let name = node.name_any();
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if let Some(sel) = &spec.node_selector
        && !sel.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|r| r.node_selector_terms.clone());
    if let Some(terms) = terms
        && !terms.iter().any(|t| term_matches(&name, &labels, t))
    {
        return false;
    }
    let node_spec = node.spec.clone().unwrap_or_default();
    let mut taints = node_spec.taints.unwrap_or_default();
    if node_spec.unschedulable == Some(true) {
        taints.push(Taint {
            key: "node.kubernetes.io/unschedulable".to_string(),
            effect: "NoSchedule".to_string(),
            ..Default::default()
        });
    }
    let tolerations = spec.tolerations.clone().unwrap_or_default();
    taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .all(|t| tolerations.iter().any(|tol| tolerates(tol, t)))
}

/// Toleration.ToleratesTaint: an empty effect or key matches any; Exists matches any value,
/// Equal (the default) the same value.
fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    let effect = tol.effect.as_deref().unwrap_or_default();
    let key = tol.key.as_deref().unwrap_or_default();
    if (!effect.is_empty() && effect != taint.effect) || (!key.is_empty() && key != taint.key) {
        return false;
    }
    match tol.operator.as_deref().unwrap_or_default() {
        "Exists" => true,
        "" | "Equal" => {
            tol.value.as_deref().unwrap_or_default() == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

fn term_matches(name: &str, labels: &BTreeMap<String, String>, term: &NodeSelectorTerm) -> bool {
    let exprs = term
        .match_expressions
        .iter()
        .flatten()
        .map(|e| (e, labels.get(&e.key).cloned()));
    let fields = term.match_fields.iter().flatten().map(|e| {
        let value = (e.key == "metadata.name").then(|| name.to_string());
        (e, value)
    });
    let mut any = false;
    for (req, value) in exprs.chain(fields) {
        any = true;
        let values = req.values.clone().unwrap_or_default();
        let ok = match req.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(&v)),
            "NotIn" => !value.is_some_and(|v| values.contains(&v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            "Gt" | "Lt" => {
                let (Some(v), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    values.first().and_then(|b| b.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if req.operator == "Gt" {
                    v > bound
                } else {
                    v < bound
                }
            }
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    // an empty term matches nothing
    any
}
