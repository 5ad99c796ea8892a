package storagetest

import (
	"errors"

	"github.com/skiffdb/skiff/sdk/storage"
)

// testClosed checks that every method called after Close returns ErrClosed
// instead of touching released resources.
func testClosed(h *harness) {
	d := DigestIn(1, 1)
	h.put(d, genRecord(1, 100))
	h.closed = true
	if err := h.b.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	_, errGet := h.b.Get(h.ctx, d, nil)
	_, errMeta := h.b.GetMeta(h.ctx, d)
	_, errStats := h.b.Stats(h.ctx)
	called := false
	errScan := h.b.ScanPartition(h.ctx, d.Partition(), false, func(storage.Digest, *storage.Record) error {
		called = true
		return nil
	})
	for _, c := range []struct {
		method string
		err    error
	}{
		{"Get", errGet},
		{"GetMeta", errMeta},
		{"Put", h.b.Put(h.ctx, d, genRecord(2, 10))},
		{"Delete", h.b.Delete(h.ctx, d, false)},
		{"ScanPartition", errScan},
		{"Stats", errStats},
		{"Close", h.b.Close()},
	} {
		if !errors.Is(c.err, storage.ErrClosed) {
			h.t.Errorf("%s after Close: err = %v, want ErrClosed", c.method, c.err)
		}
	}
	if called {
		h.t.Errorf("ScanPartition after Close called its callback")
	}
}
