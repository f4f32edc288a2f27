#!/usr/bin/env bash
# Fetch a stock Debian cloud kernel for the cgroup v2 VM test bed: the
# linux-image-*-cloud-amd64 package is downloaded with `apt-get download` and
# unpacked with `dpkg -x` under DEST (never installed on the host). Idempotent:
# nothing is fetched when DEST/vmlinuz is already there.
# Usage: scripts/vm/fetch-kernel.sh [DEST]   (default .build/vm/kernel)
# VM_KERNEL_PKG names the package; by default the one the newest bookworm
# meta-package (linux-image-6.12-cloud-amd64, else linux-image-cloud-amd64)
# depends on.
set -euo pipefail

dest=${1:-.build/vm/kernel}

if [ -f "$dest/vmlinuz" ] && [ -f "$dest/release" ]; then
	echo "vm-kernel: $(cat "$dest/release") present in $dest"
	exit 0
fi

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

# The concrete image package a meta-package points at, if apt knows it.
resolve() {
	apt-cache depends "$1" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }'
}

pkg=${VM_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
	for meta in linux-image-6.12-cloud-amd64 linux-image-cloud-amd64; do
		pkg=$(resolve "$meta")
		[ -n "$pkg" ] && break
	done
fi
if [ -z "$pkg" ]; then
	# apt's lists may be missing or stale: refresh once, then ask again.
	echo "vm-kernel: no cloud kernel known to apt; running apt-get update"
	$sudo apt-get update -qq
	for meta in linux-image-6.12-cloud-amd64 linux-image-cloud-amd64; do
		pkg=$(resolve "$meta")
		[ -n "$pkg" ] && break
	done
fi
if [ -z "$pkg" ]; then
	echo "vm-kernel: no linux-image-*-cloud-amd64 package found by apt-cache" >&2
	exit 1
fi

work="$dest.tmp.$$"
trap 'rm -rf "$work"' EXIT
rm -rf "$work"
mkdir -p "$work/deb" "$work/root"
# apt's download sandbox user must be able to write here.
chmod 0777 "$work/deb"
echo "vm-kernel: downloading $pkg"
if ! (cd "$work/deb" && apt-get download -q "$pkg" 2>&1); then
	echo "vm-kernel: apt-get download $pkg failed; running apt-get update and retrying"
	$sudo apt-get update -qq
	(cd "$work/deb" && apt-get download -q "$pkg")
fi
deb=$(ls "$work"/deb/*.deb)
dpkg -x "$deb" "$work/root"

vmlinuz=$(ls "$work"/root/boot/vmlinuz-* | head -n1)
release=${vmlinuz##*/vmlinuz-}
mkdir -p "$work/out"
cp "$vmlinuz" "$work/out/vmlinuz"
cp "$work/root/boot/config-$release" "$work/out/config"
# The modules tree stays as shipped: mkinitramfs picks the few .ko it needs.
mv "$work/root/lib/modules/$release" "$work/out/modules"
echo "$release" >"$work/out/release"
echo "${deb##*/}" >"$work/out/package"

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$work/out" "$dest"
echo "vm-kernel: $release unpacked into $dest"
