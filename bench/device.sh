#!/usr/bin/env bash
# bench/device.sh: Skiff's device backend against the disk under it, side by
# side in one run (what `make bench-device` runs; see bench/README.md for
# what is measured and how to read it).
#
#   1. builds skiffd, its device plugin (skiff-storage-nvme) and skiff, and
#      makes one data file of DEVICE_FILE_SIZE in a new directory under
#      DEVICE_DIR (the root disk by default);
#   2. fio on that file, all with O_DIRECT and synchronous I/O (psync):
#      sequential writes of write-block-size blocks over the whole file
#      (bandwidth; it also writes every byte, so that no later read meets
#      never-written space, which the file system would answer with zeros
#      without touching the disk), 4 KiB random reads from DEVICE_CONCURRENCY
#      jobs with one read in flight each (IOPS, latency), and sequential
#      reads of 8 MiB (bandwidth);
#   3. skiff device-test on the same file: DT_READ_RATE 4 KiB reads a second
#      from DEVICE_CONCURRENCY threads while write blocks are written;
#   4. a node (skiffd) with a device namespace on that file, for each mode of
#      DEVICE_MODES in turn: the first loads DEVICE_RECORDS records of
#      DEVICE_VALUE_SIZE bytes with skiff bench; each later one cold-starts
#      from the file the one before left. Then a read-only and a write-only
#      skiff bench run of DEVICE_DURATION with DEVICE_CONCURRENCY clients,
#      measuring the node's, the client's and the rest of the machine's CPU,
#      then, for each mode again, a node on a new file: it loads
#      DEVICE_LARGE_RECORDS records of DEVICE_LARGE_VALUE_SIZE bytes, then a
#      write-only run overwrites them (record bandwidth, where the small
#      records measure CPU per request): updates, which read the record
#      they overwrite, then replaces (skiff bench -replace), which do not;
#      then skiff device-test again, at the best read rate the node reached;
#   5. the device backend's Go benchmarks at NVME_RECORDS records: DRAM per
#      record with the index in DRAM and on flash, the cold start, and the
#      warm start after a clean stop (from its index snapshot); then fio
#      reads the cold start's files sequentially, as the cold start does
#      (one job per file, 8 MiB reads);
#   6. prints the figures, the ratios node/fio and the verdict on each goal.
#
# Settings (environment):
#   DEVICE_DIR          where the run's directory (data file, index mount,
#                       cold start files) is made; must be on the disk to
#                       measure, not tmpfs            (/var/tmp)
#   DEVICE_FILE_SIZE    the data file                 (8G)
#   DEVICE_WBS          write-block-size, and fio's and device-test's write size (1M)
#   DEVICE_CONCURRENCY  skiff bench clients, fio jobs and device-test threads (16)
#   DEVICE_RECORDS      records loaded into the node  (2000000)
#   DEVICE_VALUE_SIZE   value bytes of each record    (1024)
#   DEVICE_PWQ          the namespace's post-write-queue, in blocks (8)
#   DEVICE_DATA_IN_MEMORY  the namespace's data-in-memory: true serves every
#                       read from a copy in memory (false)
#   DEVICE_INDEX        the namespace's index-type: dram, or flash (its file
#                       in the run's directory)    (dram)
#   DEVICE_MODES        the node's storage modes, in order ("in-process process")
#   DEVICE_DURATION     each node run (read-only, write-only, large writes) (20s)
#   DEVICE_LARGE_VALUE_SIZE  value bytes of the large records; 0 skips their run (131072)
#   DEVICE_LARGE_RECORDS     large records, overwritten at random (8000)
#   NODE_GOMAXPROCS     GOMAXPROCS of skiffd and its plugin (unset: the Go
#                       default, one per CPU)
#   FIO_RUNTIME         seconds of fio's random reads, after 2 s of ramp (15)
#   DT_DURATION         skiff device-test's duration  (20s)
#   DT_READ_RATE        its reads a second            (80% of fio's 4 KiB IOPS)
#   DT_WRITE_RATE       its records written a second  (half of DT_READ_RATE, ACT's ratio)
#   NVME_RECORDS        records of the DRAM-per-record and cold start
#                       benchmarks; 0 skips step 5   (10000000)
#   KEEP_FILES          1: keep the data files at the end (0)
#   BENCH_OUT           raw outputs and logs          (a new /tmp/skiff-bench-device.* directory, kept)
#   BENCH_TIMEOUT       seconds any one tool may run  (900)
# The defaults take about five and a half minutes on 2 cores, and about 12
# GB of disk at the peak.
set -euo pipefail

DIR_PARENT=${DEVICE_DIR:-/var/tmp}
FILE_SIZE=${DEVICE_FILE_SIZE:-8G}
WBS=${DEVICE_WBS:-1M}
CONC=${DEVICE_CONCURRENCY:-16}
RECORDS=${DEVICE_RECORDS:-2000000}
VSIZE=${DEVICE_VALUE_SIZE:-1024}
LARGE_VSIZE=${DEVICE_LARGE_VALUE_SIZE:-131072}
LARGE_RECORDS=${DEVICE_LARGE_RECORDS:-8000}
PWQ=${DEVICE_PWQ:-8}
DIM=${DEVICE_DATA_IN_MEMORY:-false}
INDEX=${DEVICE_INDEX:-dram}
read -r -a MODES <<<"${DEVICE_MODES:-in-process process}"
DURATION=${DEVICE_DURATION:-20s}
DURATION_S=${DURATION%s}
NODE_GOMAXPROCS=${NODE_GOMAXPROCS:-}
FIO_RUNTIME=${FIO_RUNTIME:-15}
DT_DURATION=${DT_DURATION:-20s}
DT_READ_RATE=${DT_READ_RATE:-}
DT_WRITE_RATE=${DT_WRITE_RATE:-}
NVME_RECORDS=${NVME_RECORDS:-10000000}
KEEP_FILES=${KEEP_FILES:-0}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/skiff-bench-device.XXXXXX)}

cd "$(dirname "$0")/.."
source bench/lib.sh
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
START=$SECONDS


# bytes SIZE turns 8G, 1M, 4096 into bytes.
bytes() {
	local v=$1 n=${1%[kKmMgGtT]}
	[[ $n =~ ^[0-9]+$ ]] || die "not a size: $v"
	case $v in
	*[kK]) echo $((n << 10)) ;; *[mM]) echo $((n << 20)) ;;
	*[gG]) echo $((n << 30)) ;; *[tT]) echo $((n << 40)) ;; *) echo "$n" ;;
	esac
}
FILE_BYTES=$(bytes "$FILE_SIZE")
WBS_BYTES=$(bytes "$WBS")
for v in CONC RECORDS VSIZE LARGE_VSIZE LARGE_RECORDS PWQ FIO_RUNTIME NVME_RECORDS; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((CONC >= 1 && RECORDS >= 1)) || die "DEVICE_CONCURRENCY and DEVICE_RECORDS must be at least 1"
[[ $DIM == true || $DIM == false ]] || die "DEVICE_DATA_IN_MEMORY must be true or false, not '$DIM'"
[[ $INDEX == dram || $INDEX == flash ]] || die "DEVICE_INDEX must be dram or flash, not '$INDEX'"
[[ $DURATION_S =~ ^[0-9]+$ ]] && ((DURATION_S >= 5)) || die "DEVICE_DURATION must be whole seconds, at least 5 (20s), not '$DURATION'"
((FILE_BYTES % WBS_BYTES == 0)) || die "DEVICE_FILE_SIZE must be a multiple of DEVICE_WBS"
((LARGE_VSIZE == 0 || LARGE_RECORDS >= 1 && LARGE_VSIZE + 1024 <= WBS_BYTES)) ||
	die "DEVICE_LARGE_RECORDS must be at least 1, and DEVICE_LARGE_VALUE_SIZE a record that fits a write block (DEVICE_WBS), or 0"
for m in "${MODES[@]}"; do [[ $m == in-process || $m == process ]] || die "DEVICE_MODES: '$m' is not in-process or process"; done
((${#MODES[@]} >= 1)) || die "DEVICE_MODES is empty"
for tool in fio jq; do
	if ! command -v "$tool" >/dev/null; then
		log "installing $tool"
		SUDO=
		[[ $(id -u) == 0 ]] || SUDO=sudo
		$SUDO apt-get update -qq
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >&2
	fi
done

# The run's directory, on the disk to measure, with room for the data file,
# the cold start's files and the index benchmark's (about 2.5 GB and 1.4 GB
# at 10M records), and 2 GiB to spare.
mkdir -p "$DIR_PARENT"
WORK=$(mktemp -d "$DIR_PARENT/skiff-device.XXXXXX")
FSTYPE=$(df --output=fstype "$WORK" | tail -n 1 | tr -d ' ')
FSDEV=$(df --output=source "$WORK" | tail -n 1 | tr -d ' ')
[[ $FSTYPE != tmpfs && $FSTYPE != ramfs ]] || die "$WORK is on $FSTYPE: set DEVICE_DIR to a directory on a disk"
NEED=$((FILE_BYTES + NVME_RECORDS * 400 + (2 << 30)))
AVAIL=$(($(df --output=avail -B1 "$WORK" | tail -n 1)))
((AVAIL >= NEED)) || die "$WORK has $((AVAIL >> 20)) MiB free; this run needs about $((NEED >> 20)) MiB (lower DEVICE_FILE_SIZE or NVME_RECORDS)"
FILE="$WORK/data.dat"

NODE_PID= PLUGIN_PID= NODE_PORT= TIMEOUT_PID=
stop_node() {
	stop_pid "$NODE_PID" skiffd
	NODE_PID=
	local pp=$PLUGIN_PID
	PLUGIN_PID=
	await_plugin "$pp"
}
cleanup() {
	[[ -z $TIMEOUT_PID ]] || kill -INT "$TIMEOUT_PID" 2>/dev/null || true
	stop_node
	if [[ $KEEP_FILES == 1 ]]; then
		log "data files kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


io_bytes() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/io"; } # PID read_bytes|write_bytes
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# snapshot FILE writes every process's pid, parent pid and CPU ticks, after
# a first line with the machine's busy ticks.
snapshot() {
	{
		echo "machine 0 $(machine_ticks)"
		# A process may end between the glob and cat's read of it.
		{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{ pid = $1; sub(/^.*\) /, ""); print pid, $2, $12 + $13 }'
	} >"$1"
}
# cpu_split SNAP0 SNAP1 SECONDS OURS prints the cores used between two
# snapshots by the processes OURS (pids), by kernel threads (kworkers: I/O
# completion and the like), by every other process alive at both, and the
# rest of the machine's busy time: interrupts, and processes that started
# or ended in between (a timed tool's own included).
cpu_split() {
	awk -v secs="$3" -v hz="$CLK_TCK" -v ours="$4" '
		BEGIN { n = split(ours, o, " "); for (i = 1; i <= n; i++) our[o[i]] = 1 }
		FNR == NR { t[$1] = $3; next }
		$1 == "machine" { busy = $3 - t["machine"]; next }
		$1 in t { d = $3 - t[$1]; if ($1 in our) u += d; else if ($2 == 2 || $1 == 2) k += d; else p += d }
		END { f = hz * secs; printf "%.2f %.2f %.2f %.2f\n", u / f, k / f, p / f, (busy - u - k - p) / f }
	' "$1" "$2"
}

# timed FILE CMD... runs CMD with stdout to FILE, writes its wall, user and
# system seconds (children included) to FILE.time, and snapshots to
# FILE.snap0 and FILE.snap1 before and after.
timed() {
	local file=$1; shift
	local TIMEFORMAT='%R %U %S' rc=0
	snapshot "$file.snap0"
	{ time timeout --signal=INT "$BENCH_TIMEOUT" "$@" >"$file" 2>&4; } 4>&2 2>"$file.time" || rc=$?
	snapshot "$file.snap1"
	return $rc
}
# tool_cpu FILE prints the cores a timed tool used, and those kernel
# threads, other processes and the rest used meanwhile.
tool_cpu() {
	local wall user sys k o r
	read -r wall user sys <"$1.time"
	read -r _ k o r < <(cpu_split "$1.snap0" "$1.snap1" "$wall" "")
	awk -v w="$wall" -v u="$user" -v s="$sys" -v k="$k" -v o="$o" -v r="$r" \
		'BEGIN { t = (u + s) / w; r -= t; printf "%.2f %.2f %.2f %.2f\n", t, k, o, (r > 0 ? r : 0) }'
}

FIO_COMMON=(--filename="$FILE" --direct=1 --ioengine=psync --iodepth=1 --thread --group_reporting --output-format=json)

log "machine: $(uptime)"
LOAD_BEFORE=$(awk '{ print $1 }' /proc/loadavg)

# ---------------------------------------------------------------- build --
log "building skiffd, skiff-storage-nvme and skiff"
go build -o "$OUT/" ./cmd/skiffd ./cmd/skiff ./plugins/storage-nvme/cmd/skiff-storage-nvme
[[ -x $OUT/skiffd && -x $OUT/skiff && -x $OUT/skiff-storage-nvme ]] || die "build outputs missing in $OUT"
if ((NVME_RECORDS > 0)); then
	go test -c -o "$OUT/nvme.test" ./plugins/storage-nvme
fi

# ------------------------------------------------------------------ fio --
log "fio: sequential writes of $WBS over the whole $FILE_SIZE file ($FILE on $FSDEV, $FSTYPE)"
timed "$OUT/fio-seqwrite.json" fio --name=seqwrite "${FIO_COMMON[@]}" --rw=write --bs="$WBS_BYTES" --size="$FILE_BYTES" --numjobs=1
FIO_WRITE_BW=$(jq '.jobs[0].write.bw_bytes' "$OUT/fio-seqwrite.json")

log "fio: 4 KiB random reads, $CONC jobs with one read in flight each, ${FIO_RUNTIME}s"
timed "$OUT/fio-randread.json" fio --name=randread "${FIO_COMMON[@]}" --rw=randread --bs=4k --size="$FILE_BYTES" \
	--numjobs="$CONC" --time_based --runtime="$FIO_RUNTIME" --ramp_time=2 --norandommap --randrepeat=0 \
	--percentile_list=50:99:99.9
read -r FIO_IOPS FIO_R50 FIO_R99 FIO_R999 < <(jq -r '.jobs[0].read | [.iops, .clat_ns.percentile["50.000000"] / 1e6,
	.clat_ns.percentile["99.000000"] / 1e6, .clat_ns.percentile["99.900000"] / 1e6] | @tsv' "$OUT/fio-randread.json")
read -r FIO_RR_CPU FIO_RR_KERN FIO_RR_OTHER FIO_RR_REST < <(tool_cpu "$OUT/fio-randread.json")

log "fio: sequential reads of 8 MiB over the whole file"
timed "$OUT/fio-seqread.json" fio --name=seqread "${FIO_COMMON[@]}" --rw=read --bs=8M --size="$FILE_BYTES" --numjobs=1
FIO_READ_BW=$(jq '.jobs[0].read.bw_bytes' "$OUT/fio-seqread.json")

# ---------------------------------------------------------- device-test --
# kv FILE KIND KEY [OP] prints field KEY of the first KIND line of one of
# skiff's key=value reports, of a line with op=OP if given.
kv() {
	awk -v kind="$2" -v key="$3" -v op="${4:-}" '
		$1 == kind {
			delete f
			for (i = 2; i <= NF; i++) { j = index($i, "="); f[substr($i, 1, j - 1)] = substr($i, j + 1) }
			if (op != "" && f["op"] != op) next
			print f[key]; exit
		}' "$1"
}
# device_test NAME READ_RATE WRITE_RATE [FLAGS...] runs skiff device-test on
# the data file (report in $OUT/NAME.txt) and writes its figures on one line
# to $OUT/NAME.figures: verdict, read p99 from schedule and device only
# (ms), reads/s, MiB/s written, and the cores it, kernel threads, other
# processes and the rest used.
device_test() {
	local name=$1 rr=$2 wr=$3 rc=0 f="$OUT/$1.txt"
	shift 3
	log "skiff device-test: $rr reads/s of ${VSIZE}-byte records (4 KiB reads, $CONC threads), $wr records/s written in $WBS blocks, $DT_DURATION"
	timed "$f" "$OUT/skiff" device-test -d "$DT_DURATION" -i 5s -read-rate "$rr" -write-rate "$wr" \
		-record-bytes "$VSIZE" -write-block-size "$WBS" -threads "$CONC" "$@" "$FILE" || rc=$?
	((rc == 0 || rc == 3)) || { cat "$f" >&2; die "skiff device-test failed (exit $rc)"; }
	echo "$(kv "$f" result verdict) $(awk -v a="$(kv "$f" latency p99_us read)" -v b="$(kv "$f" latency p99_us read-dev)" 'BEGIN { printf "%.3f %.3f", a / 1000, b / 1000 }')" \
		"$(kv "$f" result reads_per_sec) $(kv "$f" result write_mib_per_sec) $(tool_cpu "$f")" >"$OUT/$name.figures"
}
DT_READ_RATE=${DT_READ_RATE:-$(awk -v i="$FIO_IOPS" 'BEGIN { printf "%d", 0.8 * i }')}
DT_WRITE_RATE=${DT_WRITE_RATE:-$((DT_READ_RATE / 2))}
device_test device-test "$DT_READ_RATE" "$DT_WRITE_RATE"
read -r DT_VERDICT DT_P99 DT_DEV_P99 DT_RPS DT_WMIB DT_CPU DT_KERN DT_OTHER DT_REST <"$OUT/device-test.figures"

# ----------------------------------------------------------------- node --
# index_type prints the namespace's index-type setting.
index_type() {
	if [[ $INDEX == flash ]]; then
		mkdir -p "$WORK/index"
		printf 'index-type flash {\n\t\t\tmount %s\n\t\t}' "$WORK/index"
	else
		echo "index-type dram"
	fi
}
# node_conf PORT MODE FILE BYTES prints the node's configuration: one
# device namespace on the file.
node_conf() {
	cat <<-EOF
		service {
			proto-fd-max 15000
		}
		logging {
			console {
				context any info
			}
		}
		network {
			service {
				address 127.0.0.1
				port $1
			}
			admin {
				address 127.0.0.1
				port 0
			}
		}
		namespace test {
			nsup-period 3600
			$(index_type)
			storage-engine device {
				file $3
				filesize $4
				write-block-size $WBS_BYTES
				post-write-queue $PWQ
				data-in-memory $DIM
				mode $2
			}
		}
	EOF
}
ns_info() { "$OUT/skiff" info -p "$NODE_PORT" -t 5s namespace/test | tr ';' '\n' | sed -n "s/^$1=//p"; }
node_pids() { echo "$NODE_PID" ${PLUGIN_PID:+"$PLUGIN_PID"}; }
node_ticks() { local p n=0; for p in $(node_pids); do n=$((n + $(cpu_ticks "$p"))); done; echo "$n"; }
node_io() { local p n=0; for p in $(node_pids); do n=$((n + $(io_bytes "$p" "$1"))); done; echo "$n"; }
# node_rss sums proportional set sizes: the index's pages, which the node
# maps too, count once.
node_rss() { local p n=0; for p in $(node_pids); do n=$((n + $(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup"))); done; echo $((n >> 10)); }

# start_node MODE [NAME FILE BYTES] starts a node on the data file (or
# FILE) and waits until it answers; writes the seconds that took (with
# records on the file, a cold start) to $OUT/start-NAME.seconds, NAME
# being MODE unless given, as are its configuration's and log's names.
start_node() {
	local mode=$1 name=${2:-$1} t0 i
	local conf="$OUT/skiffd-$name.conf" nlog="$OUT/skiffd-$name.log"
	NODE_PORT=$(free_port)
	node_conf "$NODE_PORT" "$mode" "${3:-$FILE}" "${4:-$FILE_BYTES}" >"$conf"
	log "starting skiffd ($mode) on 127.0.0.1:$NODE_PORT (log: $nlog)"
	t0=$(date +%s.%N)
	if [[ -n $NODE_GOMAXPROCS ]]; then
		GOMAXPROCS=$NODE_GOMAXPROCS "$OUT/skiffd" --config "$conf" >"$nlog" 2>&1 &
	else
		"$OUT/skiffd" --config "$conf" >"$nlog" 2>&1 &
	fi
	NODE_PID=$!
	for i in $(seq 3000); do
		"$OUT/skiff" info -p "$NODE_PORT" -t 1s status >/dev/null 2>&1 && break
		kill -0 "$NODE_PID" 2>/dev/null || { cat "$nlog" >&2; die "skiffd ($mode) exited"; }
		((i < 3000)) || die "skiffd ($mode) did not answer within 300 s"
		sleep 0.1
	done
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$OUT/start-$name.seconds"
	[[ $(ns_info storage-mode) == "$mode" ]] || die "namespace test runs in mode '$(ns_info storage-mode)', not $mode"
	SKIFF_BENCH=("$OUT/skiff" bench -h 127.0.0.1 -p "$NODE_PORT" -n test -s bench -c "$CONC" -k "$RECORDS" -v "$VSIZE" -i 0)
	PLUGIN_PID=
	if [[ $mode == process ]]; then
		PLUGIN_PID=$(ns_info storage-pid)
		[[ $PLUGIN_PID =~ ^[1-9][0-9]*$ ]] && kill -0 "$PLUGIN_PID" || die "no storage plugin process (storage-pid=$PLUGIN_PID)"
	fi
}


# node_run MODE KIND READ_PCT runs one measured phase and writes its
# figures as name=value lines to $OUT/node-MODE-KIND.figures. CPU and
# device traffic are measured over a window inside the run phase: from its
# first progress line (the client has made its keys and opened its
# connections, and has run for a second) to 2 s before its end.
node_run() {
	local mode=$1 kind=$2 pct=$3 f="$OUT/node-$1-$2.txt" i t0 t1 c0 c1 r0 r1 w0 w1 m0 m1 secs us kern others rest
	log "$mode node, $kind: ${SKIFF_BENCH[*]:2} -r $pct -d $DURATION -w=false"
	timeout --signal=INT "$BENCH_TIMEOUT" "${SKIFF_BENCH[@]}" -r "$pct" -d "$DURATION" -w=false -i 1s >"$f" 2>"$f.progress" &
	TIMEOUT_PID=$!
	CLIENT_PID=
	for i in $(seq 500); do
		CLIENT_PID=$(pgrep -P "$TIMEOUT_PID" | head -n 1) && [[ -n $CLIENT_PID ]] && break
		sleep 0.01
	done
	[[ -n $CLIENT_PID ]] || die "skiff bench ($mode, $kind) did not start"
	for i in $(seq 2400); do
		grep -q '^progress phase=run' "$f.progress" && break
		kill -0 "$CLIENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^progress phase=run' "$f.progress" || { cat "$f.progress" >&2; die "skiff bench ($mode, $kind) did not reach its run phase"; }
	t0=$(node_ticks) c0=$(cpu_ticks "$CLIENT_PID") r0=$(node_io read_bytes) w0=$(node_io write_bytes) m0=$(date +%s.%N)
	snapshot "$f.snap0"
	sleep $((DURATION_S - 3))
	t1=$(node_ticks) c1=$(cpu_ticks "$CLIENT_PID") r1=$(node_io read_bytes) w1=$(node_io write_bytes) m1=$(date +%s.%N)
	snapshot "$f.snap1"
	wait "$TIMEOUT_PID" || die "skiff bench ($mode, $kind) failed (see $f.progress)"
	TIMEOUT_PID=
	# The backend's rates are over its last ~5 s: ask right away.
	"$OUT/skiff" info -p "$NODE_PORT" -t 5s namespace/test | tr ';' '\n' >"$f.info"
	secs=$(awk -v a="$m0" -v b="$m1" 'BEGIN { print b - a }')
	read -r us kern others rest < <(cpu_split "$f.snap0" "$f.snap1" "$secs" "$(node_pids) $CLIENT_PID")
	{
		echo "ops_per_sec=$(kv "$f" phase ops_per_sec)"
		echo "errors=$(kv "$f" phase errors)"
		echo "misses=$(kv "$f" phase read_misses)"
		local op=read
		[[ $kind != read ]] && op=write
		for p in p50 p99 p999; do echo "${p}_ms=$(awk -v v="$(kv "$f" latency "${p}_us" "$op")" 'BEGIN { print v / 1000 }')"; done
		awk -v t="$((t1 - t0))" -v c="$((c1 - c0))" -v w="$secs" -v hz="$CLK_TCK" -v k="$kern" -v o="$others" -v r="$rest" \
			-v rb="$((r1 - r0))" -v wb="$((w1 - w0))" 'BEGIN {
			printf "node_cores=%.2f\nclient_cores=%.2f\n", t / hz / w, c / hz / w
			printf "kernel_cores=%.2f\nothers_cores=%.2f\nrest_cores=%.2f\n", k, o, (r > 0 ? r : 0)
			printf "busy_cores=%.2f\n", t / hz / w + c / hz / w + k + o + (r > 0 ? r : 0)
			printf "dev_read_bytes_per_sec=%.0f\ndev_write_bytes_per_sec=%.0f\n", rb / w, wb / w
		}'
		echo "cache_read_pct=$(sed -n 's/^cache_read_pct=//p' "$f.info")"
		echo "device_read_tps=$(sed -n 's/^device_read_tps=//p' "$f.info")"
		echo "defrag_writes=$(sed -n 's/^defrag_writes=//p' "$f.info")"
		echo "rss_mib=$(node_rss)"
	} >"$f.figures"
	[[ $(sed -n 's/^errors=//p' "$f.figures") == 0 ]] || log "warning: errors in the $mode $kind run (see $f)"
}

for i in "${!MODES[@]}"; do
	mode=${MODES[$i]}
	start_node "$mode"
	if ((i == 0)); then
		log "loading $RECORDS records of $VSIZE bytes: skiff bench -w -r 100 -d 2s"
		timed "$OUT/node-load.txt" "${SKIFF_BENCH[@]}" -w -r 100 -d 2s
		grep -q '^phase name=load .* errors=0' "$OUT/node-load.txt" || { cat "$OUT/node-load.txt" >&2; die "loading the node failed"; }
	fi
	objects=$(ns_info objects)
	[[ $objects == "$RECORDS" ]] || die "the $mode node holds $objects records, not $RECORDS"
	node_run "$mode" read 100
	node_run "$mode" write 0
	stop_node
done

# Large records, each mode on a new file four times their size, so that
# no mode inherits another's garbage to defragment (nor do the runs
# above): load them, then overwrite them at random.
if ((LARGE_VSIZE > 0)); then
	LARGE_FILE=$WORK/large.dat
	LARGE_FILE_BYTES=$(((LARGE_RECORDS * (LARGE_VSIZE + 1024) * 4 + WBS_BYTES - 1) / WBS_BYTES * WBS_BYTES + WBS_BYTES))
	for mode in "${MODES[@]}"; do
		rm -f "$LARGE_FILE"
		start_node "$mode" "$mode-large" "$LARGE_FILE" "$LARGE_FILE_BYTES"
		SKIFF_BENCH=("$OUT/skiff" bench -h 127.0.0.1 -p "$NODE_PORT" -n test -s large -c "$CONC" -k "$LARGE_RECORDS" -v "$LARGE_VSIZE" -i 0)
		log "loading $LARGE_RECORDS records of $LARGE_VSIZE bytes into a new $((LARGE_FILE_BYTES >> 20)) MiB file"
		timed "$OUT/node-$mode-load-large.txt" "${SKIFF_BENCH[@]}" -w -r 0 -d 1s
		grep -q '^phase name=load .* errors=0' "$OUT/node-$mode-load-large.txt" || { cat "$OUT/node-$mode-load-large.txt" >&2; die "loading the large records failed"; }
		node_run "$mode" write-large 0
		SKIFF_BENCH+=(-replace)
		node_run "$mode" replace-large 0
		stop_node
	done
	rm -f "$LARGE_FILE"
fi

# The same device test at the best read rate the node reached (the node's
# data is no longer needed: -force): does the disk hold its p99 at the rate
# the node asked of it?
DT2_READ_RATE=$(for m in "${MODES[@]}"; do sed -n 's/^ops_per_sec=//p' "$OUT/node-$m-read.txt.figures"; done | sort -n | tail -n 1)
DT2_WRITE_RATE=$((DT2_READ_RATE / 2))
device_test device-test-node-rate "$DT2_READ_RATE" "$DT2_WRITE_RATE" -force
read -r DT2_VERDICT DT2_P99 DT2_DEV_P99 DT2_RPS DT2_WMIB DT2_CPU DT2_KERN DT2_OTHER DT2_REST <"$OUT/device-test-node-rate.figures"

# ---------------------------------------------------------- DRAM, cold --
if ((NVME_RECORDS > 0)); then
	log "nvme benchmarks at $NVME_RECORDS records: DRAM per record (index in DRAM, on flash in $WORK), cold start"
	mkdir -p "$WORK/coldstart" "$WORK/tmp"
	# The flash index's files go to TMPDIR: the disk under test.
	(
		cd plugins/storage-nvme
		export TMPDIR="$WORK/tmp"
		timed "$OUT/nvme-bench.txt" "$OUT/nvme.test" -test.run '^$' -test.bench 'IndexBytesPerRecord|ColdStart|WarmStart' \
			-test.benchtime 1x -nvme.records "$NVME_RECORDS" -nvme.dir "$WORK/coldstart"
	)
	log "fio: sequential reads of 8 MiB of the cold start's files, one job per file"
	FIO_CS=()
	for f in "$WORK"/coldstart/*.dat; do FIO_CS+=(--name="cs-$(basename "$f")" --filename="$f"); done
	timed "$OUT/fio-coldstart.json" fio --direct=1 --ioengine=psync --iodepth=1 --thread --group_reporting \
		--output-format=json --rw=read --bs=8M "${FIO_CS[@]}"
	FIO_CS_BW=$(jq '.jobs[0].read.bw_bytes' "$OUT/fio-coldstart.json")
	CS_BYTES=$(du -b --apparent-size -c "$WORK"/coldstart/*.dat | tail -n 1 | awk '{ print $1 }')
fi

# --------------------------------------------------------------- report --
fig() { sed -n "s/^$3=//p" "$OUT/node-$1-$2.txt.figures"; } # MODE KIND NAME
rec_bytes() { awk -v w="$(fig "$1" "$2" ops_per_sec)" -v v="$3" 'BEGIN { printf "%.0f", w * v }'; } # MODE KIND VALUE_SIZE: record bytes a second
mbs() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1e6 }'; }
# bench_metric NAME UNIT prints a metric of a benchmark line of nvme-bench.txt.
bench_metric() {
	awk -v name="$1" -v unit="$2" '$1 ~ name { for (i = 2; i < NF; i++) if ($(i + 1) == unit) { print $i; exit } }' "$OUT/nvme-bench.txt"
}

cores() { printf '%s cores (kernel threads %s, other processes %s, unattributed %s)' "$@"; }
{
	echo
	echo "Device backend vs the disk, $(date -u +%Y-%m-%dT%H:%MZ), $NCPU CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "file: $FILE_SIZE on $FSDEV ($FSTYPE), write-block-size $WBS; load average before the run: $LOAD_BEFORE"
	echo
	echo "fio, O_DIRECT, psync (one synchronous I/O per job at a time):"
	printf '  %-44s %8.0f IOPS  p50 %.3f  p99 %.3f  p99.9 %.3f ms\n' \
		"4 KiB random reads, $CONC jobs" "$FIO_IOPS" "$FIO_R50" "$FIO_R99" "$FIO_R999"
	echo "      fio $(cores "$FIO_RR_CPU" "$FIO_RR_KERN" "$FIO_RR_OTHER" "$FIO_RR_REST")"
	printf '  %-44s %8s MB/s\n' "sequential writes of $WBS, 1 job, whole file" "$(mbs "$FIO_WRITE_BW")"
	printf '  %-44s %8s MB/s\n' "sequential reads of 8 MiB, 1 job, whole file" "$(mbs "$FIO_READ_BW")"
	echo
	echo "skiff device-test, $CONC threads, 4 KiB reads, writes of ${VSIZE}-byte records in $WBS blocks, $DT_DURATION:"
	echo "  at 80% of fio's IOPS: $DT_READ_RATE reads/s + $DT_WRITE_RATE records/s: $DT_VERDICT, read p99 $DT_P99 ms from schedule, $DT_DEV_P99 ms device only;" \
		"$DT_RPS reads/s, $DT_WMIB MiB/s written"
	echo "      device-test $(cores "$DT_CPU" "$DT_KERN" "$DT_OTHER" "$DT_REST")"
	echo "  at the node's best read rate: $DT2_READ_RATE reads/s + $DT2_WRITE_RATE records/s: $DT2_VERDICT, read p99 $DT2_P99 ms from schedule, $DT2_DEV_P99 ms device only;" \
		"$DT2_RPS reads/s, $DT2_WMIB MiB/s written"
	echo "      device-test $(cores "$DT2_CPU" "$DT2_KERN" "$DT2_OTHER" "$DT2_REST")"
	echo
	echo "node: $RECORDS records of $VSIZE B (set bench), post-write-queue $PWQ blocks, data-in-memory $DIM, index-type $INDEX, $CONC clients, $DURATION per run, GOMAXPROCS ${NODE_GOMAXPROCS:-default};"
	((LARGE_VSIZE > 0)) && echo "large writes: $LARGE_RECORDS records of $LARGE_VSIZE B, loaded into a new $((LARGE_FILE_BYTES >> 20)) MiB file for each mode, then overwritten at random: updated, then replaced;"
	echo "CPU over the run phase but its first second and last two:"
	printf '  %-36s' ""
	for m in "${MODES[@]}"; do printf ' %12s' "$m"; done
	echo
	row() { # LABEL KIND NAME FORMAT
		printf '  %-36s' "$1"
		for m in "${MODES[@]}"; do printf " %12$4" "$(fig "$m" "$2" "$3")"; done
		echo
	}
	cpu_rows() { # KIND
		row "  node CPU (cores)" "$1" node_cores .2f
		row "  client CPU (cores)" "$1" client_cores .2f
		row "  kernel threads (cores)" "$1" kernel_cores .2f
		row "  other processes (cores)" "$1" others_cores .2f
		row "  unattributed (cores)" "$1" rest_cores .2f
	}
	row "reads/s (read-only)" read ops_per_sec .0f
	row "read p50 (ms)" read p50_ms .3f
	row "read p99 (ms)" read p99_ms .3f
	row "read p99.9 (ms)" read p999_ms .3f
	printf '  %-36s' "reads/s / fio IOPS"
	for m in "${MODES[@]}"; do printf ' %12s' "$(ratio "$(fig "$m" read ops_per_sec)" "$FIO_IOPS")"; done
	echo
	row "cache_read_pct (last ~5 s)" read cache_read_pct .1f
	printf '  %-36s' "device bytes per read"
	for m in "${MODES[@]}"; do printf ' %12.0f' "$(awk -v b="$(fig "$m" read dev_read_bytes_per_sec)" -v r="$(fig "$m" read ops_per_sec)" 'BEGIN { print (r > 0 ? b / r : 0) }')"; done
	echo
	cpu_rows read
	row "writes/s (write-only)" write ops_per_sec .0f
	printf '  %-36s' "record MB/s (writes × $VSIZE B)"
	for m in "${MODES[@]}"; do printf ' %12s' "$(mbs "$(rec_bytes "$m" write "$VSIZE")")"; done
	echo
	printf '  %-36s' "device write MB/s"
	for m in "${MODES[@]}"; do printf ' %12.1f' "$(awk -v b="$(fig "$m" write dev_write_bytes_per_sec)" 'BEGIN { print b / 1e6 }')"; done
	echo
	printf '  %-36s' "record bytes / fio write bandwidth"
	for m in "${MODES[@]}"; do printf ' %12s' "$(ratio "$(rec_bytes "$m" write "$VSIZE")" "$FIO_WRITE_BW")"; done
	echo
	row "write p50 (ms)" write p50_ms .3f
	row "write p99 (ms)" write p99_ms .3f
	cpu_rows write
	if ((LARGE_VSIZE > 0)); then
		for kind in write-large replace-large; do
			what=updates
			[[ $kind == replace-large ]] && what=replaces
			row "large $what/s ($LARGE_VSIZE B)" "$kind" ops_per_sec .0f
			printf '  %-36s' "record MB/s"
			for m in "${MODES[@]}"; do printf ' %12s' "$(mbs "$(rec_bytes "$m" "$kind" "$LARGE_VSIZE")")"; done
			echo
			printf '  %-36s' "record bytes / fio write bandwidth"
			for m in "${MODES[@]}"; do printf ' %12s' "$(ratio "$(rec_bytes "$m" "$kind" "$LARGE_VSIZE")" "$FIO_WRITE_BW")"; done
			echo
			row "large $what p99 (ms)" "$kind" p99_ms .3f
			cpu_rows "$kind"
		done
	fi
	row "node memory (PSS) after the runs (MiB)" write rss_mib .0f
	printf '  %-36s' "start (s; later modes cold-start)"
	for m in "${MODES[@]}"; do printf ' %12s' "$(cat "$OUT/start-$m.seconds")"; done
	echo
	echo "  load: $(kv "$OUT/node-load.txt" phase ops_per_sec) records/s inserted ($(kv "$OUT/node-load.txt" phase seconds) s)"
	echo
	echo "Goals (node/fio >= 0.80; reads also with p99 < 1 ms):"
	for m in "${MODES[@]}"; do
		rr=$(ratio "$(fig "$m" read ops_per_sec)" "$FIO_IOPS")
		p99=$(fig "$m" read p99_ms)
		kinds=(read write)
		((LARGE_VSIZE > 0)) && kinds+=(write-large replace-large)
		for kind in "${kinds[@]}"; do
			case $kind in
			read)
				met=$(awk -v r="$rr" -v p="$p99" 'BEGIN { print (r >= 0.8 && p < 1 ? "met" : "NOT met") }')
				what="reads: $rr of fio's IOPS, p99 $p99 ms" ;;
			write)
				wr=$(ratio "$(rec_bytes "$m" write "$VSIZE")" "$FIO_WRITE_BW")
				met=$(awk -v r="$wr" 'BEGIN { print (r >= 0.8 ? "met" : "NOT met") }')
				what="writes of $VSIZE B: $wr of fio's sequential write bandwidth" ;;
			write-large | replace-large)
				wr=$(ratio "$(rec_bytes "$m" "$kind" "$LARGE_VSIZE")" "$FIO_WRITE_BW")
				met=$(awk -v r="$wr" 'BEGIN { print (r >= 0.8 ? "met" : "NOT met") }')
				what="updates"
				[[ $kind == replace-large ]] && what="replaces"
				what="$what of $LARGE_VSIZE B: $wr of fio's sequential write bandwidth" ;;
			esac
			why=$(awk -v b="$(fig "$m" "$kind" busy_cores)" -v n="$(fig "$m" "$kind" node_cores)" -v c="$(fig "$m" "$kind" client_cores)" -v cpus="$NCPU" 'BEGIN {
				printf "%s: %.2f of %d cores busy, node %.2f, client %.2f", (b >= 0.9 * cpus ? "CPU-bound" : "not CPU-bound"), b, cpus, n, c
			}')
			echo "  $m $what: $met ($why)"
		done
	done
	if ((NVME_RECORDS > 0)); then
		echo
		echo "DRAM per record, $NVME_RECORDS records of 8 B of bins (go test -bench IndexBytesPerRecord):"
		for it in dram flash; do
			printf '  index %-6s index %6s B  heap %6s B  anon RSS %6s B  shmem RSS %6s B  file RSS %6s B  a record\n' "$it" \
				"$(bench_metric "index=$it/" index-B/record)" "$(bench_metric "index=$it/" heap-B/record)" \
				"$(bench_metric "index=$it/" anon-B/record)" "$(bench_metric "index=$it/" shmem-B/record)" \
				"$(bench_metric "index=$it/" file-B/record)"
		done
		CS_MS=$(bench_metric ColdStart ms/1M-records)
		CS_S=$(awk -v m="$CS_MS" -v n="$NVME_RECORDS" 'BEGIN { printf "%.2f", m * n / 1e6 / 1000 }')
		FIO_CS_S=$(awk -v b="$CS_BYTES" -v bw="$FIO_CS_BW" 'BEGIN { printf "%.2f", (bw > 0 ? b / bw : 0) }')
		read -r NB_CPU NB_KERN NB_OTHER NB_REST < <(tool_cpu "$OUT/nvme-bench.txt")
		echo
		echo "Cold start, $NVME_RECORDS records of 100 B of bins in two files of $((CS_BYTES / 2 >> 20)) MiB (go test -bench ColdStart):"
		echo "  cold start $CS_S s ($(bench_metric ColdStart scan-MB/s) MB/s of file, $(bench_metric ColdStart records/s) records/s);" \
			"fio reads the same files in $FIO_CS_S s ($(mbs "$FIO_CS_BW") MB/s, one job per file, 8 MiB reads): fio/cold start $(ratio "$FIO_CS_S" "$CS_S")"
		WS_S=$(awk -v m="$(bench_metric WarmStart ms/1M-records)" -v n="$NVME_RECORDS" 'BEGIN { printf "%.2f", m * n / 1e6 / 1000 }')
		echo "  warm start, after a clean stop, $WS_S s (go test -bench WarmStart; the stop wrote a snapshot of" \
			"$(bench_metric WarmStart snapshot-B/record) B a record in $(bench_metric WarmStart stop-ms) ms): cold/warm $(ratio "$CS_S" "$WS_S")"
		echo "      benchmarks $(cores "$NB_CPU" "$NB_KERN" "$NB_OTHER" "$NB_REST") over their $(awk '{ printf "%.0f", $1 }' "$OUT/nvme-bench.txt.time") s"
	fi
	MAX_OTHER=$(cat "$OUT"/node-*.figures | awk -F= -v a="$FIO_RR_OTHER" -v b="$DT_OTHER" -v c="$DT2_OTHER" \
		'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c } $1 == "others_cores" && $2 > m { m = $2 } END { printf "%.2f", m }')
	if awk -v m="$MAX_OTHER" 'BEGIN { exit !(m > 0.10) }'; then
		echo
		echo "Warning: other processes used up to $MAX_OTHER cores during a measurement (fio, device-test or a node run): the figures are noisy; rerun on a quiet machine."
	fi
	echo
	echo "Raw outputs and logs: $OUT. Total time: $((SECONDS - START)) s."
	for m in "${MODES[@]}"; do
		echo "ratio mode=$m read_ops_per_sec=$(fig "$m" read ops_per_sec) fio_iops=$FIO_IOPS read_over_fio=$(ratio "$(fig "$m" read ops_per_sec)" "$FIO_IOPS")" \
			"read_p99_ms=$(fig "$m" read p99_ms) write_record_bytes_per_sec=$(rec_bytes "$m" write "$VSIZE")" \
			"fio_write_bytes_per_sec=$FIO_WRITE_BW write_over_fio=$(ratio "$(rec_bytes "$m" write "$VSIZE")" "$FIO_WRITE_BW")" \
			"$( ((LARGE_VSIZE > 0)) && echo "large_write_record_bytes_per_sec=$(rec_bytes "$m" write-large "$LARGE_VSIZE") large_write_over_fio=$(ratio "$(rec_bytes "$m" write-large "$LARGE_VSIZE")" "$FIO_WRITE_BW")" \
				"large_replace_record_bytes_per_sec=$(rec_bytes "$m" replace-large "$LARGE_VSIZE") large_replace_over_fio=$(ratio "$(rec_bytes "$m" replace-large "$LARGE_VSIZE")" "$FIO_WRITE_BW")")"
	done
	if ((NVME_RECORDS > 0)); then
		echo "ratio records=$NVME_RECORDS cold_start_s=$CS_S fio_seq_read_s=$FIO_CS_S fio_over_cold_start=$(ratio "$FIO_CS_S" "$CS_S") warm_start_s=$WS_S" \
			"dram_index_bytes_per_record=$(bench_metric index=dram/ index-B/record) flash_anon_bytes_per_record=$(bench_metric index=flash/ anon-B/record)"
	fi
} | tee "$OUT/summary.txt"
