//go:build linux

package nvme

import (
	"sync"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// TestDeviceReads reads records back from the files after a restart, when
// none is in memory any more, with io_uring (and pread when only one read is
// in flight) and with pread only (where io_uring is refused).
func TestDeviceReads(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noRing bool
	}{{"io_uring", false}, {"pread", true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t.TempDir(), 16<<20)
			o.noRing = tc.noRing
			// No defragmentation, which would move records into write
			// buffers in memory after the restart.
			o.DefragLWMPct = 1
			b := mustNew(t, o)
			const n = 3000
			for i := range n {
				d := storagetest.DigestIn(uint16(i), uint64(i))
				if err := b.Put(ctx, d, rec(uint64(i), 100+i%1500)); err != nil {
					t.Fatal(err)
				}
			}
			b = reopen(t, b)
			want := float64(len(o.Files))
			if tc.noRing {
				want = 0
			}
			if got := stat(t, b).Extra["device_io_uring"]; got != want {
				t.Fatalf("device_io_uring %v, want %v", got, want)
			}
			// Readers at once: with io_uring, a read with none other in
			// flight is a blocking pread, the others go through the ring.
			var wg sync.WaitGroup
			for r := range 8 {
				wg.Go(func() {
					for i := r; i < n; i += 8 {
						d := storagetest.DigestIn(uint16(i), uint64(i))
						if got, err := b.Get(ctx, d, nil); err != nil || !same(got, rec(uint64(i), 100+i%1500)) {
							t.Errorf("Get %d: %+v, %v", i, got.Meta, err)
							return
						}
					}
				})
			}
			wg.Wait()
			if reads := b.devReads.Load(); reads != n {
				t.Errorf("%d reads from the files for %d records", reads, n)
			}
		})
	}
}
