package record

import (
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/sdk/storage"
)

// passWorkers is how many partitions a pass over the whole namespace (nsup,
// eviction, removing truncated records, an XDR recovery) works on at once
// where reads wait: there each partition costs a round trip to a plugin
// process, or reads of a device, and so does each record removed. As many
// as a background job works on (backgroundInFlight in the server) and a
// device plugin serves at once: more passes faster but crowds foreground
// commands.
const passWorkers = 16

// EachPartition calls fn for every partition of ns, each worker with its
// own state W, which it returns for the caller to add up. Where writes
// wait (Namespace.WritesWait: passes remove records) it runs passWorkers
// workers, so fn must be safe to call concurrently on different
// partitions; elsewhere one. The pass stops at the first error, which it
// returns.
func EachPartition[W any](ns *Namespace, fn func(w *W, pid uint16) error) ([]*W, error) {
	n := 1
	if ns.WritesWait() {
		n = passWorkers
	}
	return eachRun(n, 1, fn)
}

// eachRun calls fn for every run of run partitions, by the run's first
// partition, on n workers each with its own state W, which it returns.
// The pass stops at the first error, which it returns.
func eachRun[W any](n, run int, fn func(w *W, first uint16) error) ([]*W, error) {
	workers := make([]*W, n)
	errs := make([]error, n)
	var next atomic.Uint32
	var failed atomic.Bool
	var wg sync.WaitGroup
	for i := range workers {
		w := new(W)
		workers[i] = w
		wg.Go(func() {
			for !failed.Load() {
				first := next.Add(uint32(run)) - uint32(run)
				if first >= storage.Partitions {
					return
				}
				if err := fn(w, uint16(first)); err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return workers, err
		}
	}
	return workers, nil
}
