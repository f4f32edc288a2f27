#!/usr/bin/env bash
# The root file system of the systemd VM test bed: systemd as PID 1 on a pure
# cgroup v2 hierarchy, with dbus (and the user bus), podman, containerd + ctr,
# Docker, runc and crun from Debian 12's packages.
#
#   scripts/vm-systemd/build-image.sh [--cache DIR] [--kernel DIR]
#
# prints the image's path on stdout (progress goes to stderr). Defaults:
# --cache .build/vm-systemd, --kernel .build/vm/kernel (`make vm-kernel`),
# both under the repository this script is in.
#
# debootstrap --variant=minbase (the .debs are kept in CACHE/debs) into a
# staging tree, trimmed (no docs, man pages, locales, apt lists/caches) and
# configured for the bed (no getty, no timers, volatile journal, the test
# unit, the kernel's modules + depmod), then packed with `mkfs.ext4 -d` (no
# mount, no loop device) into CACHE/rootfs-KEY.img, a sparse raw image that
# boot.py attaches as virtio-blk with snapshot=on, so it is never written.
# KEY hashes this script, the suite, the package list, the free space and the
# kernel release: a run with the same inputs reuses the image, a changed
# input rebuilds it and removes the old one.
#
# The mirror is the first one /etc/apt names for the suite (deb822 .sources
# or sources.list), else deb.debian.org; VM_MIRROR overrides it. It is not
# part of KEY: it is where the packages come from, not what they are.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${VM_SYSTEMD_CACHE:-$REPO/.build/vm-systemd}
KERNEL=${VM_KERNEL:-$REPO/.build/vm/kernel}
SUITE=${VM_SUITE:-bookworm}
# netavark: golang-github-containers-common depends on the virtual
# container-network-stack, which debootstrap does not resolve.
PACKAGES=${VM_PACKAGES:-systemd,systemd-sysv,dbus,dbus-user-session,podman,containerd,docker.io,netavark,containernetworking-plugins,crun,kmod,busybox-static}
# Free space left in the image for container storage (writes go to qemu's
# snapshot overlay, never to the image).
FREE_MB=${VM_FREE_MB:-768}

log() { echo "build-image: $*" >&2; }
die() {
	log "$*"
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=$2; shift 2 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option: $1" ;;
	esac
done
# Absolute from here on: debootstrap refuses a relative --cache-dir.
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
case $KERNEL in /*) ;; *) KERNEL=$PWD/$KERNEL ;; esac

# The first mirror apt is configured with for $SUITE (not -security/-updates).
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822: stanzas of URIs/Suites/Types fields, blank-line separated.
		awk -v suite="$SUITE" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uri != "") { print uri; found = 1; exit }
				types = suites = uri = ""
			}
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:" { $1 = ""; types = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			tolower($1) == "uris:" { uri = $2 }
			END { if (!found) flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [options] URI SUITE COMPONENTS...
		sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
	done
}
MIRROR=${VM_MIRROR:-$(apt_mirror | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap chroots)"
[ -f "$KERNEL/vmlinuz" ] || die "no kernel in $KERNEL: fetch it with \`make vm-kernel\`"
command -v debootstrap >/dev/null || die "debootstrap not found: \`make vm-deps\` installs it"
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 not found: \`make vm-deps\` installs e2fsprogs"
release=$(cat "$KERNEL/release")

key=$( { cat "$0"; echo "$SUITE $PACKAGES $release $FREE_MB"; } | sha256sum | cut -c1-16)
img=$CACHE/rootfs-$key.img
mkdir -p "$CACHE/debs"

if [ -f "$img" ]; then
	log "image $img (cached)"
	echo "$img"
	exit 0
fi

started=$SECONDS
stage=$CACHE/stage.$$
trap 'rm -rf "$stage" "$img.tmp"' EXIT
rm -rf "$stage"
log "debootstrap $SUITE from $MIRROR ($PACKAGES)"
if ! debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$PACKAGES" \
	"$SUITE" "$stage" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
	tail -20 "$CACHE/debootstrap.log" >&2
	[ -f "$stage/debootstrap/debootstrap.log" ] && tail -20 "$stage/debootstrap/debootstrap.log" >&2
	die "debootstrap failed (log: $CACHE/debootstrap.log)"
fi
log "debootstrap took $((SECONDS - started))s, $(du -sm "$stage" | cut -f1) MiB"
r=$stage

# --- trim --------------------------------------------------------------------
cat >"$r/etc/dpkg/dpkg.cfg.d/01-hull-vm-nodoc" <<'CFG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
	"$r"/usr/share/locale/* "$r"/usr/share/lintian/* \
	"$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin \
	"$r"/var/lib/apt/lists/* "$r"/var/log/* "$r"/var/cache/debconf/*-old \
	"$r"/var/lib/dpkg/*-old "$r"/debootstrap
# containerd 1.6's legacy v1 shims (17 MiB): io.containerd.runc.v2 is the default.
rm -f "$r"/usr/bin/containerd-shim "$r"/usr/bin/containerd-shim-runc-v1

# --- kernel modules (overlay for podman/containerd storage, veth, ...) -------
mkdir -p "$r/usr/lib/modules"
cp -a "$KERNEL/modules" "$r/usr/lib/modules/$release"
chroot "$r" depmod "$release"
echo overlay >"$r/etc/modules-load.d/hull-vm.conf"

# --- system configuration ----------------------------------------------------
echo hull-systemd-vm >"$r/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 hull-systemd-vm\n::1 localhost\n' >"$r/etc/hosts"
# The root is mounted (rw) by the boot shim; no other file system. An fstab
# line naming /dev/vda would wait for a device unit that never comes (no
# udev in the image).
echo "# root is mounted by the boot shim (/dev/vda, ext4, rw)" >"$r/etc/fstab"
mkdir -p "$r/etc/systemd/journald.conf.d" "$r/etc/systemd/system.conf.d"
printf '[Journal]\nStorage=volatile\nForwardToConsole=no\n' \
	>"$r/etc/systemd/journald.conf.d/hull-vm.conf"
# Under TCG everything is slow: do not give up on units after 90s.
printf '[Manager]\nDefaultTimeoutStartSec=300s\nDefaultTimeoutStopSec=30s\n' \
	>"$r/etc/systemd/system.conf.d/hull-vm.conf"
ln -sf /usr/lib/systemd/system/multi-user.target "$r/etc/systemd/system/default.target"
# Nothing logs in, nothing runs on a schedule, no API service at boot.
rm -f "$r"/etc/systemd/system/default.target.wants/podman*.service \
	"$r"/etc/systemd/system/getty.target.wants/* \
	"$r"/etc/systemd/system/timers.target.wants/* \
	"$r"/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service
for unit in getty.target serial-getty@ttyS0.service getty@tty1.service \
	console-getty.service systemd-pstore.service; do
	ln -sf /dev/null "$r/etc/systemd/system/$unit"
done
# Podman: systemd cgroup manager (the default with systemd; made explicit),
# no network stack at all by default.
mkdir -p "$r/etc/containers/containers.conf.d"
printf '[containers]\nnetns = "none"\n[engine]\ncgroup_manager = "systemd"\n[network]\nnetwork_backend = "netavark"\n' \
	>"$r/etc/containers/containers.conf.d/hull-vm.conf"
# Docker: started by the test that uses it (not at boot: it is slow under
# emulation), no network setup, the systemd cgroup driver, hull as a runtime.
rm -f "$r"/etc/systemd/system/multi-user.target.wants/docker.service \
	"$r"/etc/systemd/system/sockets.target.wants/docker.socket
mkdir -p "$r/etc/docker"
printf '{"iptables": false, "ip-masq": false, "bridge": "none", "exec-opts": ["native.cgroupdriver=systemd"], "runtimes": {"hull": {"path": "/vm/hull"}}}\n' \
	>"$r/etc/docker/daemon.json"
# containers-common's CNI bridge config: podman warns about its missing
# plugins on every call (netavark is the backend; no network anyway).
rm -f "$r/etc/cni/net.d/87-podman-bridge.conflist"

# --- the test unit: runs /vm/run-tests.sh once the boot is done --------------
mkdir -p "$r/vm/tests"
cat >"$r/etc/systemd/system/hull-vm-test.service" <<'UNIT'
[Unit]
Description=hull VM tests
After=multi-user.target
# The boot shim copies the tests into /vm; nothing to do without them.
ConditionPathExists=/vm/run-tests.sh

[Service]
# simple, not oneshot: the start job ends at exec, so the boot transaction
# completes and `systemctl is-system-running --wait` can say "running".
Type=simple
ExecStart=/vm/run-tests.sh
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no
Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/hull-vm-test.service \
	"$r/etc/systemd/system/multi-user.target.wants/hull-vm-test.service"

# A tiny container root (busybox) for podman/ctr images, no registry needed.
mkdir -p "$r/opt/bb-rootfs/bin" "$r/opt/bb-rootfs/proc" "$r/opt/bb-rootfs/sys" \
	"$r/opt/bb-rootfs/dev" "$r/opt/bb-rootfs/tmp" "$r/opt/bb-rootfs/etc"
cp "$r/usr/bin/busybox" "$r/opt/bb-rootfs/bin/busybox"
for a in sh cat sleep true echo ls grep head; do ln -s busybox "$r/opt/bb-rootfs/bin/$a"; done

# /usr changed after dpkg ran: without these stamps the first boot runs
# ldconfig.service, systemd-sysusers etc. (ConditionNeedsUpdate).
touch "$r/etc/.updated" "$r/var/.updated"

# Older images (other keys) and leftovers of earlier layouts go.
rm -rf "$CACHE"/rootfs-* "$CACHE"/shim-*
size_mb=$(($(du -sm "$r" | cut -f1) * 13 / 10 + FREE_MB))
t1=$SECONDS
mkfs.ext4 -q -F -L hull-root -d "$r" -E root_owner=0:0 "$img.tmp" "${size_mb}M" >/dev/null
log "mkfs.ext4 -d took $((SECONDS - t1))s"
mv "$img.tmp" "$img"
log "image $img built in $((SECONDS - started))s: tree $(du -sm "$r" | cut -f1) MiB," \
	"image $size_mb MiB apparent, $(du -m "$img" | cut -f1) MiB on disk"
echo "$img"
