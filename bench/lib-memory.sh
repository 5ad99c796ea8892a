# bench/lib-memory.sh: helpers of the scripts that run memory-namespace
# nodes against Redis (bench/run.sh, bench/map.sh); sourced after
# bench/lib.sh, from the repository's root.

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

# ------------------------------------------------- memory-namespace nodes --
# Nodes from the default configuration (memory namespace test), one per
# storage mode, driven by skiff bench. The caller sets OUT (build outputs,
# raw outputs and logs), CONC, KEYS, READ_PCT, SKIFF_WORKLOAD (skiff bench's
# workload flags: -v SIZE, or -map FIELDS), SKIFF_DURATION, SKIFF_WARMUP,
# SKIFF_NSUP_PERIOD, BENCH_TIMEOUT, SERVER_CPUS and CLIENT_CPUS (a command
# prefix that pins servers, and clients, to CPUs, or empty), MODES (its
# nodes' modes) and REDIS_PID, and declares the associative arrays
# NODE_PID, NODE_PORT and PLUGIN_PID, indexed by mode.

# build_skiff builds skiffd, its memory storage plugin (beside skiffd, where
# the node looks for it) and skiff into OUT.
build_skiff() {
	log "building skiffd, skiff-storage-memory and skiff"
	go build -o "$OUT/" ./cmd/skiffd ./plugins/storage-memory/cmd/skiff-storage-memory
	go build -o "$OUT/skiff" ./cmd/skiff
	[[ -x $OUT/skiffd && -x $OUT/skiff-storage-memory && -x $OUT/skiff ]] || die "build outputs missing in $OUT"
}

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
# shellcheck disable=SC2004 # NODE_PID[$mode]: an associative array, not arithmetic
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

# stop_node MODE stops a node; its plugin exits with it (else it is
# stopped too).
# shellcheck disable=SC2004 # as in start_node
stop_node() {
	local mode=$1
	stop_pid "${NODE_PID[$mode]:-}" "skiffd ($mode)"
	NODE_PID[$mode]=
	await_plugin "${PLUGIN_PID[$mode]:-}"
}

# stop_servers stops every node of MODES and Redis: the scripts' EXIT trap.
stop_servers() {
	local mode
	for mode in "${MODES[@]}"; do stop_node "$mode"; done
	stop_pid "${REDIS_PID:-}" redis-server
}

# node_pids MODE prints the node's pid and its plugin's, if any (nothing for
# a node not running).
node_pids() { echo "${NODE_PID[$1]:-}" ${PLUGIN_PID[$1]:+"${PLUGIN_PID[$1]}"}; }
# node_ticks, node_syscalls and node_rss MODE: the figure summed over the
# node and its plugin process (a child, whose CPU its parent's
# /proc/PID/stat does not count while it runs).
node_ticks() { local p n=0; for p in $(node_pids "$1"); do n=$((n + $(cpu_ticks "$p"))); done; echo "$n"; }
node_syscalls() { local p n=0; for p in $(node_pids "$1"); do n=$((n + $(syscalls "$p"))); done; echo "$n"; }
# node_rss counts proportional set sizes: the memory file holding a memory
# namespace's records is mapped by both processes, and RSS would count it
# twice.
node_rss() { local p n=0; for p in $(node_pids "$1"); do n=$((n + $(pss_kib "$p"))); done; echo $((n >> 10)); }
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
plugin_ticks() { if [[ -n ${PLUGIN_PID[$1]:-} ]]; then cpu_ticks "${PLUGIN_PID[$1]}"; else echo 0; fi; }
# idle_ticks MODE: node_ticks of the other nodes of MODES, together.
idle_ticks() { local m n=0; for m in "${MODES[@]}"; do [[ $m == "$1" ]] || n=$((n + $(node_ticks "$m"))); done; echo "$n"; }

skiff_bench() { # MODE FLAGS...: the workload against the MODE node
	local mode=$1; shift
	timeout --signal=INT "$BENCH_TIMEOUT" "${CLIENT_CPUS[@]}" "$OUT/skiff" bench -h 127.0.0.1 -p "${NODE_PORT[$mode]}" \
		-n test -s bench -c "$CONC" -k "$KEYS" "${SKIFF_WORKLOAD[@]}" -r "$READ_PCT" "$@"
}

# load_node MODE inserts every key into the MODE node, then runs the mixed
# workload for SKIFF_WARMUP, not reported ($OUT/skiff-MODE-load.txt); the
# load must have had no errors.
load_node() {
	local mode=$1
	log "loading $KEYS keys into the $mode node: skiff bench -w -d $SKIFF_WARMUP"
	skiff_bench "$mode" -d "$SKIFF_WARMUP" -w -i 0 >"$OUT/skiff-$mode-load.txt"
	grep -q '^phase name=load .* errors=0' "$OUT/skiff-$mode-load.txt" || { cat "$OUT/skiff-$mode-load.txt" >&2; die "loading the $mode node failed"; }
}

# run_mode MODE RUN runs one measured phase against the MODE node and
# appends its figures, as name=value on one line, to $OUT/skiff-runs.txt.
run_mode() {
	local mode=$1 run=$2 f t0 t1 p0 p1 s0 s1 i0 i1 a0 a1 wall user sys ops
	f="$OUT/skiff-$mode-$run.txt"
	log "run $run, $mode: skiff bench -c $CONC -k $KEYS ${SKIFF_WORKLOAD[*]} -r $READ_PCT -d $SKIFF_DURATION -w=false"
	t0=$(node_ticks "$mode") p0=$(plugin_ticks "$mode") s0=$(node_syscalls "$mode") i0=$(idle_ticks "$mode") a0=$(machine_ticks)
	timed "$f" skiff_bench "$mode" -d "$SKIFF_DURATION" -w=false
	t1=$(node_ticks "$mode") p1=$(plugin_ticks "$mode") s1=$(node_syscalls "$mode") i1=$(idle_ticks "$mode") a1=$(machine_ticks)
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
	tail -n 1 "$OUT/skiff-runs.txt" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		printf "== run %s, %s: %.0f ops/s, p99 get %.3f set %.3f ms, server %.1f us/op, other CPU %.2f cores\n",
			f["run"], f["mode"], f["ops_per_sec"], f["get_p99"], f["set_p99"], f["us_per_op"], f["other_cores"]
	}' >&2
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

# ------------------------------------------------------------------ Redis --
# redis_install installs redis-server and redis-tools with apt-get (through
# sudo unless root) if one of its commands is missing, and sets
# REDIS_VERSION.
redis_install() {
	if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
		log "installing redis-server and redis-tools"
		local sudo=
		[[ $(id -u) == 0 ]] || sudo=sudo
		$sudo apt-get update -qq
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >&2
	fi
	REDIS_VERSION=$(redis-server --version | awk '{ sub(/^v=/, "", $3); print $3 }')
}

# redis_start starts redis-server (on SERVER_CPUS) on a free port of
# 127.0.0.1 without persistence, sets REDIS_PORT and REDIS_PID, and waits
# for it to answer.
redis_start() {
	local i
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
}

# redis_load feeds the RESP commands on its stdin to the Redis server with
# redis-cli --pipe (report: $OUT/redis-load.txt) and checks that none
# failed.
redis_load() {
	redis-cli -p "$REDIS_PORT" --pipe >"$OUT/redis-load.txt"
	grep -q 'errors: 0' "$OUT/redis-load.txt" || { cat "$OUT/redis-load.txt" >&2; die "inserting keys into redis failed"; }
}

# redis_bench FILE OPS ARGS... runs redis-benchmark ARGS against the Redis
# server (on CLIENT_CPUS, for at most BENCH_TIMEOUT) with its output to FILE,
# timed (FILE.time), and writes to FILE.cpu what cpu_report prints for that
# run of OPS requests in all, followed by the server's RSS in MiB after it.
redis_bench() {
	local file=$1 ops=$2 c0 c1 s0 s1 a0 a1 wall user sys
	shift 2
	c0=$(cpu_ticks "$REDIS_PID") s0=$(syscalls "$REDIS_PID") a0=$(machine_ticks)
	timed "$file" timeout --signal=INT "$BENCH_TIMEOUT" \
		"${CLIENT_CPUS[@]}" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" "$@"
	c1=$(cpu_ticks "$REDIS_PID") s1=$(syscalls "$REDIS_PID") a1=$(machine_ticks)
	read -r wall user sys <"$file.time"
	echo "$(cpu_report $((c1 - c0)) "$user" "$sys" $((a1 - a0)) "$wall" $((s1 - s0)) "$ops") $(rss_mib "$REDIS_PID")" >"$file.cpu"
}
