#!/usr/bin/env bash
# bench/run.sh: Skiff's memory namespace against Redis, and Skiff's storage
# plugin process against the same backend linked into the node, side by side,
# in one run (what `make bench` runs; see bench/README.md for what is
# measured).
#
#   1. builds skiffd, its memory storage plugin (skiff-storage-memory, beside
#      skiffd, where the node looks for it) and skiff; starts two nodes from
#      the default config (free ports, admin off, 127.0.0.1): one as is, whose
#      namespace runs its backend as a plugin process (mode process, the
#      default), one with `mode in-process`; loads every key into each
#      (`skiff bench -w` with a short mixed warm-up), then runs the same timed
#      mixed read/write phase SKIFF_ROUNDS times on each, alternating the
#      nodes (in-process, process, then process, in-process, ...: ABBA, so
#      that a drift in the machine's load over the run falls on both sides
#      alike), and stops both nodes;
#   2. installs redis-server/redis-tools with apt-get if missing, starts
#      redis-server on a free loopback port without persistence, inserts all
#      keys, runs redis-benchmark's SET and GET tests, stops it;
#   3. prints Skiff (process mode, the default, median of its runs) and Redis
#      side by side with the ratio Skiff/Redis (and in-process/Redis), then
#      "process vs in-process": both modes' medians, the ratio
#      process/in-process, the latency differences in µs, every run, and
#      whether the goal (process >= 85% of in-process throughput, p99 less
#      than 50 µs higher) was met.
#
# Settings (environment):
#   BENCH_CONCURRENCY  clients on both sides                (50)
#   BENCH_KEYS         key space                            (1000000)
#   BENCH_VALUE_SIZE   value bytes                          (100)
#   BENCH_READ_PCT     reads in the mix                     (80)
#   SKIFF_DURATION     each skiff bench measured phase      (8s)
#   SKIFF_ROUNDS       measured phases per mode; the medians are reported (4)
#   SKIFF_WARMUP       mixed phase after each node's load, not reported (2s)
#   SKIFF_NSUP_PERIOD  the namespaces' nsup-period, seconds (3600; see below)
#   REDIS_REQUESTS     requests per redis-benchmark test    (2000000)
#   REDIS_THREADS      redis-benchmark --threads; unset: its default single
#                      thread, the configuration the figures are quoted for
#   BENCH_PIN          1: pin each server (skiffd with its plugin, or
#                      redis-server) to CPU 0 and its client to CPU 1
#                      (taskset), instead of letting them share both CPUs
#   BENCH_OUT          directory for raw outputs and logs   (a new /tmp/skiff-bench.* directory, kept)
#   BENCH_TIMEOUT      seconds each client may run at most  (300)
# The defaults take about three minutes.
set -euo pipefail

CONC=${BENCH_CONCURRENCY:-50}
KEYS=${BENCH_KEYS:-1000000}
VSIZE=${BENCH_VALUE_SIZE:-100}
READ_PCT=${BENCH_READ_PCT:-80}
SKIFF_DURATION=${SKIFF_DURATION:-8s}
SKIFF_ROUNDS=${SKIFF_ROUNDS:-4}
SKIFF_WARMUP=${SKIFF_WARMUP:-2s}
# The default nsup-period is 120 s. Both nodes live for about two minutes,
# so the expiry scan (a metadata scan of all 1,000,000 records: about 1 s of
# CPU through the plugin) would land in some runs and not others, on either
# node; the Redis comparison never ran long enough to meet it either.
SKIFF_NSUP_PERIOD=${SKIFF_NSUP_PERIOD:-3600}
REDIS_REQUESTS=${REDIS_REQUESTS:-2000000}
REDIS_THREADS=${REDIS_THREADS:-}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
BENCH_PIN=${BENCH_PIN:-0}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/skiff-bench.XXXXXX)}
SERVER_CPUS=() CLIENT_CPUS=()
if [[ $BENCH_PIN == 1 ]]; then
	SERVER_CPUS=(taskset -c 0) CLIENT_CPUS=(taskset -c 1)
fi
[[ $SKIFF_ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: SKIFF_ROUNDS must be a positive integer" >&2; exit 2; }

cd "$(dirname "$0")/.."
source bench/lib.sh
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$SECONDS


# The two Skiff nodes, by mode; Redis. Servers started by this script are
# stopped on any exit.
MODES=(in-process process)
declare -A NODE_PID=() NODE_PORT=() PLUGIN_PID=()
REDIS_PID=
# stop_node MODE stops a node; its plugin exits with it (else it is
# stopped too).
stop_node() {
	local mode=$1
	stop_pid "${NODE_PID[$mode]:-}" "skiffd ($mode)"
	NODE_PID[$mode]=
	await_plugin "${PLUGIN_PID[$mode]:-}"
}
cleanup() {
	local mode
	for mode in "${MODES[@]}"; do stop_node "$mode"; done
	stop_pid "$REDIS_PID" redis-server
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# syscalls PID prints how many read- and write-type system calls a process
# has made.
syscalls() { awk '$1 == "syscr:" || $1 == "syscw:" { n += $2 } END { print n }' "/proc/$1/io"; }
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)

# cpu_report SERVER_TICKS CLIENT_USER_S CLIENT_SYS_S MACHINE_TICKS WALL_S
# SERVER_SYSCALLS OPS prints, for one side's client run, the cores used by
# the server, by the client, and by everything else (other processes,
# interrupts), the server's read/write system calls per operation and the
# server's CPU time per operation in microseconds.
cpu_report() {
	awk -v st="$1" -v cu="$2" -v cs="$3" -v mt="$4" -v w="$5" -v sc="$6" -v ops="$7" -v hz="$CLK_TCK" 'BEGIN {
		server = st / hz / w; client = (cu + cs) / w; other = mt / hz / w - server - client
		printf "%.2f %.2f %.2f %.2f %.1f\n", server, client, (other > 0 ? other : 0), (ops > 0 ? sc / ops : 0), (ops > 0 ? 1e6 * st / hz / ops : 0)
	}'
}

# timed FILE CMD... runs CMD with stdout to FILE (stderr stays on the
# terminal) and writes its wall, user and system seconds, children included,
# to FILE.time.
timed() {
	local file=$1; shift
	local TIMEFORMAT='%R %U %S'
	{ time "$@" >"$file" 2>&4; } 4>&2 2>"$file.time"
}

# skiff_figures FILE prints each figure of a skiff bench text report as
# name=value (latencies in ms).
skiff_figures() {
	awk '
		$1 == "phase" || $1 == "latency" {
			delete f
			for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		}
		$1 == "phase" && f["name"] == "load" { print "load_ops_per_sec=" f["ops_per_sec"] }
		$1 == "phase" && f["name"] == "run" {
			print "ops_per_sec=" f["ops_per_sec"]; print "reads_per_sec=" f["reads_per_sec"]
			print "writes_per_sec=" f["writes_per_sec"]; print "errors=" f["errors"]
		}
		$1 == "latency" && f["phase"] == "run" {
			op = f["op"] == "read" ? "get" : f["op"] == "write" ? "set" : "all"
			print op "_p50=" f["p50_us"] / 1000; print op "_p99=" f["p99_us"] / 1000; print op "_p999=" f["p999_us"] / 1000
			print op "_mean=" f["mean_us"] / 1000
		}
	' "$1"
}

# ---------------------------------------------------------------- Skiff --
log "building skiffd, skiff-storage-memory and skiff"
go build -o "$OUT/" ./cmd/skiffd ./plugins/storage-memory/cmd/skiff-storage-memory
go build -o "$OUT/skiff" ./cmd/skiff
[[ -x $OUT/skiffd && -x $OUT/skiff-storage-memory && -x $OUT/skiff ]] || die "build outputs missing in $OUT"

# skiff_conf PORT MODE prints the default configuration with the client
# service on PORT at 127.0.0.1, the admin HTTP server off, nsup-period
# SKIFF_NSUP_PERIOD, and for MODE in-process `mode in-process` in each
# namespace's storage-engine block (process is the default: left as is).
skiff_conf() {
	"$OUT/skiffd" --print-default-config | awk -v port="$1" -v mode="$2" -v nsup="$SKIFF_NSUP_PERIOD" '
		{ line = $0; sub(/#.*/, "", line) }
		line ~ /\{/ { n = split(line, w); depth++; block[depth] = w[1] }
		depth == 2 && block[1] == "network" && block[2] == "service" && line ~ /^[ \t]*port[ \t]/ { sub(/port[ \t]+[0-9]+/, "port " port) }
		depth == 2 && block[1] == "network" && block[2] == "service" && line ~ /^[ \t]*address[ \t]/ { sub(/address[ \t]+[^ \t#]+/, "address 127.0.0.1") }
		depth == 2 && block[1] == "network" && block[2] == "admin" && line ~ /^[ \t]*port[ \t]/ { sub(/port[ \t]+[0-9]+/, "port 0") }
		depth == 1 && block[1] == "namespace" && line ~ /^[ \t]*nsup-period[ \t]/ { sub(/nsup-period[ \t]+[0-9]+/, "nsup-period " nsup) }
		mode == "in-process" && depth == 2 && block[1] == "namespace" && block[2] == "storage-engine" && line ~ /^[ \t]*mode[ \t]/ { next }
		{ print }
		mode == "in-process" && line ~ /\{/ && depth == 2 && block[1] == "namespace" && block[2] == "storage-engine" { print "\t\tmode in-process" }
		line ~ /\}/ { depth-- }
	'
}

# ns_info MODE KEY prints one field of the node's namespace/test info.
ns_info() {
	"$OUT/skiff" info -p "${NODE_PORT[$1]}" -t 2s namespace/test | tr ';' '\n' | sed -n "s/^$2=//p"
}

# start_node MODE starts a node whose namespace test runs its backend in
# MODE, and checks that it does.
start_node() {
	local mode=$1 port conf i
	port=$(free_port)
	conf="$OUT/skiff-$mode.conf"
	skiff_conf "$port" "$mode" >"$conf"
	grep -q "port $port" "$conf" || die "could not set the service port in $conf"
	grep -q "port 0" "$conf" || die "could not turn the admin port off in $conf"
	log "starting skiffd ($mode) on 127.0.0.1:$port (log: $OUT/skiffd-$mode.log)"
	"${SERVER_CPUS[@]}" "$OUT/skiffd" --config "$conf" >"$OUT/skiffd-$mode.log" 2>&1 &
	NODE_PID[$mode]=$! NODE_PORT[$mode]=$port
	for i in $(seq 100); do
		"$OUT/skiff" info -p "$port" -t 1s status >/dev/null 2>&1 && break
		kill -0 "${NODE_PID[$mode]}" 2>/dev/null || { cat "$OUT/skiffd-$mode.log" >&2; die "skiffd ($mode) exited"; }
		[[ $i == 100 ]] && die "skiffd ($mode) did not answer within 10 s"
		sleep 0.1
	done
	[[ $(ns_info "$mode" storage-mode) == "$mode" ]] || die "namespace test of the $mode node runs in mode '$(ns_info "$mode" storage-mode)'"
	[[ $(ns_info "$mode" nsup-period) == "$SKIFF_NSUP_PERIOD" ]] || die "could not set nsup-period in $conf"
	PLUGIN_PID[$mode]=
	if [[ $mode == process ]]; then
		PLUGIN_PID[$mode]=$(ns_info "$mode" storage-pid)
		[[ ${PLUGIN_PID[$mode]} =~ ^[1-9][0-9]*$ ]] && kill -0 "${PLUGIN_PID[$mode]}" ||
			die "no storage plugin process for the process node (storage-pid=${PLUGIN_PID[$mode]})"
	fi
}

# node_pids MODE prints the node's pid and its plugin's, if any.
node_pids() { echo "${NODE_PID[$1]}" ${PLUGIN_PID[$1]:+"${PLUGIN_PID[$1]}"}; }
# node_ticks, node_syscalls and node_rss MODE: the figure summed over the
# node and its plugin process (a child, whose CPU its parent's
# /proc/PID/stat does not count while it runs).
node_ticks() { local p n=0; for p in $(node_pids "$1"); do n=$((n + $(cpu_ticks "$p"))); done; echo "$n"; }
node_syscalls() { local p n=0; for p in $(node_pids "$1"); do n=$((n + $(syscalls "$p"))); done; echo "$n"; }
node_rss() { local p n=0; for p in $(node_pids "$1"); do n=$((n + $(rss_mib "$p"))); done; echo "$n"; }
plugin_ticks() { if [[ -n ${PLUGIN_PID[$1]:-} ]]; then cpu_ticks "${PLUGIN_PID[$1]}"; else echo 0; fi; }

skiff_bench() { # MODE FLAGS...: the workload against the MODE node
	local mode=$1; shift
	timeout --signal=INT "$BENCH_TIMEOUT" "${CLIENT_CPUS[@]}" "$OUT/skiff" bench -h 127.0.0.1 -p "${NODE_PORT[$mode]}" \
		-n test -s bench -c "$CONC" -k "$KEYS" -v "$VSIZE" -r "$READ_PCT" "$@"
}

# run_mode MODE RUN runs one measured phase against the MODE node and
# appends its figures, as name=value on one line, to $OUT/skiff-runs.txt.
RUN_ORDER=()
run_mode() {
	local mode=$1 run=$2 other f t0 t1 p0 p1 s0 s1 i0 i1 a0 a1 wall user sys ops
	other=$([[ $mode == process ]] && echo in-process || echo process)
	f="$OUT/skiff-$mode-$run.txt"
	log "run $run, $mode: skiff bench -c $CONC -k $KEYS -v $VSIZE -r $READ_PCT -d $SKIFF_DURATION -w=false"
	t0=$(node_ticks "$mode") p0=$(plugin_ticks "$mode") s0=$(node_syscalls "$mode") i0=$(node_ticks "$other") a0=$(machine_ticks)
	timed "$f" skiff_bench "$mode" -d "$SKIFF_DURATION" -w=false
	t1=$(node_ticks "$mode") p1=$(plugin_ticks "$mode") s1=$(node_syscalls "$mode") i1=$(node_ticks "$other") a1=$(machine_ticks)
	if [[ $mode == process && $(ns_info "$mode" storage-pid) != "${PLUGIN_PID[$mode]}" ]]; then
		die "the storage plugin was restarted during run $run (see $OUT/skiffd-process.log)"
	fi
	read -r wall user sys <"$f.time"
	ops=$(awk '$1 == "phase" { for (i = 2; i <= NF; i++) if ($i ~ /^ops=/) { sub(/ops=/, "", $i); n += $i } } END { print n + 0 }' "$f")
	[[ $ops -gt 0 ]] || die "no operations in $f"
	local server client oth sc us
	read -r server client oth sc us < <(cpu_report $((t1 - t0)) "$user" "$sys" $((a1 - a0)) "$wall" $((s1 - s0)) "$ops")
	{
		printf 'mode=%s run=%s ' "$mode" "$run"
		skiff_figures "$f" | tr '\n' ' '
		printf 'server_cores=%s client_cores=%s other_cores=%s syscalls=%s us_per_op=%s rss=%s ' \
			"$server" "$client" "$oth" "$sc" "$us" "$(node_rss "$mode")"
		awk -v p="$((p1 - p0))" -v i="$((i1 - i0))" -v w="$wall" -v ops="$ops" -v hz="$CLK_TCK" \
			'BEGIN { printf "plugin_cores=%.2f plugin_us_per_op=%.1f idle_node_cores=%.2f\n", p / hz / w, 1e6 * p / hz / ops, i / hz / w }'
	} >>"$OUT/skiff-runs.txt"
	RUN_ORDER+=("$mode")
	tail -n 1 "$OUT/skiff-runs.txt" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		printf "== run %s, %s: %.0f ops/s, p99 get %.3f set %.3f ms, server %.1f us/op, other CPU %.2f cores\n",
			f["run"], f["mode"], f["ops_per_sec"], f["get_p99"], f["set_p99"], f["us_per_op"], f["other_cores"]
	}' >&2
}

: >"$OUT/skiff-runs.txt"
for mode in "${MODES[@]}"; do start_node "$mode"; done
for mode in "${MODES[@]}"; do
	log "loading $KEYS keys into the $mode node: skiff bench -w -d $SKIFF_WARMUP"
	skiff_bench "$mode" -d "$SKIFF_WARMUP" -w -i 0 >"$OUT/skiff-$mode-load.txt"
	grep -q '^phase name=load .* errors=0' "$OUT/skiff-$mode-load.txt" || { cat "$OUT/skiff-$mode-load.txt" >&2; die "loading the $mode node failed"; }
done
# Rounds alternate the order: in-process, process, process, in-process, ...
for ((round = 1; round <= SKIFF_ROUNDS; round++)); do
	if ((round % 2)); then order=(in-process process); else order=(process in-process); fi
	for mode in "${order[@]}"; do run_mode "$mode" "$round"; done
done
for mode in "${MODES[@]}"; do stop_node "$mode"; done

# ---------------------------------------------------------------- Redis --
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
	log "installing redis-server and redis-tools"
	SUDO=
	[[ $(id -u) == 0 ]] || SUDO=sudo
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >&2
fi
REDIS_VERSION=$(redis-server --version | awk '{ sub(/^v=/, "", $3); print $3 }')

REDIS_PORT=$(free_port)
log "starting redis-server $REDIS_VERSION on 127.0.0.1:$REDIS_PORT (log: $OUT/redis.log)"
"${SERVER_CPUS[@]}" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
	--daemonize no --protected-mode yes --dir "$OUT" >"$OUT/redis.log" 2>&1 &
REDIS_PID=$!
for i in $(seq 100); do
	[[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && break
	kill -0 "$REDIS_PID" 2>/dev/null || { cat "$OUT/redis.log" >&2; die "redis-server exited"; }
	[[ $i == 100 ]] && die "redis-server did not answer within 10 s"
	sleep 0.1
done

# Insert every key redis-benchmark will use (key:%012d, as -r names them),
# as the Skiff run does, so that GETs hit.
log "inserting $KEYS keys into redis"
awk -v n="$KEYS" -v size="$VSIZE" 'BEGIN {
	v = sprintf("%*s", size, ""); gsub(/ /, "x", v)
	for (i = 0; i < n; i++)
		printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n", i, size, v
}' | redis-cli -p "$REDIS_PORT" --pipe >"$OUT/redis-load.txt"
grep -q 'errors: 0' "$OUT/redis-load.txt" || { cat "$OUT/redis-load.txt" >&2; die "inserting keys into redis failed"; }

threads=()
[[ -z $REDIS_THREADS ]] || threads=(--threads "$REDIS_THREADS")
log "redis-benchmark -c $CONC -d $VSIZE -r $KEYS -n $REDIS_REQUESTS -t set,get ${threads[*]}"
cpu0=$(cpu_ticks "$REDIS_PID") sys0=$(syscalls "$REDIS_PID") all0=$(machine_ticks)
timed "$OUT/redis-benchmark.raw" timeout --signal=INT "$BENCH_TIMEOUT" \
	"${CLIENT_CPUS[@]}" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$CONC" -d "$VSIZE" -r "$KEYS" \
	-n "$REDIS_REQUESTS" -P 1 -t set,get --precision 3 "${threads[@]}"
cpu1=$(cpu_ticks "$REDIS_PID") sys1=$(syscalls "$REDIS_PID") all1=$(machine_ticks)
REDIS_RSS=$(rss_mib "$REDIS_PID")
# redis-benchmark redraws its progress line with \r; keep the final report.
tr '\r' '\n' <"$OUT/redis-benchmark.raw" | grep -v 'rps=' >"$OUT/redis-benchmark.txt"
read -r redis_wall redis_user redis_sys <"$OUT/redis-benchmark.raw.time"
read -r REDIS_SERVER_CORES REDIS_CLIENT_CORES REDIS_OTHER_CORES REDIS_SYSCALLS REDIS_US_PER_OP < <(cpu_report \
	$((cpu1 - cpu0)) "$redis_user" "$redis_sys" $((all1 - all0)) "$redis_wall" $((sys1 - sys0)) $((2 * REDIS_REQUESTS)))
stop_pid "$REDIS_PID" redis-server
REDIS_PID=


# --------------------------------------------------------------- Report --
# Each Redis figure as name=value, from redis-benchmark's summary
# ("throughput summary", "latency summary") and percentile distribution
# (p99.9: the first listed percentile >= 99.9).
redis_figures() {
	awk '
		/^====== / { t = tolower($2); dist = 0 }
		/^Latency by percentile distribution/ { dist = 1; next }
		/^Cumulative distribution/ { dist = 0 }
		dist && /^[0-9.]+% <= / && !(t in p999) { p = $1; sub(/%/, "", p); if (p + 0 >= 99.9) p999[t] = $3 }
		/throughput summary:/ { rps[t] = $3 }
		/latency summary/ { getline; getline; mean[t] = $1; p50[t] = $3; p99[t] = $5 }
		END {
			for (t in rps) {
				print t "_rps=" rps[t]; print t "_p50=" p50[t]; print t "_p99=" p99[t]; print t "_p999=" p999[t]
				print t "_mean=" mean[t]
			}
		}
	' "$OUT/redis-benchmark.txt"
}
# medians MODE prints, for each figure of the MODE node's runs, its median
# over the runs as name=value, its spread (largest - smallest) as
# name_spread=value, and errors_total, the errors of all runs.
medians() {
	awk -v mode="$1" '
		{ delete f; for (i = 1; i <= NF; i++) { j = index($i, "="); f[substr($i, 1, j - 1)] = substr($i, j + 1) } }
		f["mode"] != mode { next }
		{ n++; for (k in f) { keys[k] = 1; v[k, n] = f[k] } }
		END {
			for (k in keys) {
				if (k == "mode" || k == "run") continue
				m = 0; sum = 0
				for (i = 1; i <= n; i++) if ((k, i) in v) { a[++m] = v[k, i] + 0; sum += v[k, i] }
				for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
				if (m) print k "=" (m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2)
				if (m) print k "_spread=" a[m] - a[1]
				if (k == "errors") print "errors_total=" sum
			}
		}
	' "$OUT/skiff-runs.txt"
}
declare -A S I R
while IFS== read -r k v; do S[$k]=$v; done < <(medians process; skiff_figures "$OUT/skiff-process-load.txt" | grep '^load_')
while IFS== read -r k v; do I[$k]=$v; done < <(medians in-process; skiff_figures "$OUT/skiff-in-process-load.txt" | grep '^load_')
while IFS== read -r k v; do R[$k]=$v; done < <(redis_figures)
for k in ops_per_sec get_p99 set_p99 all_p99; do
	[[ -n ${S[$k]:-} ]] || die "no $k in $OUT/skiff-runs.txt (process)"
	[[ -n ${I[$k]:-} ]] || die "no $k in $OUT/skiff-runs.txt (in-process)"
done
for k in get_rps set_rps get_p99 set_p99; do [[ -n ${R[$k]:-} ]] || die "no $k in $OUT/redis-benchmark.txt"; done

# Redis's mixed throughput: the rate at which READ_PCT% GETs and the rest
# SETs complete when each runs at its measured rate.
REDIS_MIX=$(awk -v r="$READ_PCT" -v g="${R[get_rps]}" -v s="${R[set_rps]}" \
	'BEGIN { printf "%.0f", 1 / ((r / 100) / g + (1 - r / 100) / s) }')
# diff_us A B: A - B, both in ms, in µs with its sign.
diff_us() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.0f us", 1000 * (a - b) }'; }
# Goal: process mode keeps >= 85% of in-process throughput and adds less
# than 50 µs to the p99 of reads and of writes.
GOAL_TPUT=$(awk -v p="${S[ops_per_sec]}" -v i="${I[ops_per_sec]}" 'BEGIN { print (p >= 0.85 * i ? "met" : "NOT met") }')
GOAL_P99=$(awk -v pg="${S[get_p99]}" -v ig="${I[get_p99]}" -v ps="${S[set_p99]}" -v is="${I[set_p99]}" \
	'BEGIN { print (1000 * (pg - ig) < 50 && 1000 * (ps - is) < 50 ? "met" : "NOT met") }')
# The largest spread, over both modes, of throughput (% of the median) and
# of p99 (µs, reads or writes) between runs of one mode.
P_SPREAD=$(awk -v a="${S[ops_per_sec_spread]}" -v am="${S[ops_per_sec]}" -v b="${I[ops_per_sec_spread]}" -v bm="${I[ops_per_sec]}" \
	'BEGIN { x = 100 * a / am; y = 100 * b / bm; printf "%.0f", (x > y ? x : y) }')
P99_SPREAD=$(awk -v a="${S[get_p99_spread]}" -v b="${S[set_p99_spread]}" -v c="${I[get_p99_spread]}" -v d="${I[set_p99_spread]}" \
	'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; if (d > m) m = d; printf "%.0f", 1000 * m }')
MAX_OTHER=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^other_cores=/) { split($i, kv, "="); if (kv[2] > m) m = kv[2] } } END { printf "%.2f", m }' "$OUT/skiff-runs.txt")

{
	echo
	echo "Skiff vs Redis, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))"
	echo "$CONC clients, $VSIZE-byte values, $KEYS keys, $READ_PCT% reads, no pipelining; redis $REDIS_VERSION, redis-benchmark threads: ${REDIS_THREADS:-1}, pinned: $([[ $BENCH_PIN == 1 ]] && echo "servers CPU 0, clients CPU 1" || echo no)"
	echo "Skiff: the default configuration (storage plugin process), median of $SKIFF_ROUNDS runs of $SKIFF_DURATION; in-proc/Redis: the same for mode in-process."
	echo
	printf '%-28s %14s %14s %12s %14s\n' "" "Skiff" "Redis" "Skiff/Redis" "in-proc/Redis"
	printf '%-28s %14.0f %14.0f %12s %14s\n' "ops/s ($READ_PCT/$((100 - READ_PCT)) mix)" "${S[ops_per_sec]}" "$REDIS_MIX" \
		"$(ratio "${S[ops_per_sec]}" "$REDIS_MIX")" "$(ratio "${I[ops_per_sec]}" "$REDIS_MIX")"
	printf '%-28s %14.0f %14s %12s\n' "load ops/s (insert all keys)" "${S[load_ops_per_sec]:-0}" "-" "-"
	for op in get set; do
		for p in p50 p99 p999; do
			printf '%-28s %14.3f %14.3f %12s %14s\n' "$op ${p/p999/p99.9} (ms)" "${S[${op}_$p]}" "${R[${op}_$p]:-0}" \
				"$(ratio "${S[${op}_$p]}" "${R[${op}_$p]:-0}")" "$(ratio "${I[${op}_$p]}" "${R[${op}_$p]:-0}")"
		done
	done
	printf '%-28s %14.3f %14s\n' "all p99 (ms)" "${S[all_p99]}" "-"
	# Little's law: with every client always waiting on one request, the
	# mean time from request to request is clients / throughput. A tool's
	# mean latency below it did not count part of the cycle.
	printf '%-28s %14.3f %14.3f\n' "clients/throughput (ms)" \
		"$(awk -v c="$CONC" -v t="${S[ops_per_sec]}" 'BEGIN { print 1000 * c / t }')" \
		"$(awk -v c="$CONC" -v t="$REDIS_MIX" 'BEGIN { print 1000 * c / t }')"
	printf '%-28s %14.3f %14.3f\n' "mean latency (ms)" "${S[all_mean]}" \
		"$(awk -v r="$READ_PCT" -v g="${R[get_mean]}" -v s="${R[set_mean]}" 'BEGIN { print (r * g + (100 - r) * s) / 100 }')"
	printf '%-28s %14.2f %14.2f\n' "server CPU (cores)" "${S[server_cores]}" "$REDIS_SERVER_CORES"
	printf '%-28s %14.2f %14.2f\n' "client CPU (cores)" "${S[client_cores]}" "$REDIS_CLIENT_CORES"
	printf '%-28s %14.2f %14.2f\n' "other CPU (cores)" "${S[other_cores]}" "$REDIS_OTHER_CORES"
	printf '%-28s %14.1f %14.1f %12s %14s\n' "server CPU per op (us)" "${S[us_per_op]}" "$REDIS_US_PER_OP" \
		"$(ratio "${S[us_per_op]}" "$REDIS_US_PER_OP")" "$(ratio "${I[us_per_op]}" "$REDIS_US_PER_OP")"
	printf '%-28s %14.2f %14.2f\n' "server read+write calls/op" "${S[syscalls]}" "$REDIS_SYSCALLS"
	printf '%-28s %14.0f %14.0f\n' "server RSS after run (MiB)" "${S[rss]}" "$REDIS_RSS"
	echo
	echo "Redis: GET ${R[get_rps]} ops/s, SET ${R[set_rps]} ops/s measured separately; mix = 1/($READ_PCT%/GET + $((100 - READ_PCT))%/SET)."
	echo "Skiff's server figures count skiffd and its storage plugin process."

	echo
	echo "process vs in-process: the same workload on the default namespace (storage plugin process) and on"
	echo "one with mode in-process; medians of $SKIFF_ROUNDS runs of $SKIFF_DURATION each, the two nodes alternated"
	echo
	printf '%-28s %12s %12s %10s %12s\n' "" "in-process" "process" "proc/in" "proc-in"
	printf '%-28s %12.0f %12.0f %10s %12s\n' "ops/s ($READ_PCT/$((100 - READ_PCT)) mix)" "${I[ops_per_sec]}" "${S[ops_per_sec]}" \
		"$(ratio "${S[ops_per_sec]}" "${I[ops_per_sec]}")" "-"
	for op in get set all; do
		for p in p50 p99 p999; do
			[[ $op == all && $p != p99 ]] && continue
			printf '%-28s %12.3f %12.3f %10s %12s\n' "$op ${p/p999/p99.9} (ms)" "${I[${op}_$p]}" "${S[${op}_$p]}" \
				"$(ratio "${S[${op}_$p]}" "${I[${op}_$p]}")" "$(diff_us "${S[${op}_$p]}" "${I[${op}_$p]}")"
		done
	done
	printf '%-28s %12.2f %12.2f\n' "server CPU (cores)" "${I[server_cores]}" "${S[server_cores]}"
	printf '%-28s %12s %12.2f\n' "  of which plugin (cores)" "-" "${S[plugin_cores]}"
	printf '%-28s %12.2f %12.2f\n' "client CPU (cores)" "${I[client_cores]}" "${S[client_cores]}"
	printf '%-28s %12.2f %12.2f\n' "other CPU (cores)" "${I[other_cores]}" "${S[other_cores]}"
	printf '%-28s %12.1f %12.1f %10s %12s\n' "server CPU per op (us)" "${I[us_per_op]}" "${S[us_per_op]}" \
		"$(ratio "${S[us_per_op]}" "${I[us_per_op]}")" "$(awk -v a="${S[us_per_op]}" -v b="${I[us_per_op]}" 'BEGIN { printf "%+.1f us", a - b }')"
	printf '%-28s %12s %12.1f\n' "  of which plugin (us)" "-" "${S[plugin_us_per_op]}"
	printf '%-28s %12.2f %12.2f %10s\n' "server read+write calls/op" "${I[syscalls]}" "${S[syscalls]}" "$(ratio "${S[syscalls]}" "${I[syscalls]}")"
	printf '%-28s %12.0f %12.0f\n' "server RSS after run (MiB)" "${I[rss]}" "${S[rss]}"
	printf '%-28s %12.0f %12.0f %10s\n' "load ops/s (insert all keys)" "${I[load_ops_per_sec]:-0}" "${S[load_ops_per_sec]:-0}" \
		"$(ratio "${S[load_ops_per_sec]:-0}" "${I[load_ops_per_sec]:-0}")"
	echo
	echo "Runs, in the order they ran:"
	awk '{
		for (i = 1; i <= NF; i++) { j = index($i, "="); f[substr($i, 1, j - 1)] = substr($i, j + 1) }
		printf "  %d %-10s %8.0f ops/s  p99 get %.3f set %.3f all %.3f ms  server %5.1f us/op  other CPU %.2f, idle node %.2f cores\n",
			f["run"], f["mode"], f["ops_per_sec"], f["get_p99"], f["set_p99"], f["all_p99"], f["us_per_op"], f["other_cores"], f["idle_node_cores"]
		ops[f["mode"], f["run"]] = f["ops_per_sec"]; g[f["mode"], f["run"]] = f["get_p99"]; s[f["mode"], f["run"]] = f["set_p99"]
		if (f["run"] > n) n = f["run"]
	}
	END {
		for (r = 1; r <= n; r++)
			if (((("process", r) in ops)) && (("in-process", r) in ops) && ops["in-process", r] > 0)
				printf "  round %d: process/in-process %.2f, p99 get %+.0f us, set %+.0f us\n", r,
					ops["process", r] / ops["in-process", r], 1000 * (g["process", r] - g["in-process", r]), 1000 * (s["process", r] - s["in-process", r])
	}' "$OUT/skiff-runs.txt"
	echo
	echo "Goal: process >= 85% of in-process throughput: $(ratio "${S[ops_per_sec]}" "${I[ops_per_sec]}"), $GOAL_TPUT;" \
		"p99 less than 50 us higher: get $(diff_us "${S[get_p99]}" "${I[get_p99]}"), set $(diff_us "${S[set_p99]}" "${I[set_p99]}"), $GOAL_P99" \
		"(p50: get $(diff_us "${S[get_p50]}" "${I[get_p50]}"), set $(diff_us "${S[set_p50]}" "${I[set_p50]}"))."
	echo "Noise: between runs of one mode, throughput varied by up to $P_SPREAD% and p99 by up to $P99_SPREAD us; smaller differences than these are not resolved."
	if awk -v m="$MAX_OTHER" -v r="$REDIS_OTHER_CORES" 'BEGIN { exit !(m > 0.05 || r > 0.05) }'; then
		echo "Warning: something else used up to $MAX_OTHER cores during a Skiff run ($REDIS_OTHER_CORES during Redis's): the figures are noisy; rerun on a quiet machine."
	fi
	echo "Skiff errors during the runs: process ${S[errors_total]:-?}, in-process ${I[errors_total]:-?}. Raw outputs and logs: $OUT. Total time: $((SECONDS - START)) s."
	echo "ratio skiff_ops_per_sec=${S[ops_per_sec]} redis_ops_per_sec=$REDIS_MIX skiff_over_redis=$(ratio "${S[ops_per_sec]}" "$REDIS_MIX")" \
		"inprocess_ops_per_sec=${I[ops_per_sec]} inprocess_over_redis=$(ratio "${I[ops_per_sec]}" "$REDIS_MIX")"
	echo "ratio process_ops_per_sec=${S[ops_per_sec]} inprocess_ops_per_sec=${I[ops_per_sec]} process_over_inprocess=$(ratio "${S[ops_per_sec]}" "${I[ops_per_sec]}")" \
		"get_p99_diff_us=$(awk -v a="${S[get_p99]}" -v b="${I[get_p99]}" 'BEGIN { printf "%.0f", 1000 * (a - b) }')" \
		"set_p99_diff_us=$(awk -v a="${S[set_p99]}" -v b="${I[set_p99]}" 'BEGIN { printf "%.0f", 1000 * (a - b) }')" \
		"goal_throughput=${GOAL_TPUT// /_} goal_p99=${GOAL_P99// /_}"
} | tee "$OUT/summary.txt"
