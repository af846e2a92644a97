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

    /// Log filter (tracing EnvFilter syntax), e.g. `info,warren_apiserver=debug`.
    #[arg(long, default_value = "info", env = "WARREN_LOG")]
    pub log: String,
}
