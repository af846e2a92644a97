//! Command-line definitions (no behaviour here; see `commands/`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Virtual Kubernetes clusters and the platform that runs them, in one binary.
#[derive(Debug, Parser)]
#[command(name = "warren", version = crate::commands::version::VERSION_LINE, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start-up; boxing the arguments would only complicate the match in main.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run warren components (roles) in this process.
    Serve(ServeArgs),
    /// Print the version of warren and the Kubernetes API it serves.
    Version,
    /// Create (or upgrade) something on a host cluster.
    #[command(subcommand)]
    Create(CreateCommand),
    /// Delete something made by `warren create`.
    #[command(subcommand)]
    Delete(DeleteCommand),
}

#[derive(Debug, Subcommand)]
pub enum CreateCommand {
    /// Deploy a virtual cluster (warren's syncer) into a host namespace, or upgrade it.
    Vcluster(CreateVclusterArgs),
}

#[derive(Debug, Subcommand)]
pub enum DeleteCommand {
    /// Delete a virtual cluster made by `warren create vcluster` (and its namespace if that
    /// command created it).
    Vcluster(DeleteVclusterArgs),
}

/// Which host cluster: kubectl's rules.
#[derive(Debug, Args)]
pub struct HostClusterArgs {
    /// The host cluster's kubeconfig (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: its current context).
    #[arg(long)]
    pub context: Option<String>,
}

/// `warren create vcluster NAME [--upgrade] [-f vcluster.yaml]`
#[derive(Debug, Args)]
pub struct CreateVclusterArgs {
    /// Name of the virtual cluster (a DNS label starting with a letter, at most 52 characters).
    pub name: String,

    /// Host namespace (default: vcluster-NAME; created if missing).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Upgrade the virtual cluster if it exists (else creating an existing one is an error).
    #[arg(long)]
    pub upgrade: bool,

    /// vcluster.yaml (vCluster's format; checked before anything touches the host).
    #[arg(
        short = 'f',
        long = "values",
        alias = "config",
        value_name = "VCLUSTER_YAML"
    )]
    pub config: Option<PathBuf>,

    /// Container image of the syncer pod; it must have `warren` on its PATH (default:
    /// warren:<this version>).
    #[arg(long)]
    pub image: Option<String>,

    #[command(flatten)]
    pub host: HostClusterArgs,
}

/// `warren delete vcluster NAME`
#[derive(Debug, Args)]
pub struct DeleteVclusterArgs {
    /// Name of the virtual cluster.
    pub name: String,

    /// Host namespace (default: vcluster-NAME).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    #[command(flatten)]
    pub host: HostClusterArgs,
}

/// `warren serve --role syncer --data-dir DIR`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Roles to run, comma-separated: syncer, dns, platform, agent, relay.
    #[arg(long, value_delimiter = ',', required = true, env = "WARREN_ROLE")]
    pub role: Vec<String>,

    /// Where state (SQLite), certificates and the kubeconfig live.
    #[arg(long, default_value = "./data", env = "WARREN_DATA_DIR")]
    pub data_dir: PathBuf,

    /// Address the Kubernetes API listens on.
    #[arg(long, default_value = "127.0.0.1:6443", env = "WARREN_LISTEN")]
    pub listen: SocketAddr,

    /// Extra names or IPs for the serving certificate (repeatable).
    #[arg(long = "tls-san", env = "WARREN_TLS_SAN", value_delimiter = ',')]
    pub tls_san: Vec<String>,

    /// Revisions kept for watches and consistent lists before compaction.
    #[arg(long, default_value_t = 10_000)]
    pub retention_revisions: i64,

    /// Seconds between compactions.
    #[arg(long, default_value_t = 60)]
    pub compact_interval_seconds: u64,

    /// Static bearer tokens: a CSV file of `token,user,uid,"group1,group2"` (kube's
    /// --token-auth-file).
    #[arg(long, env = "WARREN_TOKEN_AUTH_FILE")]
    pub token_auth_file: Option<PathBuf>,

    /// The `iss` of service-account tokens this server signs and accepts.
    #[arg(long, default_value = "https://kubernetes.default.svc.cluster.local")]
    pub service_account_issuer: String,

    /// Audiences a token must carry to authenticate to this API (default: the issuer).
    #[arg(long, value_delimiter = ',')]
    pub api_audiences: Vec<String>,

    /// Do not run the built-in controllers (a bare API, for tests).
    #[arg(long, env = "WARREN_DISABLE_CONTROLLERS")]
    pub disable_controllers: bool,

    /// Give every ServiceAccount a long-lived token Secret, as Kubernetes did before 1.24
    /// (old clients and test suites wait for it).
    #[arg(long, env = "WARREN_LEGACY_SERVICE_ACCOUNT_TOKEN_SECRETS")]
    pub legacy_service_account_token_secrets: bool,

    /// The virtual cluster's kubeconfig, for roles that run beside its API (`dns`).
    #[arg(long, env = "WARREN_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// Cluster DNS listen address, UDP and TCP (default: 127.0.0.1:1053 for the `dns` role, a
    /// free loopback port beside the syncer, 0.0.0.0:1053 beside a syncer in a pod, where the
    /// host's kube-dns copy sends synced pods' questions; kube-system/kube-dns points at it).
    #[arg(long, env = "WARREN_DNS_LISTEN")]
    pub dns_listen: Option<SocketAddr>,

    /// The cluster's DNS domain.
    #[arg(long, default_value = "cluster.local", env = "WARREN_CLUSTER_DOMAIN")]
    pub cluster_domain: String,

    /// TTL (seconds) of the cluster's DNS records.
    #[arg(long, default_value_t = 30)]
    pub dns_ttl: u32,

    /// Upstream resolvers for names outside the cluster, IP:PORT (repeatable; default: the
    /// nameservers of /etc/resolv.conf).
    #[arg(
        long = "dns-upstream",
        value_delimiter = ',',
        env = "WARREN_DNS_UPSTREAM"
    )]
    pub dns_upstreams: Vec<SocketAddr>,

    /// Pod A records `a-b-c-d.<ns>.pod.<domain>`: insecure (any address), verified (only
    /// pods that exist), disabled.
    #[arg(long, default_value = "insecure")]
    pub dns_pods: String,

    /// Where the DNS server serves Prometheus `/metrics` (off by default).
    #[arg(long, env = "WARREN_DNS_METRICS_LISTEN")]
    pub dns_metrics_listen: Option<SocketAddr>,

    /// Do not run the cluster DNS beside the syncer.
    #[arg(long, env = "WARREN_NO_DNS")]
    pub no_dns: bool,

    /// Name of the virtual cluster (vCluster's name: the suffix of host object names). With
    /// `--host-kubeconfig` or `--host-namespace` (or in a pod), workloads run on the host.
    #[arg(long, env = "WARREN_NAME")]
    pub name: Option<String>,

    /// The host cluster's kubeconfig (default in a pod: the in-cluster config).
    #[arg(long, env = "WARREN_HOST_KUBECONFIG")]
    pub host_kubeconfig: Option<PathBuf>,

    /// The host namespace the virtual cluster's workloads go to (default in a pod: its own).
    #[arg(long, env = "WARREN_HOST_NAMESPACE")]
    pub host_namespace: Option<String>,

    /// vcluster.yaml: what is synced and how (vCluster's format, both key generations).
    #[arg(short = 'f', long = "config", env = "WARREN_CONFIG")]
    pub config: Option<PathBuf>,

    /// Where the syncer serves Prometheus `/metrics` (off by default).
    #[arg(long, env = "WARREN_SYNCER_METRICS_LISTEN")]
    pub syncer_metrics_listen: Option<SocketAddr>,

    /// Log filter (tracing EnvFilter syntax), e.g. `info,warren_apiserver=debug`.
    #[arg(long, default_value = "info", env = "WARREN_LOG")]
    pub log: String,
}
