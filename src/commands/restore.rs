//! `restore`: a container from a bundle and CRIU images. Detached, hull
//! returns once it runs; in the foreground it waits as `run` does
//! (forwarding signals, exiting with the init's status) and then deletes it.

use anyhow::Result;

use crate::cli::RestoreArgs;
use crate::container::{self, Container, RestoreOptions};
use crate::process::foreground::Foreground;
use crate::state::StateRoot;

pub fn run(
    root: &StateRoot,
    criu: Option<&std::path::Path>,
    args: &RestoreArgs,
    systemd_cgroup: bool,
) -> Result<i32> {
    let bundle = match &args.bundle {
        Some(b) => b.clone(),
        None => std::env::current_dir()?,
    };
    let opts = RestoreOptions {
        id: args.id.clone(),
        bundle,
        criu: criu.map(|p| p.to_path_buf()),
        common: super::checkpoint::criu_options(&args.criu)?,
        console_socket: args.console_socket.clone(),
        pid_file: args.pid_file.clone(),
        systemd_cgroup,
        lsm_profile: args.lsm_profile.clone(),
        lsm_mount_context: args.lsm_mount_context.clone(),
    };
    if args.detach {
        container::restore(root, &opts)?;
        return Ok(0);
    }
    let fg = Foreground::start()?;
    if !args.no_subreaper {
        crate::process::foreground::become_subreaper()?;
    }
    let restored = container::restore(root, &opts)?;
    let status = fg.wait_forwarding(restored.pid, &restored.pidfd, None)?;
    container::destroy(&Container {
        dir: restored.dir,
        state: restored.state,
    })?;
    Ok(status)
}
