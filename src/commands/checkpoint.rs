//! `checkpoint` and `restore`: runc's flags turned into CRIU options.

use anyhow::{bail, Context, Result};

use crate::cli::{CgroupsMode, CheckpointArgs, CriuArgs};
use crate::container::{self, CheckpointOptions, Container, CriuOptions};
use crate::criu::rpc::CgMode;
use crate::state::StateRoot;

pub fn run(root: &StateRoot, criu: Option<&std::path::Path>, args: &CheckpointArgs) -> Result<i32> {
    let opts = CheckpointOptions {
        criu: criu.map(|p| p.to_path_buf()),
        common: criu_options(&args.criu)?,
        parent_path: args.parent_path.clone(),
        leave_running: args.leave_running,
        pre_dump: args.pre_dump,
        page_server: args.page_server.as_deref().map(page_server).transpose()?,
        status_fd: args.status_fd.filter(|fd| *fd >= 0),
    };
    let c = Container::load(root, &args.id)?;
    container::checkpoint(&c, &opts)?;
    Ok(0)
}

/// The flags checkpoint and restore share. The image path defaults to
/// ./checkpoint, as runc's does.
pub fn criu_options(args: &CriuArgs) -> Result<CriuOptions> {
    let cwd = std::env::current_dir().context("the current directory")?;
    let image_path = match &args.image_path {
        Some(p) => cwd.join(p),
        None => cwd.join("checkpoint"),
    };
    let mut empty_ns = 0u32;
    for ns in &args.empty_ns {
        match ns.as_str() {
            "network" => empty_ns |= libc::CLONE_NEWNET as u32,
            other => bail!("--empty-ns {other:?}: only \"network\" is supported"),
        }
    }
    Ok(CriuOptions {
        image_path,
        work_path: args.work_path.as_ref().map(|p| cwd.join(p)),
        tcp_established: args.tcp_established,
        ext_unix_sk: args.ext_unix_sk,
        shell_job: args.shell_job,
        file_locks: args.file_locks,
        cgroups_mode: args.manage_cgroups_mode.map(|m| match m {
            CgroupsMode::Soft => CgMode::Soft,
            CgroupsMode::Full => CgMode::Full,
            CgroupsMode::Strict => CgMode::Strict,
            CgroupsMode::Ignore => CgMode::Ignore,
        }),
        empty_ns,
        auto_dedup: args.auto_dedup,
        lazy_pages: args.lazy_pages,
    })
}

/// `--page-server ADDRESS:PORT` (an IPv6 address in brackets).
fn page_server(value: &str) -> Result<(String, i32)> {
    let bad = || anyhow::anyhow!("--page-server {value:?}: use ADDRESS:PORT");
    let (address, port) = value.rsplit_once(':').ok_or_else(bad)?;
    let address = address.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow::anyhow!("--page-server {value:?}: {port:?} is not a port number"))?;
    if address.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((address.to_string(), i32::from(port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_server_addresses() {
        assert_eq!(page_server("10.0.0.1:27").unwrap(), ("10.0.0.1".into(), 27));
        assert_eq!(page_server("[::1]:9000").unwrap(), ("::1".into(), 9000));
        for bad in [
            "nohost",
            ":27",
            "host:",
            "host:port",
            "host:70000",
            "host:0",
        ] {
            assert!(page_server(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_ns_takes_network_only() {
        let args = CriuArgs {
            empty_ns: vec!["network".into()],
            ..Default::default()
        };
        assert_eq!(
            criu_options(&args).unwrap().empty_ns,
            libc::CLONE_NEWNET as u32
        );
        let args = CriuArgs {
            empty_ns: vec!["pid".into()],
            ..Default::default()
        };
        let err = criu_options(&args).unwrap_err().to_string();
        assert_eq!(err, "--empty-ns \"pid\": only \"network\" is supported");
    }
}
