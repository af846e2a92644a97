//! The garbage collector.

use crate::Context;

pub async fn run(_ctx: Context) {}
