//! A Kubernetes-compatible HTTPS API server over the warren store: discovery, OpenAPI, CRUD,
//! watch, Tables, and the metadata rules of kube-apiserver.
#![forbid(unsafe_code)]
// ApiError travels only on the error path and mirrors a Status; boxing it at every return
// would cost more code than the larger Result saves.
#![allow(clippy::result_large_err)]

mod admission;
pub mod auth;
mod binding;
mod body;
mod bootstrap;
mod crd;
mod discovery;
mod eviction;
mod filter;
mod http;
mod local;
mod managed_fields;
mod meta;
mod namespace;
mod objects;
mod openapi;
mod openapi_v2_proto;
pub mod pki;
mod quota_admission;
mod request;
mod resources;
mod sa_admission;
mod service_alloc;
mod state;
mod tables;
mod version;
mod watch;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use warren_store::{Store, StoreOptions};

pub use local::LocalService;
pub use service_alloc::{ServiceHook, ServiceHookFuture, ServiceHookHandle};
pub use version::GIT_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum ApiServerError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("opening the store: {0}")]
    Store(#[from] warren_store::StoreError),
    #[error("certificates: {0}")]
    Pki(#[from] pki::PkiError),
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("bootstrapping default objects: {0}")]
    Bootstrap(String),
    #[error("authentication setup: {0}")]
    Auth(String),
}

/// How to run one API server.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub tls_sans: Vec<String>,
    pub store: StoreOptions,
    pub auth: auth::AuthOptions,
    /// Set when the workloads run on a host cluster (the syncer's Service hook).
    pub service_hook: Option<ServiceHookHandle>,
}

/// A started server: where it listens, where its kubeconfig is, and the in-process door for
/// clients in the same process.
pub struct Started {
    pub local_addr: SocketAddr,
    pub kubeconfig: PathBuf,
    pub local: LocalService,
    /// The cluster CA (PEM), which the kubeconfig also carries.
    pub ca_cert_pem: String,
}

fn tls_acceptor(pki: &pki::ClusterPki) -> Result<TlsAcceptor, ApiServerError> {
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
        rustls_pemfile::certs(&mut pki.serving_cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| ApiServerError::Tls(e.to_string()))?;
    let key = rustls_pemfile::private_key(&mut pki.serving_key_pem.as_bytes())
        .map_err(|e| ApiServerError::Tls(e.to_string()))?
        .ok_or_else(|| ApiServerError::Tls("no private key".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Client certificates signed by the cluster CA authenticate (CN = user, O = groups);
    // clients without one still connect and authenticate by token.
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pemfile::certs(&mut pki.ca_cert_pem.as_bytes()) {
        let ca = ca.map_err(|e| ApiServerError::Tls(e.to_string()))?;
        roots
            .add(ca)
            .map_err(|e| ApiServerError::Tls(e.to_string()))?;
    }
    let client_verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|e| ApiServerError::Tls(e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiServerError::Tls(e.to_string()))?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(certs, key)
        .map_err(|e| ApiServerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Runs the API server until `shutdown` completes. `on_started` is called once the API answers
/// and the kubeconfig is written.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    on_started: impl FnOnce(&Started),
) -> Result<(), ApiServerError> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| ApiServerError::DataDir {
        path: dir.clone(),
        source,
    })?;
    let store = Store::open(&dir.join("state.db"), config.store.clone())?;
    let listen_host = config.listen.ip().to_string();
    let sans = pki::serving_sans(&listen_host, &config.tls_sans);
    let cluster_pki = pki::ClusterPki::load_or_create(dir, &sans)?;
    let acceptor = tls_acceptor(&cluster_pki)?;
    let listener =
        TcpListener::bind(config.listen)
            .await
            .map_err(|source| ApiServerError::Listen {
                addr: config.listen,
                source,
            })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ApiServerError::Listen {
            addr: config.listen,
            source,
        })?;
    let advertise = if local_addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local_addr.port())
    } else {
        local_addr
    };
    let (cleanup, cleanup_rx) = namespace::NamespaceCleanup::new();
    let auth = auth::Auth::new(dir, &config.auth).map_err(ApiServerError::Auth)?;
    let services = service_alloc::ServiceAllocator::default();
    let state = Arc::new(state::AppState {
        objects: objects::Objects {
            store: store.clone(),
            service_changes: services.changes(),
        },
        pki: cluster_pki.clone(),
        catalog: state::Catalog::default(),
        namespace_cleanup: cleanup,
        openapi: openapi::OpenApiCache::default(),
        services,
        ready: AtomicBool::new(false),
        listen: advertise,
        auth,
    });
    if let Some(hook) = &config.service_hook {
        state.services.set_hook(hook.0.clone());
    }
    tokio::spawn(namespace::run(Arc::downgrade(&state), cleanup_rx));
    let compactor = store.spawn_compactor();

    let accept_state = state.clone();
    let accept_loop = async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept");
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let state = accept_state.clone();
            tokio::spawn(async move {
                let tls = match acceptor.accept(tcp).await {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake");
                        return;
                    }
                };
                let client_cert = auth::x509::user_of(tls.get_ref().1.peer_certificates());
                let service = hyper::service::service_fn(move |mut req: ::http::Request<_>| {
                    let state = state.clone();
                    if let Some(c) = &client_cert {
                        req.extensions_mut().insert(c.clone());
                    }
                    async move { Ok::<_, std::convert::Infallible>(http::handle(state, req).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if let Err(e) = builder
                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                    .await
                {
                    tracing::debug!(%peer, error = %e, "connection");
                }
            });
        }
    };
    let serving = tokio::spawn(accept_loop);

    bootstrap::run(&state, advertise)
        .await
        .map_err(|e| ApiServerError::Bootstrap(e.message))?;
    auth::start(&state)
        .await
        .map_err(|e| ApiServerError::Bootstrap(e.message))?;
    namespace::resume(&state).await;
    crd::start(&state).await;
    state.ready.store(true, Ordering::Release);
    let kubeconfig = dir.join("kubeconfig.yaml");
    let server_url = format!("https://{advertise}");
    pki::write_private(
        &kubeconfig,
        cluster_pki
            .admin_kubeconfig(&server_url, "warren")
            .as_bytes(),
    )?;
    tracing::info!(listen = %local_addr, kubeconfig = %kubeconfig.display(), "API server ready");
    on_started(&Started {
        local_addr,
        kubeconfig,
        local: LocalService::new(state.clone()),
        ca_cert_pem: cluster_pki.ca_cert_pem.clone(),
    });
    shutdown.await;
    serving.abort();
    compactor.abort();
    store.close();
    Ok(())
}
