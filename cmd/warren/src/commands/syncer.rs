//! The syncer's host side for `warren serve`: vcluster.yaml, the host flags, the clients.
//!
//! Everything that can be wrong with the configuration is found by [`plan`], before anything
//! starts or touches the host.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};
use warren_syncer::config::SyncerConfig;
use warren_syncer::sync::{Prepared, SyncerOptions};

use crate::cli::ServeArgs;

/// Where a pod finds its own namespace.
const POD_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/// The syncer's User-Agent (the API servers name field managers after it).
const USER_AGENT: &str = "warren-syncer";

/// The checked configuration: vcluster.yaml, and where workloads go when they go to a host.
pub struct Plan {
    pub config: SyncerConfig,
    pub host: Option<HostPlan>,
}

pub struct HostPlan {
    pub options: SyncerOptions,
    /// `None`: the in-cluster config.
    pub kubeconfig: Option<PathBuf>,
}

pub(crate) fn in_pod() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && Path::new(POD_NAMESPACE_FILE).exists()
}

/// A DNS-1123 label, as vCluster names (and host object name suffixes) must be.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        bail!(
            "--name {name:?}: must be a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)"
        );
    }
    Ok(())
}

/// Reads vcluster.yaml (`-f`) and the host flags. Warnings are printed; any error is one line.
pub fn plan(args: &ServeArgs) -> anyhow::Result<Plan> {
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let loaded = warren_syncer::config::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            for warning in &loaded.warnings {
                eprintln!("warren: warning: {}: {warning}", path.display());
            }
            if loaded.config.multi_namespace_mode {
                bail!(
                    "{}: experimental.multiNamespaceMode.enabled: not supported by warren's syncer (all objects go to one host namespace)",
                    path.display()
                );
            }
            loaded.config
        }
        None => SyncerConfig::default(),
    };
    // Without the DNS beside it, synced pods don't wait for kube-dns to get an address.
    let config = SyncerConfig {
        dns_enabled: config.dns_enabled && !args.no_dns,
        ..config
    };
    let host_mode = args.host_kubeconfig.is_some()
        || args.host_namespace.is_some()
        || (args.name.is_some() && in_pod());
    if !host_mode {
        return Ok(Plan { config, host: None });
    }
    for key in warren_syncer::sync::not_synced_yet(&config) {
        eprintln!("warren: warning: {key}: not synced by warren yet (ignored)");
    }
    let Some(name) = args.name.clone() else {
        bail!(
            "--name is required with --host-kubeconfig or --host-namespace (the virtual cluster's name)"
        );
    };
    check_name(&name)?;
    let host_namespace = match &args.host_namespace {
        Some(ns) => ns.clone(),
        None if in_pod() => std::fs::read_to_string(POD_NAMESPACE_FILE)
            .with_context(|| format!("reading {POD_NAMESPACE_FILE}"))?
            .trim()
            .to_owned(),
        None => bail!("--host-namespace is required outside a pod"),
    };
    if args.host_kubeconfig.is_none() && !in_pod() {
        bail!("--host-kubeconfig is required outside a pod");
    }
    let api_port = match args.listen.port() {
        0 => 443,
        port => port,
    };
    Ok(Plan {
        host: Some(HostPlan {
            options: SyncerOptions {
                vcluster: name,
                host_namespace,
                config: config.clone(),
                api_port,
                metrics_listen: args.syncer_metrics_listen,
            },
            kubeconfig: args.host_kubeconfig.clone(),
        }),
        config,
    })
}

async fn client(kubeconfig: Option<&Path>) -> anyhow::Result<kube::Client> {
    let mut config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("kubeconfig {}", path.display()))?
        }
        None => kube::Config::incluster().context("in-cluster config")?,
    };
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(USER_AGENT),
    ));
    kube::Client::try_from(config).context("host cluster client")
}

/// Connects to the host (waiting for it if it does not answer yet).
pub async fn connect(plan: &HostPlan) -> anyhow::Result<Prepared> {
    let host = client(plan.kubeconfig.as_deref())
        .await
        .context("host cluster")?;
    let prepared = warren_syncer::sync::prepare_with_retry(plan.options.clone(), host).await;
    let info = &prepared.host().info;
    eprintln!(
        "warren: syncing to host namespace {} ({}) as virtual cluster {}",
        plan.options.host_namespace, info.version, plan.options.vcluster
    );
    Ok(prepared)
}

/// The API server's Service hook, backed by the syncer.
struct ServiceHook(Prepared);

impl warren_apiserver::ServiceHook for ServiceHook {
    fn before_create<'a>(
        &'a self,
        service: &'a mut serde_json::Value,
    ) -> warren_apiserver::ServiceHookFuture<'a> {
        Box::pin(async move {
            self.0
                .before_virtual_service_create(service)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

pub fn service_hook(prepared: &Prepared) -> warren_apiserver::ServiceHookHandle {
    warren_apiserver::ServiceHookHandle(Arc::new(ServiceHook(prepared.clone())))
}

/// Once the API serves, the sync loops run against it.
pub async fn start(
    api: tokio::sync::watch::Receiver<Option<crate::commands::serve::LocalApi>>,
    prepared: Prepared,
    informers: crate::commands::serve::SharedInformers,
) {
    let Some(api) = crate::commands::serve::local_api(api).await else {
        return;
    };
    let virtual_client = api.client();
    let informers = informers
        .get_or_init(|| async {
            warren_controllers::informer::Informers::new(virtual_client.clone())
        })
        .await
        .clone();
    if let Err(e) = prepared
        .start(virtual_client, informers, std::future::pending())
        .await
    {
        tracing::error!(error = %e, "syncer stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels() {
        assert!(check_name("vc1").is_ok());
        assert!(check_name("my-vcluster").is_ok());
        assert!(check_name("VC").is_err());
        assert!(check_name("-vc").is_err());
        assert!(check_name("").is_err());
        assert!(check_name(&"a".repeat(64)).is_err());
    }
}
