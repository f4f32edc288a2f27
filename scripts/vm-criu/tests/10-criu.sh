#!/bin/sh
# CRIU feasibility checks, run inside the scripts/vm-criu/run.py VM (busybox
# sh as root, Debian 12 criu 3.17.1, Debian 12 6.1 cloud kernel):
#   1. criu check / criu check --all (output printed: what is missing);
#   2. "plain": dump + restore of a setsid sh counter loop, no namespaces;
#   3. "pidns": the same loop as init of a new PID + mount namespace
#      (unshare -pfm --mount-proc setsid sh -c '<loop>', util-linux unshare);
#   4. "ct": container-like: new PID + mount namespace pivot_root'ed into a
#      tmpfs rootfs at /ct (as hull does), restored with --root /ct (as runc
#      restores);
#   5. "ctnet", "ctnft": as "ct" plus a network namespace (lo up), which criu
#      dumps, with the default (iptables) and the nftables network lock;
#   6. "ctbind": as "ct" but the root is a directory bind-mounted onto itself
#      with a tmpfs on /tmp (hull's layout), restored with --root.
# Each prints the wall time of dump and restore (from /proc/uptime) and checks
# that the counter the loop writes carries on after the restore (read through
# /proc/PID/root of the restored root task, from criu's --pidfile).
. /vm/lib.sh

now() { read -r t _ </proc/uptime; echo "$t"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
val() { cat "$1" 2>/dev/null || echo none; }

echo "# kernel $(uname -r); $(criu --version | tr '\n' ' ')"
# criu's kernel probe (kerndat_tcp_repair) connects to 127.0.0.1: lo must be up.
ip link set lo up

t=$(now)
if out=$(criu check 2>&1); then
	ok "criu check ($(since "$t")s): $(echo "$out" | tail -1)"
else
	not_ok "criu check" "$out"
fi
echo "$out" | sed 's/^/# check: /'
t=$(now)
out=$(criu check --all 2>&1)
rc=$?
echo "$out" | sed 's/^/# check --all: /'
if [ $rc = 0 ]; then ok "criu check --all ($(since "$t")s)"; else
	skip "criu check --all" "exited $rc ($(since "$t")s): $(echo "$out" | grep -c Error) errors"
fi

# Images go to a tmpfs mounted after the workloads started, so that it is
# outside their mount namespaces (mounts are private here: no systemd).
# dumprestore NAME PID COUNTER [criu restore options...]
#   COUNTER: the loop's file as the root task sees it (under /proc/PID/root).
dumprestore() {
	name=$1 pid=$2 file=$3
	shift 3
	dir=/ckpt/$name
	mkdir -p "$dir"
	sleep 3
	before=$(val "/proc/$pid/root$file")
	t=$(now)
	lock=
	case " $* " in *" --network-lock nftables "*) lock="--network-lock nftables" ;; esac
	# shellcheck disable=SC2086
	if ! criu dump -t "$pid" -D "$dir" -o dump.log -v4 $lock 2>&1; then
		not_ok "$name: dump" "$(grep -E 'Error|Warn' "$dir/dump.log" | tail -8)"
		grep -B25 -m1 -E 'Error|BUG' "$dir/dump.log" | sed 's/^/# dump.log: /'
		return 1
	fi
	d=$(since "$t")
	# The dumped tree is gone (criu dump kills it by default).
	[ -d "/proc/$pid" ] && [ "$(cat /proc/$pid/stat 2>/dev/null | cut -d' ' -f3)" != Z ] &&
		not_ok "$name: dump" "task $pid still alive after dump"
	ok "$name: dump in ${d}s (counter $before before, images $(du -sk "$dir" | cut -f1) KiB)"
	echo "# $name images: $(cd "$dir" && ls | grep -v log | tr '\n' ' ')"
	sleep 2
	t=$(now)
	if ! criu restore -D "$dir" -o restore.log -v4 -d --pidfile "$dir/pid" "$@" 2>&1; then
		not_ok "$name: restore" "$(grep -E 'Error|Warn' "$dir/restore.log" | tail -8)"
		grep -B25 -m1 -E 'Error|BUG' "$dir/restore.log" | sed 's/^/# restore.log: /'
		return 1
	fi
	r=$(since "$t")
	rpid=$(cat "$dir/pid")
	at=$(val "/proc/$rpid/root$file")
	sleep 4
	after=$(val "/proc/$rpid/root$file")
	if [ "$at" != none ] && [ "$after" != none ] && [ "$after" -gt "$at" ] && [ "$at" -ge "$before" ]; then
		ok "$name: restore in ${r}s as pid $rpid, counter carries on ($before at dump, $at after restore, $after 4s later)"
	else
		not_ok "$name: restore" "counter did not move on ($before -> $at -> $after)"
		return 1
	fi
	echo "# $name restored: pid $rpid $(readlink /proc/$rpid/ns/pid) $(readlink /proc/$rpid/ns/mnt); children $(cat /proc/$rpid/task/$rpid/children)"
	kill -9 "$rpid"
}

# Each workload's root task; the namespace init is unshare's child.
child_of() { sleep 1; tr -d ' ' <"/proc/$1/task/$1/children"; }

# 2. plain
setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/plain; sleep 1; done' \
	</dev/null >/dev/null 2>&1 &
plain=$!

# Every file the dumped tree holds must be opened inside its mount namespace:
# criu finds a file's mount by mnt_id among the namespace's mounts. Hence
#  - util-linux unshare by path (busybox sh would run its own unshare applet,
#    which re-execs through /proc/self/exe: the namespace init would map
#    busybox through the outer namespace's mount, "Can't lookup mount=23");
#  - the first exec in the namespace by path (/bin/busybox), not by applet;
#  - stdio reopened inside (inherited /dev/null is the outer /dev mount).
# setsid inside: criu wants the session leader inside the pid namespace.
# 3. pidns
/usr/local/bin/unshare -pfm --mount-proc /bin/busybox setsid sh -c 'exec </dev/null >/dev/null 2>&1; i=0; while :; do i=$((i+1)); echo $i >/tmp/c; sleep 1; done' \
	</dev/null >/dev/null 2>&1 &
pidns=$(child_of $!)

# 4. ct: a tmpfs rootfs with busybox, pivot_root'ed into like a container.
# mkct DIR [UNSHARE OPTIONS]: prints the namespace init's pid. DIR is a tmpfs
# of its own, or with BIND=1 a plain directory of the VM's root that the
# namespace bind-mounts onto itself (as hull does with a bundle's rootfs),
# with a tmpfs on its /tmp (criu archives it with tar).
mkct() {
	dir=$1
	shift
	mkdir -p "$dir"
	[ -n "$BIND" ] || mount -t tmpfs -o mode=0755 ct "$dir"
	mkdir -p "$dir/bin" "$dir/proc" "$dir/tmp" "$dir/old" "$dir/dev"
	cp /bin/busybox "$dir/bin/"
	mknod -m 666 "$dir/dev/null" c 1 3
	for a in sh sleep mount umount ip; do ln -s busybox "$dir/bin/$a"; done
	/usr/local/bin/unshare -pfm "$@" /bin/busybox setsid sh -c 'mount --make-rprivate / &&
		{ [ -z "$1" ] || { mount --bind "$0" "$0" && mount -t tmpfs -o mode=1777 tmp "$0/tmp"; }; } &&
		cd "$0" && pivot_root . old &&
		cd / && mount -t proc proc /proc && umount -l /old && rmdir /old && { ip link set lo up 2>/dev/null; true; } &&
		exec /bin/sh -c "exec </dev/null >/dev/null 2>&1; i=0; while :; do i=\$((i+1)); echo \$i >/tmp/c; sleep 1; done"' "$dir" "$BIND" \
		</dev/null >/dev/null 2>&1 &
	child_of $!
}
ct=$(mkct /ct)
# 5. ctnet / ctnft: the same with a network namespace of its own (criu dumps it
# and locks its network during the dump: iptables, the default, or nftables).
ctnet=$(mkct /ctnet -n)
ctnft=$(mkct /ctnft -n)
# 6. ctbind: bind-mounted rootfs directory + tmpfs /tmp, as hull lays it out.
ctbind=$(BIND=1 mkct /bundle/rootfs)

mkdir -p /ckpt
mount -t tmpfs ckpt /ckpt
echo "# plain $plain, pidns init $pidns ($(readlink /proc/$pidns/ns/pid)), ct init $ct ($(readlink /proc/$ct/ns/pid)), ctnet $ctnet ($(readlink /proc/$ctnet/ns/net)), ctnft $ctnft; ours $(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/net)"
dumprestore plain "$plain" /tmp/plain
dumprestore pidns "$pidns" /tmp/c --root /
dumprestore ct "$ct" /tmp/c --root /ct
dumprestore ctnet "$ctnet" /tmp/c --root /ctnet
dumprestore ctnft "$ctnft" /tmp/c --root /ctnft --network-lock nftables
dumprestore ctbind "$ctbind" /tmp/c --root /bundle/rootfs
vm_done
