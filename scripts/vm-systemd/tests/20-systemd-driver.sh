#!/bin/sh
# The systemd cgroup driver (--systemd-cgroup) on a systemd host, every
# command, run for hull and then, unchanged, for runc (Debian's, installed
# with containerd) to prove the checks right. Result names start with the
# runtime's name ("hull-sd-…", "runc-sd-…"); the few checks of hull's own
# behaviour are skipped for runc.
. /vm/lib.sh

mem=67108864
RUNTIMES="$HULL /usr/sbin/runc"

# unit_prop UNIT PROPERTY: the property as `systemctl show` prints it.
unit_prop() {
	systemctl show -p "$2" --value "$1" 2>&1
}

# unit_gone NAME UNIT CGROUP: systemd no longer knows UNIT, its cgroup is gone.
unit_gone() {
	local state
	state=$(systemctl show -p LoadState --value "$2" 2>&1)
	if [ "$state" = loaded ]; then
		not_ok "$1-no-unit" "$2 is left: $(systemctl show -p ActiveState,SubState,Result "$2" 2>&1)"
		systemctl stop "$2" >/dev/null 2>&1
		systemctl reset-failed "$2" >/dev/null 2>&1
	else
		ok "$1-no-unit"
	fi
	if [ -d "/sys/fs/cgroup$3" ]; then
		not_ok "$1-no-cgroup" "/sys/fs/cgroup$3 is left"
	else
		ok "$1-no-cgroup"
	fi
}

# sd_create RT DIR ID: create with --systemd-cgroup; its output is in $out.
# (Into a file: the container's init keeps a pipe's write end open.)
sd_create() {
	"$1" --systemd-cgroup create --bundle "$2" "$3" >/tmp/sd.out 2>&1 </dev/null
	local rc=$?
	out=$(cat /tmp/sd.out)
	return $rc
}

# state_field RT ID FIELD: a string or number field of `RT state ID`.
state_field() {
	"$1" state "$2" 2>/dev/null |
		sed -n "s/^ *\"$3\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n1
}

# add_annotation DIR KEY VALUE: an annotation in DIR/config.json.
add_annotation() {
	sed -i "1s|^{|{\"annotations\": {\"$2\": \"$3\"},|" "$1/config.json"
}

# lifecycle RT: create with limits, the unit and its cgroup, exec, update,
# pause/resume, ps, kill, delete.
lifecycle() {
	local rt=$1 p=${1##*/}-sd id dir unit cg pid out
	id=life-$$
	dir=/tmp/$p-$id
	unit=$p-$id.scope
	cg=/system.slice/$unit
	bundle "$dir" --cgroups-path "system.slice:$p:$id" \
		--resources "{\"memory\":{\"limit\":$mem},\"pids\":{\"limit\":32},\"cpu\":{\"quota\":50000,\"period\":100000}}" \
		-- /bin/sleep 300
	add_annotation "$dir" org.systemd.property.TimeoutStopUSec "uint64 15000000"
	if ! sd_create "$rt" "$dir" "$id"; then
		not_ok "$p-create" "$out"
		rm -rf "$dir"
		return
	fi
	ok "$p-create"
	pid=$(state_field "$rt" "$id" pid)
	expect_eq "$p-unit-active" active "$(unit_prop "$unit" ActiveState)"
	expect_eq "$p-unit-delegate" yes "$(unit_prop "$unit" Delegate)"
	expect_eq "$p-unit-slice" system.slice "$(unit_prop "$unit" Slice)"
	expect_eq "$p-unit-memory-max" "$mem" "$(unit_prop "$unit" MemoryMax)"
	expect_eq "$p-unit-tasks-max" 32 "$(unit_prop "$unit" TasksMax)"
	expect_eq "$p-unit-cpu-quota" 500ms "$(unit_prop "$unit" CPUQuotaPerSecUSec)"
	expect_eq "$p-unit-annotation" 15s "$(unit_prop "$unit" TimeoutStopUSec)"
	expect_eq "$p-unit-control-group" "$cg" "$(unit_prop "$unit" ControlGroup)"
	expect_eq "$p-init-in-unit" "0::$cg" "$(cat "/proc/$pid/cgroup" 2>&1)"
	expect_eq "$p-file-memory-max" "$mem" "$(cat "/sys/fs/cgroup$cg/memory.max" 2>&1)"
	expect_eq "$p-file-pids-max" 32 "$(cat "/sys/fs/cgroup$cg/pids.max" 2>&1)"
	expect_eq "$p-file-cpu-max" "50000 100000" "$(cat "/sys/fs/cgroup$cg/cpu.max" 2>&1)"
	check "$p-start" "$rt" start "$id"

	# exec: the process joins the unit's cgroup.
	rm -f "$dir/exec.pid"
	if "$rt" exec -d --pid-file "$dir/exec.pid" "$id" /bin/sleep 300 >/tmp/sd.out 2>&1 </dev/null; then
		expect_eq "$p-exec-in-unit" "0::$cg" "$(cat "/proc/$(cat "$dir/exec.pid")/cgroup" 2>&1)"
	else
		not_ok "$p-exec-in-unit" "$(cat /tmp/sd.out)"
	fi
	out=$("$rt" exec "$id" /bin/cat /sys/fs/cgroup/memory.max 2>&1)
	expect_eq "$p-exec-sees-limit" "$mem" "$out"

	# update: the unit's properties and the files.
	check "$p-update" "$rt" update --memory 128m --pids-limit 64 "$id"
	expect_eq "$p-update-unit-memory-max" 134217728 "$(unit_prop "$unit" MemoryMax)"
	expect_eq "$p-update-unit-tasks-max" 64 "$(unit_prop "$unit" TasksMax)"
	expect_eq "$p-update-file-memory-max" 134217728 "$(cat "/sys/fs/cgroup$cg/memory.max" 2>&1)"
	expect_eq "$p-update-file-pids-max" 64 "$(cat "/sys/fs/cgroup$cg/pids.max" 2>&1)"

	# events: the stats read from the unit's cgroup (the updated pids limit).
	out=$("$rt" events --stats "$id" 2>&1)
	expect_contains "$p-events-stats" "$(echo "$out" | tr -d ' ')" '"limit":64'

	# pause/resume through the unit's cgroup.
	check "$p-pause" "$rt" pause "$id"
	expect_eq "$p-paused" paused "$(state_field "$rt" "$id" status)"
	expect_eq "$p-frozen" 1 "$(cat "/sys/fs/cgroup$cg/cgroup.freeze" 2>&1)"
	check "$p-resume" "$rt" resume "$id"
	expect_eq "$p-resumed" running "$(state_field "$rt" "$id" status)"

	out=$("$rt" ps --format json "$id" 2>&1)
	expect_contains "$p-ps" "$out" "$pid"

	# kill --all, then delete: no unit, no cgroup.
	check "$p-kill-all" "$rt" kill --all "$id" KILL
	wait_for 100 sh -c "! kill -0 $pid 2>/dev/null"
	check "$p-delete" "$rt" delete "$id"
	unit_gone "$p-delete" "$unit" "$cg"
	rm -rf "$dir"
}

# run_bites RT: a foreground run whose memory limit the kernel enforces:
# the process that allocates past it is OOM-killed (exit 137).
run_bites() {
	local rt=$1 p=${1##*/}-sd id dir rc unit
	id=oom-$$
	dir=/tmp/$p-$id
	unit=$p-$id.scope
	bundle "$dir" --cgroups-path "system.slice:$p:$id" \
		--resources "{\"memory\":{\"limit\":$mem,\"swap\":$mem}}" \
		-- /bin/sh -c 'dd if=/dev/zero of=/dev/null bs=200M count=1'
	"$rt" --systemd-cgroup run --bundle "$dir" "$id" >/tmp/$p-oom.out 2>&1 </dev/null
	rc=$?
	expect_eq "$p-memory-limit-bites" 137 "$rc"
	[ "$rc" = 137 ] || cat /tmp/$p-oom.out
	"$rt" delete --force "$id" >/dev/null 2>&1
	unit_gone "$p-run" "$unit" "/system.slice/$unit"
	rm -rf "$dir"
}

# in_unit RT NAME ID CGROUPS-PATH CGROUP UNIT: a container created with
# CGROUPS-PATH ("" for none) has its init in CGROUP, and delete leaves no UNIT.
in_unit() {
	local rt=$1 p=${1##*/}-sd name=$2 id=$3 dir=/tmp/${1##*/}-sd-$3 pid
	if [ -n "$4" ]; then
		bundle "$dir" --cgroups-path "$4" -- /bin/sleep 300
	else
		bundle "$dir" -- /bin/sleep 300
	fi
	if sd_create "$rt" "$dir" "$id"; then
		pid=$(state_field "$rt" "$id" pid)
		expect_eq "$p-$name" "0::$5" "$(cat "/proc/$pid/cgroup" 2>&1)"
		check "$p-$name-delete" "$rt" delete --force "$id"
		unit_gone "$p-$name" "$6" "$5"
	else
		not_ok "$p-$name" "$out"
	fi
	rm -rf "$dir"
}

# defaults RT: no cgroupsPath is ":RT:ID" (system.slice, the runtime's name
# as prefix); a nested slice as the parent is expanded as systemd does.
defaults() {
	local rt=$1 p=${1##*/}-sd name=${1##*/}
	in_unit "$rt" default-unit "def-$$" "" "/system.slice/$name-def-$$.scope" "$name-def-$$.scope"
	in_unit "$rt" nested-slice "nest-$$" "hullt-nest.slice:$p:nest-$$" \
		"/hullt.slice/hullt-nest.slice/$p-nest-$$.scope" "$p-nest-$$.scope"
	systemctl stop hullt-nest.slice hullt.slice >/dev/null 2>&1
}

# private_socket RT: with no system bus to reach, systemd's own socket
# (/run/systemd/private) makes the unit.
private_socket() {
	local rt=$1 p=${1##*/}-sd id dir rc
	id=priv-$$
	dir=/tmp/$p-$id
	bundle "$dir" --cgroups-path "system.slice:$p:$id" -- /bin/sh -c 'cat /proc/self/cgroup'
	env DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/no-such-bus \
		"$rt" --systemd-cgroup run --bundle "$dir" "$id" >/tmp/sd.out 2>/tmp/sd.err </dev/null
	rc=$?
	expect_eq "$p-private-socket-run" 0 "$rc"
	[ "$rc" = 0 ] || cat /tmp/sd.err
	expect_eq "$p-private-socket-cgroupns" "0::/" "$(cat /tmp/sd.out)"
	"$rt" delete --force "$id" >/dev/null 2>&1
	unit_gone "$p-private-socket" "$p-$id.scope" "/system.slice/$p-$id.scope"
	rm -rf "$dir"
}

# failed_create RT: a create that fails after the unit was started (the
# process cannot be found) leaves no unit, no cgroup and no container.
failed_create() {
	local rt=$1 p=${1##*/}-sd id dir unit
	id=fail-$$
	dir=/tmp/$p-$id
	unit=$p-$id.scope
	bundle "$dir" --cgroups-path "system.slice:$p:$id" -- /bin/no-such-program
	if sd_create "$rt" "$dir" "$id"; then
		not_ok "$p-failed-create" "create succeeded"
		"$rt" delete --force "$id" >/dev/null 2>&1
	else
		ok "$p-failed-create"
	fi
	if "$rt" state "$id" >/dev/null 2>&1; then
		not_ok "$p-failed-create-nothing-left" "$rt state $id succeeds"
		"$rt" delete --force "$id" >/dev/null 2>&1
	else
		ok "$p-failed-create-nothing-left"
	fi
	unit_gone "$p-failed-create" "$unit" "/system.slice/$unit"
	rm -rf "$dir"
}

# existing RT: a failed unit of the same name is reset and the name taken
# again; an active one is refused, left as it was, and nothing of the
# container is left. runc 1.2 does the same; Debian's runc 1.1.5 joins any
# unit that exists (and its delete then stops another's): hull only.
existing() {
	local rt=$1 p=${1##*/}-sd id dir unit out
	if ! is_hull_rt "$rt"; then
		skip "$p-existing-unit" "runc 1.1.5 joins a unit that exists; runc 1.2 resets a failed one and retries once, as hull does"
		return
	fi
	id=exist-$$
	dir=/tmp/$p-$id
	unit=$p-$id.scope
	bundle "$dir" --cgroups-path "system.slice:$p:$id" -- /bin/sleep 300
	# A scope that ran out of its RuntimeMaxSec is left failed (result timeout).
	systemd-run --quiet --scope --unit="$unit" -p RuntimeMaxSec=1 /bin/sleep 30 >/dev/null 2>&1
	if [ "$(unit_prop "$unit" ActiveState)" = failed ]; then
		ok "$p-failed-unit-made"
		if sd_create "$rt" "$dir" "$id"; then
			ok "$p-failed-unit-replaced"
			expect_eq "$p-failed-unit-active" active "$(unit_prop "$unit" ActiveState)"
			"$rt" delete --force "$id" >/dev/null 2>&1
		else
			not_ok "$p-failed-unit-replaced" "$out"
		fi
	else
		not_ok "$p-failed-unit-made" "$(systemctl show -p ActiveState,Result "$unit" 2>&1)"
	fi
	systemctl reset-failed "$unit" >/dev/null 2>&1
	unit_gone "$p-failed" "$unit" "/system.slice/$unit"

	systemd-run --quiet --scope --unit="$unit" /bin/sleep 300 >/dev/null 2>&1 &
	wait_for 100 sh -c "[ \"\$(systemctl show -p ActiveState --value $unit)\" = active ]"
	if sd_create "$rt" "$dir" "$id"; then
		not_ok "$p-active-unit-refused" "create succeeded"
		"$rt" delete --force "$id" >/dev/null 2>&1
	else
		ok "$p-active-unit-refused"
		echo "# $rt: $out"
		if is_hull_rt "$rt"; then
			expect_contains "$p-active-unit-message" "$out" "start unit \"$unit\""
		fi
	fi
	expect_eq "$p-active-unit-untouched" active "$(unit_prop "$unit" ActiveState)"
	if "$rt" state "$id" >/dev/null 2>&1; then
		not_ok "$p-active-unit-nothing-left" "$rt state $id succeeds"
		"$rt" delete --force "$id" >/dev/null 2>&1
	else
		ok "$p-active-unit-nothing-left"
	fi
	systemctl stop "$unit" >/dev/null 2>&1
	wait
	unit_gone "$p-active" "$unit" "/system.slice/$unit"
	rm -rf "$dir"
}

is_hull_rt() {
	case ${1##*/} in
	hull*) return 0 ;;
	*) return 1 ;;
	esac
}

for rt in $RUNTIMES; do
	if [ ! -x "$rt" ]; then
		not_ok "${rt##*/}-sd-installed" "$rt is missing from the image"
		continue
	fi
	lifecycle "$rt"
	run_bites "$rt"
	defaults "$rt"
	failed_create "$rt"
	private_socket "$rt"
	existing "$rt"
done

expect_contains hull-sd-features "$("$HULL" features 2>&1)" '"systemd": true'

state=$(systemctl is-system-running 2>&1)
expect_eq sd-systemd-still-running running "$state"
vm_done
