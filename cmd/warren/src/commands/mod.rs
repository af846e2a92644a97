//! One module per subcommand.

pub mod serve;
pub mod syncer;
pub mod version;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Version => {
            version::print();
            Ok(())
        }
    }
}
