//! `warren delete vcluster NAME [-n NS]`: removes what `warren create vcluster` deployed (only
//! objects carrying its labels), the data claims, and the namespace if that command created it.

use anyhow::{Context, anyhow};
use warren_deploy::Names;

use crate::cli::DeleteVclusterArgs;
use crate::commands::create_vcluster::{default_namespace, host_client};

pub fn run(args: DeleteVclusterArgs) -> anyhow::Result<()> {
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| default_namespace(&args.name));
    warren_deploy::check_name(&args.name).map_err(|e| anyhow!("{e}"))?;
    let names = Names::new(&args.name, &namespace);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let deleted = runtime.block_on(async {
        let client = host_client(&args.host).await?;
        warren_deploy::delete(&client, &names)
            .await
            .map_err(|e| anyhow!("{e}"))
    })?;
    let namespace_note = if deleted.namespace_deleted {
        format!("; namespace {namespace} deleted")
    } else {
        String::new()
    };
    println!(
        "vcluster {} deleted from namespace {namespace} ({}){namespace_note}",
        args.name,
        deleted.objects.join(", ")
    );
    Ok(())
}
