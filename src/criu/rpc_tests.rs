//! The RPC messages against CRIU's own rpc.proto.

use super::*;

/// The field numbers present in an encoded message.
fn tags(mut buf: &[u8]) -> Vec<u32> {
    use prost::encoding::{decode_key, skip_field, DecodeContext};
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (tag, wire) = decode_key(&mut buf).unwrap();
        skip_field(wire, tag, &mut buf, DecodeContext::default()).unwrap();
        out.push(tag);
    }
    out
}

/// The tag a field set on `$msg` adds to its default's encoding.
macro_rules! tag_of {
    ($msg:ty, $field:ident = $value:expr) => {{
        let base = tags(&<$msg>::default().encode_to_vec());
        let mut m = <$msg>::default();
        m.$field = $value;
        let added: Vec<u32> = tags(&m.encode_to_vec())
            .into_iter()
            .filter(|t| !base.contains(t))
            .collect();
        assert_eq!(added.len(), 1, "{}", stringify!($field));
        added[0]
    }};
}

/// Every field hull sets or reads, with its rpc.proto message and name.
fn declared() -> Vec<(&'static str, &'static str, u32)> {
    let mut all = opts_fields();
    all.extend(more_opts_fields());
    all.extend(other_fields());
    all
}

/// criu_opts's fields, the first half.
fn opts_fields() -> Vec<(&'static str, &'static str, u32)> {
    let s = || Some(String::new());
    let t = Some(true);
    vec![
        (
            "criu_opts",
            "leave_running",
            tag_of!(Opts, leave_running = t),
        ),
        (
            "criu_opts",
            "tcp_established",
            tag_of!(Opts, tcp_established = t),
        ),
        (
            "criu_opts",
            "evasive_devices",
            tag_of!(Opts, evasive_devices = t),
        ),
        (
            "criu_opts",
            "ps",
            tag_of!(Opts, ps = Some(Default::default())),
        ),
        (
            "criu_opts",
            "notify_scripts",
            tag_of!(Opts, notify_scripts = t),
        ),
        (
            "criu_opts",
            "work_dir_fd",
            tag_of!(Opts, work_dir_fd = Some(1)),
        ),
        (
            "criu_opts",
            "ext_mnt",
            tag_of!(Opts, ext_mnt = vec![Default::default()]),
        ),
        (
            "criu_opts",
            "manage_cgroups",
            tag_of!(Opts, manage_cgroups = t),
        ),
    ]
}

/// criu_opts's fields, the second half.
fn more_opts_fields() -> Vec<(&'static str, &'static str, u32)> {
    let s = || Some(String::new());
    let t = Some(true);
    vec![
        (
            "criu_opts",
            "cg_root",
            tag_of!(Opts, cg_root = vec![Default::default()]),
        ),
        (
            "criu_opts",
            "inherit_fd",
            tag_of!(Opts, inherit_fd = vec![Default::default()]),
        ),
        (
            "criu_opts",
            "manage_cgroups_mode",
            tag_of!(Opts, manage_cgroups_mode = Some(3)),
        ),
        (
            "criu_opts",
            "external",
            tag_of!(Opts, external = vec![String::new()]),
        ),
        (
            "criu_opts",
            "join_ns",
            tag_of!(Opts, join_ns = vec![Default::default()]),
        ),
        (
            "criu_opts",
            "freeze_cgroup",
            tag_of!(Opts, freeze_cgroup = s()),
        ),
        (
            "criu_opts",
            "orphan_pts_master",
            tag_of!(Opts, orphan_pts_master = t),
        ),
        (
            "criu_opts",
            "lsm_mount_context",
            tag_of!(Opts, lsm_mount_context = s()),
        ),
    ]
}

/// The other messages' fields.
fn other_fields() -> Vec<(&'static str, &'static str, u32)> {
    let s = || Some(String::new());
    let t = Some(true);
    vec![
        (
            "criu_page_server_info",
            "address",
            tag_of!(PageServerInfo, address = s()),
        ),
        (
            "criu_page_server_info",
            "port",
            tag_of!(PageServerInfo, port = Some(1)),
        ),
        ("cgroup_root", "ctrl", tag_of!(CgroupRoot, ctrl = s())),
        (
            "criu_features",
            "mem_track",
            tag_of!(Features, mem_track = t),
        ),
        (
            "criu_features",
            "lazy_pages",
            tag_of!(Features, lazy_pages = t),
        ),
        (
            "criu_req",
            "opts",
            tag_of!(Request, opts = Some(Default::default())),
        ),
        (
            "criu_req",
            "notify_success",
            tag_of!(Request, notify_success = t),
        ),
        (
            "criu_req",
            "features",
            tag_of!(Request, features = Some(Default::default())),
        ),
        (
            "criu_resp",
            "restore",
            tag_of!(Response, restore = Some(Default::default())),
        ),
        (
            "criu_resp",
            "notify",
            tag_of!(Response, notify = Some(Default::default())),
        ),
        (
            "criu_resp",
            "cr_errno",
            tag_of!(Response, cr_errno = Some(1)),
        ),
        (
            "criu_resp",
            "features",
            tag_of!(Response, features = Some(Default::default())),
        ),
        ("criu_resp", "cr_errmsg", tag_of!(Response, cr_errmsg = s())),
        (
            "criu_resp",
            "version",
            tag_of!(Response, version = Some(Default::default())),
        ),
        ("criu_notify", "script", tag_of!(Notify, script = s())),
        ("criu_notify", "pid", tag_of!(Notify, pid = Some(1))),
        ("criu_version", "gitid", tag_of!(Version, gitid = s())),
        (
            "criu_version",
            "sublevel",
            tag_of!(Version, sublevel = Some(1)),
        ),
    ]
}

/// (message, field) → number, from a .proto text.
fn proto_tags(text: &str) -> Vec<(String, String, u32)> {
    let mut message = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("message ") {
            message = rest.trim_end_matches('{').trim().to_string();
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["optional" | "required" | "repeated", _, name, "=", number, ..] = words[..] {
            let number = number.trim_end_matches(';');
            if let Ok(n) = number.parse() {
                out.push((message.clone(), name.to_string(), n));
            }
        }
    }
    out
}

/// The field numbers agree with the rpc.proto of the CRIU installed
/// (Debian's criu package ships it; `make test` installs it).
#[test]
fn field_numbers_match_the_installed_rpc_proto() {
    let path = "/usr/include/criu/rpc.proto";
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("SKIP: {path} is missing (install criu)");
        return;
    };
    let proto = proto_tags(&text);
    assert!(proto.len() > 80, "{path} parsed to {} fields", proto.len());
    for (message, field, tag) in declared() {
        let theirs = proto
            .iter()
            .find(|(m, f, _)| m == message && f == field)
            .unwrap_or_else(|| panic!("{message}.{field} is not in {path}"));
        assert_eq!(theirs.2, tag, "{message}.{field}");
    }
}

#[test]
fn a_response_round_trips() {
    let resp = Response {
        r#type: ReqType::Notify as i32,
        success: true,
        notify: Some(Notify {
            script: Some("post-restore".into()),
            pid: Some(42),
        }),
        ..Default::default()
    };
    assert_eq!(Response::decode(&*resp.encode_to_vec()).unwrap(), resp);
    // Garbage is an error, not a panic.
    assert!(Response::decode(&[0xff, 0xff, 0xff][..]).is_err());
}
