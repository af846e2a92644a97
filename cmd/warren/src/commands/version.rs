//! `warren version`

/// The line `warren --version` prints.
pub const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (Kubernetes API v1.33)");

pub fn print() {
    println!("warren {}", env!("CARGO_PKG_VERSION"));
    println!("Kubernetes API: {}", warren_apiserver::GIT_VERSION);
}
