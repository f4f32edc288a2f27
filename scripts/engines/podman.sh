# podman with RUNTIME as its OCI runtime (sourced by run.sh, inside its
# private mount namespace): a private instance (storage, run root, tmp dir
# and containers.conf under $WORK/podman), the cgroupfs manager with every
# container below the test's own cgroup parent, no network.
# podman_checks RUNTIME: result names are "podman-NAME-CHECK" (NAME: the
# runtime's file name).

podman_checks() {
	local rt=$1 n=podman-${1##*/} dir=$WORK/podman-${1##*/} id out rc pid pid2 cg
	mkdir -p "$dir"
	# This host lacks CAP_SYS_RESOURCE: podman's default ulimits (its own
	# hard limits) cannot be set; ask for less.
	cat >"$dir/containers.conf" <<-CONF
	[containers]
	default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
	netns = "none"
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	runtime_supports_json = ["hull", "runc", "crun"]
	CONF
	pm() {
		CONTAINERS_CONF=$dir/containers.conf podman --root "$dir/root" --runroot "$dir/runroot" \
			--tmpdir "$dir/tmp" --storage-driver vfs --runtime "$rt" "$@"
	}
	run() {
		pm run --cgroup-parent "$CGROUP_PARENT" "$@"
	}
	check "$n-load" pm load -q -i "$IMAGE"

	out=$(run --rm localhost/bb:latest sh -c 'echo out; echo err >&2; exit 3' 2>"$dir/err")
	rc=$?
	expect_eq "$n-run-exit-code" 3 "$rc"
	expect_eq "$n-run-stdout" out "$out"
	expect_eq "$n-run-stderr" err "$(cat "$dir/err")"
	out=$(run --rm localhost/bb:latest /no/such/program 2>&1)
	expect_eq "$n-run-missing-program" 127 "$?"

	# Detached, then exec, tty, top, pause, update, logs, stop, rm.
	id=$(run -d localhost/bb:latest sh -c 'echo started; exec sleep 300')
	expect_eq "$n-detached-running" running "$(pm inspect -f '{{.State.Status}}' "$id" 2>&1)"
	expect_eq "$n-exec" exec-ok "$(pm exec "$id" sh -c 'echo exec-ok' 2>&1)"
	expect_contains "$n-exec-tty" "$(pm exec -t "$id" tty 2>&1)" /dev/pts/
	expect_contains "$n-top" "$(pm top "$id" 2>&1)" "sleep 300"
	wait_for 50 sh -c "CONTAINERS_CONF=$dir/containers.conf podman --root $dir/root --runroot $dir/runroot --storage-driver vfs logs $id | grep -q started"
	expect_contains "$n-logs" "$(pm logs "$id" 2>&1)" started
	check "$n-pause" pm pause "$id"
	expect_eq "$n-paused" paused "$(pm inspect -f '{{.State.Status}}' "$id" 2>&1)"
	check "$n-unpause" pm unpause "$id"
	pid=$(pm inspect -f '{{.State.Pid}}' "$id")
	check "$n-update" pm update --memory 64m "$id"
	cg=$(sed -n 's/^[0-9]*:memory://p' "/proc/$pid/cgroup")
	expect_eq "$n-update-memory" 67108864 "$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes" 2>&1)"
	check "$n-restart" pm restart -t 0 "$id"
	pid2=$(pm inspect -f '{{.State.Pid}}' "$id")
	if [ -n "$pid2" ] && [ "$pid2" != 0 ] && [ "$pid2" != "$pid" ]; then
		ok "$n-restarted"
	else
		not_ok "$n-restarted" "pid $pid before, '$pid2' after"
	fi
	check "$n-stop" pm stop -t 0 "$id"
	check "$n-rm" pm rm "$id"

	# kill with a signal the process handles.
	id=$(run -d localhost/bb:latest sh -c 'trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done')
	wait_for 50 sh -c "CONTAINERS_CONF=$dir/containers.conf podman --root $dir/root --runroot $dir/runroot --storage-driver vfs logs $id | grep -q ready"
	check "$n-kill-usr1" pm kill -s USR1 "$id"
	expect_eq "$n-kill-exit-code" 7 "$(pm wait "$id" 2>&1)"
	expect_contains "$n-kill-handled" "$(pm logs "$id" 2>&1)" got-usr1
	pm rm -f "$id" >/dev/null 2>&1

	# Limits that bite.
	run --rm -m 32m --memory-swap 32m localhost/bb:latest \
		sh -c 'dd if=/dev/zero of=/dev/null bs=100M count=1' >/dev/null 2>&1
	expect_eq "$n-memory-limit-bites" 137 "$?"
	out=$(run --rm --pids-limit 5 localhost/bb:latest \
		sh -c 'i=0; while [ $i -lt 10 ]; do sleep 5 & i=$((i + 1)); done; echo forked' 2>&1)
	expect_contains "$n-pids-limit-bites" "$out" "can't fork"

	# Read-only root, a user, the default seccomp profile.
	out=$(run --rm --read-only localhost/bb:latest touch /x 2>&1)
	expect_contains "$n-read-only" "$out" "Read-only file system"
	expect_eq "$n-user" "1000:1000" "$(run --rm --user 1000:1000 localhost/bb:latest sh -c 'echo $(id -u):$(id -g)' 2>&1)"
	expect_eq "$n-seccomp" "Seccomp: 2" "$(run --rm localhost/bb:latest grep '^Seccomp:' /proc/self/status 2>&1 | tr -s ' \t' ' ')"

	pm rm -af -t 0 >/dev/null 2>&1
	expect_eq "$n-nothing-left" "" "$(pm ps -aq 2>&1)"
}
