//! The command line's definitions: runc's global flags and subcommands, as
//! clap derives.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Path to criu for checkpoint and restore (default: `criu` in PATH)
    #[arg(long, global = true, value_name = "PATH")]
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
    /// Save a running container's processes to images with CRIU
    Checkpoint(Box<CheckpointArgs>),
    /// Make a container from a bundle and CRIU images, running
    Restore(Box<RestoreArgs>),
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
    /// Maximum number of pids (-1 for none; 0 lets no new process start)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT L3 cache schema line written to the container's resctrl group
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema line written to the container's resctrl group
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
    /// Unix socket that receives a pidfd of the container's init
    #[arg(long = "pidfd-socket", value_name = "PATH")]
    pub pidfd_socket: Option<PathBuf>,
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
    /// Unix socket that receives a pidfd of the process
    #[arg(long = "pidfd-socket", value_name = "PATH")]
    pub pidfd_socket: Option<std::path::PathBuf>,
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

/// What checkpoint and restore both pass to CRIU.
#[derive(Args, Debug, Clone, Default)]
pub struct CriuArgs {
    /// Directory of the CRIU image files (default: ./checkpoint)
    #[arg(long = "image-path", value_name = "DIR")]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's work files and log (default: the image directory)
    #[arg(long = "work-path", value_name = "DIR")]
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow shell jobs
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Handle file locks
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// Cgroups mode: soft, full, strict or ignore (default: soft)
    #[arg(long = "manage-cgroups-mode", value_name = "MODE", value_enum)]
    pub manage_cgroups_mode: Option<CgroupsMode>,
    /// Make a namespace, but do not restore its properties (network)
    #[arg(long = "empty-ns", value_name = "NS")]
    pub empty_ns: Vec<String>,
    /// Deduplicate memory images as they are written or read
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// Restore memory pages lazily, through userfaultfd
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupsMode {
    Soft,
    Full,
    Strict,
    Ignore,
}

#[derive(Args, Debug, Clone, Default)]
pub struct CheckpointArgs {
    /// Container id
    pub id: String,
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Directory of a previous pre-dump's images, relative to --image-path
    #[arg(long = "parent-path", value_name = "DIR")]
    pub parent_path: Option<PathBuf>,
    /// Leave the processes running once checkpointed
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// Dump the memory only, and leave the container running
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    /// ADDRESS:PORT of a CRIU page server to send the pages to
    #[arg(long = "page-server", value_name = "ADDRESS:PORT")]
    pub page_server: Option<String>,
    /// With --lazy-pages: CRIU writes \0 to this fd once the pages can be served
    #[arg(long = "status-fd", value_name = "FD", allow_hyphen_values = true)]
    pub status_fd: Option<i32>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RestoreArgs {
    /// Container id
    pub id: String,
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Bundle directory (default: the current directory)
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Unix socket that receives the pty master of a container with a terminal
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Return once the container runs, instead of waiting for it
    #[arg(short, long)]
    pub detach: bool,
    /// Write the restored init's host pid to FILE
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Do not make hull a child subreaper
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Do not use pivot_root (accepted: CRIU makes the mounts)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// LSM profile of the restored processes (TYPE:NAME)
    #[arg(long = "lsm-profile", value_name = "TYPE:NAME")]
    pub lsm_profile: Option<String>,
    /// LSM mount context of the restored mounts
    #[arg(long = "lsm-mount-context", value_name = "CONTEXT")]
    pub lsm_mount_context: Option<String>,
}
