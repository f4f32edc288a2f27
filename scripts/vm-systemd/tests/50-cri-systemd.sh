#!/bin/sh
# hull as a Kubernetes runtime handler with the systemd cgroup driver: the
# host's CRI test (scripts/cri/run.sh and its client, /vm/cri) with the
# handlers' SystemdCgroup = true, as docs/guide.md recommends on a systemd
# host; pods in slices, containers in scopes, on pure cgroup v2. The same
# checks with runc.
. /vm/lib.sh

wait_for 600 systemctl is-active -q dbus
VM_RESULTS=/run/vm-results bash /vm/cri/run.sh --systemd --images /vm/cri /vm/cri/client "$HULL" runc
