//! `warren serve --role ROLE[,ROLE…]`: runs the chosen roles until SIGINT/SIGTERM.

use std::time::Duration;

use anyhow::{Context, bail};
use tracing_subscriber::EnvFilter;
use warren_store::StoreOptions;

use crate::cli::ServeArgs;

/// Roles warren knows, and whether this build runs them yet.
const ROLES: &[(&str, bool)] = &[
    ("syncer", true),
    ("dns", true),
    ("platform", false),
    ("agent", false),
    ("relay", false),
];

fn check_roles(roles: &[String]) -> anyhow::Result<()> {
    for role in roles {
        match ROLES.iter().find(|(name, _)| name == role) {
            Some((_, true)) => {}
            Some((_, false)) => bail!("role {role:?} is not available in this build yet"),
            None => {
                let known: Vec<&str> = ROLES.iter().map(|(n, _)| *n).collect();
                bail!("unknown role {role:?} (known roles: {})", known.join(", "))
            }
        }
    }
    Ok(())
}

/// Threads for blocking work — SQLite calls, whose store has 4 read connections and 1 writer,
/// so more threads only wait for a connection. Tokio's default of 512 let a busy virtual
/// cluster grow to ~50 threads, each holding its own allocator pages.
const MAX_BLOCKING_THREADS: usize = 16;

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    check_roles(&args.role)?;
    // vcluster.yaml and the host flags are checked before anything starts.
    let plan = crate::commands::syncer::plan(&args)?;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&args.log).context("--log")?)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")?;
    let dns = dns_config(&args)?;
    if !args.role.iter().any(|r| r == "syncer") {
        // `--role dns`: the DNS alone, against a virtual cluster's API.
        let Some(kubeconfig) = args.kubeconfig.clone() else {
            bail!("--role dns needs --kubeconfig (the virtual cluster's API)");
        };
        return runtime.block_on(async move {
            let client = warren_dns::client_from_kubeconfig(&kubeconfig).await?;
            warren_dns::serve(dns, client, shutdown_signal(), |started| {
                announce_dns(started);
                crate::commands::serve::notify_ready();
            })
            .await
            .context("dns")
        });
    }
    runtime.block_on(async move {
        let prepared = match &plan.host {
            Some(host) => Some(crate::commands::syncer::connect(host).await?),
            None => None,
        };
        let config = warren_apiserver::Config {
            data_dir: args.data_dir.clone(),
            listen: args.listen,
            // Synced pods reach the API at the cluster IP of the syncer's host Service.
            tls_sans: args
                .tls_san
                .iter()
                .cloned()
                .chain(prepared.as_ref().map(|p| p.host().kube_ip.clone()))
                .filter(|san| !san.is_empty())
                .collect(),
            store: StoreOptions {
                retention_revisions: args.retention_revisions,
                compact_interval: Duration::from_secs(args.compact_interval_seconds.max(1)),
                ..StoreOptions::default()
            },
            auth: warren_apiserver::auth::AuthOptions {
                token_auth_file: args.token_auth_file.clone(),
                service_account_issuer: args.service_account_issuer.clone(),
                api_audiences: args.api_audiences.clone(),
            },
            service_hook: prepared.as_ref().map(crate::commands::syncer::service_hook),
        };
        let (api_tx, api_rx) = tokio::sync::watch::channel(None::<LocalApi>);
        // One set of watch-fed caches for the controllers and the syncer.
        let informers = SharedInformers::default();
        if let Some(prepared) = prepared {
            tokio::spawn(crate::commands::syncer::start(
                api_rx.clone(),
                prepared,
                informers.clone(),
            ));
        }
        if !args.no_dns && plan.config.dns_enabled {
            tokio::spawn(start_dns(api_rx.clone(), dns));
        }
        if !args.disable_controllers {
            // The tokens controller signs with the API server's service-account key, like
            // kube-controller-manager's --service-account-private-key-file.
            let key = warren_apiserver::auth::jwt::SigningKey::load_or_create(&args.data_dir)
                .context("service-account signing key")?;
            let tokens = warren_controllers::TokenOptions {
                signer: std::sync::Arc::new(move |claims| key.sign(claims)),
                legacy_secrets: args.legacy_service_account_token_secrets,
            };
            tokio::spawn(start_controllers(api_rx, tokens, informers));
        }
        warren_apiserver::run(config, shutdown_signal(), |started| {
            eprintln!(
                "warren: virtual cluster API on https://{} — kubeconfig: {}",
                started.local_addr,
                started.kubeconfig.display()
            );
            api_tx.send_replace(Some(LocalApi {
                service: started.local.clone(),
                ca_cert_pem: started.ca_cert_pem.clone(),
            }));
            crate::commands::serve::notify_ready();
        })
        .await
        .context("syncer")
    })
}

/// The process's shared informers, made by whichever of the controllers and the syncer starts
/// first (both have a client of the same API by then).
pub type SharedInformers =
    std::sync::Arc<tokio::sync::OnceCell<warren_controllers::informer::Informers>>;

/// The API of this process, for the components beside it: requests go straight to the
/// handler (no TLS, no sockets; see [`warren_apiserver::LocalService`]).
#[derive(Clone)]
pub struct LocalApi {
    service: warren_apiserver::LocalService,
    ca_cert_pem: String,
}

/// How the controllers name themselves: the API server names field managers after the
/// User-Agent, and kube's controllers are "kube-controller-manager" in managedFields.
const CONTROLLERS_USER_AGENT: &str = "kube-controller-manager/v1.33.0 (linux/amd64) warren";

impl LocalApi {
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.service.clone(), "default")
    }

    fn client_as(&self, user_agent: &'static str) -> kube::Client {
        kube::Client::new(self.service.clone().with_user_agent(user_agent), "default")
    }
}

/// Waits until the API of this process serves; `None` when it never will (it stopped).
pub async fn local_api(mut rx: tokio::sync::watch::Receiver<Option<LocalApi>>) -> Option<LocalApi> {
    rx.wait_for(Option::is_some).await.ok()?.clone()
}

/// Once the API serves, the built-in controllers run against it.
async fn start_controllers(
    api: tokio::sync::watch::Receiver<Option<LocalApi>>,
    tokens: warren_controllers::TokenOptions,
    informers: SharedInformers,
) {
    let Some(api) = local_api(api).await else {
        return;
    };
    let client = api.client_as(CONTROLLERS_USER_AGENT);
    let informers = informers
        .get_or_init(|| async { warren_controllers::informer::Informers::new(client.clone()) })
        .await
        .clone();
    let _ = warren_controllers::Controllers::new(client)
        .informers(informers)
        .root_ca(Some(api.ca_cert_pem))
        .tokens(tokens)
        .start(std::future::pending())
        .await;
}

/// The DNS settings from the flags; the listen default depends on the role.
fn dns_config(args: &ServeArgs) -> anyhow::Result<warren_dns::DnsConfig> {
    let beside_syncer = args.role.iter().any(|r| r == "syncer");
    let default_listen = if beside_syncer && crate::commands::syncer::in_pod() {
        // Synced pods reach it through the host kube-dns Service, which selects this pod.
        "0.0.0.0:1053"
    } else if beside_syncer {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:1053"
    };
    Ok(warren_dns::DnsConfig {
        listen: args
            .dns_listen
            .unwrap_or_else(|| default_listen.parse().expect("valid address")),
        cluster_domain: args.cluster_domain.clone(),
        ttl: args.dns_ttl,
        upstreams: args.dns_upstreams.clone(),
        pods: args
            .dns_pods
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--dns-pods: {e}"))?,
        metrics_listen: args.dns_metrics_listen,
        ..warren_dns::DnsConfig::default()
    })
}

fn announce_dns(started: &warren_dns::Started) {
    eprintln!(
        "warren: cluster DNS on udp+tcp {}{}",
        started.listen,
        started
            .metrics
            .map(|m| format!(" — metrics: http://{m}/metrics"))
            .unwrap_or_default()
    );
}

/// Beside the syncer, the DNS starts once the API serves. A DNS that cannot start leaves the
/// API running.
async fn start_dns(
    api: tokio::sync::watch::Receiver<Option<LocalApi>>,
    config: warren_dns::DnsConfig,
) {
    let Some(api) = local_api(api).await else {
        return;
    };
    if let Err(e) =
        warren_dns::serve(config, api.client(), std::future::pending(), announce_dns).await
    {
        tracing::error!(error = %e, "cluster DNS not started");
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

/// Tells systemd (Type=notify) the service is ready, when started by it.
pub fn notify_ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let result = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| sock.send_to_addr(b"READY=1", &addr))
    } else {
        sock.send_to(b"READY=1", &path)
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "sd_notify");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_checked() {
        assert!(check_roles(&["syncer".into()]).is_ok());
        assert!(check_roles(&["dns".into()]).is_ok());
        let e = check_roles(&["platform".into()]).expect_err("not built");
        assert!(e.to_string().contains("not available"));
        let e = check_roles(&["nope".into()]).expect_err("unknown");
        assert!(e.to_string().contains("unknown role"));
    }
}
