#!/bin/sh
# Checks of the systemd VM bed itself (no hull): systemd is pid 1 on a pure cgroup v2
# hierarchy, dbus answers, transient units get their limits, podman and
# containerd run containers with the systemd cgroup driver.
. /vm/lib.sh

state=$(timeout 300 systemctl is-system-running --wait 2>&1)
if [ "$state" = running ]; then
	ok system-running
else
	not_ok system-running "$state; failed: $(systemctl --failed --no-legend --plain 2>&1 | tr '\n' ';')"
fi
echo "# $(systemd-analyze 2>&1 | head -n1)"
systemd-analyze blame --no-pager 2>&1 | head -n6 | sed 's/^ */# blame: /'
expect_eq pid1-systemd systemd "$(cat /proc/1/comm)"
expect_eq cgroup2-root cgroup2fs "$(stat -fc %T /sys/fs/cgroup)"
expect_eq no-cgroup-v1 "" "$(awk '$3 == "cgroup"' /proc/mounts)"
expect_eq pid1-init-scope "0::/init.scope" "$(cat /proc/1/cgroup)"
ctl=$(cat /sys/fs/cgroup/cgroup.subtree_control)
echo "# controllers: $(cat /sys/fs/cgroup/cgroup.controllers); enabled: $ctl"
for c in cpu io memory pids; do expect_contains "root-subtree-$c" "$ctl" "$c"; done

check busctl-list busctl --no-pager list
expect_contains busctl-systemd-version \
	"$(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Version 2>&1)" 's "252'
check dbus-active systemctl is-active dbus.service
check logind-over-dbus busctl --no-pager status org.freedesktop.login1

v=$(podman --version 2>&1); echo "# $v"; expect_contains podman-version "$v" "podman version"
v=$(ctr --version 2>&1); echo "# $v"; expect_contains ctr-version "$v" "ctr "
v=$(runc --version 2>&1 | head -n1); echo "# $v"
v=$(crun --version 2>&1 | head -n1); echo "# $v"

check scope-memorymax systemd-run --scope -p MemoryMax=50M true
out=$(systemd-run --scope -p MemoryMax=50M sh -c 'cat "/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/memory.max"' 2>&1)
expect_contains scope-memory-max-applied "$out" 52428800
out=$(systemd-run --wait --pipe --quiet -p MemoryMax=64M -p TasksMax=10 -p CPUQuota=50% \
	sh -c 'cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); echo $cg; cat $cg/memory.max $cg/pids.max $cg/cpu.max' 2>&1)
echo "# transient service: $(echo $out)"
expect_contains service-in-system-slice "$out" /system.slice/run-
expect_contains service-memory-max "$out" 67108864
expect_contains service-cpu-max "$out" "50000 100000"
out=$(systemd-run --wait --pipe --quiet -p Delegate=yes sh -c 'cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); mkdir $cg/sub && echo delegated-ok; rmdir $cg/sub' 2>&1)
expect_contains delegate-subtree "$out" delegated-ok

# podman (systemd cgroup manager, no network) on a local busybox image.
echo "# podman info: $(podman info --format '{{.Host.CgroupManager}} cgroups={{.Host.CgroupsVersion}} runtime={{.Host.OCIRuntime.Name}} storage={{.Store.GraphDriverName}} network={{.Host.NetworkBackend}}' 2>&1)"
if tar -C /opt/bb-rootfs -c . | podman import -q - localhost/bb:latest >/dev/null 2>/tmp/err; then
	ok podman-import
else
	not_ok podman-import "$(cat /tmp/err)"
fi
out=$(podman run --rm --network=none -m 64m localhost/bb:latest cat /sys/fs/cgroup/memory.max 2>&1)
expect_eq podman-run-memory 67108864 "$out"
id=$(podman run -d --network=none localhost/bb:latest sleep 300 2>&1)
if [ -d "/sys/fs/cgroup/machine.slice/libpod-$id.scope" ] && systemctl is-active -q "libpod-$id.scope"; then
	ok podman-systemd-scope
else
	not_ok podman-systemd-scope "$id: $(podman inspect --format '{{.State.CgroupPath}}' "$id" 2>&1)"
fi
podman rm -f -t 0 "$id" >/dev/null 2>&1

# containerd + ctr (runc with the systemd cgroup driver).
wait_for 600 systemctl is-active -q containerd
check containerd-active systemctl is-active containerd
check ctr-version ctr version
if podman save --format docker-archive localhost/bb:latest 2>/tmp/err | ctr -n hullvm images import - >/tmp/out 2>>/tmp/err; then
	ok ctr-import
else
	not_ok ctr-import "$(cat /tmp/out /tmp/err)"
fi
# ctr's default spec mounts no cgroup fs in the container: look from outside.
out=$(ctr -n hullvm run --rm --runc-systemd-cgroup --cgroup system.slice:hullvm:ct1 \
	localhost/bb:latest ct1 cat /proc/self/cgroup 2>&1)
expect_eq ctr-run-systemd-scope "0::/system.slice/hullvm-ct1.scope" "$out"
ctr -n hullvm run -d --runc-systemd-cgroup --cgroup system.slice:hullvm:ct2 \
	--memory-limit 67108864 localhost/bb:latest ct2 sleep 300 >/dev/null 2>&1
check ctr-scope-active systemctl is-active hullvm-ct2.scope
expect_eq ctr-run-memory 67108864 "$(cat /sys/fs/cgroup/system.slice/hullvm-ct2.scope/memory.max 2>&1)"
ctr -n hullvm task rm -f ct2 >/dev/null 2>&1
check ctr-cleanup ctr -n hullvm container rm ct2

vm_done
