use anyhow::Result;

use crate::cli::CreateArgs;
use crate::container::{self, CreateOptions};
use crate::state::StateRoot;

pub fn options(args: &CreateArgs, systemd_cgroup: bool) -> CreateOptions {
    CreateOptions {
        systemd_cgroup,
        id: args.id.clone(),
        bundle: args.bundle.clone(),
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
        pidfd_socket: args.pidfd_socket.clone(),
        own_terminal: false,
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        listen_fds: listen_fds(),
        interrupt: None,
        early_release: false,
    }
}

pub fn run(root: &StateRoot, args: &CreateArgs, systemd_cgroup: bool) -> Result<i32> {
    container::create(root, &options(args, systemd_cgroup))?;
    Ok(0)
}

/// Socket activation (sd_listen_fds): the fds passed to hull when
/// LISTEN_PID names hull and LISTEN_FDS counts them; else none.
pub(super) fn listen_fds() -> u32 {
    let var = |name| std::env::var(name).ok();
    match (var("LISTEN_PID"), var("LISTEN_FDS")) {
        (Some(pid), Some(n)) if pid.parse() == Ok(std::process::id()) => n.parse().unwrap_or(0),
        _ => 0,
    }
}
