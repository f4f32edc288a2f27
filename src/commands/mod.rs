//! One file per subcommand: parse what the flags say, call the library.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use anyhow::{bail, Result};

use crate::cli::{Cli, Command, GlobalOpts};
use crate::state::StateRoot;

/// Run the parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    let global = &cli.global;
    if global.version {
        print_version();
        return Ok(0);
    }
    let Some(command) = cli.command else {
        bail!("no command given (try --help)");
    };
    let root = StateRoot::new(global.root.as_deref());
    match command {
        Command::Create(args) => {
            refuse_systemd(global)?;
            create::run(&root, &args)
        }
        Command::Start(args) => start::run(&root, &args.id),
        Command::Exec(args) => exec::run(&root, &args),
        Command::Run(args) => {
            refuse_systemd(global)?;
            run::run(&root, &args)
        }
        Command::State(args) => state::run(&root, &args.id),
        Command::Kill(args) => kill::run(&root, &args),
        Command::Delete(args) => delete::run(&root, &args),
        Command::List(args) => list::run(&root, &args),
        Command::Spec(args) => spec::run(&args),
        Command::Features => features::run(),
        Command::Pause(args) => pause::pause(&root, &args.id),
        Command::Resume(args) => pause::resume(&root, &args.id),
        Command::Update(args) => {
            refuse_systemd(global)?;
            update::run(&root, &args)
        }
        Command::Events(args) => events::run(&root, &args),
        Command::Ps(args) => ps::run(&root, &args),
    }
}

fn refuse_systemd(global: &GlobalOpts) -> Result<()> {
    if global.systemd_cgroup {
        bail!("--systemd-cgroup: the systemd cgroup driver is not supported yet (use the cgroupfs driver)");
    }
    Ok(())
}

fn print_version() {
    println!("hull version {}", env!("CARGO_PKG_VERSION"));
    println!("spec: {}", crate::OCI_VERSION);
}
