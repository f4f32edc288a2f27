#!/bin/sh
# hull on a systemd host (systemd pid 1, pure cgroup v2) with its cgroupfs
# driver, the default: its own cgroups beside systemd's tree, limits set
# through the files; podman running hull with --cgroup-manager cgroupfs.
# The systemd driver is 20-systemd-driver.sh's.
. /vm/lib.sh

check hull-version "$HULL" --version
mem=67108864

# hull run: a memory limit on a cgroupsPath of its own, seen from inside
# (the container's cgroup namespace makes its cgroup the root).
dir=/tmp/run-$$
cg=/hull-vmsd/run-$$
bundle "$dir" --cgroups-path "$cg" --resources "{\"memory\":{\"limit\":$mem}}" \
	-- /bin/sh -c 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup'
out=$("$HULL" run --bundle "$dir" "run-$$" 2>&1 </dev/null)
rc=$?
expect_eq hull-run-memory-exit 0 "$rc"
expect_contains hull-run-memory-max "$out" "$mem"
expect_contains hull-run-cgroupns-root "$out" "0::/"
if [ -d "/sys/fs/cgroup$cg" ]; then
	not_ok hull-run-cgroup-removed "/sys/fs/cgroup$cg is left after run"
else
	ok hull-run-cgroup-removed
fi
rm -rf "$dir"

# create: the host's view of the cgroup, beside systemd's slices.
dir=/tmp/create-$$
id=create-$$
cg=/hull-vmsd/create-$$
bundle "$dir" --cgroups-path "$cg" --resources "{\"memory\":{\"limit\":$mem},\"pids\":{\"limit\":32}}" \
	-- /bin/sleep 300
if "$HULL" create --bundle "$dir" "$id" >/tmp/create.out 2>&1 </dev/null; then
	ok hull-create-memory
	pid=$(hull_state_field "$id" pid)
	expect_eq hull-create-host-memory-max "$mem" "$(cat "/sys/fs/cgroup$cg/memory.max" 2>&1)"
	expect_eq hull-create-host-pids-max 32 "$(cat "/sys/fs/cgroup$cg/pids.max" 2>&1)"
	expect_eq hull-create-init-in-cgroup "0::$cg" "$(cat "/proc/$pid/cgroup" 2>&1)"
	check hull-create-delete "$HULL" delete --force "$id"
	if [ -d "/sys/fs/cgroup$cg" ]; then
		not_ok hull-delete-cgroup-removed "/sys/fs/cgroup$cg is left after delete"
	else
		ok hull-delete-cgroup-removed
	fi
else
	not_ok hull-create-memory "$(cat /tmp/create.out)"
fi
rmdir /sys/fs/cgroup/hull-vmsd 2>/dev/null
rm -rf "$dir"

# Whatever hull made, systemd is still content.
state=$(systemctl is-system-running 2>&1)
expect_eq hull-systemd-still-running running "$state"

# podman with hull as its OCI runtime and the cgroupfs manager, on a local
# busybox image (no registry).
if podman image exists localhost/bb:latest ||
	tar -C /opt/bb-rootfs -c . | podman import -q - localhost/bb:latest >/dev/null 2>/tmp/err; then
	ok podman-image
else
	not_ok podman-image "$(cat /tmp/err)"
fi
podman_hull() {
	podman --runtime "$HULL" --cgroup-manager cgroupfs "$@"
}
out=$(podman_hull run --rm --network=none -m 64m localhost/bb:latest cat /sys/fs/cgroup/memory.max 2>&1)
expect_eq podman-hull-memory-max "$mem" "$out"
podman_hull run --rm --network=none localhost/bb:latest sh -c 'exit 3' >/tmp/out 2>&1
rc=$?
expect_eq podman-hull-exit-code 3 "$rc"
[ "$rc" = 3 ] || cat /tmp/out
out=$(podman_hull run --rm --network=none localhost/bb:latest cat /proc/self/cgroup 2>&1)
expect_eq podman-hull-cgroupns "0::/" "$out"
id=$(podman_hull run -d --network=none -m 64m localhost/bb:latest sleep 300 2>&1)
cgpath=$(podman inspect --format '{{.State.CgroupPath}}' "$id" 2>&1)
echo "# podman's cgroup for hull's container: $cgpath"
case $cgpath in
/libpod_parent/*) expect_eq podman-hull-host-memory-max "$mem" "$(cat "/sys/fs/cgroup$cgpath/memory.max" 2>&1)" ;;
*) not_ok podman-hull-host-memory-max "cgroup path '$cgpath' is not under /libpod_parent ($id)" ;;
esac
check podman-hull-rm podman_hull rm -f -t 0 "$id"
[ -n "$cgpath" ] && [ -d "/sys/fs/cgroup$cgpath" ] &&
	not_ok podman-hull-cgroup-removed "/sys/fs/cgroup$cgpath is left"

vm_done
