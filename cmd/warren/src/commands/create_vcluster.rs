//! `warren create vcluster NAME [--upgrade] [-f vcluster.yaml]`: deploys warren's syncer into a
//! host namespace (vCluster's `vcluster create --upgrade -f values.yaml`). The objects are
//! built and applied by [`warren_deploy`]; vcluster.yaml is checked before anything touches the
//! host.

use std::path::Path;

use anyhow::{Context, anyhow};
use kube::config::{KubeConfigOptions, Kubeconfig};
use warren_deploy::{DeployError, DeployRequest};

use crate::cli::{CreateVclusterArgs, HostClusterArgs};

/// The User-Agent of the CLI's requests.
const USER_AGENT: &str = "warren-cli";

/// `vcluster-<name>`, vCluster's default host namespace.
pub(crate) fn default_namespace(name: &str) -> String {
    format!("vcluster-{name}")
}

/// A client of the host cluster: `--kubeconfig`, else $KUBECONFIG, else ~/.kube/config, with
/// `--context` or the current context.
pub(crate) async fn host_client(args: &HostClusterArgs) -> anyhow::Result<kube::Client> {
    // kube's errors already say what failed and why; their sources would only repeat it.
    let kubeconfig = match &args.kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|e| anyhow!("{e}"))?;
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| anyhow!("host cluster kubeconfig: {e}"))?;
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(USER_AGENT),
    ));
    kube::Client::try_from(config).context("host cluster client")
}

/// The kubectl flags that reach the same host cluster, for the hints printed.
pub(crate) fn kubectl_flags(args: &HostClusterArgs) -> String {
    let mut flags = String::new();
    if let Some(path) = &args.kubeconfig {
        flags.push_str(&format!(" --kubeconfig {}", path.display()));
    }
    if let Some(context) = &args.context {
        flags.push_str(&format!(" --context {context}"));
    }
    flags
}

fn read_config(path: Option<&Path>) -> anyhow::Result<String> {
    match path {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        }
        None => Ok(String::new()),
    }
}

pub fn run(args: CreateVclusterArgs) -> anyhow::Result<()> {
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| default_namespace(&args.name));
    let image = args
        .image
        .as_deref()
        .unwrap_or(warren_deploy::DEFAULT_IMAGE);
    let text = read_config(args.config.as_deref())?;
    let source = args
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "vcluster.yaml".into());
    let request =
        DeployRequest::new(&args.name, &namespace, image, &text).map_err(|e| match e {
            DeployError::Config(e) => anyhow!("{source}: {e}"),
            other => anyhow!("{other}"),
        })?;
    for warning in &request.warnings {
        eprintln!("warren: warning: {source}: {warning}");
    }
    for key in warren_syncer::sync::not_synced_yet(&request.config) {
        eprintln!("warren: warning: {key}: not synced by warren yet (ignored)");
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let deployed = runtime.block_on(async {
        let client = host_client(&args.host).await?;
        warren_deploy::deploy(&client, &request, args.upgrade)
            .await
            .map_err(|e| anyhow!("{e}"))
    })?;

    let (name, flags) = (&args.name, kubectl_flags(&args.host));
    let what = if deployed.upgraded {
        "upgraded"
    } else {
        "created"
    };
    let created_ns = if deployed.namespace_created {
        " (namespace created)"
    } else {
        ""
    };
    println!("vcluster {name} {what} in namespace {namespace}{created_ns}, image {image}");
    if deployed.upgraded {
        return Ok(());
    }
    println!("To use it once pod {name}-0 is ready:");
    println!("  kubectl{flags} -n {namespace} port-forward svc/{name} 8443:443 &");
    println!(
        "  kubectl{flags} -n {namespace} exec {name}-0 -- cat {}/kubeconfig.yaml > {name}.kubeconfig",
        warren_deploy::DATA_DIR
    );
    println!("  kubectl --kubeconfig {name}.kubeconfig get namespaces");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn hints_reach_the_same_host() {
        let none = HostClusterArgs {
            kubeconfig: None,
            context: None,
        };
        assert_eq!(kubectl_flags(&none), "");
        let both = HostClusterArgs {
            kubeconfig: Some(PathBuf::from("/tmp/host.yaml")),
            context: Some("prod".into()),
        };
        assert_eq!(
            kubectl_flags(&both),
            " --kubeconfig /tmp/host.yaml --context prod"
        );
        assert_eq!(default_namespace("vc1"), "vcluster-vc1");
    }
}
