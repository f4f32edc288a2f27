# dockerd with RUNTIME added as a named runtime (sourced by run.sh, inside
# its private mount namespace): a private daemon (data root, exec root,
# socket, pid file, daemon.json and the client's config under
# $WORK/docker-NAME; its own containerd under the private /run), no
# iptables, no bridge, every container below the run's cgroup parent.
# docker_checks RUNTIME: result names are "docker-NAME-CHECK".

docker_checks() {
	local rt=$1 n=docker-${1##*/} dir=$WORK/docker-${1##*/} daemon
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
	check "$n-load" d load -q -i "$IMAGE"
	eng() {
		d "$@"
	}
	eng_run() {
		d run --runtime under-test --network none "$@"
	}
	cli_checks "$n"
	kill "$daemon" 2>/dev/null
	wait "$daemon" 2>/dev/null
}
