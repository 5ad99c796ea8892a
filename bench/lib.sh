# bench/lib.sh: helpers every benchmark script shares (bench/run.sh,
# bench/map.sh, bench/device.sh); sourced from the repository's root.
# bench/lib-memory.sh adds what the scripts that run memory-namespace nodes
# against Redis share.

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# stop_pid PID NAME: SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
	local pid=$1 name=$2
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	log "$name ($pid) did not stop on SIGTERM; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# await_plugin PID waits up to 5 s for a node's storage plugin to exit after
# its node did (it notices its parent is gone), and stops it if it does not.
await_plugin() {
	local pp=$1
	[[ -n $pp ]] || return 0
	for _ in $(seq 50); do
		kill -0 "$pp" 2>/dev/null || return 0
		sleep 0.1
	done
	log "storage plugin ($pp) outlived its node; stopping it"
	kill -TERM "$pp" 2>/dev/null || true
}

# free_port prints a TCP port nobody listens on at 127.0.0.1, below the
# kernel's range of ephemeral ports when it can (a port that is the local end
# of some client's connection accepts no connection, but cannot be bound).
free_port() {
	local p lo=32768 base=20000 span=40000
	[[ -r /proc/sys/net/ipv4/ip_local_port_range ]] && read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	if ((lo > 11024)); then base=10000 span=$((lo - 10000)); fi
	for _ in $(seq 100); do
		p=$((base + RANDOM % span))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# cpu_ticks PID prints the user+system CPU time of a process (its threads
# included), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# machine_ticks prints the busy CPU time of the whole machine (all but idle
# and iowait), in clock ticks.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# ratio A B prints A/B with two decimals, or - when B is not positive.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
