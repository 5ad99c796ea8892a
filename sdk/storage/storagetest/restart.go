package storagetest

import (
	"github.com/skiffdb/skiff/sdk/storage"
)

// Restart tests use only durable deletes: a record deleted without a
// tombstone may come back when a persistent backend rebuilds its index, as
// in Aerospike.

// testRestart writes records of every shape, restarts the backend, checks
// them all, writes again over the reopened backend and restarts once more,
// so that writes made after a restart are shown to persist too.
func testRestart(h *harness) {
	for i, s := range shapes() {
		h.put(DigestIn(uint16(i), 0), s.rec)
	}
	h.put(DigestIn(800, 0), h.largeRecord(1))
	n := scale(5000)
	for i := range n {
		h.put(DigestIn(uint16(i%storage.Partitions), uint64(i)+1), genRecord(uint64(i), i%300))
	}
	h.restart()
	h.checkIntegrity()

	for i := 0; i < n; i += 3 {
		d := DigestIn(uint16(i%storage.Partitions), uint64(i)+1)
		if i%2 == 0 {
			h.del(d, true)
		} else {
			h.put(d, genRecord(uint64(i+n), 400))
		}
	}
	h.put(DigestIn(801, 0), genRecord(3, 1000))
	h.restart()
	h.checkIntegrity()
}

// testRestartDurableDelete checks that a durably deleted record stays
// deleted across restarts, whatever its history, and that a record written
// again after a durable delete survives.
func testRestartDurableDelete(h *harness) {
	const pid = 900
	gone, back, kept := DigestIn(pid, 0), DigestIn(pid, 1), DigestIn(pid, 2)
	for v := range uint64(5) {
		h.put(gone, genRecord(v, int(v)*100))
		h.put(back, genRecord(v+10, 50))
	}
	h.put(kept, genRecord(20, 10))
	h.del(gone, true)
	h.del(back, true)
	h.put(back, genRecord(30, 70))
	h.restart()
	h.expectAbsent(gone)
	h.expect(back, h.model[back])
	h.expect(kept, h.model[kept])
	h.restart()
	h.expectAbsent(gone)
}
