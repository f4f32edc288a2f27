#!/bin/sh
# The CRI test's two images, as docker-archive tarballs (no registry):
#   scripts/cri/images.sh DIR
# DIR/bb.tar: localhost/bb:latest, the busybox rootfs (command `sh`);
# DIR/pause.tar: localhost/pause:hull, the pods' sandbox image (a shell that
# waits for TERM; "hull-pause" in its command line).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
dir=${1:?usage: images.sh DIR}
rootfs=$REPO/bundles/hello/rootfs
python3 "$REPO/scripts/engines/image.py" "$rootfs" "$dir/bb.tar"
python3 "$REPO/scripts/engines/image.py" "$rootfs" "$dir/pause.tar" localhost/pause:hull \
	sh -c 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done' hull-pause
