# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_hull_global_optspecs
    string join \n root= log= log-format= debug systemd-cgroup rootless= criu= v/version h/help
end

function __fish_hull_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_hull_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_hull_using_subcommand
    set -l cmd (__fish_hull_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c hull -n "__fish_hull_needs_command" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_needs_command" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_needs_command" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_needs_command" -l rootless -d 'Rootless mode: true, false or auto (before the subcommand, as in runc: `spec --rootless` is a flag of its own)' -r -f -a "true\t''
false\t''
auto\t''"
complete -c hull -n "__fish_hull_needs_command" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_needs_command" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_needs_command" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_needs_command" -s v -l version -d 'Print the version'
complete -c hull -n "__fish_hull_needs_command" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_needs_command" -f -a "create" -d 'Create a container; its process waits for `start`'
complete -c hull -n "__fish_hull_needs_command" -f -a "start" -d 'Start the process of a created container'
complete -c hull -n "__fish_hull_needs_command" -f -a "exec" -d 'Run a new process in a running container'
complete -c hull -n "__fish_hull_needs_command" -f -a "run" -d 'Create and start a container'
complete -c hull -n "__fish_hull_needs_command" -f -a "state" -d 'Print the state of a container as JSON'
complete -c hull -n "__fish_hull_needs_command" -f -a "kill" -d 'Send a signal to the container\'s init process'
complete -c hull -n "__fish_hull_needs_command" -f -a "delete" -d 'Delete a container and everything hull made for it'
complete -c hull -n "__fish_hull_needs_command" -f -a "list" -d 'List containers'
complete -c hull -n "__fish_hull_needs_command" -f -a "spec" -d 'Write a default config.json'
complete -c hull -n "__fish_hull_needs_command" -f -a "features" -d 'Print what this runtime supports (the OCI features document)'
complete -c hull -n "__fish_hull_needs_command" -f -a "pause" -d 'Suspend every process of the container (cgroup freezer)'
complete -c hull -n "__fish_hull_needs_command" -f -a "resume" -d 'Resume the processes of a paused container'
complete -c hull -n "__fish_hull_needs_command" -f -a "update" -d 'Change the resource limits of a running container'
complete -c hull -n "__fish_hull_needs_command" -f -a "events" -d 'Print resource usage (and OOM) events of a container as JSON'
complete -c hull -n "__fish_hull_needs_command" -f -a "ps" -d 'List the processes of a container'
complete -c hull -n "__fish_hull_needs_command" -f -a "checkpoint" -d 'Save a running container\'s processes to images with CRIU'
complete -c hull -n "__fish_hull_needs_command" -f -a "restore" -d 'Make a container from a bundle and CRIU images, running'
complete -c hull -n "__fish_hull_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hull -n "__fish_hull_using_subcommand create" -s b -l bundle -d 'Path to the bundle directory' -r -F
complete -c hull -n "__fish_hull_using_subcommand create" -l console-socket -d 'Unix socket that receives the pty master (terminal containers)' -r -F
complete -c hull -n "__fish_hull_using_subcommand create" -l pidfd-socket -d 'Unix socket that receives a pidfd of the container\'s init' -r -F
complete -c hull -n "__fish_hull_using_subcommand create" -l pid-file -d 'Write the init process\'s host pid to FILE' -r -F
complete -c hull -n "__fish_hull_using_subcommand create" -l preserve-fds -d 'Pass N extra fds (3..3+N) to the container process' -r
complete -c hull -n "__fish_hull_using_subcommand create" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand create" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand create" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand create" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand create" -l no-pivot -d 'Do not use pivot_root (MS_MOVE + chroot instead)'
complete -c hull -n "__fish_hull_using_subcommand create" -l no-new-keyring -d 'Do not create a new session keyring'
complete -c hull -n "__fish_hull_using_subcommand create" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand create" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand create" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand start" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand start" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand start" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand start" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand start" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand start" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand start" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand exec" -s p -l process -d 'A process JSON file (the OCI `process` object)' -r -F
complete -c hull -n "__fish_hull_using_subcommand exec" -l console-socket -d 'Unix socket that receives the pty master' -r -F
complete -c hull -n "__fish_hull_using_subcommand exec" -l pidfd-socket -d 'Unix socket that receives a pidfd of the process' -r -F
complete -c hull -n "__fish_hull_using_subcommand exec" -l pid-file -d 'Write the process\'s host pid to FILE' -r -F
complete -c hull -n "__fish_hull_using_subcommand exec" -l cwd -d 'Working directory in the container' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -s e -l env -d 'Set an environment variable (NAME=VALUE; repeatable)' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -s u -l user -d 'uid[:gid] to run as' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -s g -l additional-gids -d 'Additional gid (repeatable)' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -s c -l cap -d 'Add a capability (repeatable)' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -l preserve-fds -d 'Pass N extra fds (3..3+N) to the process' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -l process-label -d 'SELinux process label' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -l apparmor -d 'AppArmor profile' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -l cgroup -d 'Run in this sub-cgroup of the container\'s ([CONTROLLER:]PATH, repeatable; the sub-cgroup must exist)' -r
complete -c hull -n "__fish_hull_using_subcommand exec" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand exec" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand exec" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand exec" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand exec" -s t -l tty -d 'Allocate a terminal'
complete -c hull -n "__fish_hull_using_subcommand exec" -s d -l detach -d 'Do not wait for the process'
complete -c hull -n "__fish_hull_using_subcommand exec" -l no-new-privs -d 'Set no_new_privs'
complete -c hull -n "__fish_hull_using_subcommand exec" -l ignore-paused -d 'Allow exec in a paused container'
complete -c hull -n "__fish_hull_using_subcommand exec" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand exec" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand exec" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand run" -s b -l bundle -d 'Path to the bundle directory' -r -F
complete -c hull -n "__fish_hull_using_subcommand run" -l console-socket -d 'Unix socket that receives the pty master (terminal containers)' -r -F
complete -c hull -n "__fish_hull_using_subcommand run" -l pidfd-socket -d 'Unix socket that receives a pidfd of the container\'s init' -r -F
complete -c hull -n "__fish_hull_using_subcommand run" -l pid-file -d 'Write the init process\'s host pid to FILE' -r -F
complete -c hull -n "__fish_hull_using_subcommand run" -l preserve-fds -d 'Pass N extra fds (3..3+N) to the container process' -r
complete -c hull -n "__fish_hull_using_subcommand run" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand run" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand run" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand run" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand run" -l no-pivot -d 'Do not use pivot_root (MS_MOVE + chroot instead)'
complete -c hull -n "__fish_hull_using_subcommand run" -l no-new-keyring -d 'Do not create a new session keyring'
complete -c hull -n "__fish_hull_using_subcommand run" -s d -l detach -d 'Detach from the container\'s process'
complete -c hull -n "__fish_hull_using_subcommand run" -l keep -d 'Keep the container\'s state after it exits'
complete -c hull -n "__fish_hull_using_subcommand run" -l no-subreaper -d 'Do not make hull a child subreaper'
complete -c hull -n "__fish_hull_using_subcommand run" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand run" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand run" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand state" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand state" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand state" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand state" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand state" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand state" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand state" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand kill" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand kill" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand kill" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand kill" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand kill" -s a -l all -d 'Send the signal to every process of the container'
complete -c hull -n "__fish_hull_using_subcommand kill" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand kill" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand kill" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand delete" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand delete" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand delete" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand delete" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand delete" -s f -l force -d 'Kill a running container first; no error if it does not exist'
complete -c hull -n "__fish_hull_using_subcommand delete" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand delete" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand delete" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand list" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand list" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand list" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand list" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand list" -s q -l quiet -d 'Print only the ids'
complete -c hull -n "__fish_hull_using_subcommand list" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand list" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand list" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand spec" -s b -l bundle -d 'Directory to write config.json into' -r -F
complete -c hull -n "__fish_hull_using_subcommand spec" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand spec" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand spec" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand spec" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand spec" -l rootless -d 'Write a config for a rootless container'
complete -c hull -n "__fish_hull_using_subcommand spec" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand spec" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand spec" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand features" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand features" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand features" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand features" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand features" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand features" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand features" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand pause" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand pause" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand pause" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand pause" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand pause" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand pause" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand pause" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand resume" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand resume" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand resume" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand resume" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand resume" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand resume" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand resume" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand update" -s r -l resources -d 'LinuxResources JSON file, or "-" for stdin (the flags are then ignored)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l blkio-weight -d 'Block IO weight (10 to 1000)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpu-period -d 'CPU CFS period in microseconds' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpu-quota -d 'CPU CFS quota in microseconds per period' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpu-burst -d 'CPU CFS burst in microseconds' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpu-share -d 'CPU shares (relative weight)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpu-rt-period -d 'CPU realtime period in microseconds' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpu-rt-runtime -d 'CPU realtime runtime in microseconds' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpu-idle -d 'SCHED_IDLE for the cgroup (0 or 1)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpuset-cpus -d 'CPUs the container may use (e.g. 0-3,5)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l cpuset-mems -d 'Memory nodes the container may use' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l kernel-memory -d 'Kernel memory limit (ignored, as the kernel has none any more)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l kernel-memory-tcp -d 'Kernel TCP buffer memory limit' -r
complete -c hull -n "__fish_hull_using_subcommand update" -s m -l memory -d 'Memory limit (bytes, or with a unit: 512m, 1g; -1 for none)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l memory-reservation -d 'Memory reservation (soft limit)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l memory-swap -d 'Memory plus swap limit (-1 for no limit)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l pids-limit -d 'Maximum number of pids (-1 for none; 0 lets no new process start)' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l l3-cache-schema -d 'Intel RDT L3 cache schema line written to the container\'s resctrl group' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l mem-bw-schema -d 'Intel RDT memory bandwidth schema line written to the container\'s resctrl group' -r
complete -c hull -n "__fish_hull_using_subcommand update" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand update" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand update" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand update" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand update" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand update" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand update" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand events" -l interval -d 'Time between stats events (like 5s, 500ms, 1m)' -r
complete -c hull -n "__fish_hull_using_subcommand events" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand events" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand events" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand events" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand events" -l stats -d 'Print the stats once and exit'
complete -c hull -n "__fish_hull_using_subcommand events" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand events" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand events" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand ps" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand ps" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand ps" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand ps" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand ps" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand ps" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand ps" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand ps" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l image-path -d 'Directory of the CRIU image files (default: ./checkpoint)' -r -F
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l work-path -d 'Directory for CRIU\'s work files and log (default: the image directory)' -r -F
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l manage-cgroups-mode -d 'Cgroups mode: soft, full, strict or ignore (default: soft)' -r -f -a "soft\t''
full\t''
strict\t''
ignore\t''"
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l empty-ns -d 'Make a namespace, but do not restore its properties (network)' -r
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l parent-path -d 'Directory of a previous pre-dump\'s images, relative to --image-path' -r -F
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l page-server -d 'ADDRESS:PORT of a CRIU page server to send the pages to' -r
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l status-fd -d 'With --lazy-pages: CRIU writes \\0 to this fd once the pages can be served' -r
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l tcp-established -d 'Allow open TCP connections'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l ext-unix-sk -d 'Allow external unix sockets'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l shell-job -d 'Allow shell jobs'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l file-locks -d 'Handle file locks'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l auto-dedup -d 'Deduplicate memory images as they are written or read'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l lazy-pages -d 'Restore memory pages lazily, through userfaultfd'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l leave-running -d 'Leave the processes running once checkpointed'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l pre-dump -d 'Dump the memory only, and leave the container running'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand checkpoint" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand restore" -l image-path -d 'Directory of the CRIU image files (default: ./checkpoint)' -r -F
complete -c hull -n "__fish_hull_using_subcommand restore" -l work-path -d 'Directory for CRIU\'s work files and log (default: the image directory)' -r -F
complete -c hull -n "__fish_hull_using_subcommand restore" -l manage-cgroups-mode -d 'Cgroups mode: soft, full, strict or ignore (default: soft)' -r -f -a "soft\t''
full\t''
strict\t''
ignore\t''"
complete -c hull -n "__fish_hull_using_subcommand restore" -l empty-ns -d 'Make a namespace, but do not restore its properties (network)' -r
complete -c hull -n "__fish_hull_using_subcommand restore" -s b -l bundle -d 'Bundle directory (default: the current directory)' -r -F
complete -c hull -n "__fish_hull_using_subcommand restore" -l console-socket -d 'Unix socket that receives the pty master of a container with a terminal' -r -F
complete -c hull -n "__fish_hull_using_subcommand restore" -l pid-file -d 'Write the restored init\'s host pid to FILE' -r -F
complete -c hull -n "__fish_hull_using_subcommand restore" -l lsm-profile -d 'LSM profile of the restored processes (TYPE:NAME)' -r
complete -c hull -n "__fish_hull_using_subcommand restore" -l lsm-mount-context -d 'LSM mount context of the restored mounts' -r
complete -c hull -n "__fish_hull_using_subcommand restore" -l root -d 'Directory for container state' -r -F
complete -c hull -n "__fish_hull_using_subcommand restore" -l log -d 'Write logs to FILE (default: stderr)' -r -F
complete -c hull -n "__fish_hull_using_subcommand restore" -l log-format -d 'Log format' -r -f -a "text\t''
json\t''"
complete -c hull -n "__fish_hull_using_subcommand restore" -l criu -d 'Path to criu for checkpoint and restore (default: `criu` in PATH)' -r -F
complete -c hull -n "__fish_hull_using_subcommand restore" -l tcp-established -d 'Allow open TCP connections'
complete -c hull -n "__fish_hull_using_subcommand restore" -l ext-unix-sk -d 'Allow external unix sockets'
complete -c hull -n "__fish_hull_using_subcommand restore" -l shell-job -d 'Allow shell jobs'
complete -c hull -n "__fish_hull_using_subcommand restore" -l file-locks -d 'Handle file locks'
complete -c hull -n "__fish_hull_using_subcommand restore" -l auto-dedup -d 'Deduplicate memory images as they are written or read'
complete -c hull -n "__fish_hull_using_subcommand restore" -l lazy-pages -d 'Restore memory pages lazily, through userfaultfd'
complete -c hull -n "__fish_hull_using_subcommand restore" -s d -l detach -d 'Return once the container runs, instead of waiting for it'
complete -c hull -n "__fish_hull_using_subcommand restore" -l no-subreaper -d 'Do not make hull a child subreaper'
complete -c hull -n "__fish_hull_using_subcommand restore" -l no-pivot -d 'Do not use pivot_root (accepted: CRIU makes the mounts)'
complete -c hull -n "__fish_hull_using_subcommand restore" -l debug -d 'Log debug messages'
complete -c hull -n "__fish_hull_using_subcommand restore" -l systemd-cgroup -d 'Have systemd make each new container\'s cgroup, a transient unit (linux.cgroupsPath is "slice:prefix:name")'
complete -c hull -n "__fish_hull_using_subcommand restore" -s h -l help -d 'Print help'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "create" -d 'Create a container; its process waits for `start`'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "start" -d 'Start the process of a created container'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "exec" -d 'Run a new process in a running container'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "run" -d 'Create and start a container'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "state" -d 'Print the state of a container as JSON'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "kill" -d 'Send a signal to the container\'s init process'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "delete" -d 'Delete a container and everything hull made for it'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "list" -d 'List containers'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "spec" -d 'Write a default config.json'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "features" -d 'Print what this runtime supports (the OCI features document)'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "pause" -d 'Suspend every process of the container (cgroup freezer)'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "resume" -d 'Resume the processes of a paused container'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "update" -d 'Change the resource limits of a running container'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "events" -d 'Print resource usage (and OOM) events of a container as JSON'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "ps" -d 'List the processes of a container'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "checkpoint" -d 'Save a running container\'s processes to images with CRIU'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "restore" -d 'Make a container from a bundle and CRIU images, running'
complete -c hull -n "__fish_hull_using_subcommand help; and not __fish_seen_subcommand_from create start exec run state kill delete list spec features pause resume update events ps checkpoint restore help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
