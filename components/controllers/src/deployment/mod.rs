//! The deployment controller.

pub mod util;

use crate::Context;

pub async fn run(_ctx: Context) {}
