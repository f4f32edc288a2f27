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
    let mut all = opts_flags();
    all.extend(opts_values());
    all.extend(other_fields());
    all
}

/// criu_opts's flags.
fn opts_flags() -> Vec<(&'static str, &'static str, u32)> {
    let t = Some(true);
    [
        ("leave_running", tag_of!(Opts, leave_running = t)),
        ("ext_unix_sk", tag_of!(Opts, ext_unix_sk = t)),
        ("tcp_established", tag_of!(Opts, tcp_established = t)),
        ("evasive_devices", tag_of!(Opts, evasive_devices = t)),
        ("shell_job", tag_of!(Opts, shell_job = t)),
        ("file_locks", tag_of!(Opts, file_locks = t)),
        ("notify_scripts", tag_of!(Opts, notify_scripts = t)),
        ("track_mem", tag_of!(Opts, track_mem = t)),
        ("auto_dedup", tag_of!(Opts, auto_dedup = t)),
        ("manage_cgroups", tag_of!(Opts, manage_cgroups = t)),
        ("rst_sibling", tag_of!(Opts, rst_sibling = t)),
        ("lazy_pages", tag_of!(Opts, lazy_pages = t)),
        ("orphan_pts_master", tag_of!(Opts, orphan_pts_master = t)),
    ]
    .into_iter()
    .map(|(field, tag)| ("criu_opts", field, tag))
    .collect()
}

/// criu_opts's other fields.
fn opts_values() -> Vec<(&'static str, &'static str, u32)> {
    let s = || Some(String::new());
    [
        ("pid", tag_of!(Opts, pid = Some(1))),
        ("log_level", tag_of!(Opts, log_level = Some(4))),
        ("log_file", tag_of!(Opts, log_file = s())),
        ("ps", tag_of!(Opts, ps = Some(Default::default()))),
        ("root", tag_of!(Opts, root = s())),
        ("parent_img", tag_of!(Opts, parent_img = s())),
        ("work_dir_fd", tag_of!(Opts, work_dir_fd = Some(1))),
        ("ext_mnt", tag_of!(Opts, ext_mnt = vec![Default::default()])),
        ("cg_root", tag_of!(Opts, cg_root = vec![Default::default()])),
        (
            "inherit_fd",
            tag_of!(Opts, inherit_fd = vec![Default::default()]),
        ),
        (
            "manage_cgroups_mode",
            tag_of!(Opts, manage_cgroups_mode = Some(3)),
        ),
        ("external", tag_of!(Opts, external = vec![String::new()])),
        ("empty_ns", tag_of!(Opts, empty_ns = Some(1))),
        ("join_ns", tag_of!(Opts, join_ns = vec![Default::default()])),
        ("freeze_cgroup", tag_of!(Opts, freeze_cgroup = s())),
        ("status_fd", tag_of!(Opts, status_fd = Some(1))),
        ("config_file", tag_of!(Opts, config_file = s())),
        ("lsm_profile", tag_of!(Opts, lsm_profile = s())),
        ("lsm_mount_context", tag_of!(Opts, lsm_mount_context = s())),
    ]
    .into_iter()
    .map(|(field, tag)| ("criu_opts", field, tag))
    .collect()
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
    assert_eq!(declared().len(), 50, "every field hull declares is checked");
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
