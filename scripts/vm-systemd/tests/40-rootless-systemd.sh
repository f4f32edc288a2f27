#!/bin/sh
# Rootless with the systemd driver: a user with a lingering user manager
# (user@UID.service, its bus at /run/user/UID/bus) runs a container from
# `hull spec --rootless` with --systemd-cgroup. The scope is the user
# manager's (user.slice inside user@UID.service), its limits are set, exec
# joins it (systemd moves the process: hull's own is outside the user's
# subtree) and delete removes it. Each check runs for hull, then runc.
. /vm/lib.sh

user=hullu
uid=1500
mem=67108864

if ! id "$user" >/dev/null 2>&1; then
	useradd -u "$uid" -m -s /bin/sh "$user" >/tmp/err 2>&1 || not_ok rootless-user "$(cat /tmp/err)"
fi
loginctl enable-linger "$user" >/tmp/err 2>&1 || not_ok rootless-linger "$(cat /tmp/err)"
wait_for 300 systemctl is-active -q "user@$uid.service"
check rootless-user-manager systemctl is-active "user@$uid.service"
wait_for 100 test -S "/run/user/$uid/bus"
check rootless-user-bus test -S "/run/user/$uid/bus"
manager=/user.slice/user-$uid.slice/user@$uid.service
echo "# delegated to user@$uid.service: $(cat "/sys/fs/cgroup$manager/cgroup.controllers" 2>&1)"

# as_user CMD...: CMD as the user, with its session's environment.
as_user() {
	runuser -u "$user" -- env XDG_RUNTIME_DIR="/run/user/$uid" \
		DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"
}

# rootless_bundle DIR CGROUPS-PATH ARGS...: `hull spec --rootless`, made by
# the user (its uid is the one mapped), on the shared read-only rootfs.
rootless_bundle() {
	local dir=$1 cgpath=$2 args=
	shift 2
	for a in "$@"; do args="$args, $(json_str "$a")"; done
	rm -rf "$dir"
	mkdir -p "$dir"
	chown "$user" "$dir"
	as_user "$HULL" spec --rootless --bundle "$dir"
	sed -i -e 's/"terminal": true/"terminal": false/' \
		-e "s|\"path\": \"rootfs\"|\"path\": \"$VM_ROOTFS\"|" \
		-e "s|^      \"sh\"\$|${args#, }|" \
		-e "s|^  \"linux\": {|  \"linux\": {\"cgroupsPath\": \"$cgpath\", \"resources\": {\"memory\": {\"limit\": $mem}, \"pids\": {\"limit\": 32}},|" \
		"$dir/config.json"
}

is_hull_rt() {
	case ${1##*/} in
	hull*) return 0 ;;
	*) return 1 ;;
	esac
}

rootless() {
	local rt=$1 p=${1##*/}-sd-rootless id dir unit cg pid root
	id=rl-$$
	dir=/tmp/$p-$id
	unit=$p-$id.scope
	cg=$manager/user.slice/$unit
	root=/run/user/$uid/${rt##*/}-test
	rootless_bundle "$dir" "user.slice:$p:$id" /bin/sleep 300
	if ! as_user "$rt" --root "$root" --systemd-cgroup create --bundle "$dir" "$id" >/tmp/rl.out 2>&1 </dev/null; then
		not_ok "$p-create" "$(cat /tmp/rl.out)"
		rm -rf "$dir"
		return
	fi
	ok "$p-create"
	pid=$(as_user "$rt" --root "$root" state "$id" 2>/dev/null |
		sed -n 's/^ *"pid": *\([0-9]*\),*$/\1/p')
	expect_eq "$p-init-in-user-unit" "0::$cg" "$(cat "/proc/$pid/cgroup" 2>&1)"
	expect_eq "$p-unit-active" active "$(as_user systemctl --user show -p ActiveState --value "$unit" 2>&1)"
	expect_eq "$p-unit-memory-max" "$mem" "$(as_user systemctl --user show -p MemoryMax --value "$unit" 2>&1)"
	expect_eq "$p-file-memory-max" "$mem" "$(cat "/sys/fs/cgroup$cg/memory.max" 2>&1)"
	expect_eq "$p-file-pids-max" 32 "$(cat "/sys/fs/cgroup$cg/pids.max" 2>&1)"
	check "$p-start" as_user "$rt" --root "$root" start "$id"
	rm -f /tmp/rl-exec.pid
	if ! is_hull_rt "$rt"; then
		skip "$p-exec-in-user-unit" "runc 1.1.5 leaves a rootless exec in the caller's cgroup (its refused cgroup.procs write is ignored); runc 1.2 asks systemd, as hull does"
	elif as_user "$rt" --root "$root" exec -d --pid-file /tmp/rl-exec.pid "$id" /bin/sleep 300 >/tmp/rl.out 2>&1 </dev/null; then
		expect_eq "$p-exec-in-user-unit" "0::$cg" "$(cat "/proc/$(cat /tmp/rl-exec.pid)/cgroup" 2>&1)"
	else
		not_ok "$p-exec-in-user-unit" "$(cat /tmp/rl.out)"
	fi
	check "$p-update" as_user "$rt" --root "$root" update --pids-limit 64 "$id"
	expect_eq "$p-update-file-pids-max" 64 "$(cat "/sys/fs/cgroup$cg/pids.max" 2>&1)"
	check "$p-delete" as_user "$rt" --root "$root" delete --force "$id"
	if [ "$(as_user systemctl --user show -p LoadState --value "$unit" 2>&1)" = loaded ] ||
		[ -d "/sys/fs/cgroup$cg" ]; then
		not_ok "$p-no-unit" "$unit is left: $(as_user systemctl --user show -p ActiveState "$unit" 2>&1)"
	else
		ok "$p-no-unit"
	fi
	rm -rf "$dir" "$root"
}

rootless "$HULL"
rootless /usr/sbin/runc
expect_contains hull-sd-features-user "$("$HULL" features 2>&1)" '"systemdUser": true'
expect_contains rootless-system-still-running "$(systemctl is-system-running 2>&1)" running
vm_done
