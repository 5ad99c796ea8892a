package storagetest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/skiffdb/skiff/sdk/storage"
)

// DigestIn returns a digest in partition pid (taken modulo
// storage.Partitions), distinct for each seq. Its other bytes look random,
// as real RIPEMD-160 digests do, so backends that hash digests see realistic
// input. Backend tests use it to aim records at partitions.
func DigestIn(pid uint16, seq uint64) storage.Digest {
	pid &= storage.Partitions - 1
	// mix is a bijection, so distinct seqs give distinct bytes 2..9.
	a := mix(seq + uint64(pid)*0x9e3779b97f4a7c15)
	b := mix(a)
	var d storage.Digest
	binary.LittleEndian.PutUint16(d[0:], pid|uint16(a>>60)<<12)
	binary.LittleEndian.PutUint64(d[2:], a)
	binary.LittleEndian.PutUint64(d[10:], b)
	binary.LittleEndian.PutUint16(d[18:], uint16(b>>32))
	return d
}

// mix is SplitMix64's finalizer: a bijection of uint64 with good diffusion.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// setNames are the sets generated records belong to: none, short, and the
// longest name Aerospike allows (63 bytes).
var setNames = []string{
	"",
	"users",
	"s",
	"set-name-of-sixty-three-bytes-which-is-the-longest-aerospike-set",
}

// genRecord returns a record derived from seed with binsLen bytes of bins.
// Different seeds give different metadata, set, key and bins.
func genRecord(seed uint64, binsLen int) storage.Record {
	r := mix(seed + 1)
	rec := storage.Record{
		Meta: storage.Meta{
			Generation: uint32(r%0xfffe) + 1,
			VoidTime:   uint32(r >> 20),
			LastUpdate: r>>1 | 1,
			Set:        setNames[r%uint64(len(setNames))],
		},
		Bins: fill(make([]byte, binsLen), r),
	}
	if keyLen := int(r>>8) % 40; r%5 != 0 {
		// A stored key is a particle type byte and the key's bytes.
		rec.Key = fill(make([]byte, 1+keyLen), r^0x5555)
		rec.Key[0] = 3 // string
	}
	return rec
}

// incompressible returns genRecord(seed, binsLen) with bins that never
// repeat, which no codec shrinks.
func incompressible(seed uint64, binsLen int) storage.Record {
	rec := genRecord(seed, binsLen)
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], mix(seed))
	rand.NewChaCha8(key).Read(rec.Bins)
	return rec
}

// fill writes a pseudo-random sequence derived from seed into b. The first
// fillPeriod bytes are computed and the rest repeats them: copying is much
// cheaper than computing under the race detector, and a prime period does
// not line up with any allocation size, so misplaced bytes still show.
func fill(b []byte, seed uint64) []byte {
	x := seed
	head := b[:min(len(b), fillPeriod)]
	for i := 0; i < len(head); i += 8 {
		x = mix(x + 0x9e3779b97f4a7c15)
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], x)
		copy(head[i:], w[:])
	}
	for n := len(head); n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
	return b
}

const fillPeriod = 1021

// cloneRecord returns a deep copy of rec, so that the copy does not share
// memory with a backend's or a caller's buffers.
func cloneRecord(rec storage.Record) storage.Record {
	rec.Key = append([]byte(nil), rec.Key...)
	rec.Bins = append([]byte(nil), rec.Bins...)
	return rec
}

// wantMeta is the metadata a backend must return for rec once stored:
// HasKey follows the key, whatever rec.HasKey says.
func wantMeta(rec storage.Record) storage.Meta {
	m := rec.Meta
	m.HasKey = len(rec.Key) > 0
	return m
}

// diffMeta is diffRecord for a metadata scan's record: want's metadata,
// no key and no bins.
func diffMeta(got, want storage.Record) string {
	if len(got.Key) != 0 || len(got.Bins) != 0 {
		return fmt.Sprintf("key %s and bins %s, want both empty", brief(got.Key), brief(got.Bins))
	}
	if got.Meta != wantMeta(want) {
		return fmt.Sprintf("meta %+v, want %+v", got.Meta, wantMeta(want))
	}
	return ""
}

// diffRecord describes how got differs from want, or returns "" when they
// are equal. Empty and nil slices are equal.
func diffRecord(got, want storage.Record) string {
	switch {
	case got.Meta != wantMeta(want):
		return fmt.Sprintf("meta %+v, want %+v", got.Meta, wantMeta(want))
	case string(got.Key) != string(want.Key):
		return fmt.Sprintf("key %s, want %s", brief(got.Key), brief(want.Key))
	case string(got.Bins) != string(want.Bins):
		return fmt.Sprintf("bins %s, want %s", brief(got.Bins), brief(want.Bins))
	}
	return ""
}

// brief shows a byte slice's length and first bytes.
func brief(b []byte) string {
	if len(b) > 12 {
		return fmt.Sprintf("[%d bytes: %x...]", len(b), b[:12])
	}
	return fmt.Sprintf("[%d bytes: %x]", len(b), b)
}

// name shows a digest in messages: partition and leading bytes.
func name(d storage.Digest) string {
	return fmt.Sprintf("%d/%x", d.Partition(), d[:8])
}
