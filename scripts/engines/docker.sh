# dockerd with RUNTIME added as a named runtime (sourced by run.sh, inside
# its private mount namespace): a private daemon (data root, exec root,
# socket, pid file, daemon.json and the client's config under
# $WORK/docker-NAME; its own containerd under the private /run), no
# iptables, no bridge, every container below the run's cgroup parent.
# docker_checks RUNTIME: result names are "docker-NAME-CHECK".

docker_checks() {
	local rt=$1 n=docker-${1##*/} dir=$WORK/docker-${1##*/} daemon id out rc pid pid2 cg
	mkdir -p "$dir/client"
	echo '{}' >"$dir/daemon.json"
	dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \
		-H "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" --iptables=false \
		--ip-masq=false --bridge=none --cgroup-parent "$CGROUP_PARENT" \
		--add-runtime "under-test=$rt" >"$dir/dockerd.log" 2>&1 &
	daemon=$!
	# The Debian client, never another on PATH; its config is the run's.
	d() {
		DOCKER_CONFIG=$dir/client /usr/bin/docker -H "unix://$dir/docker.sock" "$@"
	}
	if ! wait_for 600 d version; then
		not_ok "$n-started" "$(tail -5 "$dir/dockerd.log")"
		kill "$daemon" 2>/dev/null
		wait "$daemon" 2>/dev/null
		return
	fi
	ok "$n-started"
	run() {
		d run --runtime under-test --network none "$@"
	}
	check "$n-load" d load -q -i "$IMAGE"

	out=$(run --rm localhost/bb:latest sh -c 'echo out; echo err >&2; exit 3' 2>"$dir/err")
	rc=$?
	expect_eq "$n-run-exit-code" 3 "$rc"
	expect_eq "$n-run-stdout" out "$out"
	expect_eq "$n-run-stderr" err "$(cat "$dir/err")"
	run --rm localhost/bb:latest /no/such/program >/dev/null 2>&1
	expect_eq "$n-run-missing-program" 127 "$?"

	id=$(run -d localhost/bb:latest sh -c 'echo started; exec sleep 300')
	expect_eq "$n-detached-running" running "$(d inspect -f '{{.State.Status}}' "$id" 2>&1)"
	expect_eq "$n-exec" exec-ok "$(d exec "$id" sh -c 'echo exec-ok' 2>&1)"
	expect_contains "$n-exec-tty" "$(d exec -t "$id" tty 2>&1)" /dev/pts/
	expect_contains "$n-top" "$(d top "$id" 2>&1)" "sleep 300"
	expect_contains "$n-logs" "$(d logs "$id" 2>&1)" started
	check "$n-pause" d pause "$id"
	expect_eq "$n-paused" paused "$(d inspect -f '{{.State.Status}}' "$id" 2>&1)"
	check "$n-unpause" d unpause "$id"
	pid=$(d inspect -f '{{.State.Pid}}' "$id")
	check "$n-update" d update --memory 64m --memory-swap 64m "$id"
	cg=$(sed -n 's/^[0-9]*:memory://p' "/proc/$pid/cgroup")
	expect_eq "$n-update-memory" 67108864 "$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes" 2>&1)"
	check "$n-restart" d restart -t 0 "$id"
	pid2=$(d inspect -f '{{.State.Pid}}' "$id")
	if [ -n "$pid2" ] && [ "$pid2" != 0 ] && [ "$pid2" != "$pid" ]; then
		ok "$n-restarted"
	else
		not_ok "$n-restarted" "pid $pid before, '$pid2' after"
	fi
	check "$n-stop" d stop -t 0 "$id"
	check "$n-rm" d rm "$id"

	id=$(run -d localhost/bb:latest sh -c 'trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done')
	wait_for 50 sh -c "DOCKER_CONFIG=$dir/client /usr/bin/docker -H unix://$dir/docker.sock logs $id | grep -q ready"
	check "$n-kill-usr1" d kill -s USR1 "$id"
	expect_eq "$n-kill-exit-code" 7 "$(d wait "$id" 2>&1)"
	expect_contains "$n-kill-handled" "$(d logs "$id" 2>&1)" got-usr1
	d rm -f "$id" >/dev/null 2>&1

	run --rm -m 32m --memory-swap 32m localhost/bb:latest \
		sh -c 'dd if=/dev/zero of=/dev/null bs=100M count=1' >/dev/null 2>&1
	expect_eq "$n-memory-limit-bites" 137 "$?"
	out=$(run --rm --pids-limit 5 localhost/bb:latest \
		sh -c 'i=0; while [ $i -lt 10 ]; do sleep 5 & i=$((i + 1)); done; echo forked' 2>&1)
	expect_contains "$n-pids-limit-bites" "$out" "can't fork"
	out=$(run --rm --read-only localhost/bb:latest touch /x 2>&1)
	expect_contains "$n-read-only" "$out" "Read-only file system"
	expect_eq "$n-user" "1000:1000" "$(run --rm --user 1000:1000 localhost/bb:latest sh -c 'echo $(id -u):$(id -g)' 2>&1)"
	expect_eq "$n-seccomp" "Seccomp: 2" "$(run --rm localhost/bb:latest grep '^Seccomp:' /proc/self/status 2>&1 | tr -s ' \t' ' ')"

	d rm -f $(d ps -aq) >/dev/null 2>&1
	expect_eq "$n-nothing-left" "" "$(d ps -aq 2>&1)"
	kill "$daemon" 2>/dev/null
	wait "$daemon" 2>/dev/null
}
