//! Every bad value named by its field, without a kernel.

use super::*;

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

#[test]
fn validation_names_field_and_value() {
    let cases = [
        (
            r#"{"memory":{"limit":-5}}"#,
            "linux.resources.memory.limit: -5",
        ),
        (
            r#"{"memory":{"limit":100,"swap":50}}"#,
            "linux.resources.memory.swap: 50",
        ),
        (
            r#"{"memory":{"swappiness":101}}"#,
            "linux.resources.memory.swappiness: 101",
        ),
        (
            r#"{"cpu":{"quota":500,"period":100000}}"#,
            "linux.resources.cpu.quota: 500",
        ),
        (
            r#"{"cpu":{"quota":-7,"period":100000}}"#,
            "linux.resources.cpu.quota: -7",
        ),
        (r#"{"cpu":{"period":5}}"#, "linux.resources.cpu.period: 5"),
        (r#"{"cpu":{"shares":1}}"#, "linux.resources.cpu.shares: 1"),
        (
            r#"{"cpu":{"cpus":"0-x"}}"#,
            "linux.resources.cpu.cpus: \"0-x\"",
        ),
        (r#"{"cpu":{"idle":3}}"#, "linux.resources.cpu.idle: 3"),
        (
            r#"{"blockIO":{"weight":5}}"#,
            "linux.resources.blockIO.weight: 5",
        ),
        (
            r#"{"hugepageLimits":[{"pageSize":"2M","limit":1}]}"#,
            "hugepageLimits[0].pageSize: \"2M\"",
        ),
        (
            r#"{"unified":{"../memory.max":"1"}}"#,
            "linux.resources.unified \"../memory.max\"",
        ),
        (r#"{"unified":{"memory":"1"}}"#, "CONTROLLER.PARAMETER"),
    ];
    for (json, want) in cases {
        let err = validate(&res(json), "linux.resources", &mut Vec::new())
            .expect_err(json)
            .to_string();
        assert!(err.contains(want), "{json}: {err}");
    }
    // A quota alone takes the kernel's period, as with runc.
    validate(
        &res(r#"{"cpu":{"quota":50000}}"#),
        "linux.resources",
        &mut Vec::new(),
    )
    .expect("a quota without a period");
    let mut warnings = Vec::new();
    validate(
        &res(r#"{"memory":{"kernel":1000,"limit":-1},"cpu":{"quota":-1}}"#),
        "linux.resources",
        &mut warnings,
    )
    .unwrap();
    assert_eq!(warnings.len(), 1);
}
