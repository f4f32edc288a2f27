#!/usr/bin/env python3
"""CRIU feasibility VM: boot Debian 12's 6.1 cloud kernel with criu 3.17.1 in an
initramfs and run scripts/vm-criu/tests/*.sh (or the scripts given) in it.

    scripts/vm-criu/fetch.sh          # once: 6.1 kernel + criu .debs
    scripts/vm-criu/run.py [--timeout S] [--verbose] [SCRIPT.sh ...]

The initramfs is the cgroup v2 bed's (scripts/vm/init as /init, its busybox
tree from scripts/mkrootfs.sh, scripts/vm/lib.sh as /vm/lib.sh) without hull,
probe or bundles, plus:
  - /usr/sbin/criu from .build/vm-criu/criu-root (fetch.sh) and every shared
    library `ldd` names (criu-root's first, the host's Debian 12 ones else);
  - GNU tar (/usr/local/bin/tar, ahead of busybox's in PATH): criu dumps and
    restores tmpfs/devtmpfs mounts of a dumped mount namespace with it;
  - iproute2's ip and iptables (legacy, with its extensions) in
    /usr/local/sbin: criu runs `ip ... save/restore` and iptables-save/-restore
    for a dumped network namespace;
  - util-linux unshare (/usr/local/bin/unshare): busybox's re-execs itself
    through /proc/self/exe, so the namespace's init maps busybox through the
    outer namespace's mount, which criu cannot find in the dumped namespace
    ("Can't lookup mount=23 for fd=-3 path=/bin/busybox");
  - the kernel's sock_diag modules (criu collects sockets through them) and
    tun, insmod'ed by /init.
Booted with scripts/vm/run.py's qemu line (-accel tcg,thread=single, 2 vCPUs,
1 GiB) and console reader; exits with the VM's HULL-VM-EXIT status (124 on
timeout, 125 when the line never came, 2 on a setup error). The archive is
cached in .build/vm-criu by content key; the console log is
.build/vm-criu/console.log.
"""

import argparse
import glob
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VM = os.path.join(REPO, "scripts", "vm")
sys.path.insert(0, VM)
sys.dont_write_bytecode = True
import initramfs  # noqa: E402
import run as vmrun  # noqa: E402

MODULES = ["unix_diag", "inet_diag", "tcp_diag", "udp_diag", "netlink_diag",
           "af_packet_diag", "raw_diag", "tun",
           # kerndat probes: nftables concat sets (fatal in 3.17), veth link NSID.
           "nf_tables", "veth",
           # criu check --all's autofs probe.
           "autofs4",
           # criu's default network lock (iptables, -m mark) for a dumped netns.
           "ip_tables", "iptable_filter", "ip6_tables", "ip6table_filter", "xt_mark",
           # a dumped netns: criu dumps its conntrack entries over ctnetlink.
           "nf_conntrack_netlink"]
# criu runs these by name to dump/restore a network namespace's rules and to
# lock the network (the legacy backend: no nf_tables rules needed for it).
IPTABLES = [f"{p}{t}{s}" for p in ("ip", "ip6") for t in ("tables",)
            for s in ("", "-save", "-restore")]
LAYOUT = "1"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel", default=".build/vm-criu/kernel-6.1")
    p.add_argument("--cache", default=".build/vm-criu")
    p.add_argument("--busybox", default="/bin/busybox")
    p.add_argument("--timeout", type=float, default=540)
    p.add_argument("--script-timeout", type=int, default=420)
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--memory", default="1024")
    p.add_argument("--accel", default="tcg,thread=single")
    p.add_argument("--append", default="")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("scripts", nargs="*")
    a = p.parse_args()
    for name in ("kernel", "cache", "busybox"):
        v = getattr(a, name)
        if not os.path.isabs(v):
            setattr(a, name, os.path.join(REPO, v))
    if not a.scripts:
        a.scripts = sorted(glob.glob(os.path.join(HERE, "tests", "*.sh")))
    return a


def elf_with_libs(binary, dest, libpath):
    """[(path in VM, host file)] for `binary` at `dest` and its ldd closure."""
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(libpath))
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, env=env)
    files = [(dest, binary)]
    for line in out.stdout.splitlines():
        if "not found" in line:
            raise vmrun.SetupError(f"{binary}: library {line.strip()}")
        m = re.match(r"\s*(\S+)\s+=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if not m:
            continue
        host = m.group(m.lastindex)
        name = m.group(1)
        vm_path = (f"lib/x86_64-linux-gnu/{name}" if not name.startswith("/")
                   else name.lstrip("/"))
        files.append((vm_path, os.path.realpath(host)))
    return files


def build(a):
    release = vmrun.check_kernel(a.kernel)
    root = os.path.join(a.cache, "criu-root")
    criu = os.path.join(root, "usr/sbin/criu")
    if not os.path.exists(criu):
        raise vmrun.SetupError(f"{criu} missing: run scripts/vm-criu/fetch.sh")
    libpath = [os.path.join(root, "usr/lib/x86_64-linux-gnu"),
               os.path.join(root, "lib/x86_64-linux-gnu")]
    files = {}
    for dest, src in (elf_with_libs(criu, "usr/sbin/criu", libpath)
                      + elf_with_libs("/usr/bin/tar", "usr/local/bin/tar", [])
                      + elf_with_libs("/usr/bin/unshare", "usr/local/bin/unshare", [])
                      + elf_with_libs(os.path.join(root, "bin/ip"), "usr/local/sbin/ip", libpath)
                      + elf_with_libs(os.path.join(root, "usr/sbin/xtables-legacy-multi"),
                                      "usr/local/sbin/xtables-legacy-multi", libpath)):
        files.setdefault(dest, src)
    # iptables' extensions (libxt_*.so, dlopen'ed by the multi-call binary).
    xt = os.path.join(root, "usr/lib/x86_64-linux-gnu/xtables")
    for f in sorted(os.listdir(xt)):
        files.setdefault(f"usr/lib/x86_64-linux-gnu/xtables/{f}", os.path.join(xt, f))
    scripts = [(f"vm/tests/{os.path.basename(s)}", s) for s in a.scripts]
    fixed = [("init", os.path.join(VM, "init")), ("vm/lib.sh", os.path.join(VM, "lib.sh"))]
    mkrootfs = os.path.join(REPO, "scripts", "mkrootfs.sh")
    h = hashlib.sha256(f"{LAYOUT} {release} {MODULES}".encode())
    for label, path in sorted(files.items()) + fixed + scripts + [
            ("busybox", a.busybox), ("mkrootfs", mkrootfs), ("self", __file__)]:
        vmrun.file_digest(h, label, path)
    path = os.path.join(a.cache, f"initramfs-{h.hexdigest()[:16]}.cpio")
    if os.path.exists(path):
        print(f"vm-criu: initramfs {path} (cached)", file=sys.stderr)
        return path
    t = time.monotonic()
    with tempfile.TemporaryDirectory(dir=a.cache, prefix="stage.") as work:
        rootfs = os.path.join(work, "rootfs")
        subprocess.run([mkrootfs, rootfs, a.busybox], check=True, stdout=subprocess.DEVNULL)
        ar = initramfs.Archive()
        ar.tree("/", rootfs)
        ar.chardev("dev/console", 5, 1)
        ar.chardev("dev/null", 1, 3, 0o666)
        ar.mkdir("newroot")
        ar.mkdir("usr/local/bin")
        for dest, src in fixed:
            ar.file(dest, source=src, mode=0o755)
        for dest, src in scripts:
            ar.file(dest, source=src, mode=0o755)
        for dest, src in sorted(files.items()):
            ar.file(dest, source=vmrun.stripped(src, work), mode=0o755)
        for tool in IPTABLES:
            ar.symlink(f"usr/local/sbin/{tool}", "xtables-legacy-multi")
        initramfs.add_modules(ar, os.path.join(a.kernel, "modules"), MODULES)
        tmp = os.path.join(work, "out.cpio")
        with open(tmp, "wb") as out:
            ar.write(out)
        for old in glob.glob(os.path.join(a.cache, "initramfs-*.cpio")):
            os.unlink(old)
        os.rename(tmp, path)
    print(f"vm-criu: initramfs {path} ({os.path.getsize(path) / (1 << 20):.1f} MiB, "
          f"{time.monotonic() - t:.1f}s)", file=sys.stderr)
    return path


def boot(a, archive):
    cmd = ["qemu-system-x86_64", "-accel", a.accel, "-M", "pc", "-cpu", "max",
           "-smp", str(a.cpus), "-m", a.memory, "-nodefaults", "-no-user-config",
           "-nographic", "-no-reboot", "-serial", "stdio", "-monitor", "none",
           "-kernel", os.path.join(a.kernel, "vmlinuz"), "-initrd", archive,
           "-append", " ".join(vmrun.KERNEL_ARGS + a.append.split()
                               + [f"HULL_VM_SCRIPT_TIMEOUT={a.script_timeout}"])]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    marks, code = {}, [None]

    def on_line(line):
        m = re.match(r"HULL-VM-(\w+)", line)
        if m:
            marks.setdefault(m.group(1), time.monotonic() - started)
        if line.startswith("HULL-VM-EXIT="):
            code[0] = int(line.split("=", 1)[1])

    try:
        with open(os.path.join(a.cache, "console.log"), "wb") as log:
            timed_out, tail = vmrun.read_console(proc, log, lambda: started + a.timeout,
                                                 a.verbose, on_line)
    finally:
        if proc.poll() is None:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    print("vm-criu: " + ", ".join(f"{k} at {v:.1f}s" for k, v in marks.items())
          + f"; qemu ran {time.monotonic() - started:.1f}s", file=sys.stderr)
    if timed_out and code[0] is None:
        print("vm-criu: timed out; last lines:\n" + "\n".join(tail), file=sys.stderr)
        return 124
    if code[0] is None:
        print("vm-criu: no HULL-VM-EXIT; last lines:\n" + "\n".join(tail), file=sys.stderr)
        return 125
    return code[0]


def main():
    a = parse_args()
    try:
        archive = build(a)
    except (vmrun.SetupError, ValueError) as e:
        print(f"vm-criu: {e}", file=sys.stderr)
        return 2
    return boot(a, archive)


if __name__ == "__main__":
    sys.exit(main())
