# What hull does today, on the VM's cgroup v2 host: run, the lifecycle, and
# the container's view of its cgroup.
. /vm/lib.sh

check hull-version "$HULL" --version

# run: the container's output, its pid 1 and its hostname.
dir=/tmp/run-$$
bundle "$dir" --hostname vm-run -- /bin/sh -c 'echo hello from the vm; echo "pid=$$"; echo "host=$(hostname)"'
out=$("$HULL" run --bundle "$dir" "run-$$" 2>&1 </dev/null)
rc=$?
expect_eq hull-run-exit-status 0 "$rc"
expect_contains hull-run-echo "$out" "hello from the vm"
expect_contains hull-run-pid-1 "$out" "pid=1"
expect_contains hull-run-hostname "$out" "host=vm-run"
rm -rf "$dir"

# The probe's report: the same facts from a program, not from the shell.
dir=/tmp/probe-$$
bundle "$dir" --hostname vm-probe -- /bin/probe
out=$("$HULL" run --bundle "$dir" "probe-$$" 2>/dev/null </dev/null)
expect_contains hull-probe-pid-1 "$out" '"pid":1,'
expect_contains hull-probe-hostname "$out" '"hostname":"vm-probe"'
rm -rf "$dir"

# run's exit status is the container's.
dir=/tmp/exit-$$
bundle "$dir" -- /bin/sh -c 'exit 7'
"$HULL" run --bundle "$dir" "exit-$$" >/dev/null 2>&1 </dev/null
expect_eq hull-run-exit-code 7 "$?"
rm -rf "$dir"

# create, state, start, kill, delete.
dir=/tmp/life-$$
id=life-$$
bundle "$dir" -- /bin/probe sleep-forever
if "$HULL" create --bundle "$dir" "$id" >/dev/null 2>&1 </dev/null; then
	ok hull-create
	expect_eq hull-state-created created "$(hull_state_field "$id" status)"
	pid=$(hull_state_field "$id" pid)
	if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
		ok hull-state-pid-alive
	else
		not_ok hull-state-pid-alive "pid '$pid' from hull state is not a live process"
	fi
	check hull-start "$HULL" start "$id"
	expect_eq hull-state-running running "$(hull_state_field "$id" status)"
	check hull-kill-term "$HULL" kill "$id" TERM
	if wait_for 100 status_is "$id" stopped; then
		ok hull-state-stopped-after-kill
	else
		not_ok hull-state-stopped-after-kill "status is $(hull_state_field "$id" status)"
	fi
	check hull-delete "$HULL" delete "$id"
	if "$HULL" state "$id" >/dev/null 2>&1; then
		not_ok hull-deleted-is-gone "hull state $id still succeeds after delete"
	else
		ok hull-deleted-is-gone
	fi
	[ -d "/run/hull/$id" ] && not_ok hull-delete-removes-state "/run/hull/$id is left"
else
	not_ok hull-create "$("$HULL" create --bundle "$dir" "$id" 2>&1 </dev/null)"
	"$HULL" delete --force "$id" >/dev/null 2>&1
fi
rm -rf "$dir"

# /proc/self/cgroup: with its own cgroup namespace the container sees its
# cgroup as the root; without one it sees the same path as the host sees for
# its init (whichever cgroup hull put it in).
dir=/tmp/cgns-$$
bundle "$dir" -- /bin/cat /proc/self/cgroup
out=$("$HULL" run --bundle "$dir" "cgns-$$" 2>/dev/null </dev/null)
expect_eq hull-cgroupns-self-cgroup "0::/" "$out"
rm -rf "$dir"

dir=/tmp/nocgns-$$
id=nocgns-$$
bundle "$dir" --no-cgroupns -- /bin/sh -c 'cat /proc/self/cgroup; exec /bin/probe sleep-forever'
if "$HULL" create --bundle "$dir" "$id" >/tmp/nocgns-$$.out 2>/tmp/nocgns-$$.err </dev/null; then
	pid=$(hull_state_field "$id" pid)
	host_view=$(cat "/proc/$pid/cgroup")
	"$HULL" start "$id"
	wait_for 100 test -s /tmp/nocgns-$$.out
	expect_eq hull-no-cgroupns-self-cgroup "$host_view" "$(cat /tmp/nocgns-$$.out)"
	expect_contains hull-no-cgroupns-is-v2 "$host_view" "0::/"
	"$HULL" delete --force "$id" >/dev/null 2>&1
else
	not_ok hull-no-cgroupns-self-cgroup "create failed: $(cat /tmp/nocgns-$$.err)"
fi
rm -rf "$dir" /tmp/nocgns-$$.out /tmp/nocgns-$$.err

# Nothing is left behind: no container in the state dir.
left=$("$HULL" list --quiet 2>&1)
expect_eq hull-nothing-left "" "$left"

vm_done
