#!/usr/bin/env python3
"""Time the container hot path of OCI runtimes side by side.

One cycle is: create -> start -> wait for exit -> delete of a container whose
process is /bin/true. Cycles of every runtime are interleaved in one run (the
order rotates each round), each runtime with its own --root state directory
and unique container ids. The peak RSS of each `create` process is read from
os.wait4's rusage (ru_maxrss, KiB).

"wait for exit" polls `RUNTIME state ID` until the status is "stopped"
(--wait state, the default), so a runtime must report an exited init that is
not yet reaped (a zombie) as stopped, as runc does. --wait reap waits for the
container's init pid from --pid-file instead, which measures the runtime
without the cost of the polling `state` calls. Either way this script is a
child subreaper: the orphaned inits become its children and are reaped after
each cycle, so no zombies pile up on the host.

A second set of cycles runs the same container with a memory, pids and
cpu limit set (linux.resources), to show the cost of cgroup setup; it is
printed as its own table (--no-limits skips it).

A runtime whose first (trial) cycle fails is skipped with a note if it is
optional (crun by default: it refuses hybrid cgroup hosts); otherwise the
script stops with the error. Containers left over are deleted at the end,
also on Ctrl-C or SIGTERM.

Standard library only.
"""

import argparse
import ctypes
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

PHASES = ("create", "start", "wait", "delete")
PR_SET_CHILD_SUBREAPER = 36


class CycleError(Exception):
    pass


class Runtime:
    def __init__(self, name, binary, root, logdir):
        self.name = name
        self.binary = binary
        self.root = root
        self.log_path = os.path.join(logdir, f"{name}.stderr")
        self.log = open(self.log_path, "w+b")
        self.live = set()  # ids created and not yet deleted
        self.pending = None  # a create process not yet waited for
        self.cycles = []  # dicts: phase -> seconds, total, maxrss_kib
        self.limit_cycles = []  # the same, with resource limits set
        self.rss = []  # peak RSS of create in KiB, from the untimed RSS cycles

    def cmd(self, *args):
        return [self.binary, "--root", self.root, *args]

    def last_error(self):
        self.log.flush()
        self.log.seek(0)
        lines = [l for l in self.log.read().decode(errors="replace").splitlines() if l.strip()]
        self.log.seek(0, os.SEEK_END)
        return lines[-1] if lines else "(no output on stderr)"

    def run(self, *args, check=True):
        """Run a runtime command; stdout is returned, stderr goes to the log."""
        # stdout is a pipe only for commands that do not start a container, so
        # no container process keeps it open.
        proc = subprocess.run(self.cmd(*args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=self.log)
        if check and proc.returncode != 0:
            raise CycleError(f"{self.name} {args[0]} exited {proc.returncode}: {self.last_error()}")
        return proc

    def create(self, cid, bundle, pid_file, rss_file=None):
        """create, with stdio not shared with this script. With rss_file, the
        create runs under /usr/bin/time, which writes its peak RSS (KiB) there:
        a child forked from this script would inherit python's own high-water
        mark, so os.wait4's ru_maxrss cannot tell a small runtime apart."""
        argv = self.cmd("create", "--bundle", bundle, "--pid-file", pid_file, cid)
        if rss_file:
            argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv
        self.live.add(cid)
        proc = self.pending = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                               stdout=subprocess.DEVNULL, stderr=self.log)
        _, status, usage = os.wait4(proc.pid, 0)
        self.pending = None
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise CycleError(f"{self.name} create exited {proc.returncode}: {self.last_error()}")
        if rss_file:
            with open(rss_file) as f:
                return int(f.read().split()[-1])
        return None

    def status(self, cid):
        proc = self.run("state", cid, check=False)
        if proc.returncode != 0:
            raise CycleError(f"{self.name} state exited {proc.returncode}: {self.last_error()}")
        try:
            return json.loads(proc.stdout)["status"]
        except (ValueError, KeyError, TypeError) as e:
            raise CycleError(f"{self.name} state printed no status ({e}): {proc.stdout[:200]!r}")

    def cleanup(self):
        if self.log.closed:
            return
        if self.pending is not None:
            self.pending.kill()
            self.pending.wait()
        # Also whatever the state dir holds: an interrupted command may have
        # left an id we did not record.
        if os.path.isdir(self.root):
            self.live.update(d for d in os.listdir(self.root)
                             if os.path.isdir(os.path.join(self.root, d)))
        for cid in sorted(self.live):
            subprocess.run(self.cmd("delete", "--force", cid), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.live.clear()
        self.log.close()


def wait_stopped(rt, cid, pid_file, mode, timeout):
    deadline = time.monotonic() + timeout
    if mode == "reap":
        with open(pid_file) as f:
            pid = int(f.read().strip())
        while True:
            try:
                wpid, _ = os.waitpid(pid, os.WNOHANG if time.monotonic() < deadline else 0)
            except ChildProcessError:
                raise CycleError(f"{rt.name}: init pid {pid} is not a child of the bench "
                                 "(did the runtime reap or reparent it?)")
            if wpid == pid:
                return
            # The init is our child (we are a subreaper); a blocking wait
            # would hang forever on a runtime bug, so wait in short slices.
            if time.monotonic() >= deadline:
                raise CycleError(f"{rt.name}: container {cid} did not exit within {timeout}s")
            time.sleep(0.0002)
    while True:
        status = rt.status(cid)
        if status == "stopped":
            return
        if time.monotonic() >= deadline:
            raise CycleError(f"{rt.name}: container {cid} still {status!r} after {timeout}s")


RSS_CYCLES = 5


def reap_strays():
    """As a subreaper we inherit any orphan of a runtime: collect them."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def cycle(rt, cid, bundle, workdir, mode, timeout, measure_rss=False):
    pid_file = os.path.join(workdir, f"{cid}.pid")
    rss_file = os.path.join(workdir, f"{cid}.rss") if measure_rss else None
    t = [time.perf_counter()]
    maxrss = rt.create(cid, bundle, pid_file, rss_file)
    t.append(time.perf_counter())
    rt.run("start", cid)
    t.append(time.perf_counter())
    wait_stopped(rt, cid, pid_file, mode, timeout)
    t.append(time.perf_counter())
    rt.run("delete", cid)
    rt.live.discard(cid)
    t.append(time.perf_counter())
    try:
        os.unlink(pid_file)
    except FileNotFoundError:
        pass
    reap_strays()
    result = {p: t[i + 1] - t[i] for i, p in enumerate(PHASES)}
    result["total"] = t[-1] - t[0]
    result["maxrss_kib"] = maxrss
    return result


# The limits of the "with limits" cycles: memory, pids and cpu.
LIMITS = {
    "memory": {"limit": 64 * 1024 * 1024},
    "pids": {"limit": 64},
    "cpu": {"shares": 512, "quota": 50000, "period": 100000},
}


def make_bundle(src_bundle, dest, limits=False):
    """A copy of src_bundle's config running /bin/true, on src's rootfs;
    with `limits`, LIMITS as linux.resources."""
    with open(os.path.join(src_bundle, "config.json")) as f:
        config = json.load(f)
    rootfs = config["root"]["path"]
    if not os.path.isabs(rootfs):
        rootfs = os.path.join(os.path.abspath(src_bundle), rootfs)
    if not os.path.exists(os.path.join(rootfs, "bin", "true")) and \
            not os.path.islink(os.path.join(rootfs, "bin", "true")):
        sys.exit(f"bench: {rootfs}/bin/true missing (run `make rootfs` first)")
    config["root"] = {"path": rootfs, "readonly": True}
    config["process"]["args"] = ["/bin/true"]
    config["process"]["terminal"] = False
    linux = config.setdefault("linux", {})
    # Nothing cgroup-related: every runtime must accept it on this host.
    linux.pop("resources", None)
    linux.pop("cgroupsPath", None)
    if limits:
        linux["resources"] = LIMITS
    os.makedirs(dest)
    with open(os.path.join(dest, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return dest


def pct(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))]


def ms(x):
    return f"{x * 1000:.2f}"


def print_table(runtimes, n, mode, attr="cycles", what="/bin/true"):
    header = ["runtime", "cycles", "median ms", "p90 ms", "min ms",
              "create", "start", "wait", "delete", "create maxRSS KiB"]
    rows = []
    for rt in runtimes:
        c = getattr(rt, attr)
        if not c:
            continue
        totals = [x["total"] for x in c]
        rss = rt.rss or [0]
        rows.append([
            rt.name, str(len(c)), ms(statistics.median(totals)), ms(pct(totals, 90)),
            ms(min(totals)),
            *(ms(statistics.median([x[p] for x in c])) for p in PHASES),
            f"{int(statistics.median(rss))} (max {max(rss)})",
        ])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |"
    print()
    print(f"create -> start -> wait ({mode}) -> delete of {what}, "
          f"{n} interleaved cycles per runtime; phase columns are medians in ms")
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--cycles", type=int, default=int(os.environ.get("N", "100")),
                    help="measured cycles per runtime (default: $N or 100)")
    ap.add_argument("--warmup", type=int, default=3, help="unmeasured cycles per runtime after the trial")
    ap.add_argument("--runtimes", default=os.environ.get("RUNTIMES", "hull runc crun"),
                    help="space- or comma-separated names, or NAME=PATH for any binary (default: 'hull runc crun')")
    ap.add_argument("--hull", default=os.path.join(repo, "target/x86_64-unknown-linux-gnu/release/hull"))
    ap.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc")
    ap.add_argument("--crun", default=shutil.which("crun") or "/usr/bin/crun")
    ap.add_argument("--optional", default="crun",
                    help="runtimes skipped with a note when their trial cycle fails (default: crun)")
    ap.add_argument("--bundle", default=os.path.join(repo, "bundles/hello"),
                    help="bundle whose config and rootfs are used (args become /bin/true)")
    ap.add_argument("--wait", choices=("state", "reap"), default="state",
                    help="how to wait for exit: poll `state` (default) or reap the init as subreaper")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds for one container to exit")
    ap.add_argument("--no-limits", action="store_true",
                    help="skip the cycles with memory+pids+cpu limits")
    return ap.parse_args()


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: must run as root")
    names = [x for x in args.runtimes.replace(",", " ").split() if x]
    optional = set(args.optional.replace(",", " ").split())
    if not names:
        sys.exit("bench: no runtimes given")

    # SIGTERM/SIGHUP unwind like Ctrl-C, so the finally block cleans up.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"bench: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")

    workdir = tempfile.mkdtemp(prefix="hull-bench-")
    runtimes = []  # the ones being measured
    made = []  # every Runtime constructed, for cleanup
    status = 0
    try:
        bundle = make_bundle(args.bundle, os.path.join(workdir, "bundle"))
        limits = None if args.no_limits else \
            make_bundle(args.bundle, os.path.join(workdir, "bundle-limits"), limits=True)
        tag = f"{os.getpid()}"
        for name in names:
            # NAME=PATH measures any binary under a name of its own (two
            # builds of hull side by side, say).
            name, _, path = name.partition("=")
            binary = path or getattr(args, name, None) or shutil.which(name) or name
            if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
                msg = f"{name}: {binary} not found or not executable"
                if name in optional:
                    print(f"note: skipping {msg}")
                    continue
                sys.exit(f"bench: {msg}")
            root = os.path.join(workdir, f"root-{name}")
            os.makedirs(root)
            rt = Runtime(name, binary, root, workdir)
            made.append(rt)
            try:
                cycle(rt, f"bench-{tag}-{name}-trial", bundle, workdir, args.wait, args.timeout)
                if limits:
                    cycle(rt, f"bench-{tag}-{name}-trial-l", limits, workdir, args.wait,
                          args.timeout)
            except CycleError as e:
                rt.cleanup()
                if name in optional:
                    print(f"note: skipping {name}: trial cycle failed: {e}")
                    continue
                raise
            runtimes.append(rt)
        if not runtimes:
            sys.exit("bench: no runtime could run a cycle")

        for i in range(args.warmup):
            for rt in runtimes:
                cycle(rt, f"bench-{tag}-{rt.name}-w{i}", bundle, workdir, args.wait, args.timeout)
        print(f"running {args.cycles} cycles each of: {', '.join(r.name for r in runtimes)}",
              flush=True)
        for i in range(args.cycles):
            k = i % len(runtimes)
            for rt in runtimes[k:] + runtimes[:k]:
                rt.cycles.append(cycle(rt, f"bench-{tag}-{rt.name}-{i}", bundle, workdir,
                                       args.wait, args.timeout))
                if limits:
                    rt.limit_cycles.append(cycle(rt, f"bench-{tag}-{rt.name}-l{i}", limits,
                                                 workdir, args.wait, args.timeout))
        # Peak RSS of create, measured in cycles of their own (untimed).
        for i in range(RSS_CYCLES):
            for rt in runtimes:
                rt.rss.append(cycle(rt, f"bench-{tag}-{rt.name}-rss{i}", bundle, workdir,
                                    args.wait, args.timeout, measure_rss=True)["maxrss_kib"])
        print_table(runtimes, args.cycles, args.wait)
        if limits:
            print_table(runtimes, args.cycles, args.wait, "limit_cycles",
                        "/bin/true with memory+pids+cpu limits")
    except CycleError as e:
        print(f"bench: {e}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("\nbench: interrupted, cleaning up", file=sys.stderr)
        if any(rt.cycles for rt in runtimes):
            print_table(runtimes, min(len(rt.cycles) for rt in runtimes), args.wait)
        status = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for rt in made:
            rt.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
