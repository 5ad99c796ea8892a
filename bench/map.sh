#!/usr/bin/env bash
# bench/map.sh: counters in Skiff's maps against counters in Redis's hashes,
# side by side in one run (what `make bench-map` runs; see bench/README.md,
# and "Map counters against Redis hashes" in bench/RESULTS.md).
#
#   1. builds skiffd, its memory storage plugin (skiff-storage-memory, beside
#      skiffd) and skiff as bench/run.sh does; starts one node from the
#      default config (free port, admin off, 127.0.0.1), whose namespace runs
#      its backend as a plugin process (mode process, the default); gives
#      every key one map bin of BENCH_MAP_FIELDS integer fields f0.. = 0
#      (`skiff bench -map F -w`, with a short mixed warm-up), then runs the
#      timed mixed phase SKIFF_ROUNDS times: reads of one random field
#      (MapGetByKeyOp), the rest increments of one random field by 1
#      (MapIncrementOp); stops the node;
#   2. installs redis-server/redis-tools with apt-get if missing, starts
#      redis-server on a free loopback port without persistence, loads the
#      same data (a hash key:%012d of fields f0.. = 0 for every key, through
#      redis-cli --pipe), runs redis-benchmark's HGET and HINCRBY (by 1) of
#      the middle field, f(F/2), REDIS_ROUNDS times each, alternating, and
#      stops it;
#   3. prints Skiff (median of its runs) and Redis (mean of its runs, the mix
#      computed as 1/(R%/HGET + (100-R)%/HINCRBY)) side by side with the
#      ratio Skiff/Redis, then every run, then a `ratio ...` line.
#
# Settings (environment):
#   BENCH_CONCURRENCY  clients on both sides                (50)
#   BENCH_KEYS         records in Skiff, hashes in Redis    (1000000)
#   BENCH_MAP_FIELDS   integer fields of each               (10)
#   BENCH_READ_PCT     reads in the mix                     (80)
#   SKIFF_DURATION     each skiff bench measured phase      (10s)
#   SKIFF_ROUNDS       measured phases; the median is reported (3)
#   SKIFF_WARMUP       mixed phase after the load, not reported (2s)
#   SKIFF_NSUP_PERIOD  the namespace's nsup-period, seconds (3600, as in
#                      bench/run.sh, which says why)
#   REDIS_REQUESTS     requests of each HGET run; each HINCRBY run makes
#                      half as many                         (2000000)
#   REDIS_ROUNDS       runs of HGET and of HINCRBY; their means are reported (2)
#   BENCH_OUT          directory for raw outputs and logs   (a new /tmp/skiff-bench-map.* directory, kept)
#   BENCH_TIMEOUT      seconds each client may run at most  (300)
# The defaults take two to three minutes.
set -euo pipefail

CONC=${BENCH_CONCURRENCY:-50}
KEYS=${BENCH_KEYS:-1000000}
FIELDS=${BENCH_MAP_FIELDS:-10}
READ_PCT=${BENCH_READ_PCT:-80}
SKIFF_DURATION=${SKIFF_DURATION:-10s}
SKIFF_ROUNDS=${SKIFF_ROUNDS:-3}
SKIFF_WARMUP=${SKIFF_WARMUP:-2s}
SKIFF_NSUP_PERIOD=${SKIFF_NSUP_PERIOD:-3600}
REDIS_REQUESTS=${REDIS_REQUESTS:-2000000}
REDIS_ROUNDS=${REDIS_ROUNDS:-2}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/skiff-bench-map.XXXXXX)}
for setting in "BENCH_MAP_FIELDS=$FIELDS" "SKIFF_ROUNDS=$SKIFF_ROUNDS" "REDIS_REQUESTS=$REDIS_REQUESTS" "REDIS_ROUNDS=$REDIS_ROUNDS"; do
	[[ ${setting#*=} =~ ^[1-9][0-9]*$ ]] || { echo "bench/map.sh: ${setting%%=*} must be a positive integer" >&2; exit 2; }
done
INCR_REQUESTS=$((REDIS_REQUESTS > 1 ? REDIS_REQUESTS / 2 : 1))
# The field Redis reads and increments: one that exists for any field count
# (f5 of f0..f9 by default).
FIELD=f$((FIELDS / 2))
# skiff bench's workload (for bench/lib-memory.sh): one map bin of FIELDS counters.
SKIFF_WORKLOAD=(-map "$FIELDS")
# Servers and clients are not pinned to CPUs (bench/run.sh's BENCH_PIN).
SERVER_CPUS=() CLIENT_CPUS=()

cd "$(dirname "$0")/.."
source bench/lib.sh
source bench/lib-memory.sh
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$SECONDS

# The Skiff node, by mode (one: process); Redis. Servers started by this
# script are stopped on any exit (stop_servers, bench/lib-memory.sh).
MODES=(process)
declare -A NODE_PID=() NODE_PORT=() PLUGIN_PID=()
REDIS_PID=
trap stop_servers EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- Skiff --
build_skiff
: >"$OUT/skiff-runs.txt"
start_node process
load_node process
for ((run = 1; run <= SKIFF_ROUNDS; run++)); do run_mode process "$run"; done
stop_node process

# ---------------------------------------------------------------- Redis --
redis_install
redis_start

# The same data as the Skiff node's: every key redis-benchmark will use
# (key:%012d, as -r names them), each an HSET of FIELDS fields f0.. = 0, as
# RESP.
log "inserting $KEYS hashes of $FIELDS fields into redis"
awk -v n="$KEYS" -v fields="$FIELDS" 'BEGIN {
	head = sprintf("*%d\r\n$4\r\nHSET\r\n", 2 + 2 * fields)
	for (j = 0; j < fields; j++) tail = tail sprintf("$%d\r\nf%d\r\n$1\r\n0\r\n", length("f" j), j)
	for (i = 0; i < n; i++)
		printf "%s$16\r\nkey:%012d\r\n%s", head, i, tail
}' | redis_load

# redis_run RUN COMMAND REQUESTS ARGS... runs redis-benchmark's test ARGS
# (COMMAND on key:__rand_int__) with REQUESTS requests and appends its
# figures, as name=value on one line, to $OUT/redis-runs.txt.
redis_run() {
	local run=$1 cmd=$2 n=$3 f figs server client oth sc us rss
	shift 3
	f="$OUT/redis-$cmd-$run.csv"
	log "run $run, redis: redis-benchmark -c $CONC -n $n -r $KEYS --csv $*"
	redis_bench "$f" "$n" -c "$CONC" -n "$n" -r "$KEYS" --csv "$@"
	read -r server client oth sc us rss <"$f.cpu"
	# redis-benchmark 7's --csv: a header ("test","rps","avg_latency_ms",
	# "min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",
	# "max_latency_ms"), then one line for the test, every field quoted.
	figs=$(tr '\r' '\n' <"$f" | awk -F, '
		!/^"/ { next }
		{ for (i = 1; i <= NF; i++) gsub(/"/, "", $i) }
		!header { for (i = 1; i <= NF; i++) col[$i] = i; header = 1; next }
		{ printf "rps=%s mean=%s p50=%s p99=%s", $col["rps"], $col["avg_latency_ms"], $col["p50_latency_ms"], $col["p99_latency_ms"]; exit }
	')
	[[ $figs =~ ^rps=[0-9.]+\ mean=[0-9.]+\ p50=[0-9.]+\ p99=[0-9.]+$ ]] || { cat "$f" >&2; die "no figures in $f"; }
	printf 'op=%s run=%s %s server_cores=%s client_cores=%s other_cores=%s syscalls=%s us_per_op=%s rss=%s\n' \
		"$cmd" "$run" "$figs" "$server" "$client" "$oth" "$sc" "$us" "$rss" >>"$OUT/redis-runs.txt"
	tail -n 1 "$OUT/redis-runs.txt" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		printf "== run %s, redis %s: %.0f ops/s, p99 %.3f ms, server %.1f us/op, other CPU %.2f cores\n",
			f["run"], f["op"], f["rps"], f["p99"], f["us_per_op"], f["other_cores"]
	}' >&2
}

: >"$OUT/redis-runs.txt"
for ((run = 1; run <= REDIS_ROUNDS; run++)); do
	redis_run "$run" HGET "$REDIS_REQUESTS" HGET 'key:__rand_int__' "$FIELD"
	redis_run "$run" HINCRBY "$INCR_REQUESTS" HINCRBY 'key:__rand_int__' "$FIELD" 1
done
REDIS_RSS=$(rss_mib "$REDIS_PID")
stop_pid "$REDIS_PID" redis-server
REDIS_PID=


# --------------------------------------------------------------- Report --
# redis_means prints the mean of each figure over the runs of each command,
# as COMMAND_name=value (HGET_rps=..., HINCRBY_p99=...).
redis_means() {
	awk '
		{
			delete f; for (i = 1; i <= NF; i++) { j = index($i, "="); f[substr($i, 1, j - 1)] = substr($i, j + 1) }
			for (k in f) if (k != "op" && k != "run") { sum[f["op"] "_" k] += f[k]; n[f["op"] "_" k]++ }
		}
		END { for (k in sum) print k "=" sum[k] / n[k] }
	' "$OUT/redis-runs.txt"
}
# mix HGET HINCRBY: the rate at which a mix of READ_PCT% HGETs and the rest
# HINCRBYs completes when each runs at its own measured rate.
mix() { awk -v r="$READ_PCT" -v g="$1" -v i="$2" 'BEGIN { printf "%.0f", 1 / ((r / 100) / g + (1 - r / 100) / i) }'; }

declare -A S R
while IFS='=' read -r k v; do S[$k]=$v; done < <(medians process; skiff_figures "$OUT/skiff-process-load.txt" | grep '^load_')
while IFS='=' read -r k v; do R[$k]=$v; done < <(redis_means)
for k in ops_per_sec get_p50 get_p99 set_p50 set_p99 all_p99 us_per_op; do
	[[ -n ${S[$k]:-} ]] || die "no $k in $OUT/skiff-runs.txt"
done
for k in HGET_rps HGET_p99 HGET_us_per_op HINCRBY_rps HINCRBY_p99 HINCRBY_us_per_op; do
	[[ -n ${R[$k]:-} ]] || die "no $k in $OUT/redis-runs.txt"
done

REDIS_MIX=$(mix "${R[HGET_rps]}" "${R[HINCRBY_rps]}")
# Redis's server CPU per operation of the mix: each command's, weighted as
# the mix weighs the commands.
REDIS_US_PER_OP=$(awk -v r="$READ_PCT" -v g="${R[HGET_us_per_op]}" -v i="${R[HINCRBY_us_per_op]}" \
	'BEGIN { printf "%.1f", (r * g + (100 - r) * i) / 100 }')
# pair NAME: Redis's HGET and HINCRBY figure NAME, as "HGET/HINCRBY".
pair() { printf '%.2f/%.2f' "${R[HGET_$1]:-0}" "${R[HINCRBY_$1]:-0}"; }
MAX_OTHER=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^other_cores=/) { split($i, kv, "="); if (kv[2] > m) m = kv[2] } } END { printf "%.2f", m }' \
	"$OUT/skiff-runs.txt" "$OUT/redis-runs.txt")

{
	echo
	echo "Map counters: Skiff vs Redis hashes, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))"
	echo "$CONC clients, $KEYS keys of $FIELDS integer fields, $READ_PCT% reads of a field, the rest increments of one by 1; no pipelining; redis $REDIS_VERSION"
	echo "Skiff: the default configuration (storage plugin process), MapGetByKeyOp and MapIncrementOp of a random field, median of $SKIFF_ROUNDS runs of $SKIFF_DURATION."
	echo "Redis: HGET and HINCRBY of $FIELD, $REDIS_ROUNDS runs each ($REDIS_REQUESTS and $INCR_REQUESTS requests), means; mix = 1/($READ_PCT%/HGET + $((100 - READ_PCT))%/HINCRBY)."
	echo
	printf '%-30s %14s %14s %12s\n' "" "Skiff" "Redis" "Skiff/Redis"
	printf '%-30s %14.0f %14.0f %12s\n' "ops/s ($READ_PCT/$((100 - READ_PCT)) mix)" "${S[ops_per_sec]}" "$REDIS_MIX" \
		"$(ratio "${S[ops_per_sec]}" "$REDIS_MIX")"
	printf '%-30s %14.0f %14s\n' "load ops/s (insert all keys)" "${S[load_ops_per_sec]:-0}" "-"
	for p in p50 p99; do
		printf '%-30s %14.3f %14.3f %12s\n' "$p read / HGET (ms)" "${S[get_$p]}" "${R[HGET_$p]}" "$(ratio "${S[get_$p]}" "${R[HGET_$p]}")"
		printf '%-30s %14.3f %14.3f %12s\n' "$p write / HINCRBY (ms)" "${S[set_$p]}" "${R[HINCRBY_$p]}" "$(ratio "${S[set_$p]}" "${R[HINCRBY_$p]}")"
	done
	printf '%-30s %14.3f %14s\n' "p99 all operations (ms)" "${S[all_p99]}" "-"
	printf '%-30s %14.1f %14.1f %12s\n' "server CPU per op (us)" "${S[us_per_op]}" "$REDIS_US_PER_OP" "$(ratio "${S[us_per_op]}" "$REDIS_US_PER_OP")"
	printf '%-30s %14.2f %14s\n' "server CPU (cores)" "${S[server_cores]}" "$(pair server_cores)"
	printf '%-30s %14.2f %14s\n' "client CPU (cores)" "${S[client_cores]}" "$(pair client_cores)"
	printf '%-30s %14.2f %14s\n' "other CPU (cores)" "${S[other_cores]}" "$(pair other_cores)"
	printf '%-30s %14.2f %14s\n' "server read+write calls/op" "${S[syscalls]}" "$(pair syscalls)"
	printf '%-30s %14.0f %14.0f\n' "server memory after runs (MiB)" "${S[rss]}" "$REDIS_RSS"
	echo
	echo "Redis's CPU rows: HGET/HINCRBY. Redis's CPU per op: theirs weighted $READ_PCT/$((100 - READ_PCT)). Skiff's server figures count skiffd and its storage plugin process."
	echo
	echo "Runs, in the order they ran:"
	awk '{
		for (i = 1; i <= NF; i++) { j = index($i, "="); f[substr($i, 1, j - 1)] = substr($i, j + 1) }
		printf "  skiff   %d %8.0f ops/s  p99 read %.3f write %.3f all %.3f ms  server %5.1f us/op  other CPU %.2f cores\n",
			f["run"], f["ops_per_sec"], f["get_p99"], f["set_p99"], f["all_p99"], f["us_per_op"], f["other_cores"]
	}' "$OUT/skiff-runs.txt"
	awk -v r="$READ_PCT" '{
		for (i = 1; i <= NF; i++) { j = index($i, "="); f[substr($i, 1, j - 1)] = substr($i, j + 1) }
		printf "  redis   %d %8.0f ops/s  p99 %-7s %.3f ms  server %5.1f us/op  other CPU %.2f cores\n",
			f["run"], f["rps"], f["op"], f["p99"], f["us_per_op"], f["other_cores"]
		rps[f["op"], f["run"]] = f["rps"]
		if (f["op"] == "HINCRBY" && rps["HGET", f["run"]] > 0 && f["rps"] > 0)
			printf "  redis   %d %8.0f ops/s  mix of run %d\n", f["run"], 1 / ((r / 100) / rps["HGET", f["run"]] + (1 - r / 100) / f["rps"]), f["run"]
	}' "$OUT/redis-runs.txt"
	echo
	if awk -v m="$MAX_OTHER" 'BEGIN { exit !(m > 0.05) }'; then
		echo "Warning: something else used up to $MAX_OTHER cores during a run: the figures are noisy; rerun on a quiet machine."
	fi
	echo "Skiff errors during the runs: ${S[errors_total]:-?}. Raw outputs and logs: $OUT. Total time: $((SECONDS - START)) s."
	echo "ratio skiff_ops_per_sec=${S[ops_per_sec]} redis_ops_per_sec=$REDIS_MIX skiff_over_redis=$(ratio "${S[ops_per_sec]}" "$REDIS_MIX")"
} | tee "$OUT/summary.txt"
