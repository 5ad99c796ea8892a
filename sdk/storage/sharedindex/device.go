package sharedindex

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/internal/alignedbuf"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
)

// readDevice is read for a KindDevice region: a consistent copy of d's
// entry from the index, then, for the data, one aligned read of the pages
// holding the record from its file.
func (r *Reader) readDevice(d *storage.Digest, buf []byte, withData bool) (rec storage.Record, ok bool, err error) {
	var e [EntrySize]byte
	if found, ok := r.entry(d, &e); !ok || !found || r.tombstone(e[:]) {
		return rec, ok, storage.ErrNotFound
	}
	m, sane := r.metaOf(e[:])
	if !sane {
		return rec, false, nil
	}
	rec.Meta = m
	if !withData {
		return rec, true, nil
	}
	buf, keyLen, ok := r.readRecord(d, &e, buf)
	if !ok {
		return storage.Record{}, false, nil
	}
	rec.Key = buf[:keyLen:keyLen]
	rec.Bins = buf[keyLen:len(buf):len(buf)]
	return rec, true, nil
}

// entry copies d's entry into e as it was at one moment. ok is false when
// no consistent copy could be had.
func (r *Reader) entry(d *storage.Digest, e *[EntrySize]byte) (found, ok bool) {
	seq := r.word(partOff(d.Partition()) + pSeq)
	for range tries {
		s := atomic.LoadUint64(seq)
		if s&1 != 0 {
			runtime.Gosched()
			continue
		}
		at, found, sane := r.find(d)
		if !sane {
			continue
		}
		if found {
			copy(e[:], r.mem[at:at+EntrySize])
		}
		if atomic.LoadUint64(seq) == s {
			return found, true
		}
	}
	return false, false
}

// readRecord reads the record entry e points at and copies its key and
// bins into buf, returning it and the key's length. ok is false when the
// read fails or what it read is not the record e describes.
func (r *Reader) readRecord(d *storage.Digest, e *[EntrySize]byte, buf []byte) (_ []byte, keyLen int, ok bool) {
	lo := binary.LittleEndian.Uint64(e[dLoc:])
	hi := uint64(binary.LittleEndian.Uint16(e[dLoc+8:]))
	fileNo := int(lo&0xff) - 1
	block := lo >> 8 & 0xffffffff
	off := (lo >> 40 & 0xfffff) * devrecord.Align
	size := (lo>>60 | hi<<4) * devrecord.Align
	if fileNo < 0 || fileNo >= len(r.files) || size < devrecord.HeaderSize || off+size > r.blockSize {
		return buf, 0, false
	}
	// The backend has the block in memory, where the device may still
	// have an earlier incarnation's bytes.
	if flags := r.inMemory[fileNo]; block >= uint64(len(flags)) || atomic.LoadUint32(&flags[block]) != 0 {
		return buf, 0, false
	}
	start := int64(r.blocksOff + block*r.blockSize + off)
	from := start &^ (pageSize - 1)
	to := (start + int64(size) + pageSize - 1) &^ (pageSize - 1)
	sp := alignedbuf.Get(int(to - from))
	defer alignedbuf.Put(sp)
	page := (*sp)[:to-from]
	if !r.copies {
		atomic.AddUint64((*uint64)(unsafe.Pointer(&r.counters[hDeviceReads])), 1)
	}
	if _, err := r.files[fileNo].ReadAt(page, from); err != nil {
		return buf, 0, false
	}
	src := page[start-from : start-from+int64(size)]
	h, ok := devrecord.Decode(src, r.crcSeed)
	if !ok || h.Kind != devrecord.KindRecord || h.Digest != *d || uint64(devrecord.Padded(int(h.Length))) != size ||
		h.Gen != binary.LittleEndian.Uint32(e[dGeneration:]) ||
		h.Void != binary.LittleEndian.Uint32(e[dVoidTime:]) ||
		h.LUT != binary.LittleEndian.Uint64(e[dLastUpdate:]) ||
		!devrecord.BodyOK(src, &h) {
		return buf, 0, false
	}
	buf, keyLen, ok = devrecord.CopyOut(src, &h, buf)
	return buf, keyLen, ok
}
