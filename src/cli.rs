//! The command line: runc's global flags and subcommands, parsed with clap.
//! Single-dash long flags (`-no-subreaper`, as go-runc passes them) are accepted.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "hull",
    about = "A low-level OCI container runtime",
    disable_version_flag = true,
    subcommand_required = false,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalOpts {
    /// Directory for container state
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Write logs to FILE (default: stderr)
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Log format
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log debug messages
    #[arg(long, global = true)]
    pub debug: bool,
    /// Have systemd make each new container's cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (before the subcommand, as in runc:
    /// `spec --rootless` is a flag of its own)
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub rootless: RootlessMode,
    /// Path to criu (accepted for compatibility, unused)
    #[arg(long, global = true, value_name = "PATH", hide = true)]
    pub criu: Option<PathBuf>,
    /// Print the version
    #[arg(short = 'v', long)]
    pub version: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootlessMode {
    True,
    False,
    Auto,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container; its process waits for `start`
    Create(CreateArgs),
    /// Start the process of a created container
    Start(IdArg),
    /// Run a new process in a running container
    Exec(Box<ExecArgs>),
    /// Create and start a container
    Run(RunArgs),
    /// Print the state of a container as JSON
    State(IdArg),
    /// Send a signal to the container's init process
    Kill(KillArgs),
    /// Delete a container and everything hull made for it
    Delete(DeleteArgs),
    /// List containers
    #[command(alias = "ls")]
    List(ListArgs),
    /// Write a default config.json
    Spec(SpecArgs),
    /// Print what this runtime supports (the OCI features document)
    Features,
    /// Suspend every process of the container (cgroup freezer)
    Pause(IdArg),
    /// Resume the processes of a paused container
    Resume(IdArg),
    /// Change the resource limits of a running container
    Update(Box<UpdateArgs>),
    /// Print resource usage (and OOM) events of a container as JSON
    Events(EventsArgs),
    /// List the processes of a container
    Ps(PsArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct UpdateArgs {
    /// Container id
    pub id: String,
    /// LinuxResources JSON file, or "-" for stdin (the flags are then ignored)
    #[arg(short, long, value_name = "FILE")]
    pub resources: Option<String>,
    /// Block IO weight (10 to 1000)
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds per period
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst in microseconds
    #[arg(long = "cpu-burst")]
    pub cpu_burst: Option<u64>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// CPU realtime period in microseconds
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// SCHED_IDLE for the cgroup (0 or 1)
    #[arg(long = "cpu-idle")]
    pub cpu_idle: Option<i64>,
    /// CPUs the container may use (e.g. 0-3,5)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (ignored, as the kernel has none any more)
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP buffer memory limit
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit (bytes, or with a unit: 512m, 1g; -1 for none)
    #[arg(short = 'm', long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation (soft limit)
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for no limit)
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of pids (-1 or 0 for none)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT L3 cache schema (not supported)
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema (not supported)
    #[arg(long = "mem-bw-schema")]
    pub mem_bw_schema: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct EventsArgs {
    /// Container id
    pub id: String,
    /// Print the stats once and exit
    #[arg(long)]
    pub stats: bool,
    /// Time between stats events (like 5s, 500ms, 1m)
    #[arg(long, default_value = "5s")]
    pub interval: String,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsFormatArg {
    Table,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct PsArgs {
    /// Output format
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: PsFormatArg,
    /// Container id
    pub id: String,
    /// Arguments for ps (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct IdArg {
    /// Container id
    pub id: String,
}

#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Container id
    pub id: String,
    /// Path to the bundle directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master (terminal containers)
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Write the init process's host pid to FILE
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (MS_MOVE + chroot instead)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra fds (3..3+N) to the container process
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits
    #[arg(long)]
    pub keep: bool,
    /// Do not make hull a child subreaper
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ExecArgs {
    /// Container id
    pub id: String,
    /// Command and its arguments (unless --process is given)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A process JSON file (the OCI `process` object)
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<std::path::PathBuf>,
    /// Allocate a terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Unix socket that receives the pty master
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<std::path::PathBuf>,
    /// Do not wait for the process
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's host pid to FILE
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<std::path::PathBuf>,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<String>,
    /// Set an environment variable (NAME=VALUE; repeatable)
    #[arg(short, long)]
    pub env: Vec<String>,
    /// uid[:gid] to run as
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional gid (repeatable)
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability (repeatable)
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privs
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Pass N extra fds (3..3+N) to the process
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// SELinux process label
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Allow exec in a paused container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Run in this sub-cgroup of the container's ([CONTROLLER:]PATH,
    /// repeatable; the sub-cgroup must exist)
    #[arg(long, value_name = "PATH")]
    pub cgroup: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct KillArgs {
    /// Container id
    pub id: String,
    /// Signal name (TERM, SIGTERM) or number
    #[arg(default_value = "SIGTERM", allow_hyphen_values = true)]
    pub signal: String,
    /// Send the signal to every process of the container
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DeleteArgs {
    /// Container id
    pub id: String,
    /// Kill a running container first; no error if it does not exist
    #[arg(short, long)]
    pub force: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Output format
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// Print only the ids
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SpecArgs {
    /// Directory to write config.json into
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write a config for a rootless container
    #[arg(long)]
    pub rootless: bool,
}

impl Cli {
    /// Parse the process arguments, accepting go-style `-long-flag` spellings.
    pub fn parse_runc_style() -> Self {
        let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
        if let Some(cli) = Self::parse_one_subcommand(&raw) {
            return cli;
        }
        // Built once (it is most of a hull process's start-up instructions)
        // and used for both the spelling rewrite and the parse.
        let mut command = Self::command();
        let args = normalize_args_for(&command, raw);
        let parsed = command
            .try_get_matches_from_mut(&args)
            .and_then(|m| Self::from_arg_matches(&m));
        // Never dropped: the process ends soon, and freeing the whole tree
        // cost a tenth of the start-up.
        std::mem::forget(command);
        match parsed {
            Ok(cli) => cli,
            Err(err) => {
                use clap::error::ErrorKind;
                if matches!(
                    err.kind(),
                    ErrorKind::DisplayHelp
                        | ErrorKind::DisplayVersion
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) {
                    err.exit()
                }
                let (line, code) = usage_error(&err, &args);
                eprintln!("{line}");
                std::process::exit(code)
            }
        }
    }
}

impl Cli {
    /// The parse of a command line whose subcommand is certain, with a tree
    /// of the top level and that one subcommand (building all fifteen was
    /// most of a hull process's start-up). None when the whole tree is
    /// needed: help or version asked for, a go-style `-flag` to rewrite, no
    /// known subcommand, or any parse error (whose text comes from the
    /// whole tree, as before).
    fn parse_one_subcommand(args: &[std::ffi::OsString]) -> Option<Cli> {
        let mut command = one_subcommand_tree(args)?;
        let cli = command
            .try_get_matches_from_mut(args)
            .and_then(|m| Self::from_arg_matches(&m))
            .ok()?;
        // Not freed: the process ends soon.
        std::mem::forget(command);
        Some(cli)
    }
}

/// The global flags that take a value as the next word.
const GLOBAL_FLAGS_WITH_VALUE: [&str; 5] = ["root", "log", "log-format", "rootless", "criu"];

/// The top level and only the subcommand `args` names (see
/// `parse_one_subcommand`), or None.
fn one_subcommand_tree(args: &[std::ffi::OsString]) -> Option<clap::Command> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let needs_whole_tree = |w: &&str| {
        matches!(*w, "-h" | "--help" | "help" | "-v" | "--version")
            || (w.len() > 2 && w.starts_with('-') && !w.starts_with("--"))
    };
    if words.iter().any(needs_whole_tree) {
        return None;
    }
    let mut rest = words.iter();
    let name = loop {
        let word = rest.next()?;
        match word.strip_prefix("--") {
            Some(flag) if GLOBAL_FLAGS_WITH_VALUE.contains(&flag) => {
                rest.next()?;
            }
            Some(_) => {}
            None if word.starts_with('-') => {}
            None => break *word,
        }
    };
    let sub = |name: &'static str| clap::Command::new(name);
    let sub = match name {
        "create" => CreateArgs::augment_args(sub("create")),
        "start" => IdArg::augment_args(sub("start")),
        "exec" => ExecArgs::augment_args(sub("exec")),
        "run" => RunArgs::augment_args(sub("run")),
        "state" => IdArg::augment_args(sub("state")),
        "kill" => KillArgs::augment_args(sub("kill")),
        "delete" => DeleteArgs::augment_args(sub("delete")),
        "list" | "ls" => ListArgs::augment_args(sub("list").alias("ls")),
        "spec" => SpecArgs::augment_args(sub("spec")),
        "features" => sub("features"),
        "pause" => IdArg::augment_args(sub("pause")),
        "resume" => IdArg::augment_args(sub("resume")),
        "update" => UpdateArgs::augment_args(sub("update")),
        "events" => EventsArgs::augment_args(sub("events")),
        "ps" => PsArgs::augment_args(sub("ps")),
        _ => return None,
    };
    let top = clap::Command::new("hull")
        .disable_version_flag(true)
        .subcommand_required(false)
        .arg_required_else_help(true);
    Some(GlobalOpts::augment_args(top).subcommand(sub))
}

/// One line for a command-line error, and runc's exit status for it: 1
/// for a usage error, 3 for an unknown subcommand (urfave/cli's "No help
/// topic"). clap's own text spans several lines with a usage and tips.
pub fn usage_error(err: &clap::Error, args: &[std::ffi::OsString]) -> (String, i32) {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |kind: ContextKind| -> String {
        match err.get(kind) {
            Some(ContextValue::String(s)) => s.clone(),
            Some(ContextValue::Strings(v)) => v.join(", "),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    };
    let subcommands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let sub = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| subcommands.iter().any(|s| s == a));
    let prefix = match sub {
        Some(sub) => format!("hull: {sub}: "),
        None => "hull: ".to_string(),
    };
    let (what, code) = match err.kind() {
        ErrorKind::InvalidSubcommand => (
            format!(
                "unknown subcommand {:?} (see `hull --help`)",
                context(ContextKind::InvalidSubcommand)
            ),
            3,
        ),
        ErrorKind::UnknownArgument => {
            let arg = context(ContextKind::InvalidArg);
            let kind = if arg.starts_with('-') {
                "unknown flag"
            } else {
                "unexpected argument"
            };
            (format!("{kind} {arg}"), 1)
        }
        ErrorKind::MissingRequiredArgument => {
            (format!("missing {}", context(ContextKind::InvalidArg)), 1)
        }
        _ => {
            // clap's first line, without its "error: " and the tips.
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            (first.trim_start_matches("error: ").to_string(), 1)
        }
    };
    (format!("{prefix}{what}"), code)
}

/// Every long flag name the CLI knows, across all subcommands.
fn long_flag_names(command: &clap::Command) -> Vec<String> {
    fn collect(cmd: &clap::Command, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                out.push(long.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            collect(sub, out);
        }
    }
    let mut names = Vec::new();
    collect(command, &mut names);
    names
}

/// Rewrite `-name[=v]` to `--name[=v]` when `name` is a known long flag:
/// go's flag parsing (and so runc's callers) treat both spellings alike.
pub fn normalize_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    normalize_args_for(&Cli::command(), args)
}

/// `normalize_args` with the command tree already built.
fn normalize_args_for(
    command: &clap::Command,
    args: Vec<std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let names = long_flag_names(command);
    let mut out = Vec::with_capacity(args.len());
    let mut after_double_dash = false;
    for arg in args {
        if after_double_dash {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            after_double_dash = true;
            out.push(arg);
            continue;
        }
        if let Some(s) = arg.to_str() {
            if s.len() > 2 && s.starts_with('-') && !s.starts_with("--") {
                let name = s[1..].split('=').next().unwrap_or("");
                if names.iter().any(|n| n == name) {
                    out.push(format!("-{s}").into());
                    continue;
                }
            }
        }
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(|s| s.into()).collect())
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    /// The one-subcommand tree parses every command line as the whole
    /// tree does (or declines it).
    #[test]
    fn one_subcommand_parse_agrees_with_the_whole_tree() {
        let argv = |line: &str| -> Vec<std::ffi::OsString> {
            std::iter::once("hull")
                .chain(line.split_whitespace())
                .map(Into::into)
                .collect()
        };
        for line in [
            "create --bundle /b --pid-file /p --console-socket /s id",
            "--root /r --log /l --log-format json create --no-pivot id",
            "--debug --systemd-cgroup run -d --bundle /b id",
            "start id",
            "state id --root /r",
            "exec -t --env A=1 --cwd /w id sh -c true",
            "exec --process /p.json --detach --pid-file /p id",
            "kill id SIGTERM",
            "kill --all id 9",
            "delete --force id",
            "list --format json",
            "ls -q",
            "spec --rootless --bundle /b",
            "features",
            "pause id",
            "resume id",
            "update --memory 1048576 --pids-limit 10 id",
            "update -r - id",
            "events --stats id",
            "ps --format json id",
            "--rootless true state id",
        ] {
            let args = argv(line);
            let whole = Cli::command()
                .try_get_matches_from(&args)
                .and_then(|m| Cli::from_arg_matches(&m))
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            let one =
                Cli::parse_one_subcommand(&args).unwrap_or_else(|| panic!("{line}: declined"));
            assert_eq!(format!("{one:?}"), format!("{whole:?}"), "{line}");
        }
        for line in [
            "--help",
            "state -h",
            "run -no-subreaper id",
            "nosuch",
            "state",
        ] {
            assert!(Cli::parse_one_subcommand(&argv(line)).is_none(), "{line}");
        }
    }

    #[test]
    fn single_dash_long_flags_are_rewritten() {
        assert_eq!(
            norm(&["hull", "run", "-no-subreaper", "-bundle=/b", "x"]),
            ["hull", "run", "--no-subreaper", "--bundle=/b", "x"]
        );
    }

    #[test]
    fn short_flags_and_values_are_kept() {
        assert_eq!(
            norm(&["hull", "kill", "-a", "x", "-9", "--", "-root"]),
            ["hull", "kill", "-a", "x", "-9", "--", "-root"]
        );
    }

    #[test]
    fn cli_parses_runc_calls() {
        let args = normalize_args(
            [
                "hull",
                "--root",
                "/r",
                "--log",
                "/l",
                "--log-format",
                "json",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/p",
                "id1",
            ]
            .iter()
            .map(|s| s.into())
            .collect(),
        );
        let cli = Cli::try_parse_from(args).unwrap();
        assert_eq!(cli.global.log_format, LogFormat::Json);
        match cli.command {
            Some(Command::Create(c)) => {
                assert_eq!(c.id, "id1");
                assert_eq!(c.bundle, PathBuf::from("/b"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
