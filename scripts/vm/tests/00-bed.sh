# The VM bed itself: a cgroup2 root with every controller, a root hull can
# pivot away from, and limits that bite when written straight into cgroupfs
# (no hull involved), so a failing hull test later is hull's, not the bed's.
. /vm/lib.sh

fstype=$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)
expect_eq bed-cgroup2-mounted cgroup2 "$fstype"

controllers=" $(cat /sys/fs/cgroup/cgroup.controllers) "
subtree=" $(cat /sys/fs/cgroup/cgroup.subtree_control) "
for c in cpuset cpu io memory hugetlb pids rdma misc; do
	expect_contains "bed-controller-$c" "$controllers" " $c "
	expect_contains "bed-subtree-control-$c" "$subtree" " $c "
done

# switch_root left / on a tmpfs mount: pivot_root(2) works from here.
rootfs=$(awk '$2 == "/" { print $3 }' /proc/mounts | tail -n1)
expect_eq bed-root-is-tmpfs tmpfs "$rootfs"

# memory.max: a process that keeps doubling a string is OOM-killed
# (SIGKILL) and memory.events counts the kill.
cg=bed-mem-$$
if cg_make "$cg"; then
	echo 16M >"/sys/fs/cgroup/$cg/memory.max"
	echo 0 >"/sys/fs/cgroup/$cg/memory.swap.max"
	sh -c "echo \$\$ >/sys/fs/cgroup/$cg/cgroup.procs && exec awk 'BEGIN { s = \"x\"; while (1) s = s s }'" 2>/dev/null
	rc=$?
	expect_eq bed-memory-max-oom-kill-status 137 "$rc"
	kills=$(cg_field "$cg" memory.events oom_kill)
	if [ "${kills:-0}" -ge 1 ]; then
		ok bed-memory-max-oom-kill-counted
	else
		not_ok bed-memory-max-oom-kill-counted "memory.events: $(tr '\n' ' ' <"/sys/fs/cgroup/$cg/memory.events")"
	fi
	cg_remove "$cg" || not_ok bed-memory-cleanup "rmdir /sys/fs/cgroup/$cg failed"
else
	not_ok bed-memory-max "mkdir /sys/fs/cgroup/$cg failed"
fi

# pids.max: a loop forking sleepers is stopped at the limit.
cg=bed-pids-$$
if cg_make "$cg"; then
	echo 8 >"/sys/fs/cgroup/$cg/pids.max"
	sh -c "echo \$\$ >/sys/fs/cgroup/$cg/cgroup.procs && i=0 && while [ \$i -lt 32 ]; do sleep 60 & i=\$((i + 1)); done" 2>/dev/null
	rc=$?
	if [ "$rc" != 0 ]; then
		ok bed-pids-max-fork-fails
	else
		not_ok bed-pids-max-fork-fails "32 forks succeeded under pids.max 8"
	fi
	hits=$(cg_field "$cg" pids.events max)
	if [ "${hits:-0}" -ge 1 ]; then
		ok bed-pids-max-counted
	else
		not_ok bed-pids-max-counted "pids.events: $(cat "/sys/fs/cgroup/$cg/pids.events")"
	fi
	current=$(cat "/sys/fs/cgroup/$cg/pids.current")
	if [ "$current" -le 8 ]; then
		ok bed-pids-current-within-max
	else
		not_ok bed-pids-current-within-max "pids.current $current > 8"
	fi
	cg_remove "$cg" || not_ok bed-pids-cleanup "rmdir /sys/fs/cgroup/$cg failed"
else
	not_ok bed-pids-max "mkdir /sys/fs/cgroup/$cg failed"
fi

# cpu.max: a busy loop held to 10% of one CPU gets throttled.
cg=bed-cpu-$$
if cg_make "$cg"; then
	echo "10000 100000" >"/sys/fs/cgroup/$cg/cpu.max"
	sh -c "echo \$\$ >/sys/fs/cgroup/$cg/cgroup.procs && while :; do :; done" &
	throttled() { [ "$(cg_field "$cg" cpu.stat nr_throttled)" -ge 1 ]; }
	if wait_for 200 throttled; then
		ok bed-cpu-max-throttles
	else
		not_ok bed-cpu-max-throttles "cpu.stat: $(tr '\n' ' ' <"/sys/fs/cgroup/$cg/cpu.stat")"
	fi
	cg_remove "$cg" || not_ok bed-cpu-cleanup "rmdir /sys/fs/cgroup/$cg failed"
	wait
else
	not_ok bed-cpu-max "mkdir /sys/fs/cgroup/$cg failed"
fi

# cgroup.freeze: a frozen cgroup reports frozen 1, and 0 once thawed.
cg=bed-freeze-$$
if cg_make "$cg"; then
	sh -c "echo \$\$ >/sys/fs/cgroup/$cg/cgroup.procs && exec sleep 60" &
	wait_for 100 grep -q '^populated 1' "/sys/fs/cgroup/$cg/cgroup.events"
	echo 1 >"/sys/fs/cgroup/$cg/cgroup.freeze"
	if wait_for 100 grep -q '^frozen 1' "/sys/fs/cgroup/$cg/cgroup.events"; then
		ok bed-freeze
	else
		not_ok bed-freeze "cgroup.events: $(tr '\n' ' ' <"/sys/fs/cgroup/$cg/cgroup.events")"
	fi
	echo 0 >"/sys/fs/cgroup/$cg/cgroup.freeze"
	if wait_for 100 grep -q '^frozen 0' "/sys/fs/cgroup/$cg/cgroup.events"; then
		ok bed-thaw
	else
		not_ok bed-thaw "cgroup.events: $(tr '\n' ' ' <"/sys/fs/cgroup/$cg/cgroup.events")"
	fi
	cg_remove "$cg" || not_ok bed-freeze-cleanup "rmdir /sys/fs/cgroup/$cg failed"
	wait
else
	not_ok bed-freeze "mkdir /sys/fs/cgroup/$cg failed"
fi

vm_done
