#!/bin/bash
# hull as a Kubernetes runtime handler, through containerd's CRI plugin:
#   scripts/cri/run.sh [--systemd] [--images DIR] CLIENT HULL [RUNTIME ...]
# A private containerd (CRI plugin on, one runtime handler per RUNTIME, named
# by its file name, each `io.containerd.runc.v2` with BinaryName = RUNTIME),
# a locally built pause image as sandbox_image, Debian's CNI plugins
# (bridge + host-local; loopback is containerd's own), then CLIENT (the CRI
# v1 client in scripts/cri/client) runs its checks once per handler.
# Runs in private mount and network namespaces with tmpfs on /run, /var/lib,
# /var/tmp and /dev/shm: containerd's fixed paths, the pods' network
# namespaces, the bridge and the CNI leases are this run's alone. Every pod
# is under one cgroup parent of this run's, removed at the end.
# --systemd: the handlers' SystemdCgroup = true and the pods in slices
#   (hullcri-RUNTIME-POD.slice); /run and /var/lib stay the host's (systemd
#   and D-Bus live there): for a throwaway VM only.
# --images DIR: DIR/bb.tar and DIR/pause.tar (scripts/cri/images.sh), for a
#   host without python3.
# Prints `ok`/`not ok`/`skip` lines and `N passed, M failed, K skipped`
# (results also to $VM_RESULTS when set).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SYSTEMD=
IMAGES=
while [ $# -gt 0 ]; do
	case $1 in
	--systemd) SYSTEMD=1; shift ;;
	--images) IMAGES=$(realpath "$2"); shift 2 ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

if [ -z "${HULL_CRI_NS:-}" ]; then
	export HULL_CRI_NS=1
	exec unshare -m -n --propagation private "$0" ${SYSTEMD:+--systemd} \
		${IMAGES:+--images "$IMAGES"} "$@"
fi
if [ -z "$SYSTEMD" ]; then
	for d in /run /var/lib /var/tmp /dev/shm; do
		mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 2
	done
	chmod 1777 /var/tmp /dev/shm
fi
{ ip link set lo up || busybox ip link set lo up; } 2>/dev/null || exit 2

CLIENT=$(realpath "$1")
shift
WORK=$(mktemp -d /tmp/hull-cri.XXXXXX)
CGROUP_PARENT=/hull-cri-$$
VM_RESULTS=${VM_RESULTS:-$WORK/results}
export VM_RESULTS
# lib.sh: the repository's, or the VM's copy.
for lib in "$HERE/../vm/lib.sh" /vm/lib.sh; do
	[ -f "$lib" ] && break
done
. "$lib"

cleanup() {
	local h
	[ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
	for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
		[ -d "$h${CGROUP_PARENT#/}" ] || continue
		find "$h${CGROUP_PARENT#/}" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	umount -R "$WORK/shared" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# The images: busybox (command `sh`) and a pause that waits for TERM.
if [ -z "$IMAGES" ]; then
	IMAGES=$WORK
	"$HERE/images.sh" "$IMAGES" || exit 2
fi

# The mount propagation checks need a shared mount on the host side (as
# Kubernetes' Bidirectional and HostToContainer volumes do).
mkdir -p "$WORK/shared" "$WORK/cni"
mount --bind "$WORK/shared" "$WORK/shared" && mount --make-shared "$WORK/shared" || exit 2

cat >"$WORK/cni/10-hull-cri.conflist" <<-CONF
{
  "cniVersion": "1.0.0",
  "name": "hull-cri",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "hullcri0",
      "isGateway": true,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.99.0.0/24" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
CONF

# The configuration docs/guide.md shows, with this run's paths.
SYSTEMD_CGROUP=false
[ -z "$SYSTEMD" ] || SYSTEMD_CGROUP=true
config=$WORK/config.toml
cat >"$config" <<-CONF
version = 2
root = "$WORK/root"
state = "$WORK/state"
[grpc]
  address = "$WORK/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:hull"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "$(basename "$1")"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$WORK/cni"
CONF
for rt in "$@"; do
	rt=$(realpath "$(command -v "$rt" || echo "$rt")")
	cat >>"$config" <<-CONF
	[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${rt##*/}]
	  runtime_type = "io.containerd.runc.v2"
	  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${rt##*/}.options]
	    BinaryName = "$rt"
	    SystemdCgroup = $SYSTEMD_CGROUP
	CONF
done

containerd --config "$config" >"$WORK/containerd.log" 2>&1 &
DAEMON=$!
if ! wait_for 300 test -S "$WORK/containerd.sock"; then
	not_ok cri-containerd-started "$(tail -5 "$WORK/containerd.log")"
	vm_done
	exit
fi
ok cri-containerd-started
for image in bb pause; do
	check "cri-import-$image" ctr -a "$WORK/containerd.sock" -n k8s.io images import "$IMAGES/$image.tar"
done

for rt in "$@"; do
	rt=$(realpath "$(command -v "$rt" || echo "$rt")")
	name=${rt##*/}
	mkdir -p "$WORK/$name"
	if [ -n "$SYSTEMD" ]; then
		parent=(--systemd --cgroup-parent "hullcri-$name")
	else
		parent=(--cgroup-parent "$CGROUP_PARENT/$name")
	fi
	while read -r status rest; do
		case $status in
		ok) ok "$rest" ;;
		not) rest=${rest#ok }; not_ok "${rest%%: *}" "${rest#*: }" ;;
		skip) skip "${rest%%: *}" "${rest#*: }" ;;
		*) echo "$status $rest" ;;
		esac
	done < <("$CLIENT" --socket "$WORK/containerd.sock" --handler "$name" "${parent[@]}" \
		--work "$WORK/$name" \
		--shared "$WORK/shared" --image localhost/bb:latest \
		--bundles "$WORK/state/io.containerd.runtime.v2.task/k8s.io" 2>&1)
	# The shim ran RUNTIME with this root: nothing of its is left.
	out=$("$rt" --root /run/containerd/runc/k8s.io list -q 2>&1)
	expect_eq "cri-$name-runtime-state-empty" "" "$out"
done
if [ "$VM_FAILED" != 0 ]; then
	echo "--- containerd log (last 30 lines)"
	tail -30 "$WORK/containerd.log"
fi
vm_done
