#!/usr/bin/env python3
"""Run the OCI runtime-tools validation programs against one runtime.

Usage: run.py [--suite DIR] [--runtime PATH] [--out DIR] [--floor FILE]
              [--timeout S] [--retries N] [--budget S] [PROGRAM ...]

Each program (built by build.sh into SUITE/bin) runs alone, in private
mount and PID namespaces (`unshare --mount --pid --fork --mount-proc`,
this script as the namespace's init reaping orphans), from a work directory
holding runtimetest and rootfs-amd64.tar.gz (validation/util reads both
from the working directory) with TMPDIR inside it (the bundles).
RUNTIME points at a wrapper that runs the runtime with a private `--root`
and records every call, so containers a program leaves behind never reach
the runtime's real state root. When a program ends (or is killed at its
timeout) its PID namespace dies with every process in it, its mount
namespace with every mount; then the runner removes the cgroups it left
(new cgroups named after its containers or the suite's cgrouptest/testdir
paths), the state dir and the work dir, and says what it had to clean.

Prints `ok NAME` or `FAIL NAME: reason` per program and closes with
`N passed, M failed`. A failing program is run once more (--retries) and
passes when that run passes, with a note. Logs per program go to
OUT/logs: NAME.tap (stdout, the TAP stream), NAME.stderr, NAME.calls
(runtime invocations and their exit status), NAME.config.N.json (the
config of each create), NAME.try1.* (a failed first try), and
OUT/summary.txt. Exits 1 when fewer programs pass than the number in
--floor, 2 on a usage or setup error.
"""

import argparse
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_RUNTIME = os.path.join(REPO, "target/x86_64-unknown-linux-musl/release/hull")
CGROUP_ROOT = "/sys/fs/cgroup"
# one run at a time on a host: the suite's cgroup names (/cgrouptest) are
# fixed, and the cleanup removes the ones a program made
LOCK = "/run/lock/hull-oci-validation.lock"
# cgroups the suite names itself (validation/../cgroups: AbsCgroupPath
# "/cgrouptest", RelCgroupPath "testdir/cgrouptest/container")
SUITE_CGROUP_NAMES = {"cgrouptest", "testdir"}
UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


WRAPPER = """#!/bin/sh
prev=
for a in "$@"; do
	if [ "$prev" = --bundle ] && [ -f "$a/config.json" ]; then
		n=1
		while [ -e "%(configs)s.$n.json" ]; do n=$((n + 1)); done
		cp "$a/config.json" "%(configs)s.$n.json"
	fi
	prev=$a
done
'%(runtime)s' --root '%(state)s' "$@"
rc=$?
printf '%%s -> %%s\\n' "$*" "$rc" >> '%(calls)s'
exit $rc
"""


def init_main(argv):
    """PID 1 of the program's namespace: run it, reap every orphan, exit
    with its status (the kernel then kills what is left in the namespace)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    while True:
        try:
            p, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if p == pid:
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
                     else 128 + os.WTERMSIG(status))


def cgroup_dirs():
    found = set()
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        for d in dirs:
            found.add(os.path.join(top, d))
    return found


def mounts_under(path):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return out


def read(path, limit=None):
    try:
        with open(path, errors="replace") as f:
            return f.read() if limit is None else f.read(limit)
    except OSError:
        return ""


def kill_cgroup_procs(d):
    for name in ("cgroup.procs", "tasks"):
        for pid in read(os.path.join(d, name)).split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def remove_cgroups(new_dirs):
    """rmdir the given cgroups, deepest first, killing stragglers; returns
    the ones that stayed."""
    left = []
    for d in sorted(new_dirs, key=lambda p: p.count("/"), reverse=True):
        for attempt in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                kill_cgroup_procs(d)
                time.sleep(0.05)
        else:
            left.append(d)
    return left


def first_line(text, limit=200):
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[:limit] + "..."
    return ""


def detail(tap_lines, i):
    """The first stderr/error/diagnostic under result line i, if any."""
    for line in tap_lines[i + 1:]:
        if re.match(r"(not )?ok\b", line) or line.startswith("1.."):
            break
        m = re.match(r'\s+"(stderr|error)": "((?:[^"\\]|\\.)*)"', line)
        if m:
            return first_line(m.group(2).encode().decode("unicode_escape"), 160)
        if line.startswith("# "):
            return first_line(line[2:], 160)
    return ""


def stderr_reason(stderr):
    """validation/util's "failed to create the container" says little: add
    the runtime's own message, the line after it."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip() and not l.startswith("[runner]")]
    if not lines:
        return "no output"
    if lines[0].startswith("failed to ") and len(lines) > 1:
        return first_line(lines[0]) + ": " + first_line(lines[1], 200)
    return first_line(lines[0])


def judge(tap, stderr, code, timed_out, timeout):
    """(passed, reason) from a program's TAP stream and exit."""
    lines = tap.splitlines()
    results = [l for l in lines if re.match(r"(not )?ok\b", l)]
    failing = [i for i, l in enumerate(lines)
               if l.startswith("not ok") and "# TODO" not in l]
    plan = re.search(r"^1\.\.(\d+)", tap, re.M)
    if timed_out:
        return False, "timed out after %ds%s" % (
            timeout, " (" + first_line(lines[failing[0]]) + ")" if failing else "")
    if failing:
        i = failing[0]
        more = detail(lines, i)
        return False, first_line(lines[i]) + (" (%s)" % more if more else "")
    if code != 0:
        return False, "exit %d: %s" % (code, stderr_reason(stderr))
    if not tap.strip():
        # process_capabilities_fail, process_rlimits_fail: silent and exit 0
        # when the runtime refused the bad config, util.Fatal otherwise
        return True, "exit 0 without TAP output"
    if not plan:
        return False, "no TAP plan"
    if not results:
        # hooks, prestart, poststop...: no test points, and a YAML block
        # with an "error" when the requirement failed
        m = re.search(r'^\s+"error": "((?:[^"\\]|\\.)*)"', tap, re.M)
        if m:
            return False, first_line(m.group(1).encode().decode("unicode_escape"))
        if "  ---" in tap:
            return False, "a diagnostic block without test points"
        return True, "no test points, no error reported"
    if int(plan.group(1)) != len(results):
        return False, "plan %s but %d results" % (plan.group(0), len(results))
    skipped = [l for l in results if "# SKIP" in l]
    if len(skipped) == len(results):
        return True, "all skipped: " + first_line(skipped[0].split("# SKIP", 1)[1])
    return True, ""


def clean_after(work, state, calls, before):
    """Remove what a program left (its namespaces are gone with unshare, so
    no process or mount of it survives; cgroups, state and files may).
    Returns (what was cleaned, cgroups that stayed)."""
    cleaned = []
    ids = set(UUID_RE.findall(read(calls)))
    new = [d for d in cgroup_dirs() - before
           if set(os.path.relpath(d, CGROUP_ROOT).split("/")[1:]) & (ids | SUITE_CGROUP_NAMES)]
    if new:
        cleaned.append("%d cgroup(s)" % len(new))
    left = remove_cgroups(new)
    leaked = mounts_under(work)
    for mp in sorted(leaked, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
    if leaked:
        cleaned.append("%d mount(s)" % len(leaked))
    if os.listdir(state):
        cleaned.append("state: " + " ".join(sorted(os.listdir(state))))
    shutil.rmtree(work, ignore_errors=True)

    return cleaned, left


def run_one(name, args, runtime, logs, work_root):
    work = os.path.join(work_root, name)
    shutil.rmtree(work, ignore_errors=True)
    state = os.path.join(work, "state")
    tmp = os.path.join(work, "tmp")
    os.makedirs(state)
    os.makedirs(tmp)
    # not symlinks: fileutils.CopyFile copies a symlink as a symlink
    for f in ("runtimetest", "rootfs-amd64.tar.gz"):
        try:
            os.link(os.path.join(args.suite, f), os.path.join(work, f))
        except OSError:
            shutil.copy2(os.path.join(args.suite, f), os.path.join(work, f))
    calls = os.path.join(logs, name + ".calls")
    wrapper = os.path.join(work, "runtime")
    # the wrapper records each call with its exit status, and keeps the
    # config.json of each create (as NAME.config.N.json)
    with open(wrapper, "w") as f:
        f.write(WRAPPER % {"calls": calls, "runtime": runtime, "state": state,
                           "configs": os.path.join(logs, name + ".config")})
    os.chmod(wrapper, 0o755)
    open(calls, "w").close()

    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "TMPDIR": tmp,
        "RUNTIME": wrapper,
    }
    cmd = ["unshare", "--mount", "--pid", "--fork", "--mount-proc",
           "--propagation", "private", "--kill-child=SIGKILL",
           sys.executable, os.path.abspath(__file__), "--init", "--",
           os.path.join(args.suite, "bin", name)]
    before = cgroup_dirs()
    start = time.monotonic()
    timed_out = False
    with open(os.path.join(logs, name + ".tap"), "w") as out, \
            open(os.path.join(logs, name + ".stderr"), "w") as err:
        p = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=err, start_new_session=True)
        try:
            code = p.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(p.pid, signal.SIGKILL)
            code = p.wait()
        except BaseException:
            # interrupted: unshare's death kills the namespace (--kill-child)
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            clean_after(work, state, calls, before)
            raise
    elapsed = time.monotonic() - start
    cleaned, left = clean_after(work, state, calls, before)

    tap = read(os.path.join(logs, name + ".tap"))
    stderr = read(os.path.join(logs, name + ".stderr"))
    passed, reason = judge(tap, stderr, code, timed_out, args.timeout)
    with open(os.path.join(logs, name + ".stderr"), "a") as err:
        err.write("\n[runner] exit %s%s after %.1fs; cleaned: %s%s\n" % (
            code, " (timeout)" if timed_out else "", elapsed,
            ", ".join(cleaned) or "nothing",
            "; CGROUPS LEFT: " + " ".join(left) if left else ""))
    return passed, reason, elapsed, left


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--init":
        init_main(sys.argv[3:] if sys.argv[2:3] == ["--"] else sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", default=os.path.join(REPO, ".build/oci-validation/suite"))
    ap.add_argument("--runtime", default=os.environ.get("RUNTIME") or DEFAULT_RUNTIME)
    ap.add_argument("--out", help="logs and work dirs (default .build/oci-validation/runs/<runtime name>)")
    ap.add_argument("--floor", help="file with the least number of programs that must pass")
    ap.add_argument("--timeout", type=int, default=60, help="seconds per program")
    ap.add_argument("--retries", type=int, default=1,
                    help="runs more of a failing program before it counts as failed")
    ap.add_argument("--budget", type=int, default=600,
                    help="seconds for the whole run; programs not started by then fail as not run")
    ap.add_argument("programs", nargs="*")
    args = ap.parse_args()

    args.suite = os.path.abspath(args.suite)
    runtime = shutil.which(args.runtime)
    if not runtime:
        print("oci-validation: runtime %s not found" % args.runtime, file=sys.stderr)
        return 2
    runtime = os.path.abspath(runtime)
    bindir = os.path.join(args.suite, "bin")
    if not os.path.isdir(bindir):
        print("oci-validation: no suite in %s (make oci-validation-build)" % args.suite, file=sys.stderr)
        return 2
    programs = args.programs or sorted(os.listdir(bindir))
    unknown = [p for p in programs if not os.path.isfile(os.path.join(bindir, p))]
    if unknown:
        print("oci-validation: unknown program(s): " + " ".join(unknown), file=sys.stderr)
        return 2
    out = os.path.abspath(args.out or os.path.join(
        REPO, ".build/oci-validation/runs", os.path.basename(runtime)))
    logs = os.path.join(out, "logs")
    work_root = os.path.join(out, "work")
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    os.makedirs(work_root, exist_ok=True)
    version = subprocess.run([runtime, "--version"], capture_output=True, text=True).stdout
    print("oci-validation: %d programs against %s (%s), logs in %s" % (
        len(programs), runtime, first_line(version), logs), flush=True)

    lock = open(LOCK, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("oci-validation: another run holds %s; waiting" % LOCK, flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    start = time.monotonic()
    passed = failed = 0
    lines = []
    left_behind = []
    for name in programs:
        if time.monotonic() - start > args.budget:
            ok, reason, left = False, "not run: the run's budget of %ds is spent" % args.budget, []
        else:
            ok, reason, _, left = run_one(name, args, runtime, logs, work_root)
            tries = 1
            while not ok and tries <= args.retries and time.monotonic() - start <= args.budget:
                # some programs race the container (killsig signals sh before
                # its trap is set): one more try, the first one's logs kept
                # as NAME.try1.*
                for ext in ("tap", "stderr", "calls"):
                    os.replace(os.path.join(logs, "%s.%s" % (name, ext)),
                               os.path.join(logs, "%s.try%d.%s" % (name, tries, ext)))
                first = reason
                ok, reason, _, more = run_one(name, args, runtime, logs, work_root)
                left += more
                tries += 1
                if ok:
                    reason = "passed on try %d; try 1: %s" % (tries, first)
        left_behind += left
        if ok:
            passed += 1
            line = "ok %s%s" % (name, " (%s)" % reason if reason else "")
        else:
            failed += 1
            line = "FAIL %s: %s" % (name, reason)
        lines.append(line)
        print(line, flush=True)
    shutil.rmtree(work_root, ignore_errors=True)
    total = time.monotonic() - start
    closing = "%d passed, %d failed" % (passed, failed)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write("runtime: %s (%s)\n" % (runtime, first_line(version)))
        f.write("\n".join(lines) + "\n" + closing + "\n")
    status = 0
    if left_behind:
        print("oci-validation: could not remove cgroups: " + " ".join(left_behind), file=sys.stderr)
        status = 1
    if args.floor:
        floor = int(open(args.floor).read().split()[0])
        if passed < floor:
            print("oci-validation: %d passed, below the floor of %d (%s)" % (passed, floor, args.floor))
            status = 1
        elif passed > floor:
            print("oci-validation: %d passed, above the floor of %d: raise %s" % (passed, floor, args.floor))
    print("oci-validation: %.0fs" % total)
    print(closing)
    return status


if __name__ == "__main__":
    sys.exit(main())
