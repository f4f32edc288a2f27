# podman with RUNTIME as its OCI runtime (sourced by run.sh, inside its
# private mount namespace): a private instance (storage, run root, tmp dir
# and containers.conf under $WORK/podman), the cgroupfs manager with every
# container below the test's own cgroup parent, no network.
# podman_checks RUNTIME: result names are "podman-NAME-CHECK" (NAME: the
# runtime's file name).

podman_checks() {
	local rt=$1 n=podman-${1##*/} dir=$WORK/podman-${1##*/}
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
	check "$n-load" pm load -q -i "$IMAGE"
	eng() {
		pm "$@"
	}
	eng_run() {
		pm run --cgroup-parent "$CGROUP_PARENT" "$@"
	}
	cli_checks "$n"
}
