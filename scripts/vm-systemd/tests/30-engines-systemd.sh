#!/bin/sh
# The engines with their systemd cgroup driver, running hull: podman (its
# default cgroup manager here, systemd) and containerd through ctr
# (--runc-systemd-cgroup, the shim's SystemdCgroup = true). Each runs a
# container whose memory limit bites (an allocation past it is OOM-killed:
# exit 137) and one whose scope and limit are checked from the host, then
# removed without leaving a unit or a cgroup.
. /vm/lib.sh

mem=67108864
hog='dd if=/dev/zero of=/dev/null bs=200M count=1'

# gone NAME UNIT: the unit and its cgroup are gone.
gone() {
	if [ "$(systemctl show -p LoadState --value "$2" 2>&1)" = loaded ] ||
		[ -d "/sys/fs/cgroup/$3" ]; then
		not_ok "$1" "$2 is left: $(systemctl show -p ActiveState,SubState "$2" 2>&1)"
	else
		ok "$1"
	fi
}

# podman: the image 00-systemd.sh imported, or import it here.
if podman image exists localhost/bb:latest ||
	tar -C /opt/bb-rootfs -c . | podman import -q - localhost/bb:latest >/dev/null 2>/tmp/err; then
	ok podman-sd-image
else
	not_ok podman-sd-image "$(cat /tmp/err)"
fi
podman_hull() {
	podman --runtime "$HULL" --cgroup-manager systemd "$@"
}
out=$(podman_hull run --rm --network=none -m 64m localhost/bb:latest cat /sys/fs/cgroup/memory.max 2>&1)
expect_eq podman-sd-hull-memory-max "$mem" "$out"
podman_hull run --rm --network=none -m 64m --memory-swap 64m localhost/bb:latest sh -c "$hog" >/tmp/out 2>&1
rc=$?
expect_eq podman-sd-hull-memory-limit-bites 137 "$rc"
[ "$rc" = 137 ] || cat /tmp/out
id=$(podman_hull run -d --network=none -m 64m localhost/bb:latest sleep 300 2>&1)
unit=libpod-$id.scope
cg=/machine.slice/$unit
if systemctl is-active -q "$unit"; then
	ok podman-sd-hull-scope
	expect_contains podman-sd-hull-is-runtime "$(podman inspect --format '{{.OCIRuntime}}' "$id" 2>&1)" hull
	expect_eq podman-sd-hull-scope-memory-max "$mem" "$(systemctl show -p MemoryMax --value "$unit" 2>&1)"
	expect_eq podman-sd-hull-scope-delegate yes "$(systemctl show -p Delegate --value "$unit" 2>&1)"
	expect_eq podman-sd-hull-file-memory-max "$mem" "$(cat "/sys/fs/cgroup$cg/memory.max" 2>&1)"
	out=$(podman_hull exec "$id" cat /proc/self/cgroup 2>&1)
	expect_eq podman-sd-hull-exec-cgroupns "0::/" "$out"
	check podman-sd-hull-pause podman_hull pause "$id"
	expect_eq podman-sd-hull-frozen 1 "$(cat "/sys/fs/cgroup$cg/cgroup.freeze" 2>&1)"
	check podman-sd-hull-unpause podman_hull unpause "$id"
else
	not_ok podman-sd-hull-scope "$id: $(podman inspect --format '{{.State.CgroupPath}}' "$id" 2>&1)"
fi
check podman-sd-hull-rm podman_hull rm -f -t 0 "$id"
gone podman-sd-hull-no-unit "$unit" "$cg"

# containerd through ctr: the runc shim calling hull with --systemd-cgroup.
wait_for 600 systemctl is-active -q containerd
if ctr -n hullvm images ls -q 2>/dev/null | grep -q 'localhost/bb:latest' ||
	podman save --format docker-archive localhost/bb:latest 2>/tmp/err |
	ctr -n hullvm images import - >/tmp/out 2>>/tmp/err; then
	ok ctr-sd-image
else
	not_ok ctr-sd-image "$(cat /tmp/out /tmp/err)"
fi
ctr_hull() {
	ctr -n hullvm run --runc-binary "$HULL" --runc-systemd-cgroup "$@"
}
out=$(ctr_hull --rm --cgroup system.slice:hullvm:hs1 localhost/bb:latest hs1 cat /proc/self/cgroup 2>&1)
expect_eq ctr-sd-hull-scope "0::/system.slice/hullvm-hs1.scope" "$out"
ctr_hull --rm --cgroup system.slice:hullvm:hs2 --memory-limit "$mem" localhost/bb:latest hs2 sh -c "$hog" >/tmp/out 2>&1
rc=$?
expect_eq ctr-sd-hull-memory-limit-bites 137 "$rc"
[ "$rc" = 137 ] || cat /tmp/out
ctr_hull -d --cgroup system.slice:hullvm:hs3 --memory-limit "$mem" localhost/bb:latest hs3 sleep 300 >/tmp/out 2>&1
check ctr-sd-hull-scope-active systemctl is-active hullvm-hs3.scope
# hull's state dir (its cleanup record is hull's alone) under the shim's root.
if [ -f /run/containerd/runc/hullvm/hs3/cleanup.json ]; then
	ok ctr-sd-hull-is-runtime
else
	not_ok ctr-sd-hull-is-runtime "no hull state in /run/containerd/runc/hullvm/hs3: $(ls /run/containerd/runc/hullvm/hs3 2>&1)"
fi
expect_eq ctr-sd-hull-unit-memory-max "$mem" "$(systemctl show -p MemoryMax --value hullvm-hs3.scope 2>&1)"
expect_eq ctr-sd-hull-file-memory-max "$mem" "$(cat /sys/fs/cgroup/system.slice/hullvm-hs3.scope/memory.max 2>&1)"
ctr -n hullvm task kill -s KILL hs3 >/dev/null 2>&1
wait_for 100 sh -c '! ctr -n hullvm task ls -q | grep -qx hs3 || ctr -n hullvm task ls | grep hs3 | grep -q STOPPED'
ctr -n hullvm task rm -f hs3 >/dev/null 2>&1
check ctr-sd-hull-cleanup ctr -n hullvm container rm hs3
for c in hs1 hs2 hs3; do
	gone "ctr-sd-hull-$c-no-unit" "hullvm-$c.scope" "/system.slice/hullvm-$c.scope"
done

# Docker (its systemd cgroup driver, hull as a named runtime in
# /etc/docker/daemon.json), started here: it is not started at boot.
if systemctl start docker >/tmp/err 2>&1; then
	ok docker-sd-started
else
	not_ok docker-sd-started "$(cat /tmp/err; journalctl -u docker --no-pager -n 20 2>&1)"
fi
echo "# docker: $(docker info --format '{{.ServerVersion}} cgroup driver {{.CgroupDriver}} v{{.CgroupVersion}}' 2>&1)"
if tar -C /opt/bb-rootfs -c . | docker import - bb:latest >/dev/null 2>/tmp/err; then
	ok docker-sd-image
else
	not_ok docker-sd-image "$(cat /tmp/err)"
fi
# The VM's kernel has AppArmor, the image no apparmor_parser: Docker would
# refuse to load its default profile (hull does not apply AppArmor yet).
docker_hull() {
	docker run --runtime hull --network none --security-opt apparmor=unconfined "$@"
}
out=$(docker_hull --rm -m 64m bb:latest cat /sys/fs/cgroup/memory.max 2>&1)
expect_eq docker-sd-hull-memory-max "$mem" "$out"
docker_hull --rm -m 64m --memory-swap 64m bb:latest sh -c "$hog" >/tmp/out 2>&1
rc=$?
expect_eq docker-sd-hull-memory-limit-bites 137 "$rc"
[ "$rc" = 137 ] || cat /tmp/out
id=$(docker_hull -d -m 64m bb:latest sleep 300 2>&1)
unit=docker-$id.scope
if systemctl is-active -q "$unit"; then
	ok docker-sd-hull-scope
	expect_eq docker-sd-hull-is-runtime hull "$(docker inspect --format '{{.HostConfig.Runtime}}' "$id" 2>&1)"
	expect_eq docker-sd-hull-unit-memory-max "$mem" "$(systemctl show -p MemoryMax --value "$unit" 2>&1)"
	expect_eq docker-sd-hull-file-memory-max "$mem" "$(cat "/sys/fs/cgroup/system.slice/$unit/memory.max" 2>&1)"
	expect_eq docker-sd-hull-exec "$mem" "$(docker exec "$id" cat /sys/fs/cgroup/memory.max 2>&1)"
else
	not_ok docker-sd-hull-scope "$id: $(docker inspect --format '{{.State.Status}} {{.State.Error}}' "$id" 2>&1)"
fi
check docker-sd-hull-rm docker rm -f "$id"
gone docker-sd-hull-no-unit "$unit" "/system.slice/$unit"
systemctl stop docker docker.socket >/dev/null 2>&1

state=$(systemctl is-system-running 2>&1)
expect_eq engines-sd-systemd-still-running running "$state"
vm_done
