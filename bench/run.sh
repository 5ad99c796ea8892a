#!/usr/bin/env bash
# bench/run.sh: Skiff's memory namespace against Redis, side by side, in one
# run (what `make bench` runs; see bench/README.md for what is measured).
#
#   1. builds skiffd and skiff, starts skiffd (default config, free port,
#      admin off, 127.0.0.1), runs `skiff bench` (load all keys, then a timed
#      mixed read/write phase), stops skiffd;
#   2. installs redis-server/redis-tools with apt-get if missing, starts
#      redis-server on a free loopback port without persistence, inserts all
#      keys, runs redis-benchmark's SET and GET tests, stops it;
#   3. prints both sets of figures side by side and the ratio Skiff/Redis.
#
# Settings (environment):
#   BENCH_CONCURRENCY  clients on both sides                (50)
#   BENCH_KEYS         key space                            (1000000)
#   BENCH_VALUE_SIZE   value bytes                          (100)
#   BENCH_READ_PCT     reads in the mix                     (80)
#   SKIFF_DURATION     skiff bench's measured phase         (30s)
#   REDIS_REQUESTS     requests per redis-benchmark test    (2000000)
#   REDIS_THREADS      redis-benchmark --threads; unset: its default single
#                      thread, the configuration the figures are quoted for
#   BENCH_PIN          1: pin each server to CPU 0 and its client to CPU 1
#                      (taskset), instead of letting them share both CPUs
#   BENCH_OUT          directory for raw outputs and logs   (a new /tmp/skiff-bench.* directory, kept)
#   BENCH_TIMEOUT      seconds each client may run at most  (300)
set -euo pipefail

CONC=${BENCH_CONCURRENCY:-50}
KEYS=${BENCH_KEYS:-1000000}
VSIZE=${BENCH_VALUE_SIZE:-100}
READ_PCT=${BENCH_READ_PCT:-80}
SKIFF_DURATION=${SKIFF_DURATION:-30s}
REDIS_REQUESTS=${REDIS_REQUESTS:-2000000}
REDIS_THREADS=${REDIS_THREADS:-}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
BENCH_PIN=${BENCH_PIN:-0}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/skiff-bench.XXXXXX)}
SERVER_CPUS=() CLIENT_CPUS=()
if [[ $BENCH_PIN == 1 ]]; then
	SERVER_CPUS=(taskset -c 0) CLIENT_CPUS=(taskset -c 1)
fi

cd "$(dirname "$0")/.."
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

# Servers started by this script; stopped on any exit.
SKIFFD_PID=
REDIS_PID=
stop_pid() { # PID NAME: SIGTERM, wait up to 30 s, then SIGKILL
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
cleanup() {
	stop_pid "$SKIFFD_PID" skiffd
	stop_pid "$REDIS_PID" redis-server
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a TCP port nobody listens on at 127.0.0.1.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# cpu_ticks PID prints the user+system CPU time of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# machine_ticks prints the busy CPU time of the whole machine (all but idle
# and iowait), in clock ticks.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
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

# ---------------------------------------------------------------- Skiff --
log "building skiffd and skiff"
go build -o "$OUT/" ./cmd/skiffd ./plugins/storage-memory/cmd/skiff-storage-memory
go build -o "$OUT/skiff" ./cmd/skiff

SKIFF_PORT=$(free_port)
# The default configuration, with the client service on SKIFF_PORT at
# 127.0.0.1 and the admin HTTP server off.
"$OUT/skiffd" --print-default-config | awk -v port="$SKIFF_PORT" '
	{ line = $0; sub(/#.*/, "", line) }
	line ~ /\{/ { n = split(line, w); depth++; block[depth] = w[1] }
	depth == 2 && block[1] == "network" && block[2] == "service" && line ~ /^[ \t]*port[ \t]/ { sub(/port[ \t]+[0-9]+/, "port " port) }
	depth == 2 && block[1] == "network" && block[2] == "service" && line ~ /^[ \t]*address[ \t]/ { sub(/address[ \t]+[^ \t#]+/, "address 127.0.0.1") }
	depth == 2 && block[1] == "network" && block[2] == "admin" && line ~ /^[ \t]*port[ \t]/ { sub(/port[ \t]+[0-9]+/, "port 0") }
	line ~ /\}/ { depth-- }
	{ print }
' >"$OUT/skiff.conf"
grep -q "port $SKIFF_PORT" "$OUT/skiff.conf" || die "could not set the service port in $OUT/skiff.conf"
grep -q "port 0" "$OUT/skiff.conf" || die "could not turn the admin port off in $OUT/skiff.conf"

log "starting skiffd on 127.0.0.1:$SKIFF_PORT (log: $OUT/skiffd.log)"
"${SERVER_CPUS[@]}" "$OUT/skiffd" --config "$OUT/skiff.conf" >"$OUT/skiffd.log" 2>&1 &
SKIFFD_PID=$!
for i in $(seq 100); do
	"$OUT/skiff" info -p "$SKIFF_PORT" -t 1s status >/dev/null 2>&1 && break
	kill -0 "$SKIFFD_PID" 2>/dev/null || { cat "$OUT/skiffd.log" >&2; die "skiffd exited"; }
	[[ $i == 100 ]] && die "skiffd did not answer within 10 s"
	sleep 0.1
done

log "skiff bench -c $CONC -k $KEYS -v $VSIZE -r $READ_PCT -d $SKIFF_DURATION"
cpu0=$(cpu_ticks "$SKIFFD_PID") sys0=$(syscalls "$SKIFFD_PID") all0=$(machine_ticks)
timed "$OUT/skiff-bench.txt" timeout --signal=INT "$BENCH_TIMEOUT" \
	"${CLIENT_CPUS[@]}" "$OUT/skiff" bench -h 127.0.0.1 -p "$SKIFF_PORT" -n test -s bench \
	-c "$CONC" -k "$KEYS" -v "$VSIZE" -r "$READ_PCT" -d "$SKIFF_DURATION" -w
cpu1=$(cpu_ticks "$SKIFFD_PID") sys1=$(syscalls "$SKIFFD_PID") all1=$(machine_ticks)
SKIFF_RSS=$(rss_mib "$SKIFFD_PID")
cat "$OUT/skiff-bench.txt"
read -r skiff_wall skiff_user skiff_sys <"$OUT/skiff-bench.txt.time"
skiff_ops=$(awk '$1 == "phase" { for (i = 2; i <= NF; i++) if ($i ~ /^ops=/) { sub(/ops=/, "", $i); n += $i } } END { print n + 0 }' "$OUT/skiff-bench.txt")
read -r SKIFF_SERVER_CORES SKIFF_CLIENT_CORES SKIFF_OTHER_CORES SKIFF_SYSCALLS SKIFF_US_PER_OP < <(cpu_report \
	$((cpu1 - cpu0)) "$skiff_user" "$skiff_sys" $((all1 - all0)) "$skiff_wall" $((sys1 - sys0)) "$skiff_ops")
stop_pid "$SKIFFD_PID" skiffd
SKIFFD_PID=

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
# Each figure as name=value, from skiff bench's text report and from
# redis-benchmark's summary ("throughput summary", "latency summary") and
# percentile distribution (p99.9: the first listed percentile >= 99.9).
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
	' "$OUT/skiff-bench.txt"
}
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
declare -A S R
while IFS== read -r k v; do S[$k]=$v; done < <(skiff_figures)
while IFS== read -r k v; do R[$k]=$v; done < <(redis_figures)
for k in ops_per_sec get_p99 set_p99; do [[ -n ${S[$k]:-} ]] || die "no $k in $OUT/skiff-bench.txt"; done
for k in get_rps set_rps get_p99 set_p99; do [[ -n ${R[$k]:-} ]] || die "no $k in $OUT/redis-benchmark.txt"; done

# Redis's mixed throughput: the rate at which READ_PCT% GETs and the rest
# SETs complete when each runs at its measured rate.
REDIS_MIX=$(awk -v r="$READ_PCT" -v g="${R[get_rps]}" -v s="${R[set_rps]}" \
	'BEGIN { printf "%.0f", 1 / ((r / 100) / g + (1 - r / 100) / s) }')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

{
	echo
	echo "Skiff vs Redis, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))"
	echo "$CONC clients, $VSIZE-byte values, $KEYS keys, $READ_PCT% reads, no pipelining; redis $REDIS_VERSION, redis-benchmark threads: ${REDIS_THREADS:-1}, pinned: $([[ $BENCH_PIN == 1 ]] && echo "servers CPU 0, clients CPU 1" || echo no)"
	echo
	printf '%-28s %14s %14s %12s\n' "" "Skiff" "Redis" "Skiff/Redis"
	printf '%-28s %14.0f %14.0f %12s\n' "ops/s ($READ_PCT/$((100 - READ_PCT)) mix)" "${S[ops_per_sec]}" "$REDIS_MIX" "$(ratio "${S[ops_per_sec]}" "$REDIS_MIX")"
	printf '%-28s %14.0f %14s %12s\n' "load ops/s (insert all keys)" "${S[load_ops_per_sec]:-0}" "-" "-"
	for op in get set; do
		for p in p50 p99 p999; do
			printf '%-28s %14.3f %14.3f %12s\n' "$op ${p/p999/p99.9} (ms)" "${S[${op}_$p]}" "${R[${op}_$p]:-0}" "$(ratio "${S[${op}_$p]}" "${R[${op}_$p]:-0}")"
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
	printf '%-28s %14s %14s\n' "server CPU (cores)" "$SKIFF_SERVER_CORES" "$REDIS_SERVER_CORES"
	printf '%-28s %14s %14s\n' "client CPU (cores)" "$SKIFF_CLIENT_CORES" "$REDIS_CLIENT_CORES"
	printf '%-28s %14s %14s\n' "other CPU (cores)" "$SKIFF_OTHER_CORES" "$REDIS_OTHER_CORES"
	printf '%-28s %14s %14s %12s\n' "server CPU per op (us)" "$SKIFF_US_PER_OP" "$REDIS_US_PER_OP" "$(ratio "$SKIFF_US_PER_OP" "$REDIS_US_PER_OP")"
	printf '%-28s %14s %14s\n' "server read+write calls/op" "$SKIFF_SYSCALLS" "$REDIS_SYSCALLS"
	printf '%-28s %14s %14s\n' "server RSS after run (MiB)" "$SKIFF_RSS" "$REDIS_RSS"
	echo
	echo "Redis: GET ${R[get_rps]} ops/s, SET ${R[set_rps]} ops/s measured separately; mix = 1/($READ_PCT%/GET + $((100 - READ_PCT))%/SET)."
	echo "Skiff errors during the run: ${S[errors]:-?}. Raw outputs and logs: $OUT"
	echo "ratio skiff_ops_per_sec=${S[ops_per_sec]} redis_ops_per_sec=$REDIS_MIX skiff_over_redis=$(ratio "${S[ops_per_sec]}" "$REDIS_MIX")"
} | tee "$OUT/summary.txt"
