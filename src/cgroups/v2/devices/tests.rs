//! The generated program run through a small interpreter of the opcodes it uses.

use super::*;

/// Run `prog` on a device access; returns r0 (1 allow, 0 deny).
fn run(prog: &[Insn], kind: i32, access: u8, major: u32, minor: u32) -> u64 {
    let ctx = [(u32::from(access) << 16) | kind as u32, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    for _ in 0..10_000 {
        let i = prog[pc];
        let (dst, src) = ((i.regs & 0x0f) as usize, (i.regs >> 4) as usize);
        pc += 1;
        match i.code {
            LDX_MEM_W => {
                assert_eq!(src, 1, "loads come from the context");
                r[dst] = u64::from(ctx[i.off as usize / 4]);
            }
            ALU32_AND_K => r[dst] = u64::from((r[dst] as u32) & i.imm as u32),
            ALU32_RSH_K => r[dst] = u64::from((r[dst] as u32) >> i.imm),
            ALU32_MOV_X => r[dst] = u64::from(r[src] as u32),
            ALU64_MOV_K => r[dst] = i.imm as i64 as u64,
            JNE_K => {
                if r[dst] != i.imm as i64 as u64 {
                    pc = (pc as i64 + i64::from(i.off)) as usize;
                }
            }
            JNE_X => {
                if r[dst] != r[src] {
                    pc = (pc as i64 + i64::from(i.off)) as usize;
                }
            }
            EXIT => return r[0],
            other => panic!("unexpected opcode {other:#x}"),
        }
    }
    panic!("program did not exit");
}

fn rule(allow: bool, kind: Kind, major: Option<u32>, minor: Option<u32>, access: u8) -> DeviceRule {
    DeviceRule {
        allow,
        kind,
        major,
        minor,
        access,
    }
}

const RWM: u8 = READ | WRITE | MKNOD;

#[test]
fn default_is_deny() {
    let prog = program(&[]);
    assert_eq!(prog.len(), 8);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ, 1, 3), 0);
}

#[test]
fn runc_defaults_after_deny_all() {
    let mut rules = vec![rule(false, Kind::All, None, None, RWM)];
    rules.extend(crate::cgroups::devices::defaults());
    let prog = program(&rules);
    // /dev/null, /dev/pts/5, /dev/ptmx allowed; /dev/sda and /dev/mem not.
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ | WRITE, 1, 3), 1);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ | WRITE, 136, 5), 1);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ, 5, 2), 1);
    assert_eq!(run(&prog, DEVCG_DEV_BLOCK, READ, 8, 0), 0);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ, 1, 1), 0);
    // mknod of anything is allowed, reading it is not.
    assert_eq!(run(&prog, DEVCG_DEV_BLOCK, MKNOD, 8, 0), 1);
    assert_eq!(run(&prog, DEVCG_DEV_BLOCK, MKNOD | READ, 8, 0), 0);
    // The deny-all rule is unconditional: nothing is generated after it.
    assert_eq!(prog.last().unwrap().code, EXIT);
    assert_eq!(prog[prog.len() - 2], insn(ALU64_MOV_K, 0, 0, 0, 0));
}

#[test]
fn last_match_wins() {
    let rules = [
        rule(true, Kind::Char, Some(1), None, RWM),
        rule(false, Kind::Char, Some(1), Some(5), RWM),
    ];
    let prog = program(&rules);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ, 1, 3), 1);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ, 1, 5), 0);
    let rules = [
        rule(false, Kind::Char, Some(1), Some(5), RWM),
        rule(true, Kind::Char, Some(1), None, RWM),
    ];
    let prog = program(&rules);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ, 1, 5), 1);
}

#[test]
fn access_must_be_within_the_rule() {
    let prog = program(&[rule(true, Kind::Char, Some(1), Some(3), READ)]);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ, 1, 3), 1);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ | WRITE, 1, 3), 0);
    assert_eq!(run(&prog, DEVCG_DEV_BLOCK, READ, 1, 3), 0);
}

#[test]
fn allow_all_is_one_unconditional_return() {
    let prog = program(&[
        rule(false, Kind::Char, Some(1), Some(3), RWM),
        rule(true, Kind::All, None, None, RWM),
    ]);
    assert_eq!(prog.len(), 8);
    assert_eq!(run(&prog, DEVCG_DEV_CHAR, READ, 1, 3), 1);
}
