use anyhow::Result;

use crate::cli::KillArgs;
use crate::container::{self, Container};
use crate::signal::parse_signal;
use crate::state::StateRoot;

pub fn run(root: &StateRoot, args: &KillArgs) -> Result<i32> {
    let signal = parse_signal(&args.signal)?;
    let c = Container::load(root, &args.id)?;
    container::kill(&c, signal, args.all)?;
    Ok(0)
}
