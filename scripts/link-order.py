#!/usr/bin/env python3
"""Write scripts/link-order.txt: the functions hull's hot commands run, in
the order callgrind first meets them, for lld's --symbol-ordering-file
(.cargo/config.toml). Linked first and together, they share a few page-cache
folios instead of touching most of the text (docs/performance.md, change 11).

    python3 scripts/link-order.py        # after `make build rootfs`; then build again

Traces the release build itself (not stripped, see Cargo.toml: any other
build's symbols carry other hashes) under valgrind's callgrind: `state` of an unknown id, `create` (up to the
clone: valgrind cannot follow it), then `state`, `start` and `delete` of a
container created by the release build. It runs in a private mount
namespace in which the binary and valgrind's tools sit on read-only binds,
so the exe guard has no re-exec to do. Names the linker does not find are
ignored, so a stale list only links less of the hot code together.
"""
import json, os, re, shutil, subprocess, sys, tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = "x86_64-unknown-linux-musl"
OUT = os.path.join(REPO, "scripts", "link-order.txt")


def main():
    if os.environ.get("HULL_LINK_ORDER_NS") != "1":
        env = dict(os.environ, HULL_LINK_ORDER_NS="1")
        subprocess.run(["cargo", "build", "--release", "--bin", "hull"], cwd=REPO, check=True)
        os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                               os.path.abspath(__file__)], env)
    work = tempfile.mkdtemp(prefix="hull-link-order-")
    try:
        trace(work)
    finally:
        subprocess.run(["umount", os.path.join(work, "bin")], check=False)
        shutil.rmtree(work, ignore_errors=True)


def trace(work):
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    release = os.path.join(REPO, "target", TARGET, "release", "hull")
    shutil.copy2(release, bindir)
    for d in (bindir, "/usr/libexec/valgrind"):
        subprocess.run(["mount", "--bind", d, d], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", d, d], check=True)
    with open(os.path.join(REPO, "bundles", "hello", "config.json")) as f:
        config = json.load(f)
    config["root"]["path"] = os.path.join(REPO, "bundles", "hello", "rootfs")
    config["process"].update(args=["/bin/true"], terminal=False)
    # valgrind holds some descriptors back: a NOFILE limit cannot be set under it.
    config["process"].pop("rlimits", None)
    config["linux"].pop("resources", None)
    bundle = os.path.join(work, "bundle")
    os.makedirs(bundle)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f)
    root = os.path.join(work, "state")
    hull = os.path.join(bindir, "hull")
    cid = f"link-order-{os.getpid()}"
    outs = []

    def callgrind(*args):
        out = os.path.join(work, f"cg.{len(outs)}")
        outs.append(out)
        subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no",
                        f"--callgrind-out-file={out}", hull, "--root", root, *args],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)

    callgrind("state", cid)
    callgrind("create", "--bundle", bundle, cid + "-traced")
    subprocess.run([release, "--root", root, "delete", "--force", cid + "-traced"],
                   stderr=subprocess.DEVNULL, check=False)
    subprocess.run([release, "--root", root, "create", "--bundle", bundle, cid],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    try:
        callgrind("state", cid)
        callgrind("start", cid)
        callgrind("delete", "--force", cid)
    finally:
        subprocess.run([release, "--root", root, "delete", "--force", cid],
                       stderr=subprocess.DEVNULL, check=False)
    names, seen = [], set()
    for out in outs:
        with open(out) as f:
            for m in re.finditer(r"^c?fn=\(\d+\) (.+)$", f.read(), re.M):
                if m.group(1) not in seen:
                    seen.add(m.group(1))
                    names.append(m.group(1))
    with open(OUT, "w") as f:
        f.write("".join(n + "\n" for n in names))
    print(f"link-order: {len(names)} functions from {len(outs)} traces -> {OUT}")


if __name__ == "__main__":
    main()
