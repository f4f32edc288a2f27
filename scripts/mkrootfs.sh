#!/usr/bin/env bash
# Build a minimal rootfs from a static busybox: the binary, one relative
# symlink per applet (`busybox --list-full`), the usual empty mount points and
# a tiny /etc. Usage: scripts/mkrootfs.sh DEST [BUSYBOX]
# The tree is built next to DEST and renamed into place, so DEST is either
# complete or absent.
set -euo pipefail

dest=${1:?usage: mkrootfs.sh DEST [BUSYBOX]}
busybox=${2:-/bin/busybox}

if ! file -L "$busybox" | grep -Eq 'statically linked|static-pie linked'; then
	echo "mkrootfs: $busybox is not a static binary (install busybox-static)" >&2
	exit 1
fi

tmp="$dest.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,root,run,var,tmp}
chmod 1777 "$tmp/tmp"
chmod 0700 "$tmp/root"
install -m 0755 "$busybox" "$tmp/bin/busybox"

while read -r applet; do
	[ -n "$applet" ] || continue
	[ "$applet" = bin/busybox ] && continue
	# relative link back to /bin/busybox: one ../ per directory level
	case $applet in
	*/*) dir=${applet%/*} ;;
	*) dir= ;;
	esac
	up=
	rest=$dir
	while [ -n "$rest" ]; do
		up="../$up"
		case $rest in
		*/*) rest=${rest#*/} ;;
		*) rest= ;;
		esac
	done
	[ -n "$dir" ] && mkdir -p "$tmp/$dir"
	ln -sf "${up}bin/busybox" "$tmp/$applet"
done < <("$busybox" --list-full)

cat > "$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$tmp/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
nogroup:x:65534:
GROUP
: > "$tmp/etc/hosts"
: > "$tmp/etc/resolv.conf"

rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
