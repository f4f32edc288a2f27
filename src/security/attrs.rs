//! The process's kernel attributes besides credentials and seccomp:
//! personality, I/O priority, scheduler and exec CPU affinity (planned and
//! checked here, applied by process/setup), and the LSM fields' checks.

use std::path::Path;

use anyhow::{bail, Result};
use oci_spec::runtime::{
    ExecCPUAffinity, IOPriorityClass, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerFlag,
    LinuxSchedulerPolicy, Scheduler,
};

const PER_LINUX: libc::c_ulong = 0;
const PER_LINUX32: libc::c_ulong = 0x0008;

/// `linux.personality` as the value personality(2) takes.
pub fn plan_personality(p: &LinuxPersonality) -> Result<libc::c_ulong> {
    if let Some(flag) = p.flags().iter().flatten().next() {
        bail!("linux.personality.flags {flag:?}: no flags are defined (the runtime spec supports none yet)");
    }
    Ok(match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    })
}

pub fn set_personality(persona: libc::c_ulong) -> Result<()> {
    // SAFETY: personality takes an integer and touches no memory.
    if unsafe { libc::personality(persona) } < 0 {
        bail!(
            "linux.personality: set {persona:#x}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

const IOPRIO_WHO_PROCESS: libc::c_long = 1;
const IOPRIO_CLASS_SHIFT: u32 = 13;

/// `process.ioPriority` as the value ioprio_set(2) takes.
pub fn plan_io_priority(class: IOPriorityClass, priority: i64) -> Result<u32> {
    let class_nr = match class {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&priority) {
        bail!("process.ioPriority.priority {priority}: must be between 0 (highest) and 7");
    }
    Ok((class_nr << IOPRIO_CLASS_SHIFT) | priority as u32)
}

pub fn set_io_priority(value: u32) -> Result<()> {
    // SAFETY: ioprio_set with integer arguments, for the calling process.
    let rc = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    if rc != 0 {
        bail!(
            "process.ioPriority: ioprio_set class {} priority {}: {}",
            value >> IOPRIO_CLASS_SHIFT,
            value & 0x1fff,
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// `process.scheduler`, checked as sched_setattr(2) wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedPlan {
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

pub fn plan_scheduler(s: &Scheduler) -> Result<SchedPlan> {
    let f = "process.scheduler";
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => libc::SCHED_OTHER,
        LinuxSchedulerPolicy::SchedFifo => libc::SCHED_FIFO,
        LinuxSchedulerPolicy::SchedRr => libc::SCHED_RR,
        LinuxSchedulerPolicy::SchedBatch => libc::SCHED_BATCH,
        LinuxSchedulerPolicy::SchedIdle => libc::SCHED_IDLE,
        LinuxSchedulerPolicy::SchedDeadline => 6,
        LinuxSchedulerPolicy::SchedIso => {
            bail!("{f}.policy \"SCHED_ISO\": not implemented by Linux")
        }
    } as u32;
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        bail!("{f}.nice {nice}: must be between -20 and 19");
    }
    let priority = s.priority().unwrap_or(0);
    let realtime = policy == libc::SCHED_FIFO as u32 || policy == libc::SCHED_RR as u32;
    if realtime && !(1..=99).contains(&priority) {
        bail!("{f}.priority {priority}: SCHED_FIFO and SCHED_RR need 1 to 99");
    }
    if !realtime && priority != 0 {
        bail!(
            "{f}.priority {priority}: only SCHED_FIFO and SCHED_RR take a priority (use 0 or leave it out)"
        );
    }
    let mut flags = 0u64;
    for (i, flag) in s.flags().iter().flatten().enumerate() {
        flags |= match flag {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin
            | LinuxSchedulerFlag::SchedFlagUtilClampMax => bail!(
                "{f}.flags[{i}] {:?}: not supported (the runtime spec has no utilization values to clamp to)",
                flag.to_string()
            ),
        };
    }
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if policy == 6 {
        if runtime == 0 || deadline == 0 {
            bail!("{f}: SCHED_DEADLINE needs runtime and deadline (nanoseconds)");
        }
        if runtime > deadline || (period != 0 && deadline > period) {
            bail!("{f}: SCHED_DEADLINE needs runtime {runtime} <= deadline {deadline} <= period {period}");
        }
    } else if runtime != 0 || deadline != 0 || period != 0 {
        bail!("{f}: runtime, deadline and period are for SCHED_DEADLINE only");
    }
    Ok(SchedPlan {
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime,
        deadline,
        period,
    })
}

pub fn set_scheduler(s: &SchedPlan) -> Result<()> {
    let attr = libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: s.policy,
        sched_flags: s.flags,
        sched_nice: s.nice,
        sched_priority: s.priority,
        sched_runtime: s.runtime,
        sched_deadline: s.deadline,
        sched_period: s.period,
    };
    // SAFETY: a valid sched_attr whose size field is its own size.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const _, 0) };
    if rc != 0 {
        bail!(
            "process.scheduler: sched_setattr policy {} nice {} priority {}: {}",
            s.policy,
            s.nice,
            s.priority,
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// `process.execCPUAffinity`: CPU lists for an exec'd process, before and
/// after it joins the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffinityPlan {
    pub initial: Option<Vec<usize>>,
    pub last: Option<Vec<usize>>,
}

pub fn plan_affinity(a: &ExecCPUAffinity) -> Result<AffinityPlan> {
    let parse = |s: &Option<String>, field: &str| -> Result<Option<Vec<usize>>> {
        match s.as_deref() {
            None | Some("") => Ok(None),
            Some(list) => parse_cpu_list(list)
                .map(Some)
                .map_err(|why| anyhow::anyhow!("process.execCPUAffinity.{field} {list:?}: {why}")),
        }
    };
    Ok(AffinityPlan {
        initial: parse(a.initial(), "initial")?,
        last: parse(a.cpu_affinity_final(), "final")?,
    })
}

/// "0-3,7" → [0, 1, 2, 3, 7].
pub fn parse_cpu_list(list: &str) -> std::result::Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return Err(format!("{part:?} is not a CPU number or range")),
        };
        if a > b {
            return Err(format!("range {part:?} is backwards"));
        }
        if b >= libc::CPU_SETSIZE as usize {
            return Err(format!(
                "CPU {b} is beyond the {} a set holds",
                libc::CPU_SETSIZE
            ));
        }
        cpus.extend(a..=b);
    }
    Ok(cpus)
}

pub fn set_affinity(cpus: &[usize], field: &str) -> Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_SET indexes are below CPU_SETSIZE
    // (checked when planned); sched_setaffinity reads the set it is given.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in cpus {
            libc::CPU_SET(*cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        bail!(
            "process.execCPUAffinity.{field}: sched_setaffinity {cpus:?}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Whether the host's kernel has AppArmor on (runc's test).
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim_start().starts_with('Y'))
}

/// Whether SELinux is on: its filesystem is mounted.
pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// `process.apparmorProfile`: an error when AppArmor is off (runc refuses
/// it too); a note in `not_applied` otherwise, as it is not applied yet.
/// "unconfined" asks for no confinement, which is what the process gets
/// without a profile (Docker passes it with `--security-opt
/// apparmor=unconfined`): nothing to check or note.
pub fn check_apparmor(profile: &str, enabled: bool, not_applied: &mut Vec<String>) -> Result<()> {
    if profile == "unconfined" {
        return Ok(());
    }
    if !enabled {
        bail!("process.apparmorProfile {profile:?}: AppArmor is not enabled on this host");
    }
    not_applied.push("process.apparmorProfile".into());
    Ok(())
}

/// SELinux labels: refused when SELinux is off (runc refuses
/// `selinuxLabel` then, and its `mountLabel` fails the mounts); a note in
/// `not_applied` otherwise, as they are not applied yet.
pub fn check_selinux(
    field: &str,
    label: &str,
    enabled: bool,
    not_applied: &mut Vec<String>,
) -> Result<()> {
    if !enabled {
        bail!("{field} {label:?}: SELinux is not enabled on this host");
    }
    not_applied.push(field.to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(json: serde_json::Value) -> Result<SchedPlan> {
        plan_scheduler(&serde_json::from_value(json).unwrap())
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,7").unwrap(), vec![0, 1, 2, 3, 7]);
        assert_eq!(parse_cpu_list("1").unwrap(), vec![1]);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("5000").is_err());
        assert!(parse_cpu_list("a").is_err());
    }

    #[test]
    fn io_priorities() {
        assert_eq!(
            plan_io_priority(IOPriorityClass::IoprioClassBe, 7).unwrap(),
            (2 << 13) | 7
        );
        assert_eq!(
            plan_io_priority(IOPriorityClass::IoprioClassIdle, 0).unwrap(),
            3 << 13
        );
        let err = plan_io_priority(IOPriorityClass::IoprioClassRt, 8).unwrap_err();
        assert!(
            err.to_string().starts_with("process.ioPriority.priority 8"),
            "{err}"
        );
    }

    #[test]
    fn schedulers() {
        let p = sched(serde_json::json!({"policy": "SCHED_BATCH", "nice": 5})).unwrap();
        assert_eq!((p.policy, p.nice), (libc::SCHED_BATCH as u32, 5));
        let p = sched(serde_json::json!({"policy": "SCHED_FIFO", "priority": 10,
            "flags": ["SCHED_RESET_ON_FORK"]}))
        .unwrap();
        assert_eq!((p.priority, p.flags), (10, 1));
        let p = sched(
            serde_json::json!({"policy": "SCHED_DEADLINE", "runtime": 10,
            "deadline": 20, "period": 30}),
        )
        .unwrap();
        assert_eq!(p.policy, 6);
        for (bad, want) in [
            (
                serde_json::json!({"policy": "SCHED_OTHER", "nice": 20}),
                "process.scheduler.nice 20",
            ),
            (
                serde_json::json!({"policy": "SCHED_FIFO"}),
                "process.scheduler.priority 0",
            ),
            (
                serde_json::json!({"policy": "SCHED_OTHER", "priority": 3}),
                "process.scheduler.priority 3",
            ),
            (
                serde_json::json!({"policy": "SCHED_DEADLINE", "runtime": 30, "deadline": 20}),
                "process.scheduler: SCHED_DEADLINE",
            ),
            (
                serde_json::json!({"policy": "SCHED_ISO"}),
                "process.scheduler.policy",
            ),
            (
                serde_json::json!({"policy": "SCHED_OTHER", "runtime": 5}),
                "process.scheduler: runtime",
            ),
        ] {
            let err = sched(bad).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
    }

    #[test]
    fn personalities() {
        let p: LinuxPersonality =
            serde_json::from_value(serde_json::json!({"domain": "LINUX32"})).unwrap();
        assert_eq!(plan_personality(&p).unwrap(), PER_LINUX32);
        let p: LinuxPersonality =
            serde_json::from_value(serde_json::json!({"domain": "LINUX", "flags": ["X"]})).unwrap();
        assert!(plan_personality(&p).is_err());
    }
}
