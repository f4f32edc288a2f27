use anyhow::{Context, Result};

use crate::cli::EventsArgs;
use crate::container::{self, Container, EventsOptions};
use crate::state::StateRoot;

pub fn run(root: &StateRoot, args: &EventsArgs) -> Result<i32> {
    let interval = humantime::parse_duration(&args.interval).with_context(|| {
        format!(
            "--interval {:?}: not a duration like 5s or 500ms",
            args.interval
        )
    })?;
    if interval.is_zero() {
        anyhow::bail!("--interval {:?}: must be more than zero", args.interval);
    }
    let c = Container::load(root, &args.id)?;
    container::events(
        &c,
        &EventsOptions {
            stats_once: args.stats,
            interval,
        },
    )?;
    Ok(0)
}
