//! linux.resources.devices on cgroup v2: an eBPF program
//! (BPF_PROG_TYPE_CGROUP_DEVICE) built from the rules (last match wins,
//! default deny), loaded and attached.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{bail, Result};

use crate::cgroups::devices::{DeviceRule, Kind, MKNOD, READ, WRITE};

/// One eBPF instruction as the kernel reads it (struct bpf_insn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst register in the low nibble, src in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes used here (linux/bpf.h, bpf_common.h).
pub const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
pub const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
pub const ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
pub const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
pub const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
pub const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// Device types in bpf_cgroup_dev_ctx.access_type's low 16 bits.
pub const DEVCG_DEV_BLOCK: i32 = 1;
pub const DEVCG_DEV_CHAR: i32 = 2;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// The program: r2 = type, r3 = access, r4 = major, r5 = minor, then the
/// rules from last to first (the first hit returns its verdict), then deny.
pub fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    let all = READ | WRITE | MKNOD;
    for rule in rules.iter().rev() {
        // Each test jumps to the next rule's block: `off` is patched below
        // to the distance from the jump to the end of this block.
        let mut block: Vec<Insn> = Vec::new();
        match rule.kind {
            Kind::All => {}
            Kind::Char => block.push(insn(JNE_K, 2, 0, 0, DEVCG_DEV_CHAR)),
            Kind::Block => block.push(insn(JNE_K, 2, 0, 0, DEVCG_DEV_BLOCK)),
        }
        if rule.access & all != all {
            // The request must be within the rule's access bits.
            block.push(insn(ALU32_MOV_X, 1, 3, 0, 0));
            block.push(insn(ALU32_AND_K, 1, 0, 0, i32::from(rule.access)));
            block.push(insn(JNE_X, 1, 3, 0, 0));
        }
        if let Some(major) = rule.major {
            block.push(insn(JNE_K, 4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push(insn(JNE_K, 5, 0, 0, minor as i32));
        }
        let unconditional = block.is_empty();
        block.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(rule.allow)));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_K || ins.code == JNE_X {
                ins.off = (len - i - 1) as i16;
            }
        }
        prog.extend(block);
        if unconditional {
            // Earlier rules can never be reached (the verifier refuses
            // unreachable code), nor the default.
            return prog;
        }
    }
    prog.push(insn(ALU64_MOV_K, 0, 0, 0, 0));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The BPF_PROG_LOAD part of union bpf_attr, zero padded.
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    pad: [u64; 8],
}

/// The BPF_PROG_ATTACH part of union bpf_attr, zero padded.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    pad: [u32; 11],
}

fn load(prog: &[Insn], log: Option<&mut Vec<u8>>) -> std::io::Result<OwnedFd> {
    let license = b"Apache\0";
    let mut name = [0u8; 16];
    name[..10].copy_from_slice(b"hull_devic");
    let (log_level, log_size, log_buf) = match log {
        Some(buf) => (1, buf.len() as u32, buf.as_mut_ptr() as u64),
        None => (0, 0, 0),
    };
    let attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level,
        log_size,
        log_buf,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: BPF_CGROUP_DEVICE,
        pad: [0; 8],
    };
    // SAFETY: attr points to a valid, fully initialised bpf_attr prefix of
    // the size passed; insns, license and the log buffer outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const ProgLoadAttr,
            std::mem::size_of::<ProgLoadAttr>(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(rc as i32) })
}

/// Load the program for `rules` and attach it to the cgroup `dir_fd`.
/// Once attached the kernel keeps it until the cgroup is removed.
pub fn attach(rules: &[DeviceRule], dir_fd: BorrowedFd<'_>) -> Result<()> {
    let prog = program(rules);
    let fd = match load(&prog, None) {
        Ok(fd) => fd,
        Err(err) => {
            // Again with the verifier's log, to say why.
            let mut log = vec![0u8; 1 << 16];
            let _ = load(&prog, Some(&mut log));
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            let last = text.lines().last().unwrap_or("");
            bail!(
                "load the device filter eBPF program ({} instructions): {err}{}{last}",
                prog.len(),
                if last.is_empty() { "" } else { ": " }
            );
        }
    };
    let attr = ProgAttachAttr {
        target_fd: dir_fd.as_raw_fd() as u32,
        attach_bpf_fd: fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
        pad: [0; 11],
    };
    // SAFETY: attr is a valid bpf_attr prefix of the size passed; both fds
    // are open for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const ProgAttachAttr,
            std::mem::size_of::<ProgAttachAttr>(),
        )
    };
    if rc < 0 {
        bail!(
            "attach the device filter eBPF program: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
