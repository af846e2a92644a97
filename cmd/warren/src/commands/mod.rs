//! One module per subcommand.

pub mod create_vcluster;
pub mod delete_vcluster;
pub mod serve;
pub mod syncer;
pub mod version;

use crate::cli::{Cli, Command, CreateCommand, DeleteCommand};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Version => {
            version::print();
            Ok(())
        }
        Command::Create(CreateCommand::Vcluster(args)) => create_vcluster::run(args),
        Command::Delete(DeleteCommand::Vcluster(args)) => delete_vcluster::run(args),
    }
}
