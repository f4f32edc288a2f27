#!/bin/sh
# Run by hull-vm-test.service once the boot transaction is done: each
# /vm/tests/*.sh with its output between markers, then HULL-VM-EXIT=N and
# power off. The markers are the ones scripts/vm/run.py reads. The hull
# under test is /vm/hull (lib.sh's $HULL), its bundles' root /vm/rootfs.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HULL=/vm/hull VM_ROOTFS=/vm/rootfs
read -r uptime _ </proc/uptime
echo "HULL-VM-READY uptime=$uptime kernel=$(uname -r) controllers=$(tr ' ' , </sys/fs/cgroup/cgroup.subtree_control)"
status=0
: >/run/vm-results
for script in /vm/tests/*.sh; do
	[ -f "$script" ] || continue
	name=${script##*/}
	echo "HULL-VM-BEGIN $name"
	timeout "$(cat /vm/script-timeout 2>/dev/null || echo 600)" sh "$script" </dev/null 2>&1
	rc=$?
	read -r uptime _ </proc/uptime
	echo "HULL-VM-END $name rc=$rc uptime=$uptime"
	[ "$rc" = 0 ] || status=1
done
passed=$(grep -c '^ok ' /run/vm-results)
failed=$(grep -c '^not ok ' /run/vm-results)
skipped=$(grep -c '^skip ' /run/vm-results)
echo "HULL-VM-SUMMARY $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || status=1
read -r uptime _ </proc/uptime
echo "HULL-VM-DONE uptime=$uptime"
echo "HULL-VM-EXIT=$status"
sync
systemctl poweroff --no-block
