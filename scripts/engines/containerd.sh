# containerd 1.6 through ctr and its runc v2 shim, with RUNTIME as the
# shim's runc binary (sourced by run.sh, inside its private mount
# namespace): a private containerd (root, state, socket and config under
# $WORK/containerd-NAME; 1.6 also writes /run/containerd, the namespace's
# tmpfs), the CRI plugin off, every container below the run's cgroup parent.
# containerd_checks RUNTIME: result names are "ctr-NAME-CHECK".

containerd_checks() {
	local rt=$1 n=ctr-${1##*/} dir=$WORK/containerd-${1##*/} daemon pid out rc
	mkdir -p "$dir"
	cat >"$dir/config.toml" <<-CONF
	version = 2
	root = "$dir/root"
	state = "$dir/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$dir/containerd.sock"
	CONF
	containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
	daemon=$!
	if ! wait_for 300 test -S "$dir/containerd.sock"; then
		not_ok "$n-started" "$(tail -5 "$dir/containerd.log")"
		kill "$daemon" 2>/dev/null
		return
	fi
	ok "$n-started"
	c() {
		ctr -a "$dir/containerd.sock" -n hull-engines "$@"
	}
	cr() {
		local name=$1
		shift
		c run --runc-binary "$rt" --cgroup "$CGROUP_PARENT/$name" "$@"
	}
	check "$n-import" c images import "$IMAGE"

	out=$(cr r1 --rm localhost/bb:latest r1 sh -c 'echo out; echo err >&2; exit 3' 2>"$dir/err")
	rc=$?
	expect_eq "$n-run-exit-code" 3 "$rc"
	expect_eq "$n-run-stdout" out "$out"
	expect_eq "$n-run-stderr" err "$(cat "$dir/err")"
	out=$(cr r2 --rm localhost/bb:latest r2 /no/such/program 2>&1)
	expect_contains "$n-run-missing-program" "$out" "no such file or directory"
	c container rm r2 >/dev/null 2>&1

	# Detached (a log file as its stdio), exec, tty, ps, pause, kill.
	cr d1 -d --log-uri "file://$dir/d1.log" localhost/bb:latest d1 \
		sh -c 'trap "echo got-usr1; exit 7" USR1; echo started; while :; do sleep 0.1; done' >/dev/null 2>&1
	wait_for 50 grep -q started "$dir/d1.log"
	expect_contains "$n-logs" "$(cat "$dir/d1.log" 2>&1)" started
	expect_eq "$n-exec" exec-ok "$(c task exec --exec-id e1 d1 sh -c 'echo exec-ok' 2>&1)"
	out=$(script -qec "ctr -a $dir/containerd.sock -n hull-engines task exec -t --exec-id e2 d1 tty" /dev/null 2>&1)
	expect_contains "$n-exec-tty" "$out" /dev/pts/
	pid=$(c task ls 2>/dev/null | awk '$1 == "d1" { print $2 }')
	expect_contains "$n-ps" "$(c task ps d1 2>&1)" "$pid"
	check "$n-pause" c task pause d1
	expect_contains "$n-paused" "$(c task ls 2>&1 | grep '^d1 ')" PAUSED
	check "$n-resume" c task resume d1
	expect_contains "$n-resumed" "$(c task ls 2>&1 | grep '^d1 ')" RUNNING
	check "$n-kill-usr1" c task kill -s SIGUSR1 d1
	wait_for 50 sh -c "ctr -a $dir/containerd.sock -n hull-engines task ls | grep '^d1 ' | grep -q STOPPED"
	expect_contains "$n-kill-handled" "$(cat "$dir/d1.log" 2>&1)" got-usr1
	out=$(c task rm d1 2>&1)
	check "$n-rm" c container rm d1

	# Limits that bite, read-only root, the default seccomp profile.
	cr m1 --rm --memory-limit 33554432 localhost/bb:latest m1 \
		sh -c 'dd if=/dev/zero of=/dev/null bs=100M count=1' >/dev/null 2>&1
	expect_eq "$n-memory-limit-bites" 137 "$?"
	out=$(cr ro --rm --read-only localhost/bb:latest ro touch /x 2>&1)
	expect_contains "$n-read-only" "$out" "Read-only file system"
	out=$(cr sc --rm --seccomp localhost/bb:latest sc grep '^Seccomp:' /proc/self/status 2>&1)
	expect_eq "$n-seccomp" "Seccomp: 2" "$(echo "$out" | tr -s ' \t' ' ')"

	expect_eq "$n-nothing-left" "" "$(c container ls -q 2>&1)"
	kill "$daemon" 2>/dev/null
	wait "$daemon" 2>/dev/null
}
