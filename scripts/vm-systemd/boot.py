#!/usr/bin/env python3
"""Boot the systemd VM test bed and run shell test scripts inside it.

    scripts/vm-systemd/boot.py [--hull BIN] [--probe BIN] [--cri-client BIN] [SCRIPT.sh ...]

Gets the root file system from build-image.sh (debootstrap'd Debian 12 with
systemd, dbus, podman, containerd; cached by content key under --cache),
builds a small boot shim initramfs (static busybox, virtio_blk.ko, /init,
and /vm: the static hull as /vm/hull, a busybox bundle rootfs with the
probe as /vm/rootfs, hull spec's config template, scripts/vm/lib.sh, the
CRI test in /vm/cri: scripts/cri/run.sh, its client and its two images, the
scripts), boots the cgroup v2 bed's Debian cloud kernel (--kernel, from
`make vm-kernel`) under qemu -accel tcg with the image as a virtio-blk disk
(snapshot=on: the image is never written) and the serial console on a pipe.
The shim mounts the disk, copies /vm into it and switch_roots to systemd;
hull-vm-test.service runs the scripts once the boot is done. Prints each
script's output and exits with the status of the VM's `HULL-VM-EXIT=N` line
(124: qemu timed out, 125: no such line, 2: setup error).

Uses scripts/vm/run.py (hull spec's config template, static checks, kernel
check) and scripts/vm/initramfs.py (the cpio writer) as they are.
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VM = os.path.join(REPO, "scripts", "vm")
sys.path.insert(0, VM)
# No __pycache__ left in the source tree by a run as root.
sys.dont_write_bytecode = True
import initramfs  # noqa: E402  (the cgroup v2 bed's cpio writer)
import run as vmrun  # noqa: E402  (the cgroup v2 bed's runner: its helpers)

TARGET = vmrun.TARGET
# Bumped when the shim's layout changes, so old cached shims are rebuilt.
LAYOUT = "2"

KERNEL_ARGS = [
    "console=ttyS0", "panic=-1", "oops=panic", "quiet", "loglevel=1",
    "mitigations=off", "tsc=reliable", "no_timer_check", "i8042.noaux",
    "i8042.nokbd", "i8042.nopnp", "8250.nr_uarts=1",
    # systemd 252 is unified by default; said explicitly.
    "systemd.unified_cgroup_hierarchy=1",
    "systemd.show_status=auto", "systemd.firstboot=0",
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hull", default=f"target/{TARGET}/release/hull",
                   help="static hull binary, /vm/hull in the VM (default: the release build)")
    p.add_argument("--probe", default=f"target/{TARGET}/debug/examples/probe",
                   help="static probe, /bin/probe of the bundle rootfs /vm/rootfs")
    p.add_argument("--cri-client", default=f"target/{TARGET}/debug/hull-cri-client",
                   help="static CRI test client, /vm/cri/client "
                        "(`cargo build -p hull-cri-client`)")
    p.add_argument("--busybox", default="/bin/busybox", help="static busybox")
    p.add_argument("--kernel", default=".build/vm/kernel",
                   help="unpacked kernel (vmlinuz, config, modules): `make vm-kernel`")
    p.add_argument("--cache", default=".build/vm-systemd",
                   help="where the image, .debs, shims and console log are kept")
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds before qemu is killed (default 600)")
    p.add_argument("--script-timeout", type=int, default=300,
                   help="seconds each script may run inside the VM (default 300)")
    p.add_argument("--poweroff-wait", type=float, default=60,
                   help="seconds to let the guest power off after HULL-VM-EXIT")
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--memory", default="2048", help="guest RAM in MiB")
    p.add_argument("--accel", default="tcg,thread=single",
                   help="qemu -accel value (see scripts/vm/run.py)")
    p.add_argument("--cpu", default="max")
    p.add_argument("--append", default="", help="extra kernel command line")
    p.add_argument("--verbose", action="store_true",
                   help="print the whole console, boot messages included")
    p.add_argument("scripts", nargs="*",
                   help="test scripts (default: scripts/vm-systemd/tests/*.sh), run in name order")
    args = p.parse_args()
    # Relative paths are the repository's, wherever the runner is called from.
    for name in ("hull", "probe", "cri_client", "busybox", "kernel", "cache"):
        value = getattr(args, name)
        if not os.path.isabs(value):
            setattr(args, name, os.path.join(REPO, value))
    if not args.scripts:
        args.scripts = sorted(glob.glob(os.path.join(HERE, "tests", "*.sh")))
    return args


def main():
    args = parse_args()
    t0 = time.monotonic()
    try:
        if shutil.which("qemu-system-x86_64") is None:
            raise vmrun.SetupError("qemu-system-x86_64 not found: `make vm-deps` "
                                   "installs it (Debian package qemu-system-x86)")
        release = vmrun.check_kernel(args.kernel)
        vmrun.require_static(args.hull, "hull", "build it with `make build`")
        vmrun.require_static(args.probe, "probe", "build it with `make examples`")
        vmrun.require_static(args.cri_client, "CRI client",
                             "build it with `cargo build -p hull-cri-client`")
        vmrun.require_static(args.busybox, "busybox", "install busybox-static")
        os.makedirs(args.cache, exist_ok=True)
        r = subprocess.run([os.path.join(HERE, "build-image.sh"), "--cache", args.cache,
                            "--kernel", args.kernel], stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise vmrun.SetupError("build-image.sh failed")
        image = r.stdout.strip().splitlines()[-1]
        shim = build_shim(args, release)
    except vmrun.SetupError as e:
        print(f"vm-systemd: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"vm-systemd: `{' '.join(map(str, e.cmd))}` exited {e.returncode}",
              file=sys.stderr)
        return 2
    print(f"vm-systemd: image and shim ready in {time.monotonic() - t0:.1f}s",
          file=sys.stderr)
    return boot(args, image, shim)


def build_shim(args, release):
    names = [os.path.basename(s) for s in args.scripts]
    for script, name in zip(args.scripts, names):
        if not os.path.isfile(script) or not name.endswith(".sh"):
            raise vmrun.SetupError(f"script: not a file ending in .sh: {script}")
    if len(set(names)) != len(names):
        raise vmrun.SetupError(f"script: two scripts with one name: {' '.join(args.scripts)}")
    # The bundles' config: hull spec's, as the cgroup v2 bed makes it.
    template, spec_defaults = vmrun.vm_config(vmrun.hull_spec(args.hull))
    mkrootfs = os.path.join(REPO, "scripts", "mkrootfs.sh")
    # The CRI test's images, made where the digest can name them.
    images = os.path.join(args.cache, "cri-images")
    os.makedirs(images, exist_ok=True)
    subprocess.run([os.path.join(REPO, "scripts", "cri", "images.sh"), images], check=True)
    files = [("init", os.path.join(HERE, "guest", "init"), 0o755),
             ("vm/run-tests.sh", os.path.join(HERE, "guest", "run-tests.sh"), 0o755),
             ("vm/lib.sh", os.path.join(VM, "lib.sh"), 0o644),
             ("shim/busybox", args.busybox, 0o755),
             ("vm/cri/run.sh", os.path.join(REPO, "scripts", "cri", "run.sh"), 0o755),
             ("vm/cri/bb.tar", os.path.join(images, "bb.tar"), 0o644),
             ("vm/cri/pause.tar", os.path.join(images, "pause.tar"), 0o644)]
    files += [(f"vm/tests/{n}", s, 0o755) for n, s in zip(names, args.scripts)]
    h = hashlib.sha256(f"layout {LAYOUT} kernel {release} timeout {args.script_timeout}\0"
                       f"{template}\0{spec_defaults}".encode())
    for label, path in [(dest, src) for dest, src, _ in files] + [
            ("hull", args.hull), ("probe", args.probe), ("cri-client", args.cri_client),
            ("mkrootfs", mkrootfs),
            ("builder", os.path.join(VM, "initramfs.py"))]:
        vmrun.file_digest(h, label, path)
    key = h.hexdigest()[:16]
    path = os.path.join(args.cache, f"shim-{key}.cpio")
    if os.path.exists(path):
        print(f"vm-systemd: shim {path} (cached)", file=sys.stderr)
        return path
    with tempfile.TemporaryDirectory(dir=args.cache, prefix="shim.") as work:
        rootfs = os.path.join(work, "rootfs")
        subprocess.run([mkrootfs, rootfs, args.busybox], check=True, stdout=subprocess.DEVNULL)
        a = initramfs.Archive()
        a.chardev("dev/console", 5, 1)
        a.mkdir("newroot")
        for dest, src, mode in files:
            a.file(dest, source=src, mode=mode)
        a.file("vm/hull", source=vmrun.stripped(args.hull, work), mode=0o755)
        a.file("vm/cri/client", source=vmrun.stripped(args.cri_client, work), mode=0o755)
        a.file("vm/config.template.json", data=template.encode(), mode=0o644)
        a.file("vm/spec-defaults.sh", data=spec_defaults.encode(), mode=0o644)
        a.file("vm/script-timeout", data=f"{args.script_timeout}\n".encode())
        a.tree("vm/rootfs", rootfs)
        a.file("vm/rootfs/bin/probe", source=vmrun.stripped(args.probe, work), mode=0o755)
        order = []
        for name, data in initramfs.module_closure(os.path.join(args.kernel, "modules"),
                                                   ["virtio_blk"]):
            a.file(f"shim/modules/{name}.ko", data=data, mode=0o644)
            order.append(f"{name}.ko\n")
        a.file("shim/modules/load-order", data="".join(order).encode())
        tmp = os.path.join(work, "shim.cpio")
        with open(tmp, "wb") as out:
            a.write(out)
        for old in glob.glob(os.path.join(args.cache, "shim-*.cpio")):
            os.unlink(old)
        os.rename(tmp, path)
    print(f"vm-systemd: shim {path} ({os.path.getsize(path) / (1 << 20):.1f} MiB)",
          file=sys.stderr)
    return path


def boot(args, image, shim):
    cmd = [
        "qemu-system-x86_64", "-accel", args.accel, "-M", "pc", "-cpu", args.cpu,
        "-smp", str(args.cpus), "-m", args.memory,
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-serial", "stdio", "-monitor", "none", "-nic", "none",
        "-kernel", os.path.join(args.kernel, "vmlinuz"), "-initrd", shim,
        "-append", " ".join(KERNEL_ARGS + args.append.split()),
        "-drive", f"file={image},if=virtio,format=raw,snapshot=on,cache=unsafe",
    ]
    console = os.path.join(args.cache, "console.log")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    marks = {}
    exit_code = None
    exit_seen = None

    def on_line(line):
        nonlocal exit_code, exit_seen
        m = re.match(r"HULL-VM-(\w+)", line)
        if m:
            u = re.search(r"uptime=([\d.]+)", line)
            marks[m.group(1)] = (time.monotonic() - started, u and u.group(1))
        if line.startswith("HULL-VM-EXIT="):
            exit_code = int(line.split("=", 1)[1])
            exit_seen = time.monotonic()

    def deadline():
        # After HULL-VM-EXIT the guest only has to power off.
        end = started + args.timeout
        return end if exit_seen is None else min(end, exit_seen + args.poweroff_wait)

    try:
        with open(console, "wb") as log:
            passed, tail = vmrun.read_console(proc, log, deadline, args.verbose, on_line)
        timed_out = passed and exit_seen is None
    finally:
        # qemu never outlives the runner (timeout, error or ^C).
        if proc.poll() is None:
            try:
                proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    total = time.monotonic() - started
    summary = ", ".join(f"{k} at {v[0]:.1f}s (guest uptime {v[1]})"
                        for k, v in marks.items() if k in ("SWITCH", "READY", "DONE"))
    off = (f"powered off {total - (exit_seen - started):.1f}s after HULL-VM-EXIT"
           if exit_seen is not None and proc.returncode == 0 else "qemu killed")
    print(f"vm-systemd: {summary}; {off}; qemu ran {total:.1f}s; console: {console}",
          file=sys.stderr)
    if timed_out:
        print(f"vm-systemd: qemu killed after the {args.timeout:.0f}s timeout; last lines:\n"
              + "\n".join(tail), file=sys.stderr)
        return 124
    if exit_code is None:
        print("vm-systemd: the VM ended without a HULL-VM-EXIT line; last lines:\n"
              + "\n".join(tail), file=sys.stderr)
        return 125
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
