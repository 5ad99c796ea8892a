package storagetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/skiffdb/skiff/sdk/storage"
)

// Versioned is version v of the record with digest d, for tests that read
// records while they are rewritten (a backend's shared index, say): its
// bins say d and v, and its size (every 97th version a record of 150 KiB),
// set and key vary with v, so that a read mixing two versions, or two
// records, shows in CheckVersioned. Its generation and times are v's own.
func Versioned(d storage.Digest, v uint32) storage.Record {
	n := 28 + int(v%40)*29
	if v%97 == 0 {
		n = 150 << 10
	}
	bins := make([]byte, n)
	copy(bins, d[:])
	binary.LittleEndian.PutUint32(bins[20:], v)
	binary.LittleEndian.PutUint32(bins[24:], uint32(n))
	for i := 28; i < n; i++ {
		bins[i] = byte(v) ^ byte(i)
	}
	rec := storage.Record{Meta: storage.Meta{Generation: v, VoidTime: v * 3, LastUpdate: uint64(v) * 7, Set: fmt.Sprint("set", v%5)}, Bins: bins}
	if v%2 == 1 {
		rec.Key = append([]byte{3}, strconv.Itoa(int(v))...)
		rec.HasKey = true
	}
	return rec
}

// CheckVersioned returns the version rec is, or an error if it is no whole
// version of d's record.
func CheckVersioned(d storage.Digest, rec storage.Record) (uint32, error) {
	if len(rec.Bins) < 28 || !bytes.Equal(rec.Bins[:20], d[:]) {
		return 0, fmt.Errorf("bins of %d bytes are not %x's", len(rec.Bins), d)
	}
	v := binary.LittleEndian.Uint32(rec.Bins[20:])
	want := Versioned(d, v)
	if rec.Meta != want.Meta || !bytes.Equal(rec.Key, want.Key) || !bytes.Equal(rec.Bins, want.Bins) {
		return v, fmt.Errorf("version %d read as meta %+v, key %q, %d bytes of bins; want %+v, %q, %d", v, rec.Meta, rec.Key, len(rec.Bins), want.Meta, want.Key, len(want.Bins))
	}
	return v, nil
}

// ReadVersioned reads back from b, for v from 1 to n, version v of the
// record DigestIn(v, v), which the caller wrote with Versioned: with Get,
// GetMeta, and scans of partition v (metadata only, then data), which must
// each meet that record alone; and a record never written must be missing.
func ReadVersioned(ctx context.Context, b storage.Backend, n uint32) error {
	for v := uint32(1); v <= n; v++ {
		d := DigestIn(uint16(v), uint64(v))
		got, err := b.Get(ctx, d, nil)
		if err != nil {
			return err
		}
		if _, err := CheckVersioned(d, got); err != nil {
			return err
		}
		if m, err := b.GetMeta(ctx, d); err != nil || m != got.Meta {
			return fmt.Errorf("metadata %+v, %v; the record's is %+v", m, err, got.Meta)
		}
		met := 0
		for _, metaOnly := range []bool{true, false} {
			err := b.ScanPartition(ctx, uint16(v), metaOnly, func(sd storage.Digest, rec *storage.Record) error {
				met++
				if sd != d {
					return fmt.Errorf("scan of partition %d met %x", v, sd)
				}
				if metaOnly {
					if rec.Meta != got.Meta || rec.Bins != nil {
						return fmt.Errorf("metadata-only scan gave %+v and %d bytes of bins", rec.Meta, len(rec.Bins))
					}
					return nil
				}
				_, err := CheckVersioned(d, *rec)
				return err
			})
			if err != nil {
				return err
			}
		}
		if met != 2 {
			return fmt.Errorf("scans of partition %d met %d records, want 1 each", v, met)
		}
		if _, err := b.Get(ctx, DigestIn(uint16(v), 1<<40), nil); !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("a record never written: %v", err)
		}
	}
	return nil
}
