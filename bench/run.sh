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
# skiff bench's workload (for bench/lib-memory.sh): one bin of VSIZE random bytes.
SKIFF_WORKLOAD=(-v "$VSIZE")

cd "$(dirname "$0")/.."
source bench/lib.sh
source bench/lib-memory.sh
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$SECONDS


# The two Skiff nodes, by mode; Redis. Servers started by this script are
# stopped on any exit (stop_servers, bench/lib-memory.sh).
MODES=(in-process process)
declare -A NODE_PID=() NODE_PORT=() PLUGIN_PID=()
REDIS_PID=
trap stop_servers EXIT
trap 'exit 130' INT TERM


# ---------------------------------------------------------------- Skiff --
build_skiff

: >"$OUT/skiff-runs.txt"
for mode in "${MODES[@]}"; do start_node "$mode"; done
for mode in "${MODES[@]}"; do load_node "$mode"; done
# Rounds alternate the order: in-process, process, process, in-process, ...
for ((round = 1; round <= SKIFF_ROUNDS; round++)); do
	if ((round % 2)); then order=(in-process process); else order=(process in-process); fi
	for mode in "${order[@]}"; do run_mode "$mode" "$round"; done
done
for mode in "${MODES[@]}"; do stop_node "$mode"; done

# ---------------------------------------------------------------- Redis --
redis_install
redis_start

# Insert every key redis-benchmark will use (key:%012d, as -r names them),
# as the Skiff run does, so that GETs hit.
log "inserting $KEYS keys into redis"
# (The value is built by doubling: mawk's sprintf is limited to 8 KiB.)
awk -v n="$KEYS" -v size="$VSIZE" 'BEGIN {
	v = "x"
	while (length(v) < size) v = v v
	v = substr(v, 1, size)
	for (i = 0; i < n; i++) {
		printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n", i, size
		printf "%s\r\n", v
	}
}' | redis_load

threads=()
[[ -z $REDIS_THREADS ]] || threads=(--threads "$REDIS_THREADS")
log "redis-benchmark -c $CONC -d $VSIZE -r $KEYS -n $REDIS_REQUESTS -t set,get ${threads[*]}"
redis_bench "$OUT/redis-benchmark.raw" $((2 * REDIS_REQUESTS)) -c "$CONC" -d "$VSIZE" -r "$KEYS" \
	-n "$REDIS_REQUESTS" -P 1 -t set,get --precision 3 "${threads[@]}"
read -r REDIS_SERVER_CORES REDIS_CLIENT_CORES REDIS_OTHER_CORES REDIS_SYSCALLS REDIS_US_PER_OP REDIS_RSS <"$OUT/redis-benchmark.raw.cpu"
# redis-benchmark redraws its progress line with \r; keep the final report.
tr '\r' '\n' <"$OUT/redis-benchmark.raw" | grep -v 'rps=' >"$OUT/redis-benchmark.txt"
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
	printf '%-28s %14.0f %14.0f\n' "server memory after run (MiB)" "${S[rss]}" "$REDIS_RSS"
	echo
	echo "Redis: GET ${R[get_rps]} ops/s, SET ${R[set_rps]} ops/s measured separately; mix = 1/($READ_PCT%/GET + $((100 - READ_PCT))%/SET)."
	echo "Skiff's server figures count skiffd and its storage plugin process; its memory is their proportional set size (pages both map counted once), Redis's its RSS."

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
	printf '%-28s %12.0f %12.0f\n' "server memory after run (MiB)" "${I[rss]}" "${S[rss]}"
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
