//! CRIU's RPC (`criu swrk FD`): the messages of CRIU's rpc.proto that hull
//! uses, declared with prost's derives (the field numbers are rpc.proto's;
//! a test checks them against the rpc.proto of an installed CRIU), and the
//! exchange over a SOCK_SEQPACKET socketpair: one request, then
//! notifications (each answered) until the final response.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::sys::socket::{
    recvmsg, send, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use prost::Message;

#[derive(Clone, PartialEq, prost::Message)]
pub struct PageServerInfo {
    #[prost(string, optional, tag = "1")]
    pub address: Option<String>,
    #[prost(int32, optional, tag = "2")]
    pub port: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExtMountMap {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub val: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct JoinNamespace {
    #[prost(string, required, tag = "1")]
    pub ns: String,
    #[prost(string, required, tag = "2")]
    pub ns_file: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct InheritFd {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(int32, required, tag = "2")]
    pub fd: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CgroupRoot {
    #[prost(string, optional, tag = "1")]
    pub ctrl: Option<String>,
    #[prost(string, required, tag = "2")]
    pub path: String,
}

/// `criu_cg_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum CgMode {
    Ignore = 0,
    None = 1,
    Props = 2,
    Soft = 3,
    Full = 4,
    Strict = 5,
    Default = 6,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Opts {
    #[prost(int32, required, tag = "1")]
    pub images_dir_fd: i32,
    #[prost(int32, optional, tag = "2")]
    pub pid: Option<i32>,
    #[prost(bool, optional, tag = "3")]
    pub leave_running: Option<bool>,
    #[prost(bool, optional, tag = "4")]
    pub ext_unix_sk: Option<bool>,
    #[prost(bool, optional, tag = "5")]
    pub tcp_established: Option<bool>,
    #[prost(bool, optional, tag = "6")]
    pub evasive_devices: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub shell_job: Option<bool>,
    #[prost(bool, optional, tag = "8")]
    pub file_locks: Option<bool>,
    #[prost(int32, optional, tag = "9")]
    pub log_level: Option<i32>,
    #[prost(string, optional, tag = "10")]
    pub log_file: Option<String>,
    #[prost(message, optional, tag = "11")]
    pub ps: Option<PageServerInfo>,
    #[prost(bool, optional, tag = "12")]
    pub notify_scripts: Option<bool>,
    #[prost(string, optional, tag = "13")]
    pub root: Option<String>,
    #[prost(string, optional, tag = "14")]
    pub parent_img: Option<String>,
    #[prost(bool, optional, tag = "15")]
    pub track_mem: Option<bool>,
    #[prost(bool, optional, tag = "16")]
    pub auto_dedup: Option<bool>,
    #[prost(int32, optional, tag = "17")]
    pub work_dir_fd: Option<i32>,
    #[prost(message, repeated, tag = "23")]
    pub ext_mnt: Vec<ExtMountMap>,
    #[prost(bool, optional, tag = "24")]
    pub manage_cgroups: Option<bool>,
    #[prost(message, repeated, tag = "25")]
    pub cg_root: Vec<CgroupRoot>,
    #[prost(bool, optional, tag = "26")]
    pub rst_sibling: Option<bool>,
    #[prost(message, repeated, tag = "27")]
    pub inherit_fd: Vec<InheritFd>,
    #[prost(enumeration = "CgMode", optional, tag = "34")]
    pub manage_cgroups_mode: Option<i32>,
    #[prost(string, repeated, tag = "37")]
    pub external: Vec<String>,
    #[prost(uint32, optional, tag = "38")]
    pub empty_ns: Option<u32>,
    #[prost(message, repeated, tag = "39")]
    pub join_ns: Vec<JoinNamespace>,
    #[prost(string, optional, tag = "44")]
    pub freeze_cgroup: Option<String>,
    #[prost(bool, optional, tag = "48")]
    pub lazy_pages: Option<bool>,
    #[prost(int32, optional, tag = "49")]
    pub status_fd: Option<i32>,
    #[prost(bool, optional, tag = "50")]
    pub orphan_pts_master: Option<bool>,
    #[prost(string, optional, tag = "51")]
    pub config_file: Option<String>,
    #[prost(string, optional, tag = "53")]
    pub lsm_profile: Option<String>,
    #[prost(string, optional, tag = "63")]
    pub lsm_mount_context: Option<String>,
}

/// `criu_req_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum ReqType {
    Empty = 0,
    Dump = 1,
    Restore = 2,
    Check = 3,
    PreDump = 4,
    PageServer = 5,
    Notify = 6,
    CpuinfoDump = 7,
    CpuinfoCheck = 8,
    FeatureCheck = 9,
    Version = 10,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Features {
    #[prost(bool, optional, tag = "1")]
    pub mem_track: Option<bool>,
    #[prost(bool, optional, tag = "2")]
    pub lazy_pages: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    #[prost(enumeration = "ReqType", required, tag = "1")]
    pub r#type: i32,
    #[prost(message, optional, tag = "2")]
    pub opts: Option<Opts>,
    #[prost(bool, optional, tag = "3")]
    pub notify_success: Option<bool>,
    #[prost(message, optional, tag = "5")]
    pub features: Option<Features>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RestoreResp {
    #[prost(int32, required, tag = "1")]
    pub pid: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Notify {
    #[prost(string, optional, tag = "1")]
    pub script: Option<String>,
    #[prost(int32, optional, tag = "2")]
    pub pid: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Version {
    #[prost(int32, required, tag = "1")]
    pub major_number: i32,
    #[prost(int32, required, tag = "2")]
    pub minor_number: i32,
    #[prost(string, optional, tag = "3")]
    pub gitid: Option<String>,
    #[prost(int32, optional, tag = "4")]
    pub sublevel: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    #[prost(enumeration = "ReqType", required, tag = "1")]
    pub r#type: i32,
    #[prost(bool, required, tag = "2")]
    pub success: bool,
    #[prost(message, optional, tag = "4")]
    pub restore: Option<RestoreResp>,
    #[prost(message, optional, tag = "5")]
    pub notify: Option<Notify>,
    #[prost(int32, optional, tag = "7")]
    pub cr_errno: Option<i32>,
    #[prost(message, optional, tag = "8")]
    pub features: Option<Features>,
    #[prost(string, optional, tag = "9")]
    pub cr_errmsg: Option<String>,
    #[prost(message, optional, tag = "10")]
    pub version: Option<Version>,
}

impl Version {
    /// CRIU's own number for it: 3.17.1 is 31701.
    pub fn number(&self) -> i32 {
        self.major_number
            .saturating_mul(10000)
            .saturating_add(self.minor_number.saturating_mul(100))
            .saturating_add(self.sublevel.unwrap_or(0))
    }
}

/// A notification CRIU sends while it works, with the fd it passed (the
/// pty master of `orphan-pts-master`).
pub struct Notification {
    pub script: String,
    pub pid: i32,
    pub fd: Option<OwnedFd>,
}

/// One `criu swrk` run. Dropped without `finish` (an error on the way),
/// criu is killed and reaped.
pub struct Swrk {
    sock: Option<OwnedFd>,
    child: std::process::Child,
    waited: bool,
}

impl Swrk {
    /// Start `criu swrk 3` with the socket at fd 3 and `extra` at 4, 5, …
    /// (CRIU's `inherit_fd` and namespace files name them so); its stdio
    /// is hull's (a restored process inherits pipes from it).
    pub fn start(criu: &Path, extra: &[BorrowedFd<'_>]) -> Result<Swrk> {
        use std::os::unix::process::CommandExt;
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .context("socketpair for criu swrk")?;
        // Above any target number first, so that no dup2 overwrites a
        // source still to be moved; dup2 clears close-on-exec.
        let mut sources = vec![high_dup(theirs.as_fd())?];
        for fd in extra {
            sources.push(high_dup(*fd)?);
        }
        let raw: Vec<RawFd> = sources.iter().map(AsRawFd::as_raw_fd).collect();
        let mut command = std::process::Command::new(criu);
        command.args(["swrk", "3"]);
        // SAFETY: the closure only calls dup2, which is async-signal-safe,
        // on descriptors that stay open in the parent until spawn returns.
        unsafe {
            command.pre_exec(move || {
                for (i, fd) in raw.iter().enumerate() {
                    if libc::dup2(*fd, 3 + i as RawFd) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("start {} swrk", criu.display()))?;
        drop(sources);
        drop(theirs);
        Ok(Swrk {
            sock: Some(ours),
            child,
            waited: false,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn sock(&self) -> Result<RawFd> {
        match &self.sock {
            Some(sock) => Ok(sock.as_raw_fd()),
            None => bail!("criu's socket is closed"),
        }
    }

    pub fn send(&self, req: &Request) -> Result<()> {
        send(self.sock()?, &req.encode_to_vec(), MsgFlags::empty())
            .context("send a request to criu")?;
        Ok(())
    }

    /// The next response, and the fd it carried.
    pub fn recv(&self) -> Result<(Response, Option<OwnedFd>)> {
        let mut buf = vec![0u8; 10 * 4096];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            self.sock()?,
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .context("receive from criu")?;
        if msg
            .flags
            .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC)
        {
            bail!("criu's answer did not fit the receive buffer");
        }
        let mut fd = None;
        for cmsg in msg.cmsgs().context("criu's control messages")? {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                for raw in fds {
                    // SAFETY: SCM_RIGHTS gave us this new descriptor.
                    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                    fd.get_or_insert(owned);
                }
            }
        }
        let n = msg.bytes;
        if n == 0 {
            bail!("criu closed the connection without an answer");
        }
        let resp = Response::decode(&buf[..n]).context("decode criu's answer")?;
        Ok((resp, fd))
    }

    /// Send `req` and serve CRIU's notifications with `notify` (answered
    /// with success, or the error ends the exchange) until its response.
    pub fn call(
        &self,
        req: &Request,
        mut notify: impl FnMut(Notification) -> Result<()>,
    ) -> Result<Response> {
        self.send(req)?;
        loop {
            let (resp, fd) = self.recv()?;
            // A failure or the final answer ends the exchange.
            if !resp.success || resp.r#type != ReqType::Notify as i32 {
                return Ok(resp);
            }
            let note = resp.notify.unwrap_or_default();
            notify(Notification {
                script: note.script.unwrap_or_default(),
                pid: note.pid.unwrap_or(0),
                fd,
            })?;
            self.send(&Request {
                r#type: ReqType::Notify as i32,
                notify_success: Some(true),
                ..Default::default()
            })?;
        }
    }

    /// Close the socket and wait for criu to exit.
    pub fn finish(mut self) -> Result<std::process::ExitStatus> {
        self.sock = None;
        self.waited = true;
        self.child.wait().context("wait for criu")
    }
}

impl Drop for Swrk {
    fn drop(&mut self) {
        if !self.waited {
            self.sock = None;
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A close-on-exec duplicate of `fd` at 64 or above.
fn high_dup(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(64))
        .context("duplicate a descriptor for criu")
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor we now own.
        .map(|raw| unsafe { OwnedFd::from_raw_fd(raw) })
}

#[cfg(test)]
#[path = "rpc_tests.rs"]
mod tests;
