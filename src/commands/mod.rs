//! One file per subcommand: parse what the flags say, call the library.

mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod restore;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::os::fd::AsRawFd;

use anyhow::{bail, Result};

use crate::cli::{Cli, Command};
use crate::state::StateRoot;

/// The fds a command hands to the container's process (socket activation
/// and `--preserve-fds`: 3..3+N) must all be open when hull starts: a
/// missing one would be taken by a file hull opens itself (the log, the
/// state dir's lock, exec.fifo) and reach the container (CVE-2024-21626
/// class). Call before hull opens anything.
pub fn check_passed_fds(cli: &Cli) -> Result<()> {
    let (preserve, listen) = match &cli.command {
        Some(Command::Create(args)) => (args.preserve_fds, create::listen_fds()),
        Some(Command::Run(args)) => (args.create.preserve_fds, create::listen_fds()),
        Some(Command::Exec(args)) => (args.preserve_fds, 0),
        _ => return Ok(()),
    };
    let count = i64::from(preserve) + i64::from(listen);
    if count > i64::from(i32::MAX - 3) {
        // More than a process can have: create and exec refuse the count.
        return Ok(());
    }
    // hull's own, kept across the re-exec: never one the caller passed.
    let ours = crate::security::exe_guard::exe_tree().map(|fd| fd.as_raw_fd());
    for fd in 3..3 + count as i32 {
        // SAFETY: F_GETFD only reads the flags of an fd number.
        if Some(fd) == ours || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            let what = if fd - 3 < listen as i32 {
                format!("LISTEN_FDS={listen}")
            } else {
                format!("--preserve-fds {preserve}")
            };
            bail!(
                "{what}: fd {fd} is not open: only fds the caller passed may reach the container"
            );
        }
    }
    Ok(())
}

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
        Command::Create(args) => create::run(&root, &args, global.systemd_cgroup),
        Command::Start(args) => start::run(&root, &args.id),
        Command::Exec(args) => exec::run(&root, &args),
        Command::Run(args) => run::run(&root, &args, global.systemd_cgroup),
        Command::State(args) => state::run(&root, &args.id),
        Command::Kill(args) => kill::run(&root, &args),
        Command::Delete(args) => delete::run(&root, &args),
        Command::List(args) => list::run(&root, &args),
        Command::Spec(args) => spec::run(&args),
        Command::Features => features::run(),
        Command::Pause(args) => pause::pause(&root, &args.id),
        Command::Resume(args) => pause::resume(&root, &args.id),
        // The container's state says which driver made its cgroup.
        Command::Update(args) => update::run(&root, &args),
        Command::Events(args) => events::run(&root, &args),
        Command::Ps(args) => ps::run(&root, &args),
        Command::Checkpoint(args) => checkpoint::run(&root, global.criu.as_deref(), &args),
        Command::Restore(args) => {
            restore::run(&root, global.criu.as_deref(), &args, global.systemd_cgroup)
        }
    }
}

fn print_version() {
    println!("hull version {}", env!("CARGO_PKG_VERSION"));
    println!("spec: {}", crate::OCI_VERSION);
}
