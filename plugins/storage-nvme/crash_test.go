package nvme

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffdb/skiff/internal/shmtest"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// The crash tests run this test binary as a writer (crashChild), which
// prints "put i" or "del i" to stdout once operation i has returned, and
// kill it with SIGKILL while it writes. Then the test opens the files and
// checks every acknowledged operation against what cold start rebuilt.

const (
	crashChildEnv  = "NVME_CRASH_CHILD"  // the files' directory
	crashCommitEnv = "NVME_CRASH_COMMIT" // "1" for commit-to-device
	crashStartEnv  = "NVME_CRASH_START"  // the first operation's number
	crashBufferEnv = "NVME_CRASH_BUFFER" // the write-buffer-file, if any
	crashRegionEnv = "NVME_CRASH_REGION" // the region-file, if any
	crashFlashEnv  = "NVME_CRASH_FLASH"  // the index's flash mount, if any
	crashKeys      = 4000
	crashFlushMax  = 100 * time.Millisecond
)

// crashMode is how the writers keep what they acknowledge: with
// commit-to-device, or in a write-buffer-file or region-file, or the file of
// an index on flash at flashMount, if not empty.
type crashMode struct {
	commit                             bool
	bufferFile, regionFile, flashMount string
}

// keepsBuffers says whether the write buffers outlive a writer's death.
func (m crashMode) keepsBuffers() bool {
	return m.bufferFile != "" || m.regionFile != "" || m.flashMount != ""
}

// crashOptions are the writers' options in dir for mode m.
func crashOptions(dir string, m crashMode) Options {
	o := testOptions(dir, 32<<20)
	o.WriteBufferFile = m.bufferFile
	o.RegionFile = m.regionFile
	if m.flashMount != "" {
		o.IndexType, o.IndexMount = IndexFlash, m.flashMount
	}
	o.WriteBlockSize = 128 << 10
	o.CommitToDevice = m.commit
	o.FlushMax = crashFlushMax
	o.Logger = testLogger()
	// The check after each kill stops cleanly, so the next writer starts
	// warm, from the index that stop wrote.
	o.Snapshot = filepath.Join(dir, "index.snapshot")
	// Buffered writers keep a copy of the data in memory: the devices
	// take the same writes, and each check reads every record from the
	// copy its start filled from them.
	o.DataInMemory = !m.commit
	return o
}

// crashOp is operation i: a durable delete of its key every seventh, else
// a put of a record derived from i.
func crashOp(i int) (d storage.Digest, r storage.Record, del bool) {
	k := i % crashKeys
	d = storagetest.DigestIn(uint16(k), uint64(k))
	if i%7 == 3 {
		return d, storage.Record{}, true
	}
	return d, rec(uint64(i), 100+i%900), false
}

// crashChild writes until it is killed.
func crashChild() {
	testing.Init() // testLogger asks testing.Verbose
	flag.Parse()
	dir := os.Getenv(crashChildEnv)
	start, _ := strconv.Atoi(os.Getenv(crashStartEnv))
	b, err := New(crashOptions(dir, crashMode{os.Getenv(crashCommitEnv) == "1", os.Getenv(crashBufferEnv), os.Getenv(crashRegionEnv), os.Getenv(crashFlashEnv)}))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := start; ; i++ {
		d, r, del := crashOp(i)
		op := "put"
		if del {
			op = "del"
			err = b.Delete(ctx, d, true)
			if errors.Is(err, storage.ErrNotFound) {
				err = nil
			}
		} else {
			err = b.Put(ctx, d, r)
		}
		if err != nil {
			fmt.Fprintln(w, "error", err)
			w.Flush()
			os.Exit(1)
		}
		fmt.Fprintf(w, "%s %d\n", op, i)
		w.Flush()
	}
}

// ack is an acknowledged operation and when the test saw it.
type ack struct {
	op int
	at time.Time
}

// runCrashChild starts a writer from operation start, lets it run for d,
// kills it and returns its acknowledgements and the kill time.
func runCrashChild(t *testing.T, dir string, m crashMode, start int, d time.Duration) ([]ack, time.Time) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	c := "0"
	if m.commit {
		c = "1"
	}
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashCommitEnv+"="+c, crashStartEnv+"="+strconv.Itoa(start),
		crashBufferEnv+"="+m.bufferFile, crashRegionEnv+"="+m.regionFile, crashFlashEnv+"="+m.flashMount, "GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks := make(chan ack, 1<<16)
	lines := make(chan string, 1)
	go func() {
		defer close(acks)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && (f[0] == "put" || f[0] == "del") {
				n, _ := strconv.Atoi(f[1])
				acks <- ack{n, time.Now()}
				continue
			}
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	// Start counting once the writer has written something: its cold
	// start may take a while under the race detector.
	var got []ack
	var deadline <-chan time.Time
	for killed := false; !killed; {
		select {
		case a, ok := <-acks:
			if !ok {
				cmd.Wait()
				t.Fatalf("the writer exited (%v) after %d acknowledgements", cmd.ProcessState, len(got))
			}
			got = append(got, a)
			if deadline == nil {
				deadline = time.After(d)
			}
		case <-deadline:
			killed = true
		case l := <-lines:
			t.Fatalf("writer: %s", l)
		}
	}
	killedAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for a := range acks {
		got = append(got, a)
	}
	cmd.Wait()
	return got, killedAt
}

// checkCrash checks the records in dir after a crash: each key holds the
// state of one of its operations from the last that must have survived on:
// with commit-to-device or the buffers in a file, the last acknowledged;
// otherwise, the last acknowledged before the kill less flush-max-ms and
// some slack (any later one may have been lost, or may have made it,
// unacknowledged included). With a region file, the start takes the
// writer's index over.
func checkCrash(t *testing.T, dir string, m crashMode, acks []ack, killedAt time.Time) {
	t.Helper()
	cutoff := killedAt
	if !m.commit && !m.keepsBuffers() {
		cutoff = killedAt.Add(-crashFlushMax - flushTick(crashFlushMax) - 500*time.Millisecond)
	}
	last := acks[len(acks)-1].op
	// durable[k] is the key's last operation that must have survived.
	durable := map[int]int{}
	for _, a := range acks {
		if !a.at.After(cutoff) {
			durable[a.op%crashKeys] = a.op
		}
	}
	b := mustNew(t, crashOptions(dir, m))
	defer b.Close()
	checked := 0
	for k := range crashKeys {
		d := storagetest.DigestIn(uint16(k), uint64(k))
		got, err := b.Get(ctx, d, nil)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		from, ok := durable[k]
		if !ok {
			continue // nothing that had to survive
		}
		// Accept the state after from or after any later operation on k,
		// including the one in flight when the writer died.
		match := false
		for op := from; op <= last+1; op += crashKeys {
			_, r, del := crashOp(op)
			if del && errors.Is(err, storage.ErrNotFound) || !del && err == nil && same(got, r) {
				match = true
				break
			}
		}
		if !match {
			t.Fatalf("key %d: got %+v (err %v); want the state after operation %d or a later one (last acknowledged %d)", k, got.Meta, err, from, last)
		}
		checked++
	}
	st := stat(t, b)
	if st.Extra["warm_start"] != 0 {
		t.Fatal("the start after a kill loaded an index snapshot")
	}
	if resumed := st.Extra["index_resumed"] == 1; resumed != (m.regionFile != "" || m.flashMount != "") {
		t.Fatalf("index_resumed %v after a kill, with %+v", st.Extra["index_resumed"], m)
	}
	if st.Extra["device_corrupt_records"] != 0 {
		t.Fatalf("corrupt records after a crash: %v (a torn write is not corruption)", st.Extra["device_corrupt_records"])
	}
	t.Logf("%+v: %d operations acknowledged, %d keys checked; start %v ms; torn tails %v",
		m, len(acks), checked, st.Extra["cold_start_ms"], st.Extra["device_torn_tails"])
}

func TestCrashCommitToDevice(t *testing.T) { crashLoop(t, crashMode{commit: true}) }
func TestCrashBuffered(t *testing.T)       { crashLoop(t, crashMode{}) }

// TestCrashWriteBufferFile: with the write buffers in a file on a tmpfs,
// a writer killed without commit-to-device loses no acknowledged write.
func TestCrashWriteBufferFile(t *testing.T) {
	crashLoop(t, crashMode{bufferFile: filepath.Join(shmtest.Dir(t), "test.buffers")})
}

// TestCrashRegionFile: with the index and write buffers in a region file,
// a writer killed without commit-to-device loses no acknowledged write,
// and the next start takes its index over.
func TestCrashRegionFile(t *testing.T) {
	crashLoop(t, crashMode{regionFile: filepath.Join(shmtest.Dir(t), "test.region")})
}

// TestCrashIndexOnFlash: likewise with the index on flash, in its file on
// the mount.
func TestCrashIndexOnFlash(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("index-type flash is supported on Linux only")
	}
	crashLoop(t, crashMode{flashMount: t.TempDir()})
}

// crashLoop kills a writer twice, or NVME_LONG=1: twenty times over the
// same files, each writer continuing where the last one's acknowledgements
// stopped. Each writer after the first starts warm, from the snapshot the
// check before it wrote as it stopped; each check after a kill must read
// the devices.
func crashLoop(t *testing.T, m crashMode) {
	dir := t.TempDir()
	rounds := 2
	if os.Getenv("NVME_LONG") == "1" {
		rounds = 20
	}
	next := 0
	snapshot := crashOptions(dir, m).Snapshot
	for round := range rounds {
		acks, killedAt := runCrashChild(t, dir, m, next, 700*time.Millisecond)
		if len(acks) == 0 {
			t.Fatalf("round %d: no acknowledgements", round)
		}
		if _, err := os.Stat(snapshot); round > 0 && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("round %d: the writer did not start from the snapshot (%v)", round, err)
		}
		checkCrash(t, dir, m, acks, killedAt)
		next = acks[len(acks)-1].op + 2
	}
}
