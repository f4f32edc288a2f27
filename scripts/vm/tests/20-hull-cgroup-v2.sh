# hull's cgroup v2 support, end to end: limits from linux.resources bite in
# the container's cgroup (cgroupsPath), devices are denied, pause/resume
# freeze, events report stats, delete kills what is left and removes the cgroup.
# The limit files are read back by the host suite's table (limit_checks);
# the other tests show the limits bite. Each test runs only when hull_has
# (lib.sh) finds the feature by trying it; until then it prints
# `skip NAME: needs hull cgroup v2 support`. Add new v2 tests here (or in
# another tests/NN-*.sh) as functions listed in TESTS; new limit checks go
# in tests/cgroups/checks.rs.
. /vm/lib.sh

TESTS="limit_checks memory_max_oom pids_max_fork_bomb cpu_max_throttling devices_denied freeze_thaw
	events_stats delete_kills_cgroup"

NEEDS="needs hull cgroup v2 support"
if hull_has resources; then has_resources=1; else has_resources=; fi
if hull_has pause; then has_pause=1; else has_pause=; fi
if hull_has events; then has_events=1; else has_events=; fi

# ct_start ID DIR: create (stdio to DIR/out, DIR/err), then start.
ct_start() {
	"$HULL" create --bundle "$2" "$1" >"$2/out" 2>"$2/err" </dev/null &&
		"$HULL" start "$1" 2>>"$2/err"
}

# ct_delete ID CGROUP NAME: delete, and the cgroup must be gone with it.
ct_delete() {
	"$HULL" delete --force "$1" >/dev/null 2>&1
	if ! is_hull; then
		# runc's one rmdir races the exit of what it just killed (EBUSY)
		# under emulation; hull waits for the cgroup to empty.
		gone() { rmdir "/sys/fs/cgroup$2" 2>/dev/null || [ ! -d "/sys/fs/cgroup$2" ]; }
		wait_for 100 gone
		skip "$3-cgroup-removed" "hull-only check: ${HULL##*/} does not wait for the cgroup to empty"
		return
	fi
	if [ -d "/sys/fs/cgroup$2" ]; then
		not_ok "$3-cgroup-removed" "/sys/fs/cgroup$2 is left after delete"
		rmdir "/sys/fs/cgroup$2" 2>/dev/null
	else
		ok "$3-cgroup-removed"
	fi
}

cg_file() {
	cat "/sys/fs/cgroup$1/$2" 2>/dev/null
}

# The limit checks of tests/cgroups/checks.rs, the host suite's table, as
# tests/vm_cgroup_v2.rs exports it (run.py --limits: /vm/limits.tsv, one
# record a line, fields split by tabs; see checks.rs `vm_table`): a
# container per check with its linux.resources, the v2 files read back,
# updates, and the cgroup gone after delete. The host requires every `ok`.
limit_checks() {
	local table=/vm/limits.tsv tab kind a b c d name= id= dir= cg= got out
	if [ ! -f "$table" ]; then
		skip hull-v2-limits "no $table: run.py --limits FILE (cargo test --test vm_cgroup_v2 exports it)"
		return
	fi
	[ -n "$has_resources" ] || { skip hull-v2-limits "$NEEDS (cgroupsPath, linux.resources)"; return; }
	tab=$(printf '\t')
	while IFS=$tab read -r kind a b c d <&3; do
		case $kind in
		check)
			name=hull-v2-limit-$a id=lim-$a-$$ dir=/tmp/lim-$a-$$ cg=/hull-vm/lim-$a-$$
			bundle "$dir" --cgroups-path "$cg" --resources "$b" -- /bin/probe sleep-forever
			if ct_start "$id" "$dir"; then
				ok "$name-create"
			else
				not_ok "$name-create" "create/start failed: $(cat "$dir/err")"
			fi
			;;
		expect)
			got=$(cg_file "$cg" "$b")
			case $c in
			is) expect_eq "$name-$a-$b" "$d" "$got" ;;
			above)
				if [ "$got" -gt "$d" ] 2>/dev/null; then
					ok "$name-$a-$b"
				else
					not_ok "$name-$a-$b" "expected more than $d, got '$got'"
				fi
				;;
			*) not_ok "$name-$a-$b" "unknown comparison '$c' in $table" ;;
			esac
			;;
		update)
			# The arguments are words without spaces: split on purpose.
			# shellcheck disable=SC2086
			check "$name-$a-update" "$HULL" update $b "$id"
			;;
		update-resources)
			printf '%s\n' "$b" >"$dir/resources.json"
			check "$name-$a-update" "$HULL" update -r "$dir/resources.json" "$id"
			;;
		update-refused)
			# shellcheck disable=SC2086
			if out=$("$HULL" update $b "$id" 2>&1); then
				not_ok "$name-$a-refused" "update $b succeeded"
			else
				ok "$name-$a-refused"
			fi
			if [ "$c" != - ]; then
				if is_hull; then
					expect_contains "$name-$a-message" "$out" "$c"
				else
					skip "$name-$a-message" "hull-only check: hull's message"
				fi
			fi
			;;
		end)
			ct_delete "$id" "$cg" "$name"
			rm -rf "$dir"
			;;
		*) not_ok hull-v2-limits "unknown record '$kind' in $table" ;;
		esac
	done 3<"$table"
}

memory_max_oom() {
	local name=hull-v2-memory-max-oom id=mem-$$ dir=/tmp/mem-$$ cg=/hull-vm/mem-$$ kills
	[ -n "$has_resources" ] || { skip "$name" "$NEEDS (cgroupsPath, linux.resources)"; return; }
	bundle "$dir" --cgroups-path "$cg" \
		--resources '{"memory":{"limit":16777216,"swap":16777216},"devices":[{"allow":false,"access":"rwm"}]}' \
		-- /usr/bin/awk 'BEGIN { s = "x"; while (1) s = s s }'
	if ! ct_start "$id" "$dir"; then
		not_ok "$name" "create/start failed: $(cat "$dir/err")"
	else
		if wait_for 300 status_is "$id" stopped; then
			kills=$(cg_field "$cg" memory.events oom_kill)
			if [ "${kills:-0}" -ge 1 ]; then
				ok "$name"
			else
				not_ok "$name" "stopped without an OOM kill: $(cg_file "$cg" memory.events | tr '\n' ' ')"
			fi
		else
			not_ok "$name" "the memory hog is still running under memory.max"
		fi
	fi
	ct_delete "$id" "$cg" "$name"
	rm -rf "$dir"
}

pids_max_fork_bomb() {
	local name=hull-v2-pids-max id=pids-$$ dir=/tmp/pids-$$ cg=/hull-vm/pids-$$ hits
	[ -n "$has_resources" ] || { skip "$name" "$NEEDS (cgroupsPath, linux.resources)"; return; }
	bundle "$dir" --cgroups-path "$cg" \
		--resources '{"pids":{"limit":8},"devices":[{"allow":false,"access":"rwm"}]}' \
		-- /bin/sh -c 'i=0; while [ $i -lt 64 ]; do sleep 60 & i=$((i + 1)); done; echo all-forked; exec sleep 60'
	if ! ct_start "$id" "$dir"; then
		not_ok "$name" "create/start failed: $(cat "$dir/err")"
	else
		if wait_for 300 grep -q '^max [1-9]' "/sys/fs/cgroup$cg/pids.events"; then
			ok "$name"
		else
			not_ok "$name" "pids.events: $(cg_file "$cg" pids.events); out: $(cat "$dir/out")"
		fi
		if grep -q all-forked "$dir/out"; then
			not_ok "$name-fork-fails" "64 forks succeeded under pids.max 8"
		else
			ok "$name-fork-fails"
		fi
	fi
	ct_delete "$id" "$cg" "$name"
	rm -rf "$dir"
}

cpu_max_throttling() {
	local name=hull-v2-cpu-max id=cpu-$$ dir=/tmp/cpu-$$ cg=/hull-vm/cpu-$$
	[ -n "$has_resources" ] || { skip "$name" "$NEEDS (cgroupsPath, linux.resources)"; return; }
	bundle "$dir" --cgroups-path "$cg" \
		--resources '{"cpu":{"quota":10000,"period":100000},"devices":[{"allow":false,"access":"rwm"}]}' \
		-- /bin/sh -c 'while :; do :; done'
	if ! ct_start "$id" "$dir"; then
		not_ok "$name" "create/start failed: $(cat "$dir/err")"
	else
		throttled() { [ "$(cg_field "$cg" cpu.stat nr_throttled)" -ge 1 ]; }
		if wait_for 200 throttled; then
			ok "$name"
		else
			not_ok "$name" "cpu.stat: $(cg_file "$cg" cpu.stat | tr '\n' ' ')"
		fi
	fi
	ct_delete "$id" "$cg" "$name"
	rm -rf "$dir"
}

# The container makes /dev/vmkmsg (c 1:11, the kernel's /dev/kmsg, which
# root may open for writing without any capability) itself: no devices rule
# allows it (a device in linux.devices or runc's default set would be), so
# the eBPF device program must refuse the open with EPERM, while /dev/null
# stays usable. mknod itself is allowed, as in runc's default rules.
devices_denied() {
	local name=hull-v2-devices-denied id=dev-$$ dir=/tmp/dev-$$ cg=/hull-vm/dev-$$ out
	[ -n "$has_resources" ] || { skip "$name" "$NEEDS (linux.resources.devices eBPF)"; return; }
	bundle "$dir" --cgroups-path "$cg" --caps "CAP_MKNOD CAP_KILL" \
		-- /bin/sh -c 'head -c1 /dev/null && echo null-ok; mknod /dev/vmkmsg c 1 11 && echo made; echo hull-vm-devices-test >/dev/vmkmsg && echo kmsg-opened; echo done'
	out=$("$HULL" run --bundle "$dir" "$id" 2>&1 </dev/null)
	expect_contains "$name-default-allowed" "$out" null-ok
	expect_contains "$name-mknod-allowed" "$out" made
	case $out in
	*kmsg-opened*) not_ok "$name" "/dev/vmkmsg (c 1:11) was opened: $out" ;;
	*"Operation not permitted"*) ok "$name" ;;
	*) not_ok "$name" "no EPERM opening /dev/vmkmsg: $out" ;;
	esac
	[ -d "/sys/fs/cgroup$cg" ] && not_ok "$name-cgroup-removed" "/sys/fs/cgroup$cg is left after run"
	rm -rf "$dir"
}

freeze_thaw() {
	local name=hull-v2-freeze-thaw id=frz-$$ dir=/tmp/frz-$$ cg=/hull-vm/frz-$$ failed=$VM_FAILED
	if [ -z "$has_resources" ] || [ -z "$has_pause" ]; then
		skip "$name" "$NEEDS (cgroupsPath, pause/resume)"
		return
	fi
	bundle "$dir" --cgroups-path "$cg" -- /bin/probe sleep-forever
	if ! ct_start "$id" "$dir"; then
		not_ok "$name" "create/start failed: $(cat "$dir/err")"
	else
		check "$name-pause" "$HULL" pause "$id"
		expect_eq "$name-state-paused" paused "$(hull_state_field "$id" status)"
		if grep -q '^frozen 1' "/sys/fs/cgroup$cg/cgroup.events"; then
			ok "$name-frozen"
		else
			not_ok "$name-frozen" "cgroup.events: $(cg_file "$cg" cgroup.events | tr '\n' ' ')"
		fi
		check "$name-resume" "$HULL" resume "$id"
		expect_eq "$name-state-running" running "$(hull_state_field "$id" status)"
		if grep -q '^frozen 0' "/sys/fs/cgroup$cg/cgroup.events"; then
			ok "$name-thawed"
		else
			not_ok "$name-thawed" "cgroup.events: $(cg_file "$cg" cgroup.events | tr '\n' ' ')"
		fi
		# The whole round trip, for the host's list of v2 tests.
		[ "$VM_FAILED" = "$failed" ] && ok "$name"
	fi
	ct_delete "$id" "$cg" "$name"
	rm -rf "$dir"
}

events_stats() {
	local name=hull-v2-events-stats id=evt-$$ dir=/tmp/evt-$$ cg=/hull-vm/evt-$$ out failed=$VM_FAILED
	if [ -z "$has_resources" ] || [ -z "$has_events" ]; then
		skip "$name" "$NEEDS (cgroupsPath, events --stats)"
		return
	fi
	bundle "$dir" --cgroups-path "$cg" \
		--resources '{"pids":{"limit":100},"devices":[{"allow":false,"access":"rwm"}]}' \
		-- /bin/probe sleep-forever
	if ! ct_start "$id" "$dir"; then
		not_ok "$name" "create/start failed: $(cat "$dir/err")"
	else
		out=$("$HULL" events --stats "$id" 2>&1)
		expect_contains "$name-type" "$out" '"type":"stats"'
		expect_contains "$name-pids-limit" "$out" '"limit":100'
		[ "$VM_FAILED" = "$failed" ] && ok "$name"
	fi
	ct_delete "$id" "$cg" "$name"
	rm -rf "$dir"
}

# Without a pid namespace of its own, processes the init leaves behind are
# found through the cgroup: delete --force must kill them all and remove it.
delete_kills_cgroup() {
	local name=hull-v2-delete-kills-cgroup id=left-$$ dir=/tmp/left-$$ cg=/hull-vm/left-$$ pids p alive
	[ -n "$has_resources" ] || { skip "$name" "$NEEDS (cgroupsPath)"; return; }
	bundle "$dir" --cgroups-path "$cg" --no-pidns \
		-- /bin/sh -c 'sleep 600 & sleep 600 & exec /bin/probe sleep-forever'
	if ! ct_start "$id" "$dir"; then
		not_ok "$name" "create/start failed: $(cat "$dir/err")"
	else
		procs_are_3() { [ "$(wc -l <"/sys/fs/cgroup$cg/cgroup.procs")" = 3 ]; }
		if wait_for 100 procs_are_3; then
			pids=$(cat "/sys/fs/cgroup$cg/cgroup.procs")
			"$HULL" delete --force "$id" >/dev/null 2>&1
			none_alive() {
				alive=
				for p in $pids; do
					# A zombie not yet reaped by init counts as gone.
					if [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
						alive="$alive $p"
					fi
				done
				[ -z "$alive" ]
			}
			# hull's delete returns once the cgroup is empty; runc's once it
			# sent SIGKILL, so its victims may still be exiting (emulated).
			if is_hull; then none_alive; else wait_for 100 none_alive; fi
			none_alive
			if [ -z "$alive" ]; then
				ok "$name"
			else
				not_ok "$name" "still alive after delete --force:$alive"
				kill -9 $alive 2>/dev/null
			fi
		else
			not_ok "$name" "cgroup.procs: $(cg_file "$cg" cgroup.procs | tr '\n' ' ')"
		fi
	fi
	ct_delete "$id" "$cg" "$name"
	rm -rf "$dir"
}

for t in $TESTS; do
	$t
done
# The parent cgroup the tests shared; hull may or may not remove it.
rmdir /sys/fs/cgroup/hull-vm 2>/dev/null

vm_done
