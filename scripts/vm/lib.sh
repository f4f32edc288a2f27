# Test helpers for scripts run inside the cgroup v2 VM (busybox sh; source
# it with `. /vm/lib.sh`). Results are lines on stdout that the host reads:
#   ok NAME | not ok NAME: reason | skip NAME: reason
# and `vm_done` prints the script's `N passed, M failed, K skipped` line.
# Bundles share one read-only rootfs (/vm/rootfs: busybox + /bin/probe);
# config.json is `hull spec`'s, from a template run.py made of it (the VM
# has no jq or python).

HULL=${HULL:-/bin/hull}
VM_ROOTFS=${VM_ROOTFS:-/vm/rootfs}
VM_RESULTS=${VM_RESULTS:-/run/vm-results}
VM_PASSED=0
VM_FAILED=0
VM_SKIPPED=0

# Whether $HULL is hull (the scripts also run against runc to prove them
# right; checks of hull-only behaviour are skipped there).
is_hull() {
	case ${HULL##*/} in
	hull*) return 0 ;;
	*) return 1 ;;
	esac
}

ok() {
	echo "ok $1"
	echo "ok $1" >>"$VM_RESULTS"
	VM_PASSED=$((VM_PASSED + 1))
}

# not_ok NAME REASON...
not_ok() {
	local name=$1 reason
	shift
	# One line per result: the reason's newlines would split it.
	reason=$(printf '%s' "$*" | tr '\n' ' ')
	echo "not ok $name: $reason"
	echo "not ok $name: $reason" >>"$VM_RESULTS"
	VM_FAILED=$((VM_FAILED + 1))
}

# skip NAME REASON...
skip() {
	local name=$1
	shift
	echo "skip $name: $*"
	echo "skip $name: $*" >>"$VM_RESULTS"
	VM_SKIPPED=$((VM_SKIPPED + 1))
}

# check NAME CMD...: ok when CMD exits 0, else not ok with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name" "\`$*\` exited $?: $out"
	fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected '$2', got '$3'"
	fi
}

# expect_contains NAME HAYSTACK NEEDLE
expect_contains() {
	case $2 in
	*"$3"*) ok "$1" ;;
	*) not_ok "$1" "'$3' not in '$2'" ;;
	esac
}

# The script's summary; its exit status is 1 when anything failed.
vm_done() {
	echo "$VM_PASSED passed, $VM_FAILED failed, $VM_SKIPPED skipped"
	[ "$VM_FAILED" = 0 ]
}

# wait_for TRIES CMD...: run CMD every 0.1 s until it succeeds, at most TRIES
# times. The bound only stops a hang; no result depends on how fast it is.
wait_for() {
	local tries=$1
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		tries=$((tries - 1))
		sleep 0.1
	done
	return 1
}

# json_str S: S as a JSON string literal.
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# json_args ARG...: the arguments as a JSON array of strings.
json_args() {
	local a sep=
	printf '['
	for a in "$@"; do
		printf '%s%s' "$sep" "$(json_str "$a")"
		sep=,
	done
	printf ']'
}

# bundle DIR [--hostname H] [--cgroups-path P] [--resources JSON]
#        [--no-cgroupns] [--no-pidns] [--caps 'CAP_X CAP_Y']
#        -- ARGS...
# Writes DIR/config.json: `hull spec`'s default config (read-only root,
# pid, net, ipc, uts, mount and cgroup namespaces, the usual mounts,
# masked and read-only paths, every device denied) with ARGS as the
# process, as run.py turned it into /vm/config.template.json (no terminal,
# /vm/rootfs as root, a /tmp tmpfs) with the placeholders filled here; their
# defaults come from hull spec too (/vm/spec-defaults.sh).
bundle() {
	local dir=$1 b_ARGS b_HOSTNAME b_CGROUPS_PATH b_RESOURCES b_CAPS b_NAMESPACES b_ROOTFS line ph tok v
	shift
	. "${VM_SPEC_DEFAULTS:-/vm/spec-defaults.sh}"
	b_ROOTFS=$(json_str "$VM_ROOTFS")
	b_HOSTNAME=$(json_str "$SPEC_HOSTNAME")
	b_CGROUPS_PATH=
	b_RESOURCES=$SPEC_RESOURCES
	b_CAPS=$SPEC_CAPS
	b_NAMESPACES=$SPEC_NAMESPACES
	while [ $# -gt 0 ]; do
		case $1 in
		--hostname) b_HOSTNAME=$(json_str "$2"); shift 2 ;;
		--cgroups-path) b_CGROUPS_PATH=$(json_str "$2"); shift 2 ;;
		--resources) b_RESOURCES=$2; shift 2 ;;
		--no-cgroupns) b_NAMESPACES=$(ns_without "$b_NAMESPACES" cgroup); shift ;;
		--no-pidns) b_NAMESPACES=$(ns_without "$b_NAMESPACES" pid); shift ;;
		--caps) b_CAPS=$(json_args $2); shift 2 ;;
		--) shift; break ;;
		*) echo "bundle: unknown option: $1" >&2; return 2 ;;
		esac
	done
	[ $# -gt 0 ] || set -- /bin/sh
	b_ARGS=$(json_args "$@")
	mkdir -p "$dir"
	while IFS= read -r line; do
		for ph in ARGS HOSTNAME CGROUPS_PATH RESOURCES CAPS NAMESPACES ROOTFS; do
			tok="\"@$ph@\""
			case $line in
			*"$tok"*)
				eval "v=\$b_$ph"
				# No cgroupsPath: its line (and comma) goes.
				[ -n "$v" ] || continue 2
				line="${line%%"$tok"*}$v${line#*"$tok"}"
				;;
			esac
		done
		printf '%s\n' "$line"
	done <"${VM_CONFIG_TEMPLATE:-/vm/config.template.json}" >"$dir/config.json"
}

# ns_without LIST TYPE: the JSON namespace list without TYPE's entry.
ns_without() {
	printf '%s' "$1" | sed "s/{\"type\":\"$2\"},//; s/,{\"type\":\"$2\"}//"
}

# hull_state_field ID FIELD: a string or number field of `hull state ID`.
hull_state_field() {
	"$HULL" state "$1" 2>/dev/null |
		sed -n "s/^ *\"$2\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n1
}

# status_is ID STATUS: whether `hull state` reports STATUS.
status_is() {
	[ "$(hull_state_field "$1" status)" = "$2" ]
}

# The cgroup v2 features of hull that the tests in 20-hull-cgroup-v2.sh
# need, found by trying them (never assumed):
#   resources: a container with cgroupsPath and pids.limit gets exactly that
#              cgroup with pids.max set, and its init is in it
#   pause:     `hull pause`/`resume` exist
#   events:    `hull events` exists
hull_has() {
	case $1 in
	resources)
		local id=detect-$$ cg=/hull-vm-detect-$$ dir=/tmp/detect-$$ found=1 pid
		bundle "$dir" --cgroups-path "$cg" \
			--resources '{"pids":{"limit":42},"devices":[{"allow":false,"access":"rwm"}]}' \
			-- /bin/sleep 30 || return 1
		if "$HULL" create --bundle "$dir" "$id" >/dev/null 2>&1; then
			pid=$(hull_state_field "$id" pid)
			if [ "$(cat "/sys/fs/cgroup$cg/pids.max" 2>/dev/null)" = 42 ] &&
				grep -qx "$pid" "/sys/fs/cgroup$cg/cgroup.procs" 2>/dev/null; then
				found=0
			fi
			"$HULL" delete --force "$id" >/dev/null 2>&1
		fi
		# A hull that made the cgroup but did not remove it is not done yet;
		# leave nothing behind for the next test either way.
		rmdir "/sys/fs/cgroup$cg" 2>/dev/null
		rm -rf "$dir"
		return $found
		;;
	pause | events)
		"$HULL" --help 2>/dev/null | grep -Eq "^ +$1( |\$)"
		;;
	*)
		return 1
		;;
	esac
}

# A cgroup made by a test for itself (bed checks that do not go through
# hull): created under the root, removed by cg_remove after killing what is
# left in it.
cg_make() {
	mkdir "/sys/fs/cgroup/$1"
}

cg_remove() {
	local path=/sys/fs/cgroup/$1
	[ -d "$path" ] || return 0
	echo 1 >"$path/cgroup.kill" 2>/dev/null
	wait_for 100 grep -q '^populated 0' "$path/cgroup.events"
	rmdir "$path"
}

# cg_field CGROUP FILE KEY: the value of KEY in a flat-keyed cgroup file.
cg_field() {
	awk -v k="$3" '$1 == k { print $2 }' "/sys/fs/cgroup/$1/$2"
}
