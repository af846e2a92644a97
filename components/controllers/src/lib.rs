//! Built-in controllers (the ones kube-controller-manager runs), in-process, talking to the
//! virtual cluster's API through a `kube::Client` like any other client.
//!
//! Each controller is a watcher-driven reconcile loop: informers ([`informer`]) keep a local
//! cache of the objects it reads and push keys onto a de-duplicating work queue
//! ([`queue::Queue`]); one worker pops keys and reconciles them against the cache, re-queueing
//! with a delay on errors or when something is due later (minReadySeconds, progress
//! deadlines). Controllers:
//!
//! - `serviceaccount` / `root-ca`: the `default` ServiceAccount and the `kube-root-ca.crt`
//!   ConfigMap in every namespace ([`serviceaccount`]);
//! - `replicaset` and `replicationcontroller` (one implementation, [`replicaset`]);
//! - `deployment` ([`deployment`], pure rollout arithmetic in [`deployment::util`]);
//! - `statefulset` ([`statefulset`], ordering and update decisions in [`statefulset::plan`]) and
//!   `daemonset` ([`daemonset`], node matching and rollout in [`daemonset::plan`]), their
//!   ControllerRevision history in [`history`];
//! - `endpoint` ([`endpoints`]), `endpointslice` and `endpointslicemirroring`
//!   ([`endpointslices`]): Endpoints and EndpointSlices of Services from their pods, slices
//!   mirrored from hand-written Endpoints of Services without a selector;
//! - `resourcequota`: ResourceQuota usage ([`resourcequota`]; the arithmetic and the API
//!   server's quota admission share [`warren_apimachinery::quota`]);
//! - `disruption`: PodDisruptionBudget status ([`disruption`]);
//! - `serviceaccount-token`: fills service-account token Secrets, and with the legacy option
//!   creates one per ServiceAccount as Kubernetes did before 1.24 ([`serviceaccount_tokens`]);
//! - `garbagecollector` over every served resource found through discovery ([`gc`]);
//! - `job` ([`job`], pod arithmetic, indexes and back-off in [`job::util`]), `cronjob`
//!   ([`cronjob`], its cron grammar in [`cronjob::schedule`], timing in [`cronjob::util`]) and
//!   `ttl-after-finished` ([`ttl_after_finished`]).
#![forbid(unsafe_code)]

pub mod cached_pod;
pub mod clock;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslices;
pub mod events;
pub mod gc;
pub mod history;
pub mod informer;
pub mod job;
pub mod queue;
pub mod replicaset;
pub mod resourcequota;
pub mod selector;
pub mod serviceaccount;
pub mod serviceaccount_tokens;
pub mod statefulset;
pub mod ttl_after_finished;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use kube::Client;
use tokio::task::JoinHandle;

pub use clock::{Clock, SystemClock};

/// Errors of the controllers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether an API error is a Status with this code.
pub(crate) fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// Every controller this crate runs, by kube-controller-manager's name.
pub const ALL: &[&str] = &[
    "serviceaccount",
    "serviceaccount-token",
    "root-ca-cert-publisher",
    "replicaset",
    "replicationcontroller",
    "deployment",
    "statefulset",
    "daemonset",
    "garbagecollector",
    "endpoint",
    "endpointslice",
    "endpointslicemirroring",
    "resourcequota",
    "disruption",
    "job",
    "cronjob",
    "ttl-after-finished",
];

/// Shared by every controller.
#[derive(Clone)]
pub struct Context {
    pub client: Client,
    pub clock: Arc<dyn Clock>,
    /// PEM of the cluster CA, published as `kube-root-ca.crt`.
    pub root_ca: Option<String>,
    /// Watches and caches shared by the controllers.
    pub informers: informer::Informers,
}

/// What the tokens controller needs: the signer, and whether to create legacy token Secrets.
#[derive(Clone)]
pub struct TokenOptions {
    pub signer: serviceaccount_tokens::TokenSigner,
    pub legacy_secrets: bool,
}

/// The set of built-in controllers to run.
pub struct Controllers {
    ctx: Context,
    disabled: HashSet<String>,
    tokens: Option<TokenOptions>,
}

impl Controllers {
    pub fn new(client: Client) -> Controllers {
        Controllers {
            ctx: Context {
                informers: informer::Informers::new(client.clone()),
                client,
                clock: Arc::new(SystemClock),
                root_ca: None,
            },
            disabled: HashSet::new(),
            tokens: None,
        }
    }

    /// The cluster CA (PEM) to publish in every namespace.
    pub fn root_ca(mut self, pem: Option<String>) -> Controllers {
        self.ctx.root_ca = pem;
        self
    }

    /// Runs the tokens controller with this signer (without one it does not run).
    pub fn tokens(mut self, options: TokenOptions) -> Controllers {
        self.tokens = Some(options);
        self
    }

    /// Shares these caches (with other components of the process, e.g. the syncer).
    pub fn informers(mut self, informers: informer::Informers) -> Controllers {
        self.ctx.informers = informers;
        self
    }

    /// A different clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Controllers {
        self.ctx.clock = clock;
        self
    }

    /// Do not run the named controller (one of [`ALL`]).
    pub fn disable(mut self, name: &str) -> Controllers {
        self.disabled.insert(name.to_string());
        self
    }

    /// Starts every enabled controller; the handle finishes when `shutdown` completes.
    pub fn start(self, shutdown: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
        let mut tasks = tokio::task::JoinSet::new();
        let on = |n: &str| !self.disabled.contains(n);
        if on("serviceaccount") || on("root-ca-cert-publisher") {
            let ctx = self.ctx.clone();
            let (sa, ca) = (on("serviceaccount"), on("root-ca-cert-publisher"));
            tasks.spawn(async move { serviceaccount::run(ctx, sa, ca).await });
        }
        if let (true, Some(t)) = (on("serviceaccount-token"), self.tokens.clone()) {
            let ctx = self.ctx.clone();
            tasks.spawn(async move {
                serviceaccount_tokens::run(ctx, t.signer, t.legacy_secrets).await
            });
        }
        if on("replicaset") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { replicaset::run::<replicaset::RsKind>(ctx).await });
        }
        if on("replicationcontroller") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { replicaset::run::<replicaset::RcKind>(ctx).await });
        }
        if on("deployment") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { deployment::run(ctx).await });
        }
        if on("statefulset") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { statefulset::run(ctx).await });
        }
        if on("daemonset") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { daemonset::run(ctx).await });
        }
        if on("garbagecollector") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { gc::run(ctx).await });
        }
        if on("endpoint") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { endpoints::run(ctx).await });
        }
        if on("endpointslice") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { endpointslices::run(ctx).await });
        }
        if on("endpointslicemirroring") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { endpointslices::run_mirroring(ctx).await });
        }
        if on("resourcequota") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { resourcequota::run(ctx).await });
        }
        if on("disruption") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { disruption::run(ctx).await });
        }
        if on("job") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { job::run(ctx).await });
        }
        if on("cronjob") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { cronjob::run(ctx).await });
        }
        if on("ttl-after-finished") {
            let ctx = self.ctx.clone();
            tasks.spawn(async move { ttl_after_finished::run(ctx).await });
        }
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown => {}
                _ = async { while tasks.join_next().await.is_some() {} } => {}
            }
            tracing::info!("controllers stopped");
        })
    }
}
