//! `run`: create + start in one process. In the foreground hull forwards
//! the signals it gets to the container, waits for its init and exits with
//! its status (128+N when killed by signal N), then deletes it.

use std::os::fd::AsFd;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::container::{self, Container, Created};
use crate::process::foreground::Foreground;
use crate::process::spawn::Child;
use crate::process::terminal::Proxy;
use crate::state::StateRoot;

pub fn run(root: &StateRoot, args: &RunArgs, systemd_cgroup: bool) -> Result<i32> {
    let opts = container::CreateOptions {
        early_release: true,
        ..super::create::options(&args.create, systemd_cgroup)
    };
    if args.detach {
        let mut created = container::create(root, &opts)?;
        let c = as_container(&created);
        if let Err(err) = container::start(&c, None, early_release(&mut created)) {
            abort(created, &c);
            return Err(err);
        }
        return Ok(0);
    }

    // Signals are blocked before the clone, so none is lost between create
    // and the wait loop; the init restores its own mask before exec.
    let fg = Foreground::start()?;
    if !args.no_subreaper {
        crate::process::foreground::become_subreaper()?;
    }

    let opts = container::CreateOptions {
        interrupt: Some(fg.signal_fd()),
        own_terminal: true,
        ..opts
    };
    let mut created = container::create(root, &opts)?;
    let c = as_container(&created);
    // The caller's terminal goes raw before the process can read from it.
    let terminal = match created.terminal.take().map(Proxy::start).transpose() {
        Ok(t) => t,
        Err(err) => {
            abort(created, &c);
            return Err(err);
        }
    };
    if let Err(err) = container::start(&c, opts.interrupt, early_release(&mut created)) {
        drop(terminal);
        abort(created, &c);
        return Err(err);
    }
    crate::timing::mark("run.start");
    let status = fg.wait_forwarding(created.pid, &created.pidfd, terminal)?;
    crate::timing::mark("run.wait");
    if !args.keep {
        container::destroy(&c)?;
        crate::timing::mark("run.delete");
    }
    Ok(status)
}

/// What create opened for start: exec.fifo's read end, with the init's
/// pidfd (the init may have run and exited already).
fn early_release(created: &mut Created) -> Option<container::EarlyRelease<'_>> {
    let fifo = created.release.take()?;
    Some(container::EarlyRelease {
        fifo,
        init: created.pidfd.as_fd(),
    })
}

fn as_container(created: &Created) -> Container {
    Container {
        dir: created.dir.clone(),
        state: created.state.clone(),
    }
}

/// Kill and reap the init of a container that could not start, and
/// remove the container.
fn abort(created: Created, c: &Container) {
    drop(Child::new(created.pid, created.pidfd));
    let _ = container::destroy(c);
}
