#!/usr/bin/env bash
# Fetch what the CRIU feasibility VM needs, into .build/vm-criu (idempotent):
#   - the Debian 12 6.1 cloud kernel (the concrete linux-image-6.1.0-N-cloud-amd64
#     that bookworm's linux-image-cloud-amd64 meta-package depends on), through
#     scripts/vm/fetch-kernel.sh with VM_KERNEL_PKG set, unpacked into
#     .build/vm-criu/kernel-6.1 (vmlinuz, config, modules, release, package);
#   - Debian 12's criu (3.17.1) and the shared libraries it needs that a
#     Debian 12 host may lack, with `apt-get download` (never installed on the
#     host), unpacked with dpkg -x into .build/vm-criu/criu-root.
# Usage: scripts/vm-criu/fetch.sh      (run as root from anywhere)
# run.py then packs criu, the libraries `ldd` names (LD_LIBRARY_PATH pointing
# into criu-root first) and the 6.1 kernel's sock_diag modules into an initramfs.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${VM_CRIU_CACHE:-$REPO/.build/vm-criu}
mkdir -p "$CACHE"

# --- kernel -------------------------------------------------------------------
resolve() {
	apt-cache depends "$1" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\..*-cloud-amd64$/ { print $2; exit }'
}
if [ ! -f "$CACHE/kernel-6.1/vmlinuz" ]; then
	pkg=${VM_CRIU_KERNEL_PKG:-$(resolve linux-image-cloud-amd64)}
	if [ -z "$pkg" ]; then
		apt-get update -qq
		pkg=$(resolve linux-image-cloud-amd64)
	fi
	[ -n "$pkg" ] || { echo "vm-criu: no linux-image-6.1.*-cloud-amd64 known to apt" >&2; exit 1; }
	VM_KERNEL_PKG=$pkg "$REPO/scripts/vm/fetch-kernel.sh" "$CACHE/kernel-6.1"
else
	echo "vm-criu: kernel $(cat "$CACHE/kernel-6.1/release") present"
fi

# --- criu and its libraries ------------------------------------------------
# criu's Depends minus python (crit is not needed) plus what libnftables pulls
# in; iproute2 and iptables (criu Recommends iproute2; it runs `ip ... save`
# and iptables-save/-restore to dump and restore a network namespace) and
# their libraries. The rest (libc, gnutls, ...) is Debian 12 base and comes
# from the host.
PKGS="criu libprotobuf-c1 libnet1 libnl-3-200 libnftables1 libbsd0 libmnl0 libnftnl11 libxtables12 libjansson4
iproute2 libbpf1 libcap2 libelf1 libtirpc3 libdb5.3 iptables libip4tc2 libip6tc2 libnetfilter-conntrack3 libnfnetlink0"
if [ ! -x "$CACHE/criu-root/usr/sbin/criu" ]; then
	rm -rf "$CACHE/debs" "$CACHE/criu-root.tmp"
	mkdir -p "$CACHE/debs" "$CACHE/criu-root.tmp"
	chmod 0777 "$CACHE/debs" # apt's download sandbox user writes here
	# shellcheck disable=SC2086
	(cd "$CACHE/debs" && apt-get download -q $PKGS) ||
		{ apt-get update -qq && (cd "$CACHE/debs" && apt-get download -q $PKGS); }
	for deb in "$CACHE"/debs/*.deb; do dpkg -x "$deb" "$CACHE/criu-root.tmp"; done
	mv "$CACHE/criu-root.tmp" "$CACHE/criu-root"
fi
libs=$CACHE/criu-root/usr/lib/x86_64-linux-gnu:$CACHE/criu-root/lib/x86_64-linux-gnu
echo "vm-criu: criu $(LD_LIBRARY_PATH=$libs "$CACHE/criu-root/usr/sbin/criu" --version |
	awk '/Version/ { print $2 }') unpacked in $CACHE/criu-root"
