use anyhow::Result;

use crate::cli::{PsArgs, PsFormatArg};
use crate::container::{self, Container, PsFormat};
use crate::state::StateRoot;

pub fn run(root: &StateRoot, args: &PsArgs) -> Result<i32> {
    let c = Container::load(root, &args.id)?;
    let format = match args.format {
        PsFormatArg::Table => PsFormat::Table,
        PsFormatArg::Json => PsFormat::Json,
    };
    if format == PsFormat::Json && !args.ps_args.is_empty() {
        anyhow::bail!("ps: arguments for ps cannot be used with --format json");
    }
    let out = container::ps(&c, format, &args.ps_args)?;
    print!("{out}");
    if format == PsFormat::Json {
        println!();
    }
    Ok(0)
}
