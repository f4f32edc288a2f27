//! `linux.netDevices` (runtime-spec 1.3): host network devices moved into
//! the container's network namespace. Each test makes its devices (veth
//! pairs with iproute2: this kernel has no dummy driver) in a network
//! namespace of its own thread, which the runtime it starts inherits: the
//! host's network is never touched.

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

/// Run `script` with sh in this thread's network namespace.
#[track_caller]
fn sh(script: &str) -> std::process::Output {
    Command::new("sh").args(["-c", script]).output().unwrap()
}

/// A network namespace for this test's thread (and what it starts).
fn own_network_namespace() {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare a network namespace");
}

#[test]
fn devices_are_moved_renamed_set_up_and_keep_their_addresses() {
    if !is_hull() {
        skip!("runc 1.1.5 predates linux.netDevices (runtime-spec 1.3)");
    }
    let rt = Runtime::new();
    // What this test proves is what `features` reports.
    let features = rt.cmd(&["features"]).json();
    assert_eq!(
        features["linux"]["netDevices"]["enabled"], true,
        "{features}"
    );
    own_network_namespace();
    let made = sh("ip link add hulld0 type veth peer name hullp0 \
         && ip addr add 10.123.0.1/24 dev hulld0 \
         && ip -6 addr add fd12:3456::1/64 dev hulld0 nodad \
         && ip link add hulld1 type veth peer name hullp1");
    assert!(made.status.success(), "{made:?}");
    let mut bundle = rt.bundle();
    bundle.set(
        "/linux/netDevices",
        json!({"hulld0": {"name": "ctr0"}, "hulld1": {"name": "net%d"}}),
    );
    bundle.shell("ip -o addr show dev ctr0; ip -o link show");
    let id = rt.new_id();
    let out = rt.run(&id, &bundle);
    out.assert_ok("run with two net devices");
    let text = &out.stdout;
    assert!(text.contains("inet 10.123.0.1/24"), "{text}");
    assert!(text.contains("inet6 fd12:3456::1/64"), "{text}");
    // "N: ctr0@ifM: <...,UP,...>": a veth end names its peer's index.
    let link = |name: &str| {
        (text.lines())
            .find(|l| l.contains(&format!(" {name}@")) || l.contains(&format!(" {name}:")))
            .map(str::to_string)
    };
    let ctr0 = link("ctr0").unwrap_or_else(|| panic!("no ctr0: {text}"));
    assert!(ctr0.contains(",UP"), "not up: {ctr0}");
    let net0 = link("net0").unwrap_or_else(|| panic!("the template did not give net0: {text}"));
    assert!(net0.contains(",UP"), "not up: {net0}");
    // Moved out of the runtime's namespace (a veth end dies with the
    // container's namespace, its peer with it).
    let left = sh("ip -o link show");
    let left = String::from_utf8_lossy(&left.stdout);
    assert!(
        !left.contains("hulld0") && !left.contains("hulld1"),
        "{left}"
    );
    rt.assert_nothing_left();
}

#[test]
fn a_missing_device_fails_the_create_and_nothing_is_left() {
    if !is_hull() {
        skip!("runc 1.1.5 predates linux.netDevices (runtime-spec 1.3)");
    }
    own_network_namespace();
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    bundle.set("/linux/netDevices", json!({"hullnone0": {}}));
    bundle.shell("true");
    let id = rt.new_id();
    rt.run(&id, &bundle)
        .assert_failed("run with a device the host lacks")
        .assert_stderr_contains("linux.netDevices[\"hullnone0\"]: find the device on the host");
    rt.assert_nothing_left();
}

#[test]
fn devices_without_a_network_namespace_are_refused() {
    if !is_hull() {
        skip!("runc 1.1.5 predates linux.netDevices (runtime-spec 1.3)");
    }
    let rt = Runtime::new();
    let mut bundle = rt.bundle();
    let namespaces: Vec<serde_json::Value> = bundle.config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ns| ns["type"] != "network")
        .cloned()
        .collect();
    bundle.set("/linux/namespaces", json!(namespaces));
    bundle.set("/linux/netDevices", json!({"eth0": {}}));
    bundle.shell("true");
    let id = rt.new_id();
    rt.run(&id, &bundle)
        .assert_failed("run with netDevices and the host's network")
        .assert_stderr_contains("no network namespace of its own");
    rt.assert_nothing_left();
}
