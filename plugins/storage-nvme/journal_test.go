package nvme

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/internal/shmtest"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// TestPluginKilledKeepsBufferedWrites kills the plugin process at random
// moments while writers put and durably delete records, with a flush
// bound of a minute, so that the last records of each write buffer are in
// memory only; the next process starts on the region the node kept (a
// memory file, or the region-file), round after round
// (storagetest.RunKilled): every write acknowledged is there, and every
// start took the dead process's index over (resume.go), those that found
// a partition changing too.
func TestPluginKilledKeepsBufferedWrites(t *testing.T) {
	if !sharedindex.Shareable {
		t.Skip("the region is handed over where the node shares it: linux/amd64")
	}
	for _, region := range []string{"memory", "region-file", "index=flash"} {
		t.Run("region="+region, func(t *testing.T) {
			dir := t.TempDir()
			settings := map[string]string{
				"files":            filepath.Join(dir, "a.dat") + "," + filepath.Join(dir, "b.dat"),
				"filesize":         strconv.Itoa(64 << 20),
				"write-block-size": strconv.Itoa(512 << 10),
				"flush-max-ms":     "60000",
				"post-write-queue": "0",
			}
			switch region {
			case "region-file":
				settings["region-file"] = filepath.Join(shmtest.Dir(t), "test.region")
			case "index=flash":
				settings["index-type"], settings["index-mount"] = "flash", t.TempDir()
			}
			rounds := 3
			if os.Getenv("NVME_LONG") == "1" {
				rounds = 20
			}
			resumed := 0
			storagetest.RunKilled(t, storagetest.KillOptions{
				Path: os.Args[0], Settings: settings,
				Rounds: rounds, Writers: 4, KeysEach: 400, MaxWait: 150 * time.Millisecond,
				DurableDeletes: true, MaxRecordSize: MaxRecordSizeFor(512 << 10),
				Restarted: func(round int, b storage.Backend) {
					st, err := b.Stats(ctx)
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					resumed += int(st.Extra["index_resumed"])
				},
			})
			t.Logf("%d of %d starts took the index over", resumed, rounds)
			if resumed != rounds {
				t.Errorf("%d of %d starts read the devices", rounds-resumed, rounds)
			}
		})
	}
}

// TestLeftBuffers checks what a successor takes from a journal: a buffer
// whose slot, place or block header does not match the devices is
// skipped, and of two buffers listed for one block the newer incarnation
// is written.
func TestLeftBuffers(t *testing.T) {
	const wbs = 64 << 10
	const seed, instance = 7, 0xfeed
	const slots = 8
	_, size := journalLayout(slots, wbs)
	mem := make([]byte, size)
	j := newJournal(mem, slots, wbs, testLogger())
	devs := []*device{{nblocks: 10}, {nblocks: 10}}
	fill := func(dev int, blk uint32, seq uint64, h blockHeader, used int64) int32 {
		buf, slot, err := j.alloc(wbs)
		if err != nil || slot == noSlot {
			t.Fatalf("alloc: slot %d, %v", slot, err)
		}
		h.encode(buf, seed)
		for i := blockHeaderSize; i < int(used); i++ {
			buf[i] = byte(seq)
		}
		j.open(slot, dev, blk, seq)
		j.used(slot, used)
		return slot
	}
	good := func(dev int, seq uint64) blockHeader {
		return blockHeader{seq: seq, instance: instance, wbs: wbs, device: uint32(dev)}
	}
	fill(1, 3, 5, good(1, 5), 1000)
	fill(1, 3, 9, good(1, 9), 2000) // a newer incarnation of the same block
	fill(0, 2, 4, good(0, 4), 3000)
	written := fill(0, 4, 6, good(0, 6), 4000)
	j.written(written)
	fill(0, 5, 7, blockHeader{seq: 7, instance: instance + 1, wbs: wbs}, 500) // another instance
	fill(0, 6, 8, good(0, 99), 500)                                           // header of another incarnation
	fill(2, 1, 3, good(2, 3), 500)                                            // no such device
	fill(0, 10, 2, good(0, 2), 500)                                           // past the last block

	bufs, skipped, err := leftBuffers(mem, devs, wbs, seed, instance)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 4 {
		t.Errorf("skipped %d, want 4", skipped)
	}
	var got []string
	for _, b := range bufs {
		got = append(got, strconv.Itoa(b.dev)+"/"+strconv.Itoa(int(b.blk))+"@"+strconv.Itoa(int(b.seq))+":"+strconv.Itoa(len(b.data)))
	}
	if want := "0/2@4:3000 1/3@9:2000"; strings.Join(got, " ") != want {
		t.Errorf("buffers %q, want %q", strings.Join(got, " "), want)
	}
	if _, _, err := leftBuffers(mem, devs, 2*wbs, seed, instance); err == nil {
		t.Error("a journal of other blocks' size was read")
	}
	if _, _, err := leftBuffers(mem[:size-1], devs, wbs, seed, instance); err == nil {
		t.Error("a journal cut short was read")
	}
}

// FuzzLeftBuffers reads journals of arbitrary bytes, as a write-buffer-file
// damaged or written by something else may hold: an error or buffers that
// check out, never a panic, and each buffer within the journal, on a block
// of the devices.
func FuzzLeftBuffers(f *testing.F) {
	const wbs, seed, instance = 4096, 3, 9
	_, size := journalLayout(2, wbs)
	mem := make([]byte, size)
	j := newJournal(mem, 2, wbs, testLogger())
	buf, slot, _ := j.alloc(wbs)
	(&blockHeader{seq: 5, instance: instance, wbs: wbs, device: 1}).encode(buf, seed)
	j.open(slot, 1, 2, 5)
	j.used(slot, 100)
	f.Add(mem)
	f.Add(mem[:journalHeader])
	f.Add([]byte{})
	devs := []*device{{nblocks: 4}, {nblocks: 4}}
	f.Fuzz(func(t *testing.T, mem []byte) {
		bufs, _, err := leftBuffers(mem, devs, wbs, seed, instance)
		if err != nil {
			return
		}
		for _, b := range bufs {
			if b.dev >= len(devs) || b.blk >= devs[b.dev].nblocks || len(b.data) < blockHeaderSize || len(b.data) > wbs {
				t.Fatalf("buffer %d/%d of %d bytes", b.dev, b.blk, len(b.data))
			}
		}
	})
}

// TestJournalTmpfsFull: a journal in a file on a full tmpfs hands out
// buffers of the process's memory, not slots whose pages it cannot
// allocate (touching them would kill the process), and counts those
// buffers while they hold records not on the devices, so that the index
// is not taken over after a crash then.
func TestJournalTmpfsFull(t *testing.T) {
	const wbs, slots = 64 << 10, 4
	mnt := mountTmpfs(t, "16m")
	_, size := journalLayout(slots, wbs)
	fd, err := unix.Open(filepath.Join(mnt, "journal"), unix.O_RDWR|unix.O_CREAT, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := resetFile(fd, size)
	if err != nil {
		t.Fatal(err)
	}
	defer unmapFile(mem)
	defer closeFile(fd)
	j := newJournal(mem, slots, wbs, testLogger())
	j.reserveIn(fd, 0)
	var unlisted atomic.Int64
	j.unlisted = &unlisted
	buf, slot, err := j.alloc(wbs)
	if err != nil || slot == noSlot {
		t.Fatalf("alloc with room: slot %d, %v", slot, err)
	}
	buf[0] = 1 // its pages are there
	fillTmpfs(t, mnt)
	buf, slot, err = j.alloc(wbs)
	if err != nil || slot != noSlot {
		t.Fatalf("alloc on a full tmpfs: slot %d, %v", slot, err)
	}
	buf[wbs-1] = 1
	j.open(slot, 0, 3, 9)
	if unlisted.Load() != 1 {
		t.Fatalf("%d buffers outside the journal counted", unlisted.Load())
	}
	j.written(slot)
	if unlisted.Load() != 0 {
		t.Fatalf("%d buffers outside the journal counted once written", unlisted.Load())
	}
	j.freeBuf(buf, slot)
}
