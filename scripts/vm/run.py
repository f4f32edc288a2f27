#!/usr/bin/env python3
"""Boot the cgroup v2 VM test bed and run shell test scripts inside it.

    scripts/vm/run.py [--hull BIN] [--probe BIN] [SCRIPT.sh ...]

Builds (or reuses, when no input changed) an initramfs holding busybox, the
static hull and probe, a bundle rootfs, /vm/lib.sh and the scripts, boots it
on a Debian cloud kernel under qemu (-accel tcg, 2 vCPUs, 1 GiB) with the
serial console on a pipe, prints each script's output, and exits with the
status the VM reports in its `HULL-VM-EXIT=N` line (124 when qemu hit the
timeout, 125 when the VM ended without that line, 2 on a setup error).
The kernel comes from scripts/vm/fetch-kernel.sh (`make vm-kernel`).
"""

import argparse
import glob
import hashlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
# No __pycache__ left in the source tree by a run as root.
sys.dont_write_bytecode = True
import initramfs  # noqa: E402

TARGET = "x86_64-unknown-linux-musl"
# Bumped when the archive layout changes, so old cached archives are rebuilt.
LAYOUT = "1"

# Built-in kernel options the bed relies on: cgroup2 with every controller,
# the namespaces hull makes, device eBPF, and what /init mounts.
REQUIRED_CONFIG = [
    "CGROUPS", "MEMCG", "CGROUP_PIDS", "CGROUP_SCHED", "FAIR_GROUP_SCHED",
    "CFS_BANDWIDTH", "BLK_CGROUP", "CPUSETS", "CGROUP_HUGETLB", "CGROUP_RDMA",
    "CGROUP_MISC", "CGROUP_BPF", "BPF_SYSCALL", "PID_NS", "NET_NS", "IPC_NS",
    "UTS_NS", "DEVTMPFS", "TMPFS", "BLK_DEV_INITRD", "SERIAL_8250_CONSOLE",
    "UNIX98_PTYS", "POSIX_MQUEUE",
]

KERNEL_ARGS = [
    "console=ttyS0", "panic=-1", "oops=panic", "quiet", "loglevel=1",
    # Speed under emulation: no speculative-execution mitigations to pay
    # for, no TSC calibration wait, no keyboard controller probe.
    "mitigations=off", "tsc=reliable", "no_timer_check", "i8042.noaux",
    "i8042.nokbd", "i8042.nopnp", "8250.nr_uarts=1",
]


class SetupError(Exception):
    pass


def main():
    args = parse_args()
    try:
        archive = build_initramfs(args)
    except SetupError as e:
        print(f"vm: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"vm: build the initramfs: `{' '.join(map(str, e.cmd))}` exited "
              f"{e.returncode}", file=sys.stderr)
        return 2
    return boot(args, archive)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hull", default=f"target/{TARGET}/release/hull",
                   help="static hull binary (default: the release build)")
    p.add_argument("--probe", default=f"target/{TARGET}/debug/examples/probe",
                   help="static probe placed in the bundle rootfs as /bin/probe")
    p.add_argument("--busybox", default="/bin/busybox", help="static busybox")
    p.add_argument("--runtime", help="another runtime binary (e.g. /usr/sbin/runc) "
                   "packed with its shared libraries instead of hull; the scripts "
                   "run it as $HULL, which proves the tests themselves right")
    p.add_argument("--limits", help="the cgroup limit checks as a table "
                   "(tests/cgroups/checks.rs, exported by tests/vm_cgroup_v2.rs), "
                   "packed as /vm/limits.tsv for 20-hull-cgroup-v2.sh")
    p.add_argument("--kernel", default=".build/vm/kernel",
                   help="unpacked kernel (vmlinuz, config, modules)")
    p.add_argument("--cache", default=".build/vm", help="where archives are kept")
    p.add_argument("--module", action="append", default=[],
                   help="kernel module to pack and insmod (with its dependencies)")
    p.add_argument("--timeout", type=float, default=420,
                   help="seconds before qemu is killed (default 420)")
    p.add_argument("--script-timeout", type=int, default=180,
                   help="seconds each script may run inside the VM (default 180)")
    p.add_argument("--console", help="file for the whole serial log "
                   "(default CACHE/console-hull.log, or -RUNTIME.log)")
    p.add_argument("--cpus", type=int, default=2)
    # Multi-threaded TCG (one host thread per vCPU) now and then oopses on an
    # int3 the kernel writes while patching its code (text_poke_bp, as when
    # a static key flips on cgroup creation): a vCPU still runs the
    # breakpoint byte. One TCG thread for both vCPUs never did, at little cost.
    p.add_argument("--accel", default="tcg,thread=single",
                   help="qemu -accel value (default tcg,thread=single)")
    p.add_argument("--cpu", default="max", help="qemu -cpu model (default max)")
    p.add_argument("--memory", default="1024", help="guest RAM in MiB")
    p.add_argument("--append", default="",
                   help="extra kernel command line (e.g. loglevel=7 to see boot messages)")
    p.add_argument("--verbose", action="store_true",
                   help="print the whole console, kernel messages included")
    p.add_argument("scripts", nargs="*", help="test scripts "
                   "(default: scripts/vm/tests/*.sh); they run in name order")
    args = p.parse_args()
    # Relative paths are the repository's, wherever the runner is called from.
    for name in ("hull", "probe", "busybox", "kernel", "cache", "console", "runtime", "limits"):
        value = getattr(args, name)
        if value is not None and not os.path.isabs(value):
            setattr(args, name, os.path.join(REPO, value))
    if not args.scripts:
        args.scripts = sorted(glob.glob(os.path.join(HERE, "tests", "*.sh")))
    # Runs for different runtimes keep their own archive and log, so two of
    # them can boot side by side.
    args.flavor = os.path.basename(args.runtime) if args.runtime else "hull"
    if args.console is None:
        args.console = os.path.join(args.cache, f"console-{args.flavor}.log")
    return args


def require_static(path, what, hint):
    """`path` must be an ELF executable without a program interpreter."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:
                raise SetupError(f"{what}: not a 64-bit ELF executable: {path}")
            phoff = int.from_bytes(head[32:40], "little")
            phentsize = int.from_bytes(head[54:56], "little")
            phnum = int.from_bytes(head[56:58], "little")
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except FileNotFoundError:
        raise SetupError(f"{what}: not found: {path} ({hint})") from None
    for i in range(phnum):
        if int.from_bytes(table[i * phentsize:i * phentsize + 4], "little") == 3:
            raise SetupError(f"{what}: not statically linked (has PT_INTERP): {path}")


def check_kernel(kernel):
    vmlinuz = os.path.join(kernel, "vmlinuz")
    if not os.path.isfile(vmlinuz):
        raise SetupError(
            f"kernel: {vmlinuz} not found: fetch it with `make vm-kernel` "
            "(scripts/vm/fetch-kernel.sh: apt-get download of a "
            "linux-image-*-cloud-amd64 package, unpacked with dpkg -x)")
    config = {}
    with open(os.path.join(kernel, "config")) as f:
        for line in f:
            m = re.match(r"CONFIG_(\w+)=(.*)", line)
            if m:
                config[m.group(1)] = m.group(2)
    for name in REQUIRED_CONFIG:
        value = config.get(name, "not set")
        if value != "y":
            raise SetupError(
                f"kernel: CONFIG_{name} is {value} in {kernel}/config: the bed "
                "needs it built in (a module can be packed with --module NAME)")
    with open(os.path.join(kernel, "release")) as f:
        return f.read().strip()


def file_digest(h, label, path):
    h.update(f"\0{label}\0{path}\0".encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)


def stripped(path, workdir):
    """A copy of `path` without debug info or symbols (a smaller archive
    boots faster; panic messages keep their file and line);
    the file itself when binutils' strip is not there."""
    strip = shutil.which("strip")
    if strip is None:
        return path
    out = os.path.join(workdir, os.path.basename(path) + ".stripped")
    subprocess.run([strip, "--strip-all", "-o", out, path], check=True)
    return out


def runtime_files(runtime):
    """(path in the VM, host file) for --runtime: the binary as /bin/NAME and
    each shared library ldd names, at the path the binary will ask for."""
    if runtime is None:
        return []
    if not os.access(runtime, os.X_OK):
        raise SetupError(f"runtime: not an executable: {runtime}")
    return elf_files(runtime, f"bin/{os.path.basename(runtime)}")


def elf_files(binary, dest):
    """[(path in the VM, host file)]: `binary` at `dest` and each shared
    library ldd names, at the path the binary will ask for."""
    files = [(dest, binary)]
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if out.returncode != 0:
        return files  # static: ldd says "not a dynamic executable"
    for line in out.stdout.splitlines():
        if "not found" in line:
            raise SetupError(f"{binary}: library {line.strip()}")
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            lib = m.group(1)
            files.append((lib.lstrip("/"), os.path.realpath(lib)))
    return files


# CRIU for checkpoint/restore (tests/30-checkpoint.sh), from the host's
# Debian packages (`make deps`): criu itself; GNU tar, with which criu
# archives a dumped tmpfs (busybox's lacks its options); iproute2's ip and
# legacy iptables, which criu runs to save a network namespace and to lock
# the network while it dumps.
CRIU_TOOLS = [("/usr/sbin/criu", "usr/sbin/criu"), ("/usr/bin/tar", "usr/local/bin/tar"),
              ("/bin/ip", "usr/local/sbin/ip"),
              ("/usr/sbin/xtables-legacy-multi", "usr/local/sbin/xtables-legacy-multi")]
XTABLES = "/usr/lib/x86_64-linux-gnu/xtables"
IPTABLES = [f"{p}tables{s}" for p in ("ip", "ip6") for s in ("", "-save", "-restore")]
# What criu's kernel probes and dumps need beyond the built-in options: the
# sock_diag modules (it finds sockets through them), nf_tables (3.17's
# probe of nftables sets is fatal without it), veth, the iptables modules of
# its network lock, ctnetlink (a network namespace's conntrack table).
CRIU_MODULES = ["unix_diag", "inet_diag", "tcp_diag", "udp_diag", "netlink_diag",
                "af_packet_diag", "raw_diag", "tun", "nf_tables", "veth", "ip_tables",
                "iptable_filter", "ip6_tables", "ip6table_filter", "xt_mark",
                "nf_conntrack_netlink"]


def criu_files():
    """(path in the VM, host file) for CRIU and the tools it runs."""
    files = {}
    for host, dest in CRIU_TOOLS:
        if not os.access(host, os.X_OK):
            raise SetupError(f"{host} not found: install criu, iproute2 and iptables "
                             "with `make deps`")
        for vm_path, src in elf_files(host, dest):
            files.setdefault(vm_path, src)
    for name in sorted(os.listdir(XTABLES)):
        files.setdefault(f"{XTABLES.lstrip('/')}/{name}", os.path.join(XTABLES, name))
    return sorted(files.items())


# The VM's changes to `hull spec`'s default config, the one source of it;
# lib.sh's `bundle` fills the "@NAME@" placeholders per container.
def vm_config(spec):
    """`spec` (hull spec's JSON) as the VM's config template, and the
    defaults of its placeholders as a sourceable shell file."""
    process = spec["process"]
    # Output goes to files and the console, never a terminal.
    process["terminal"] = False
    process["args"] = "@ARGS@"
    caps = process["capabilities"]
    defaults = {
        "HOSTNAME": "hull-vm-ct",
        "CAPS": caps["bounding"],
        "RESOURCES": spec["linux"]["resources"],
        "NAMESPACES": spec["linux"]["namespaces"],
    }
    for name in caps:
        caps[name] = "@CAPS@"
    # Every bundle shares the archive's read-only busybox + probe tree
    # (lib.sh's $VM_ROOTFS, /vm/rootfs).
    spec["root"]["path"] = "@ROOTFS@"
    spec["hostname"] = "@HOSTNAME@"
    # The root is read-only: the containers get a writable /tmp.
    spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "mode=1777"]})
    linux = spec["linux"]
    linux["resources"] = "@RESOURCES@"
    linux["namespaces"] = "@NAMESPACES@"
    # First, so that the line (with its comma) goes when no path is given.
    spec["linux"] = {"cgroupsPath": "@CGROUPS_PATH@", **linux}
    template = json.dumps(spec, indent=2) + "\n"
    lines = ["# The defaults of config.template.json's placeholders: `hull spec`'s",
             "# values and the VM's hostname (written by scripts/vm/run.py)."]
    for name, value in defaults.items():
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        assert "'" not in text, text
        lines.append(f"SPEC_{name}='{text}'")
    return template, "\n".join(lines) + "\n"


def hull_spec(hull):
    """`hull spec`'s default config, from the binary the VM tests."""
    if not hull or not os.access(hull, os.X_OK):
        raise SetupError(f"hull: not found: {hull}: the VM's config comes from "
                         "`hull spec`; build it with `make build`")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([hull, "spec", "--bundle", d], check=True)
        with open(os.path.join(d, "config.json")) as f:
            return json.load(f)


def build_initramfs(args):
    if shutil.which("qemu-system-x86_64") is None:
        raise SetupError("qemu-system-x86_64 not found: install it with "
                         "`make vm-deps` (Debian package qemu-system-x86)")
    release = check_kernel(args.kernel)
    # The config template comes from hull spec also when another runtime
    # runs in hull's place.
    template, spec_defaults = vm_config(hull_spec(args.hull))
    if args.runtime:
        args.hull = None  # the other runtime runs in its place
    else:
        require_static(args.hull, "hull", "build it with `make build`")
    require_static(args.probe, "probe", "build it with `make examples`")
    require_static(args.busybox, "busybox", "install busybox-static")
    names = [os.path.basename(s) for s in args.scripts]
    for script, name in zip(args.scripts, names):
        if not os.path.isfile(script):
            raise SetupError(f"script: not found: {script}")
        if not name.endswith(".sh"):
            raise SetupError(f"script: name must end in .sh: {script}")
    if len(set(names)) != len(names):
        raise SetupError(f"script: two scripts with one name: {' '.join(args.scripts)}")

    mkrootfs = os.path.join(REPO, "scripts", "mkrootfs.sh")
    modules = CRIU_MODULES + args.module
    criu = criu_files()
    h = hashlib.sha256(f"layout {LAYOUT} kernel {release} modules {modules}".encode())
    h.update(f"\0config\0{template}\0{spec_defaults}".encode())
    for label, path in [
        ("init", os.path.join(HERE, "init")), ("lib", os.path.join(HERE, "lib.sh")),
        ("builder", os.path.join(HERE, "initramfs.py")), ("mkrootfs", mkrootfs),
        ("probe", args.probe), ("busybox", args.busybox),
    ] + ([("hull", args.hull)] if args.hull else []) + (
        [("limits", args.limits)] if args.limits else []
    ) + [
        (f"script {n}", s) for n, s in zip(names, args.scripts)
    ] + [
        (f"runtime {dest}", src) for dest, src in runtime_files(args.runtime)
    ] + [
        (f"criu {dest}", src) for dest, src in criu
    ]:
        file_digest(h, label, path)
    key = h.hexdigest()[:16]
    os.makedirs(args.cache, exist_ok=True)
    path = os.path.join(args.cache, f"initramfs-{args.flavor}-{key}.cpio")
    if os.path.exists(path):
        print(f"vm: initramfs {path} (cached)", file=sys.stderr)
        return path

    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=args.cache, prefix="stage.") as work:
        rootfs = os.path.join(work, "rootfs")
        subprocess.run([mkrootfs, rootfs, args.busybox], check=True,
                       stdout=subprocess.DEVNULL)
        a = initramfs.Archive()
        # The VM's own root is the same busybox tree as the bundle's.
        a.tree("/", rootfs)
        a.chardev("dev/console", 5, 1)
        a.chardev("dev/null", 1, 3, 0o666)
        a.mkdir("newroot")
        a.mkdir("usr/local/bin")
        a.file("init", source=os.path.join(HERE, "init"), mode=0o755)
        if args.hull:
            a.file("bin/hull", source=stripped(args.hull, work), mode=0o755)
        a.file("vm/lib.sh", source=os.path.join(HERE, "lib.sh"), mode=0o644)
        a.file("vm/config.template.json", data=template.encode(), mode=0o644)
        a.file("vm/spec-defaults.sh", data=spec_defaults.encode(), mode=0o644)
        if args.limits:
            a.file("vm/limits.tsv", source=args.limits, mode=0o644)
        for script, name in zip(args.scripts, names):
            a.file(f"vm/tests/{name}", source=script, mode=0o755)
        a.tree("vm/rootfs", rootfs)
        a.file("vm/rootfs/bin/probe", source=stripped(args.probe, work), mode=0o755)
        for dest, src in runtime_files(args.runtime):
            a.file(dest, source=src, mode=0o755)
        for dest, src in criu:
            # runc's libraries (--runtime) are criu's too: packed once.
            if dest.strip("/") not in a.paths:
                a.file(dest, source=stripped(src, work), mode=0o755)
        for tool in IPTABLES:
            a.symlink(f"usr/local/sbin/{tool}", "xtables-legacy-multi")
        try:
            initramfs.add_modules(a, os.path.join(args.kernel, "modules"), modules)
        except ValueError as e:
            raise SetupError(str(e)) from None
        tmp = os.path.join(work, "initramfs.cpio")
        with open(tmp, "wb") as out:
            a.write(out)
        for old in glob.glob(os.path.join(args.cache, f"initramfs-{args.flavor}-*.cpio")):
            os.unlink(old)
        os.rename(tmp, path)
    size = os.path.getsize(path) / (1 << 20)
    print(f"vm: initramfs {path} ({size:.1f} MiB, built in "
          f"{time.monotonic() - started:.1f}s)", file=sys.stderr)
    return path


def boot(args, archive):
    cmd = [
        "qemu-system-x86_64", "-accel", args.accel, "-M", "pc", "-cpu", args.cpu,
        "-smp", str(args.cpus), "-m", args.memory,
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-serial", "stdio", "-monitor", "none",
        "-kernel", os.path.join(args.kernel, "vmlinuz"), "-initrd", archive,
        "-append", " ".join(KERNEL_ARGS + args.append.split()
                            + [f"HULL_VM_SCRIPT_TIMEOUT={args.script_timeout}"]
                            + ([f"HULL=/bin/{os.path.basename(args.runtime)}"]
                               if args.runtime else [])),
    ]
    os.makedirs(os.path.dirname(args.console), exist_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    ready_at = None
    guest_ready = guest_done = None
    exit_code = None

    def on_line(line):
        nonlocal ready_at, guest_ready, guest_done, exit_code
        if line.startswith("HULL-VM-READY"):
            ready_at = time.monotonic() - started
            m = re.search(r"uptime=([\d.]+)", line)
            guest_ready = m and m.group(1)
        elif line.startswith("HULL-VM-DONE"):
            m = re.search(r"uptime=([\d.]+)", line)
            guest_done = m and m.group(1)
        elif line.startswith("HULL-VM-EXIT="):
            exit_code = int(line.split("=", 1)[1])

    with open(args.console, "wb") as log:
        timed_out, tail = read_console(proc, log, lambda: started + args.timeout,
                                       args.verbose, on_line)
    if timed_out or proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    total = time.monotonic() - started
    if ready_at is not None:
        print(f"vm: booted to HULL-VM-READY in {ready_at:.1f}s (guest uptime "
              f"{guest_ready}s); tests done at guest uptime {guest_done}s; qemu ran "
              f"{total:.1f}s", file=sys.stderr)
    if timed_out:
        print(f"vm: qemu killed after the {args.timeout:.0f}s timeout; console log: "
              f"{args.console}; last lines:\n" + "\n".join(tail), file=sys.stderr)
        return 124
    if exit_code is None:
        print(f"vm: the VM ended without a HULL-VM-EXIT line (qemu exit "
              f"{proc.returncode}); console log: {args.console}; last lines:\n"
              + "\n".join(tail), file=sys.stderr)
        return 125
    return exit_code


def read_console(proc, log, deadline, verbose, on_line):
    """Read qemu's serial console until EOF or until time.monotonic()
    passes deadline() (asked before each read, so the caller may move it).
    Every chunk goes to `log`; each line, with a "HULL-VM-" marker cut out
    of what precedes it (the firmware's terminal resets can share its
    line), goes to on_line(line) and is printed when it is a marker, a
    kernel panic or inside a script (every line with `verbose`). Returns
    (whether the deadline passed, the last 60 lines)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    pending = b""
    tail = []
    in_script = False
    while True:
        left = deadline() - time.monotonic()
        if left <= 0:
            return True, tail
        if not sel.select(timeout=min(left, 1.0)):
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            return False, tail
        log.write(chunk)
        log.flush()
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace").rstrip("\r")
            if "HULL-VM-" in line:
                line = line[line.index("HULL-VM-"):]
            tail = (tail + [line])[-60:]
            on_line(line)
            if line.startswith("HULL-VM-BEGIN"):
                in_script = True
            if (verbose or in_script or line.startswith("HULL-VM-")
                    or line.startswith("Kernel panic")):
                print(line, flush=True)
            if line.startswith("HULL-VM-END"):
                in_script = False


if __name__ == "__main__":
    sys.exit(main())
