# Checkpoint and restore with CRIU (Debian 12's 3.17.1, packed by run.py;
# CRIU cannot work on the build host's newer kernel): a counter carries on
# from where it was dumped, its stdout reaches the restoring caller's pipe,
# the restored container is a container like any other (state, kill,
# delete), a pre-dump then a dump restores too, a foreground restore waits
# and exits with the container's status, and nothing is left. The same
# script runs with runc as $HULL.
. /vm/lib.sh

# criu's kernel probes use TCP repair over the loopback.
ip link set lo up

if criu check >/tmp/criu-check 2>&1; then
	ok criu-check
else
	not_ok criu-check "$(tail -n 3 /tmp/criu-check)"
	vm_done
	exit
fi

# The container's process: a counter in its /tmp (a tmpfs CRIU archives)
# and on its stdout. Its stdio are pipes, as engines give them.
counter='i=0; while :; do i=$((i+1)); echo $i >/tmp/count; echo "tick $i"; sleep 0.2; done'

# count ID: the counter, read through the init's root. `echo $i >/tmp/count`
# truncates before it writes, so a read can find the file empty (it did,
# under two VMs' load): read again, for up to a second.
count() {
	local c n=0
	while [ $n -lt 20 ]; do
		c=$(cat "/proc/$(hull_state_field "$1" pid)/root/tmp/count" 2>/dev/null)
		if [ -n "$c" ]; then
			echo "$c"
			return
		fi
		n=$((n + 1))
		sleep 0.05
	done
}

# past ID N: the counter is above N.
past() {
	local c
	c=$(count "$1")
	[ -n "$c" ] && [ "$c" -gt "$2" ]
}

# leftovers ID: the container's state dir or cgroup, if any is left.
leftovers() {
	ls -d "/run/hull/$1" "/run/runc/$1" 2>/dev/null
	find /sys/fs/cgroup -type d -name "*$1*" 2>/dev/null
}

# start_counter DIR ID OUT: a detached container whose stdout goes to OUT.
start_counter() {
	bundle "$1" -- /bin/sh -c "$counter"
	: | { "$HULL" run -d --bundle "$1" "$2" 2>&1 | cat >"$3"; } &
	BG="$BG $!"
	wait_for 100 past "$2" 2
}

# restore_counter DIR ID IMAGES OUT: restore, detached, stdout to OUT;
# succeeds when restore exited 0 and the container runs.
restore_counter() {
	rm -f "$4.rc"
	: | { "$HULL" restore -d --bundle "$1" --image-path "$3" "$2" 2>&1; echo $? >"$4.rc"; } | cat >"$4" &
	BG="$BG $!"
	wait_for 300 test -s "$4.rc" && [ "$(cat "$4.rc")" = 0 ] && status_is "$2" running
}

# stop ID NAME: kill and delete, and check nothing is left.
stop() {
	"$HULL" kill "$1" KILL >/dev/null 2>&1
	wait_for 100 status_is "$1" stopped
	check "$2-delete" "$HULL" delete "$1"
	expect_eq "$2-nothing-left" "" "$(leftovers "$1")"
}

dir=/tmp/cpt-$$
id=cpt-$$
img=/tmp/img-$$
BG=
if start_counter "$dir" "$id" "/tmp/out1-$$"; then
	ok counter-runs
	check checkpoint-leave-running "$HULL" checkpoint --leave-running --image-path "$img/kept" "$id"
	expect_eq leave-running-still-running running "$(hull_state_field "$id" status)"
	now=$(count "$id")
	if wait_for 50 past "$id" "$now"; then ok leave-running-counts-on; else not_ok leave-running-counts-on "stuck at $now"; fi

	before=$(count "$id")
	if "$HULL" checkpoint --image-path "$img/full" "$id" >/tmp/cpt-err 2>&1; then
		ok checkpoint
	else
		not_ok checkpoint "$(tail -n 3 /tmp/cpt-err; tail -n 5 "$img/full/dump.log")"
	fi
	if "$HULL" state "$id" >/dev/null 2>&1; then
		not_ok checkpoint-removes-container "state still answers"
	else
		ok checkpoint-removes-container
	fi
	expect_eq checkpoint-leaves-nothing "" "$(leftovers "$id")"

	if restore_counter "$dir" "$id" "$img/full" "/tmp/out2-$$"; then
		ok restore-runs
		after=$(count "$id")
		# Dumped at >= $before: a restarted counter would be back near 1.
		if [ -n "$after" ] && [ "$after" -ge "$before" ]; then
			ok restore-carries-on
		else
			not_ok restore-carries-on "dumped at $before, restored at '$after'"
		fi
		if wait_for 50 past "$id" "$after"; then ok restored-counts-on; else not_ok restored-counts-on "stuck at $after"; fi
		# The restored process writes to the restoring caller's pipe.
		if wait_for 50 grep -q tick "/tmp/out2-$$"; then
			first=$(sed -n 's/^tick //p' "/tmp/out2-$$" | head -n 1)
			if [ "$first" -gt "$before" ]; then ok restored-stdout-reconnected; else not_ok restored-stdout-reconnected "first tick $first after dump at $before"; fi
		else
			not_ok restored-stdout-reconnected "nothing in the new pipe: $(cat "/tmp/out2-$$")"
		fi
		pid=$(hull_state_field "$id" pid)
		if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then ok restored-state-pid-alive; else not_ok restored-state-pid-alive "pid '$pid'"; fi
		stop "$id" restored
	else
		not_ok restore-runs "$(cat "/tmp/out2-$$"; tail -n 5 "$img/full/restore.log")"
		"$HULL" delete --force "$id" >/dev/null 2>&1
	fi
else
	not_ok counter-runs "$(cat "/tmp/out1-$$")"
	"$HULL" delete --force "$id" >/dev/null 2>&1
fi

# A pre-dump, then a dump of what changed since (--parent-path).
id=pre-$$
if start_counter "$dir" "$id" "/tmp/out3-$$"; then
	check pre-dump "$HULL" checkpoint --pre-dump --image-path "$img/pre" "$id"
	expect_eq pre-dump-still-running running "$(hull_state_field "$id" status)"
	before=$(count "$id")
	check dump-after-pre-dump "$HULL" checkpoint --parent-path ../pre --image-path "$img/final" "$id"
	if restore_counter "$dir" "$id" "$img/final" "/tmp/out4-$$"; then
		after=$(count "$id")
		if [ -n "$after" ] && [ "$after" -ge "$before" ]; then
			ok restore-after-pre-dump-carries-on
		else
			not_ok restore-after-pre-dump-carries-on "dumped at $before, restored at '$after'"
		fi
		stop "$id" pre-dump-restored
	else
		not_ok restore-after-pre-dump "$(cat "/tmp/out4-$$"; tail -n 5 "$img/final/restore.log")"
		"$HULL" delete --force "$id" >/dev/null 2>&1
	fi
else
	not_ok pre-dump-counter-runs "$(cat "/tmp/out3-$$")"
	"$HULL" delete --force "$id" >/dev/null 2>&1
fi

# restore in the foreground: it waits for the container, exits with its
# status (128+9 for SIGKILL) and deletes it.
id=fg-$$
out=/tmp/out6-$$
if start_counter "$dir" "$id" "/tmp/out5-$$"; then
	before=$(count "$id")
	check fg-checkpoint "$HULL" checkpoint --image-path "$img/fg" "$id"
	# The restore's pid, so that one that does not return can be ended.
	: | { "$HULL" restore --bundle "$dir" --image-path "$img/fg" "$id" 2>&1 <&0 &
		echo $! >"$out.pid"
		wait $!
		echo $? >"$out.rc"; } | cat >"$out" &
	BG="$BG $!"
	# Killed once its processes run again (the counter moves on), not
	# while CRIU may still be resuming them.
	if wait_for 300 status_is "$id" running && wait_for 100 past "$id" "$before"; then
		ok fg-restore-runs
		"$HULL" kill "$id" KILL >/dev/null 2>&1
		wait_for 300 test -s "$out.rc"
		expect_eq fg-restore-exit-status 137 "$(cat "$out.rc" 2>/dev/null)"
		expect_eq fg-restore-deletes "" "$(leftovers "$id")"
	else
		not_ok fg-restore-runs "$(cat "$out")"
	fi
	if [ ! -s "$out.rc" ]; then
		kill -9 "$(cat "$out.pid")" 2>/dev/null
		"$HULL" delete --force "$id" >/dev/null 2>&1
	fi
else
	not_ok fg-counter-runs "$(cat "/tmp/out5-$$")"
	"$HULL" delete --force "$id" >/dev/null 2>&1
fi

# The pipes' readers end with their containers; one that does not (a
# container left running) is not waited for forever.
for p in $BG; do
	wait_for 100 sh -c "! kill -0 $p" || { not_ok background-readers-end "pid $p still runs"; kill -9 "$p"; }
done
rm -rf "$dir" "$img" /tmp/out?-$$ /tmp/out?-$$.rc /tmp/out?-$$.pid /tmp/cpt-err /tmp/criu-check
vm_done
