#!/bin/bash
# The engines with hull, and with runc to prove the checks:
#   scripts/engines/run.sh HULL [RUNTIME ...]
# Runs in a private mount namespace with tmpfs on /run, /var/lib, /var/tmp
# and /dev/shm, so the engines' fixed paths are theirs alone and nothing of
# the host's is touched; each engine's state lives under a temp dir; every
# container is under one cgroup parent of this run's, removed at the end.
# Prints `ok`/`not ok`/`skip` lines and `N passed, M failed, K skipped`.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ $# -ge 1 ] || { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

if [ -z "${HULL_ENGINES_NS:-}" ]; then
	export HULL_ENGINES_NS=1
	exec unshare -m --propagation private "$0" "$@"
fi
for d in /run /var/lib /var/tmp /dev/shm; do
	mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 2
done
chmod 1777 /var/tmp /dev/shm

WORK=$(mktemp -d /tmp/hull-engines.XXXXXX)
CGROUP_PARENT=/hull-engines-$$
VM_RESULTS=$WORK/results
export VM_RESULTS
. "$REPO/scripts/vm/lib.sh"
. "$HERE/cli.sh"
. "$HERE/podman.sh"
. "$HERE/containerd.sh"
. "$HERE/docker.sh"

IMAGE=$WORK/bb.tar
python3 "$HERE/image.py" "$REPO/bundles/hello/rootfs" "$IMAGE" || exit 2

cleanup() {
	local h
	for h in /sys/fs/cgroup/*/; do
		[ -d "$h${CGROUP_PARENT#/}" ] || continue
		find "$h${CGROUP_PARENT#/}" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

runtimes=()
for rt in "$@"; do
	runtimes+=("$(realpath "$(command -v "$rt" || echo "$rt")")")
done
# conmon writes a file named `oom` into its working directory when a
# container is OOM-killed (the memory-limit check): here, not the caller's.
cd "$WORK" || exit 2
for rt in "${runtimes[@]}"; do
	podman_checks "$rt"
	containerd_checks "$rt"
	docker_checks "$rt"
done
# The containers' cgroups are gone (conmon's own stays until the end).
left=$(ls -d /sys/fs/cgroup/*/"${CGROUP_PARENT#/}"/libpod-* 2>/dev/null)
[ -z "$left" ] && ok engines-no-container-cgroups-left || not_ok engines-no-container-cgroups-left "$left"
vm_done
