#!/usr/bin/env python3
"""Time the container hot path of OCI runtimes side by side.

One cycle is: create -> start -> wait for exit -> delete of a container whose
process is /bin/true. Cycles of every runtime are interleaved in one run (in an
order shuffled each round), each runtime with its own --root state directory
and unique container ids. The peak RSS of `create` is measured in cycles of
its own, under /usr/bin/time, after each runtime's binary is dropped from the
page cache so that every one is read in by its own exec (see evict()).

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

Beside the cycles: each runtime's foreground `run` of the same container
(one command that creates, starts, waits and deletes), against the kernel
floor (scripts/bench/floor.c, built here with musl-gcc: only the clone, mounts,
device nodes, lo, hostname, pivot_root and exec that any runtime must ask
the kernel for); a batch of 50 creates then 50 starts (ms per container);
with --min-memory, the smallest memory limit under which /bin/true
still runs; and the cost of one process that does nothing
(scripts/bench/empty.c), the kernel's price of each command a runtime is
called for. Every table ends with each runtime's ratio to crun and to the
floor, and the issue's targets are printed as met or missed.

--view cgroup2 runs everything in a private mount namespace in which
/sys/fs/cgroup is the host's cgroup2 hierarchy re-mounted (no host change):
on a hybrid host that is where crun, which refuses hybrid hosts, runs. Its
cgroup2 has no memory, pids or cpu controller, so limits are measured in
the host's view (--view host, the default).

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
import random
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
        self.runs = []  # foreground `run` seconds
        self.batches = []  # ms per container of a create+start batch
        self.min_memory_kib = None

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

    def cleanup_live(self):
        """Delete what a failed command left, keeping the log open."""
        for cid in sorted(self.live):
            subprocess.run(self.cmd("delete", "--force", cid), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.live.clear()
        reap_strays()

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
# hull installed on a read-only mount (--readonly-install).
RO_NAME = "hull-ro"


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


def make_bundle(src_bundle, dest, resources=None):
    """A copy of src_bundle's config running /bin/true, on src's rootfs;
    with `resources` as linux.resources (else none)."""
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
    if resources:
        linux["resources"] = resources
    os.makedirs(dest)
    with open(os.path.join(dest, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return dest


def build_floor(workdir):
    """scripts/bench/floor.c and empty.c built into workdir, as (floor,
    empty); (None, None) with a note without a C compiler. Built against
    musl (musl-gcc, Debian's musl-tools) when it is there: glibc's start-up
    runs some 80 CPUID instructions, each a trap to the hypervisor in a VM
    (0.6-0.9 ms here), which is not the kernel's work."""
    cc = next((c for c in ("musl-gcc", "gcc") if shutil.which(c)), None)
    if cc is None:
        print("note: no gcc: the kernel floor is not measured")
        return None, None
    if cc == "gcc":
        print("note: no musl-gcc (musl-tools): the floor is built with glibc, whose "
              "start-up is part of its time")
    built = []
    for name in ("floor", "empty"):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench", f"{name}.c")
        out = os.path.join(workdir, name)
        subprocess.run([cc, "-O2", "-static", "-o", out, src], check=True)
        built.append(out)
    return tuple(built)


def evict(path):
    """Write `path` back and drop it from the page cache, so the next exec
    reads it in as on a machine after boot. How a binary came into the page
    cache decides its RSS: a file just written (by the linker, or the copy
    --readonly-install makes) is held in large folios, and kernel 6.18 maps
    a whole folio on a fault, so the same create of the same binary measured
    up to 300 KiB more, and `hull --version` 4012 against 1480 KiB."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def bundle_rootfs(bundle):
    with open(os.path.join(bundle, "config.json")) as f:
        return json.load(f)["root"]["path"]


def foreground(rt, cid, bundle):
    """`RUNTIME run` of the container in the foreground: seconds."""
    t0 = time.perf_counter()
    rt.live.add(cid)
    proc = subprocess.run(rt.cmd("run", "--bundle", bundle, cid), stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=rt.log)
    t = time.perf_counter() - t0
    if proc.returncode != 0:
        raise CycleError(f"{rt.name} run exited {proc.returncode}: {rt.last_error()}")
    rt.live.discard(cid)
    reap_strays()
    return t


def floor_run(argv):
    """Seconds to start `argv` (the floor, or the empty program) and wait."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t = time.perf_counter() - t0
    if proc.returncode != 0:
        raise CycleError(f"{argv[0]} exited {proc.returncode}: {proc.stderr.decode().strip()}")
    return t


BATCH = 50


def batch(rt, tag, bundle, workdir, mode, timeout):
    """BATCH creates then BATCH starts, timed; then each waited for and
    deleted (untimed). Milliseconds per container."""
    ids = [f"bench-{tag}-{rt.name}-b{i}" for i in range(BATCH)]
    t0 = time.perf_counter()
    for cid in ids:
        rt.create(cid, bundle, os.path.join(workdir, f"{cid}.pid"))
    for cid in ids:
        rt.run("start", cid)
    t = time.perf_counter() - t0
    for cid in ids:
        pid_file = os.path.join(workdir, f"{cid}.pid")
        wait_stopped(rt, cid, pid_file, mode, timeout)
        rt.run("delete", cid)
        rt.live.discard(cid)
        os.unlink(pid_file)
    reap_strays()
    return t / BATCH


# Memory limits tried by --min-memory, smallest first (KiB).
MEMORY_STEPS_KIB = (128, 256, 384, 512, 768, 1024, 2048, 4096, 8192)


def min_memory(rt, tag, src_bundle, workdir):
    """The smallest MEMORY_STEPS_KIB limit under which a foreground run of
    /bin/true exits 0, or None."""
    for kib in MEMORY_STEPS_KIB:
        dest = os.path.join(workdir, f"bundle-mem-{rt.name}-{kib}")
        make_bundle(src_bundle, dest, {"memory": {"limit": kib * 1024}})
        try:
            foreground(rt, f"bench-{tag}-{rt.name}-m{kib}", dest)
            return kib
        except CycleError:
            rt.cleanup_live()
    return None


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


def print_summary(runtimes, floor_runs, empty_runs, has_limits):
    """Each runtime's medians beside crun's and the floor's, and the targets."""
    by = {rt.name: rt for rt in runtimes}
    floor = statistics.median(floor_runs) if floor_runs else None
    empty = statistics.median(empty_runs) if empty_runs else None
    med = lambda rt, p: statistics.median([c[p] for c in rt.cycles]) if rt.cycles else None
    crun = by.get("crun")

    def ratio(x, base):
        return f"{x / base:.2f}" if x is not None and base else "-"

    header = ["runtime", "lifecycle ms", "x crun", "x floor", "create x crun",
              "start x crun", "delete x crun", "run ms", "run x floor", "batch ms/ctr",
              "create RSS KiB", "x crun", "min memory KiB"]
    rows = []
    for rt in runtimes:
        rss = statistics.median(rt.rss) if rt.rss else None
        crun_rss = statistics.median(crun.rss) if crun and crun.rss else None
        run = statistics.median(rt.runs) if rt.runs else None
        rows.append([
            rt.name, ms(med(rt, "total")), ratio(med(rt, "total"), crun and med(crun, "total")),
            ratio(med(rt, "total"), floor),
            *(ratio(med(rt, p), crun and med(crun, p)) for p in ("create", "start", "delete")),
            ms(run) if run else "-", ratio(run, floor),
            f"{statistics.median(rt.batches):.2f}" if rt.batches else "-",
            str(int(rss)) if rss else "-", ratio(rss, crun_rss),
            str(rt.min_memory_kib) if rt.min_memory_kib else "-",
        ])
    if floor:
        rows.append(["floor", ms(floor), "-", "1.00", "-", "-", "-", ms(floor), "1.00",
                     "-", "-", "-", "-"])
    if empty:
        rows.append(["process", ms(empty), "-", ratio(empty, floor), "-", "-", "-", "-", "-",
                     "-", "-", "-", "-"])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |"
    print()
    print("medians; lifecycle = create + start + wait + delete; run = one foreground "
          "`run`; floor = scripts/bench/floor.c; process = scripts/bench/empty.c, one "
          "process that does nothing (a lifecycle runs at least four commands)")
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))

    for name in ("hull", RO_NAME):
        if by.get(name):
            print_targets(by[name], crun, floor, has_limits, runtimes)


def print_targets(hull, crun, floor, has_limits, runtimes):
    """The issue's targets for one build of hull (as it is, or installed
    read-only)."""
    med = lambda rt, p: statistics.median([c[p] for c in rt.cycles]) if rt.cycles else None
    print()
    targets = []
    if crun and hull.cycles:
        targets.append(("lifecycle <= 0.5 x crun", med(hull, "total") <= 0.5 * med(crun, "total"),
                        f"{ms(med(hull, 'total'))} vs {ms(0.5 * med(crun, 'total'))} ms"))
    if floor and hull.runs:
        run = statistics.median(hull.runs)
        targets.append(("foreground run <= 2 x floor", run <= 2 * floor,
                        f"{ms(run)} vs {ms(2 * floor)} ms"))
    if crun and crun.rss and hull.rss:
        a, b = statistics.median(hull.rss), statistics.median(crun.rss)
        targets.append(("create peak RSS < crun's", a < b, f"{int(a)} vs {int(b)} KiB"))
    if hull.batches:
        b = statistics.median(hull.batches)
        targets.append(("50-batch create+start <= 6 ms/ctr", b <= 6, f"{b:.2f} ms"))
    if has_limits and hull.limit_cycles and hull.cycles:
        extra = statistics.median([c["total"] for c in hull.limit_cycles]) - med(hull, "total")
        targets.append(("memory+pids+cpu limit costs <= 1 ms", extra <= 0.001,
                        f"{extra * 1000:+.2f} ms"))
    if hull.min_memory_kib is not None or any(rt.min_memory_kib for rt in runtimes):
        m = hull.min_memory_kib
        targets.append(("/bin/true runs under a 256 KiB memory limit", m is not None and m <= 256,
                        f"smallest limit that ran: {m} KiB" if m else "none of the steps ran"))
    for name, met, detail in targets:
        print(f"target {'met   ' if met else 'MISSED'} {hull.name} {name}: {detail}")


def readonly_install(binary, workdir):
    """A copy of `binary` on a read-only bind mount (in this private mount
    namespace), as docs/guide.md recommends installing hull: the exe guard
    then has nothing to do (no re-exec). Returns its path."""
    d = os.path.join(workdir, "ro-bin")
    os.makedirs(d)
    shutil.copy2(binary, os.path.join(d, "hull"))
    subprocess.run(["mount", "--bind", d, d], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", d, d], check=True)
    return os.path.join(d, "hull")


def enter_cgroup2_view():
    """Re-run this script in a private mount namespace in which
    /sys/fs/cgroup is the host's cgroup2 hierarchy (or return when that is
    where it already runs)."""
    if os.environ.get("HULL_BENCH_VIEW") == "cgroup2":
        subprocess.run(["mount", "-t", "cgroup2", "cgroup2", "/sys/fs/cgroup"], check=True)
        return
    env = dict(os.environ, HULL_BENCH_VIEW="cgroup2")
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                           os.path.abspath(__file__), *sys.argv[1:]], env)


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--cycles", type=int, default=int(os.environ.get("N", "100")),
                    help="measured cycles per runtime (default: $N or 100)")
    ap.add_argument("--warmup", type=int, default=3, help="unmeasured cycles per runtime after the trial")
    ap.add_argument("--runtimes", default=os.environ.get("RUNTIMES", "hull runc crun"),
                    help="space- or comma-separated names, or NAME=PATH for any binary (default: 'hull runc crun')")
    ap.add_argument("--hull", default=os.path.join(repo, "target/x86_64-unknown-linux-musl/release/hull"))
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
    ap.add_argument("--view", choices=("host", "cgroup2"), default="host",
                    help="host: the host's cgroups as they are; cgroup2: a private mount "
                         "namespace with the host's cgroup2 on /sys/fs/cgroup (where crun "
                         "runs on a hybrid host)")
    ap.add_argument("--batches", type=int, default=3,
                    help=f"rounds of {BATCH} creates + starts per runtime (0: none)")
    ap.add_argument("--no-floor", action="store_true", help="do not build or run the kernel floor")
    ap.add_argument("--readonly-install", action="store_true",
                    help=f"also measure hull installed on a read-only mount ('{RO_NAME}'), "
                         "where its exe guard needs no re-exec (cgroup2 view only)")
    ap.add_argument("--min-memory", action="store_true",
                    help="find the smallest memory limit /bin/true runs under (host view)")
    return ap.parse_args()


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: must run as root")
    names = [x for x in args.runtimes.replace(",", " ").split() if x]
    optional = set(args.optional.replace(",", " ").split())
    if not names:
        sys.exit("bench: no runtimes given")
    if args.view == "cgroup2":
        if not args.no_limits or args.min_memory:
            sys.exit("bench: --view cgroup2 has no memory/pids/cpu controllers: "
                     "use --no-limits and no --min-memory")
        enter_cgroup2_view()

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
            make_bundle(args.bundle, os.path.join(workdir, "bundle-limits"), LIMITS)
        tag = f"{os.getpid()}"
        if args.readonly_install and "hull" in names:
            if args.view != "cgroup2":
                sys.exit("bench: --readonly-install needs --view cgroup2 (a private mount namespace)")
            names.insert(names.index("hull") + 1, f"{RO_NAME}={readonly_install(args.hull, workdir)}")
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

        floor, empty = (None, None) if args.no_floor else build_floor(workdir)
        floor_runs, empty_runs = [], []
        rootfs = bundle_rootfs(bundle)
        if floor:
            floor_run([floor, rootfs])
        for i in range(args.warmup):
            for rt in runtimes:
                cycle(rt, f"bench-{tag}-{rt.name}-w{i}", bundle, workdir, args.wait, args.timeout)
        print(f"running {args.cycles} cycles each of: {', '.join(r.name for r in runtimes)}",
              flush=True)
        for i in range(args.cycles):
            # A new order each cycle (seeded: a run can be repeated). With a
            # rotation each runtime followed mostly the same one, and two
            # entries of the very same binary differed by 0.5 ms per cycle
            # in a 40-cycle run, the one listed first the slower.
            order = list(runtimes)
            random.Random(i).shuffle(order)
            for rt in order:
                rt.cycles.append(cycle(rt, f"bench-{tag}-{rt.name}-{i}", bundle, workdir,
                                       args.wait, args.timeout))
                if limits:
                    rt.limit_cycles.append(cycle(rt, f"bench-{tag}-{rt.name}-l{i}", limits,
                                                 workdir, args.wait, args.timeout))
                rt.runs.append(foreground(rt, f"bench-{tag}-{rt.name}-r{i}", bundle))
            if floor:
                floor_runs.append(floor_run([floor, rootfs]))
                empty_runs.append(floor_run([empty]))
        for i in range(args.batches):
            for rt in runtimes:
                rt.batches.append(1000 * batch(rt, f"{tag}-{i}", bundle, workdir, args.wait,
                                               args.timeout))
        if args.min_memory:
            for rt in runtimes:
                rt.min_memory_kib = min_memory(rt, tag, args.bundle, workdir)
        # Peak RSS of create, measured in cycles of their own (untimed),
        # each binary read in by its own exec (see evict).
        for rt in runtimes:
            evict(rt.binary)
        for i in range(RSS_CYCLES):
            for rt in runtimes:
                rt.rss.append(cycle(rt, f"bench-{tag}-{rt.name}-rss{i}", bundle, workdir,
                                    args.wait, args.timeout, measure_rss=True)["maxrss_kib"])
        print_table(runtimes, args.cycles, args.wait)
        if limits:
            print_table(runtimes, args.cycles, args.wait, "limit_cycles",
                        "/bin/true with memory+pids+cpu limits")
        print_summary(runtimes, floor_runs, empty_runs, bool(limits))
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
        ro = os.path.join(workdir, "ro-bin")
        if os.path.ismount(ro):
            subprocess.run(["umount", ro], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
