//! The resctrl writes against a fake tree that behaves as the kernel's
//! does where hull depends on it: a new group comes with `tasks`,
//! `schemata` (the root's values) and `mon_groups/`; a schemata write of a
//! resource the host lacks or of a bad value fails with EINVAL and says
//! why in info/last_cmd_status; a write updates only the domains it names.

use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;

use super::*;

const ROOT_SCHEMATA: &str = "    L3:0=fffff;1=fffff\n    MB:0=100;1=100\n";

struct Fake {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("resctrl");
        for sub in ["info/L3", "info/MB", "info/L3_MON", "mon_groups"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join("info/last_cmd_status"), "ok\n").unwrap();
        std::fs::write(root.join("schemata"), ROOT_SCHEMATA).unwrap();
        std::fs::write(root.join("tasks"), "1\n").unwrap();
        Fake { _dir: dir, root }
    }

    fn host(&self) -> HostResctrl {
        HostResctrl::read(&self.root).unwrap()
    }

    fn text(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap()
    }

    /// The group's processes have exited: the kernel lists them no more.
    fn exited(&self, rel: &str) {
        std::fs::write(self.root.join(rel).join("tasks"), "").unwrap();
    }

    fn status(&self, text: &str) -> io::Error {
        std::fs::write(self.root.join("info/last_cmd_status"), text).unwrap();
        io::Error::from_raw_os_error(libc::EINVAL)
    }

    fn write_schema(&self, path: &Path, line: &str) -> io::Result<()> {
        let (resource, domains) = line.trim().split_once(':').unwrap();
        if !["L3", "MB"].contains(&resource) {
            return Err(self.status(&format!(
                "Unknown or unsupported resource name '{resource}'"
            )));
        }
        let mut text = std::fs::read_to_string(path)?;
        for domain in domains.split(';') {
            let (id, value) = domain.split_once('=').unwrap();
            if u64::from_str_radix(value, 16).is_err() {
                return Err(self.status(&format!("Non-hex character in the mask {value}")));
            }
            let old_line = text
                .lines()
                .find(|l| l.trim().starts_with(resource))
                .unwrap();
            let new_line = old_line
                .split(';')
                .map(|d| match d.split_once('=') {
                    Some((i, _))
                        if i.trim_start().trim_start_matches(&format!("{resource}:")) == id =>
                    {
                        format!("{}={value}", i)
                    }
                    _ => d.to_string(),
                })
                .collect::<Vec<_>>()
                .join(";");
            text = text.replace(old_line, &new_line);
        }
        std::fs::write(path, text)
    }
}

impl Resctrl for Fake {
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)?;
        std::fs::write(path.join("tasks"), "")?;
        if path.parent().and_then(Path::file_name) != Some("mon_groups".as_ref()) {
            std::fs::write(path.join("schemata"), ROOT_SCHEMATA)?;
            std::fs::create_dir(path.join("mon_groups"))?;
        }
        Ok(())
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        std::fs::metadata(path)?;
        std::fs::remove_dir_all(path)
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn write(&self, path: &Path, data: &str) -> io::Result<()> {
        assert!(
            data.ends_with('\n') && data.matches('\n').count() == 1,
            "{data:?}"
        );
        match path.file_name().and_then(|n| n.to_str()) {
            Some("schemata") => self.write_schema(path, data),
            Some("tasks") => {
                let old = std::fs::read_to_string(path)?;
                std::fs::write(path, old + data)
            }
            other => panic!("write to {other:?}"),
        }
    }
}

fn rdt(json: serde_json::Value) -> LinuxIntelRdt {
    serde_json::from_value(json).unwrap()
}

fn plan_for(fake: &Fake, json: serde_json::Value) -> Result<RdtPlan> {
    plan(&rdt(json), Some(&Ok(Some(fake.host()))))
}

#[test]
fn host_resources_and_monitoring_come_from_info() {
    let fake = Fake::new();
    let host = fake.host();
    assert_eq!(host.resources, ["L3", "MB"]);
    assert!(host.monitoring);
}

#[test]
fn the_mount_point_is_found_in_mountinfo() {
    let text = b"22 1 0:21 / /proc rw - proc proc rw\n\
        40 22 0:35 / /sys/fs/res\\040ctrl rw,relatime shared:9 - resctrl resctrl rw\n";
    assert_eq!(mount_point(text), Some(PathBuf::from("/sys/fs/res ctrl")));
    assert_eq!(mount_point(b"22 1 0:21 / /proc rw - proc proc rw\n"), None);
}

#[test]
fn a_host_without_resctrl_is_refused_naming_the_field() {
    let rdt = rdt(serde_json::json!({"closID": "x"}));
    for host in [None, Some(&Ok(None))] {
        let err = plan(&rdt, host).unwrap_err().to_string();
        assert!(
            err.starts_with("linux.intelRdt: resctrl is not mounted"),
            "{err}"
        );
    }
}

#[test]
fn bad_names_and_lines_are_refused_naming_the_field() {
    let fake = Fake::new();
    for (json, want) in [
        (
            serde_json::json!({"closID": "a/b"}),
            "linux.intelRdt.closID \"a/b\"",
        ),
        (
            serde_json::json!({"closID": ".."}),
            "linux.intelRdt.closID \"..\"",
        ),
        (serde_json::json!({"closID": "info"}), "resctrl's own"),
        (
            serde_json::json!({"l3CacheSchema": "L2:0=f"}),
            "no \"L2\" resource (it has: L3, MB)",
        ),
        (
            serde_json::json!({"schemata": ["L3:0=f", "MB 0=10"]}),
            "linux.intelRdt.schemata[1]",
        ),
        (
            serde_json::json!({"schemata": ["L3:0=f\nMB:0=1"]}),
            "newline",
        ),
        (serde_json::json!({"memBwSchema": "MB:0"}), "ID=VALUE"),
    ] {
        let err = format!("{:#}", plan_for(&fake, json.clone()).unwrap_err());
        assert!(err.contains(want), "{json}: {err}");
    }
}

#[test]
fn monitoring_needs_a_host_that_has_it() {
    let fake = Fake::new();
    std::fs::remove_dir(fake.root.join("info/L3_MON")).unwrap();
    let err = plan_for(&fake, serde_json::json!({"enableMonitoring": true})).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("linux.intelRdt.enableMonitoring:"),
        "{err}"
    );
    // The older flags ask for the same.
    assert!(plan_for(&fake, serde_json::json!({"enableCmt": true})).is_err());
    assert!(plan_for(&fake, serde_json::json!({"enableMonitoring": false})).is_ok());
}

#[test]
fn an_own_group_gets_every_line_in_order_and_is_removed_at_delete() {
    let fake = Fake::new();
    let plan = plan_for(
        &fake,
        serde_json::json!({
            "l3CacheSchema": "L3:0=f0;1=f0",
            "memBwSchema": "MB:0=50",
            "schemata": ["L3:1=ff"]
        }),
    )
    .unwrap();
    assert_eq!(plan.lines, ["L3:0=f0;1=f0", "MB:0=50", "L3:1=ff"]);
    apply(&fake, &plan, "c1", 4242).unwrap();
    // The schemata line wins for domain 1, written after l3CacheSchema.
    assert_eq!(
        fake.text("c1/schemata"),
        "    L3:0=f0;1=ff\n    MB:0=50;1=100\n"
    );
    assert_eq!(fake.text("c1/tasks"), "4242\n");
    let state = plan.state("c1");
    assert_eq!(state.group, Some(fake.root.join("c1")));
    assert_eq!(state.remove, [fake.root.join("c1")]);
    join(&fake, &state, 4243).unwrap();
    assert_eq!(fake.text("c1/tasks"), "4242\n4243\n");
    // Not while its processes are listed.
    remove(&fake, &state).unwrap();
    assert!(fake.root.join("c1").exists());
    fake.exited("c1");
    remove(&fake, &state).unwrap();
    assert!(!fake.root.join("c1").exists());
    // Gone already: nothing to do.
    remove(&fake, &state).unwrap();
    assert_eq!(
        fake.text("schemata"),
        ROOT_SCHEMATA,
        "the root group is untouched"
    );
}

#[test]
fn a_line_resctrl_refuses_fails_with_its_status() {
    let fake = Fake::new();
    let plan = plan_for(&fake, serde_json::json!({"l3CacheSchema": "L3:0=zz"})).unwrap();
    let err = apply(&fake, &plan, "c1", 1).unwrap_err().to_string();
    assert!(err.contains("write \"L3:0=zz\""), "{err}");
    assert!(
        err.contains("(resctrl: Non-hex character in the mask zz)"),
        "{err}"
    );
    // What was made is named by the state, for the cleanup.
    remove(&fake, &plan.state("c1")).unwrap();
    assert!(!fake.root.join("c1").exists());
}

#[test]
fn a_closid_group_is_made_when_missing_and_never_removed() {
    let fake = Fake::new();
    let plan = plan_for(
        &fake,
        serde_json::json!({"closID": "gold", "schemata": ["L3:0=3"]}),
    )
    .unwrap();
    apply(&fake, &plan, "c1", 7).unwrap();
    assert_eq!(
        fake.text("gold/schemata"),
        "    L3:0=3;1=fffff\n    MB:0=100;1=100\n"
    );
    assert_eq!(fake.text("gold/tasks"), "7\n");
    let state = plan.state("c1");
    assert!(state.remove.is_empty(), "{state:?}");
    // A second container with the same settings joins it as it is.
    apply(&fake, &plan, "c2", 8).unwrap();
    assert_eq!(fake.text("gold/tasks"), "7\n8\n");
}

#[test]
fn an_existing_closid_group_must_already_hold_the_lines() {
    let fake = Fake::new();
    fake.mkdir(&fake.root.join("gold")).unwrap();
    // Padded and zero-filled as the kernel prints it: the same values.
    std::fs::write(
        fake.root.join("gold/schemata"),
        "    L3:0=0000f;1=fffff\n    MB:0=100;1=100\n",
    )
    .unwrap();
    let same = plan_for(
        &fake,
        serde_json::json!({"closID": "gold", "l3CacheSchema": "L3:0=f"}),
    )
    .unwrap();
    apply(&fake, &same, "c1", 7).unwrap();
    let other = plan_for(
        &fake,
        serde_json::json!({"closID": "gold", "l3CacheSchema": "L3:0=ff"}),
    )
    .unwrap();
    let err = apply(&fake, &other, "c2", 8).unwrap_err().to_string();
    assert!(err.contains("exists with other settings"), "{err}");
    assert!(err.contains("domain 0"), "{err}");
    assert_eq!(
        fake.text("gold/schemata"),
        "    L3:0=0000f;1=fffff\n    MB:0=100;1=100\n",
        "not changed"
    );
    assert_eq!(fake.text("gold/tasks"), "7\n");
}

#[test]
fn a_closid_without_lines_must_exist() {
    let fake = Fake::new();
    let plan = plan_for(&fake, serde_json::json!({"closID": "gold"})).unwrap();
    let err = apply(&fake, &plan, "c1", 7).unwrap_err().to_string();
    assert!(
        err.starts_with("linux.intelRdt.closID: resctrl group"),
        "{err}"
    );
    assert!(!fake.root.join("gold").exists(), "not made");
    fake.mkdir(&fake.root.join("gold")).unwrap();
    apply(&fake, &plan, "c1", 7).unwrap();
    assert_eq!(fake.text("gold/tasks"), "7\n");
}

#[test]
fn monitoring_makes_a_group_of_the_container_inside_its_clos() {
    let fake = Fake::new();
    let plan = plan_for(
        &fake,
        serde_json::json!({"schemata": ["MB:1=20"], "enableMonitoring": true}),
    )
    .unwrap();
    apply(&fake, &plan, "c1", 9).unwrap();
    assert_eq!(fake.text("c1/mon_groups/c1/tasks"), "9\n");
    assert_eq!(
        fake.text("c1/tasks"),
        "",
        "the task is in the monitoring group"
    );
    let state = plan.state("c1");
    assert_eq!(
        state.remove,
        [fake.root.join("c1/mon_groups/c1"), fake.root.join("c1")],
        "innermost first"
    );
    fake.exited("c1/mon_groups/c1");
    remove(&fake, &state).unwrap();
    assert!(!fake.root.join("c1").exists());
}

#[test]
fn monitoring_alone_stays_in_the_root_group() {
    let fake = Fake::new();
    let plan = plan_for(&fake, serde_json::json!({"enableMonitoring": true})).unwrap();
    apply(&fake, &plan, "c1", 9).unwrap();
    assert_eq!(fake.text("mon_groups/c1/tasks"), "9\n");
    let state = plan.state("c1");
    assert_eq!(state.group, None);
    assert_eq!(state.remove, [fake.root.join("mon_groups/c1")]);
    fake.exited("mon_groups/c1");
    remove(&fake, &state).unwrap();
    assert!(!fake.root.join("mon_groups/c1").exists());
    assert_eq!(fake.text("tasks"), "1\n");
}

#[test]
fn the_state_round_trips_as_json() {
    let fake = Fake::new();
    let plan = plan_for(
        &fake,
        serde_json::json!({"schemata": ["L3:0=1"], "enableMonitoring": true}),
    )
    .unwrap();
    let state = plan.state("c1");
    let text = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<RdtState>(&text).unwrap(), state);
}

#[test]
fn update_writes_the_group_and_checks_each_line() {
    let fake = Fake::new();
    let plan = plan_for(&fake, serde_json::json!({"schemata": ["L3:0=f"]})).unwrap();
    apply(&fake, &plan, "c1", 9).unwrap();
    let state = plan.state("c1");
    update(&fake, &state, &[("--mem-bw-schema", "MB:1=30".into())]).unwrap();
    assert_eq!(
        fake.text("c1/schemata"),
        "    L3:0=f;1=fffff\n    MB:0=100;1=30\n"
    );
    let err = format!(
        "{:#}",
        update(&fake, &state, &[("--l3-cache-schema", "L2:0=1".into())]).unwrap_err()
    );
    assert!(
        err.starts_with("--l3-cache-schema \"L2:0=1\": this host's resctrl has no \"L2\""),
        "{err}"
    );
    let shared = plan_for(
        &fake,
        serde_json::json!({"closID": "gold", "schemata": ["L3:0=3"]}),
    )
    .unwrap();
    apply(&fake, &shared, "c3", 10).unwrap();
    let err = update(
        &fake,
        &shared.state("c3"),
        &[("--mem-bw-schema", "MB:0=1".into())],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("a closID group is shared"),
        "{err}"
    );
    let root_only = plan_for(&fake, serde_json::json!({"enableMonitoring": true}))
        .unwrap()
        .state("c2");
    let err = update(&fake, &root_only, &[("--mem-bw-schema", "MB:0=1".into())]).unwrap_err();
    assert!(
        err.to_string().contains("no resctrl group of its own"),
        "{err}"
    );
}

#[test]
fn a_group_named_after_the_container_is_never_taken_over() {
    let fake = Fake::new();
    fake.mkdir(&fake.root.join("c1")).unwrap();
    std::fs::write(fake.root.join("c1/tasks"), "77\n").unwrap();
    let plan = plan_for(&fake, serde_json::json!({"schemata": ["L3:0=f"]})).unwrap();
    let err = apply(&fake, &plan, "c1", 9).unwrap_err().to_string();
    assert!(err.contains("File exists"), "{err}");
    // The failed create's cleanup leaves a group with tasks alone.
    remove(&fake, &plan.state("c1")).unwrap();
    assert_eq!(fake.text("c1/tasks"), "77\n");
    assert_eq!(fake.text("c1/schemata"), ROOT_SCHEMATA, "not written");
    // resctrl's own names are refused as group names.
    let err = apply(&fake, &plan, "info", 9).unwrap_err().to_string();
    assert!(err.contains("one of resctrl's own names"), "{err}");
}
