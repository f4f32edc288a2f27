#!/usr/bin/env python3
"""A docker-archive image (`docker load` / `podman load` / `ctr images
import` read it) of a root file system, with no registry:

    scripts/engines/image.py ROOTFS OUT.tar [NAME:TAG [CMD...]]

One layer (the tree, owned by 0:0), a config whose digest names it (its
command CMD, default `sh`), and manifest.json tagging it NAME:TAG (default
localhost/bb:latest)."""
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.split("\n\n")[1])
    rootfs, out = sys.argv[1], sys.argv[2]
    tag = sys.argv[3] if len(sys.argv) > 3 else "localhost/bb:latest"
    cmd = sys.argv[4:] or ["sh"]
    with tempfile.TemporaryDirectory() as tmp:
        layer = f"{tmp}/layer.tar"
        subprocess.run(["tar", "-C", rootfs, "--numeric-owner", "--owner=0", "--group=0",
                        "--sort=name", "--mtime=@0", "-cf", layer, "."], check=True)
        with open(layer, "rb") as f:
            diff_id = hashlib.sha256(f.read()).hexdigest()
        config = json.dumps({
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Cmd": cmd,
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            },
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        }, sort_keys=True).encode()
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        manifest = json.dumps([{"Config": config_name, "RepoTags": [tag],
                                "Layers": [f"{diff_id}/layer.tar"]}]).encode()
        with tarfile.open(out, "w") as t:
            for name, data in ((config_name, config), ("manifest.json", manifest)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            t.add(layer, arcname=f"{diff_id}/layer.tar")


if __name__ == "__main__":
    main()
