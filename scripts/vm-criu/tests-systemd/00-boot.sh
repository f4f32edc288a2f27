#!/bin/sh
# Run by scripts/vm-criu/systemd-boot.py in the systemd bed's image on the 6.1
# kernel: does systemd come up, and what failed (modules of 6.12 only, ...).
. /vm/lib.sh
state=$(timeout 300 systemctl is-system-running --wait 2>&1)
echo "# kernel $(uname -r); system state: $state"
echo "# $(systemd-analyze 2>&1 | head -n1)"
systemctl --failed --no-legend --plain 2>&1 | sed 's/^/# failed: /'
expect_eq pid1-systemd systemd "$(cat /proc/1/comm)"
case $state in
running | degraded) ok "systemd up ($state)" ;;
*) not_ok systemd-up "$state" ;;
esac
echo "# criu in the image: $(command -v criu || echo none)"
vm_done
