package nvme

import (
	"fmt"
	"sync"
)

// fillCopies fills each device's in-memory copy (data-in-memory) with its
// header and the blocks in use, once the index says which those are, and
// switches its reads to the copy. The devices are read in runs of up to
// coldChunk bytes, all devices at once.
func (b *Backend) fillCopies() error {
	var wg sync.WaitGroup
	errs := make([]error, len(b.devs))
	for i, dv := range b.devs {
		if dv.mirror != nil {
			wg.Go(func() { errs[i] = dv.fillCopy() })
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("nvme: namespace %s: %s: %w", b.opts.Namespace, b.devs[i].path, err)
		}
	}
	return nil
}

func (dv *device) fillCopy() error {
	m := dv.mirror
	if err := m.fill(0, int64(dv.wbs)); err != nil {
		return err
	}
	per := uint32(max(coldChunk/dv.wbs, 1))
	for blk := uint32(0); blk < dv.nblocks; {
		if dv.state[blk] == blockFree {
			blk++
			continue
		}
		n := uint32(1)
		for n < per && blk+n < dv.nblocks && dv.state[blk+n] != blockFree {
			n++
		}
		if err := m.fill(dv.blockOffset(blk), int64(n)*int64(dv.wbs)); err != nil {
			return err
		}
		blk += n
	}
	m.ready()
	return nil
}

// copiesBytes is the memory the in-memory copies take.
func (b *Backend) copiesBytes() int64 {
	var n int64
	for _, dv := range b.devs {
		if dv.mirror != nil {
			n += dv.mirror.resident()
		}
	}
	return n
}
