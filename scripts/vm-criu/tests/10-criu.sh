#!/bin/sh
# CRIU feasibility checks, run inside the scripts/vm-criu/run.py VM (busybox
# sh as root, Debian 12 criu 3.17.1, Debian 12 6.1 cloud kernel):
#   1. criu check / criu check --all (output printed: what is missing);
#   2. dump + restore of a plain process tree (setsid sh loop, no namespaces);
#   3. dump + restore of a tree in a new PID + mount namespace
#      (setsid unshare -pfm --mount-proc sh -c '<counter loop>'),
# each with the wall time of dump and restore (from /proc/uptime) and a check
# that the counter the loop writes to a file carries on after the restore.
. /vm/lib.sh

now() { read -r t _ </proc/uptime; echo "$t"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
val() { cat "$1" 2>/dev/null || echo none; }

echo "# kernel $(uname -r); $(criu --version | tr '\n' ' ')"
# criu's kernel probe (kerndat_tcp_repair) connects to 127.0.0.1: lo must be up.
ip link set lo up

t=$(now)
if out=$(criu check 2>&1); then
	ok "criu check ($(since "$t")s): $out"
else
	not_ok "criu check" "$out"
fi
t=$(now)
out=$(criu check --all 2>&1)
rc=$?
echo "$out" | sed 's/^/# check --all: /'
if [ $rc = 0 ]; then ok "criu check --all ($(since "$t")s)"; else
	skip "criu check --all" "exited $rc ($(since "$t")s): $(echo "$out" | grep -ci warn) warnings, $(echo "$out" | grep -ci error) errors"
fi

# Images go to a tmpfs mounted after the workload started, so that it is
# outside the dumped mount namespace (mounts are private here: no systemd).
# dumprestore NAME COUNTERFILE PID [criu dump options...]
dumprestore() {
	name=$1 file=$2 pid=$3
	shift 3
	dir=/ckpt/$name
	mkdir -p "$dir"
	sleep 3
	before=$(val "$file")
	t=$(now)
	if ! criu dump -t "$pid" -D "$dir" -o dump.log -v4 "$@" 2>&1; then
		not_ok "$name: dump" "$(tail -15 "$dir/dump.log")"
		return 1
	fi
	d=$(since "$t")
	at_dump=$(val "$file")
	sleep 3
	if [ "$(val "$file")" != "$at_dump" ]; then
		not_ok "$name: dump" "counter still moving after the dump ($at_dump -> $(val "$file"))"
		return 1
	fi
	ok "$name: dump in ${d}s (counter $before before, $at_dump at dump, images $(du -sk "$dir" | cut -f1) KiB)"
	t=$(now)
	if ! criu restore -D "$dir" -o restore.log -v4 -d "$@" 2>&1; then
		not_ok "$name: restore" "$(tail -15 "$dir/restore.log")"
		return 1
	fi
	r=$(since "$t")
	sleep 4
	after=$(val "$file")
	if [ "$after" != none ] && [ "$after" -gt "$at_dump" ]; then
		ok "$name: restore in ${r}s, counter carries on ($at_dump -> $after)"
	else
		not_ok "$name: restore" "counter did not move on ($at_dump -> $after)"
		return 1
	fi
	echo "# $name restored tree: $(ps -o pid,ppid,args | grep -v grep | grep "$file")"
}

mkdir -p /ckpt
mount -t tmpfs ckpt /ckpt

# 2. A plain tree: setsid sh with a sleep child, stdio on /dev/null.
setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/plain; sleep 1; done' \
	</dev/null >/dev/null 2>&1 &
plain=$!
dumprestore plain /tmp/plain "$plain"

# 3. A new PID + mount namespace; the dumped root is the namespace's init.
setsid unshare -pfm --mount-proc sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/c; sleep 1; done' \
	</dev/null >/dev/null 2>&1 &
outer=$!
sleep 1
inner=$(cat /proc/$outer/task/$outer/children 2>/dev/null | tr -d ' ')
echo "# pidns tree: unshare $outer, namespace init $inner ($(readlink /proc/$inner/ns/pid) vs $(readlink /proc/self/ns/pid))"
if [ -n "$inner" ]; then
	dumprestore pidns /tmp/c "$inner"
else
	not_ok "pidns" "no child of unshare $outer"
fi
ls -la /ckpt/pidns 2>/dev/null | head -40 | sed 's/^/# /'
grep -E -B3 'Error|Warn' /ckpt/*/dump.log /ckpt/*/restore.log 2>/dev/null | head -40 | sed 's/^/# /'
vm_done
