# The benchmark's cgroup v2 part (`make bench`): hull alone in the VM,
# `hull run` of /bin/true N times without and with a memory+pids+cpu limit.
# Under software emulation the times are many times the host's: compare
# the two lines with each other, not with the host's table.
. /vm/lib.sh

N=${HULL_VM_BENCH_N:-20}

# Guest uptime in hundredths of a second (busybox date has no %N).
now_cs() {
	local up
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

# cycles NAME DIR: N foreground runs of the bundle in DIR; the mean in ms.
cycles() {
	local name=$1 dir=$2 i=0 t0 t1
	t0=$(now_cs)
	while [ "$i" -lt "$N" ]; do
		if ! "$HULL" run --bundle "$dir" "bench-$name-$i" >/dev/null 2>"$dir/err" </dev/null; then
			not_ok "bench-$name" "run $i failed: $(cat "$dir/err")"
			return
		fi
		i=$((i + 1))
	done
	t1=$(now_cs)
	echo "bench hull (VM, cgroup v2) $name: $N runs, mean $(((t1 - t0) * 10 / N)) ms per run"
	ok "bench-$name"
}

bundle /tmp/bench-plain --cgroups-path /hull-bench-plain-$$ -- /bin/true
cycles plain /tmp/bench-plain
bundle /tmp/bench-limits --cgroups-path /hull-bench-limits-$$ \
	--resources '{"memory":{"limit":67108864},"pids":{"limit":64},"cpu":{"quota":50000,"period":100000},"devices":[{"allow":false,"access":"rwm"}]}' \
	-- /bin/true
cycles limits /tmp/bench-limits
vm_done
