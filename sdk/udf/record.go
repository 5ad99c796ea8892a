package udf

import (
	"fmt"
	"time"
)

// Record is the record a call runs on. The host gives a record UDF the
// record under its lock, existing or not; an aggregation's filter and map
// see each record of the scan or query read-only, and their writes fail
// with ErrNotPermitted.
//
// Changes (Set, Remove, Delete, SetTTL) go to a private copy that the
// node writes back as one write when the function returns without error;
// a failed call writes nothing. Reads see the copy as changed so far.
//
// A *Record is valid only during the call it was passed to: do not keep
// it. Its methods are not safe for concurrent use (a call runs on one
// goroutine).
//
// Methods without an error result (Get, Key, BinNames, SetName) fail the
// call, as a returned error would, when the host answers something the
// SDK cannot read; they never return a half-read value.
type Record struct {
	h      host
	buf    []byte // bin_get, bin_names, rec_key, rec_set_name: reused
	enc    []byte // bin_set values: reused
	digest [20]byte
}

// Exists reports whether the record, as the call has changed it so far,
// has at least one bin.
func (r *Record) Exists() bool {
	return r.h.recExists() == 1
}

// Get returns the value of bin name, and false when the record has no
// such bin. An invalid name (empty, or longer than 15 bytes) fails the
// call.
func (r *Record) Get(name string) (Value, bool) {
	n := r.read(readBin, name)
	switch {
	case n == -1:
		return nil, false
	case n < 0:
		fault("get bin %q: %w", name, codeError(n))
	}
	v, err := decodeValue(r.buf[:n])
	if err != nil {
		fault("get bin %q: %w", name, err)
	}
	return v, true
}

// Set sets bin name to v (see Value for the forms v may take). A nil v
// removes the bin. It returns an error wrapping ErrInvalid for a bad
// name or a value that cannot be encoded, ErrNotPermitted in a read-only
// stage, and ErrLimit when the record would have too many bins or be too
// large.
func (r *Record) Set(name string, v Value) error {
	var err error
	if r.enc, err = appendValue(r.enc[:0], v); err != nil {
		return fmt.Errorf("udf: set bin %q: %w", name, err)
	}
	if code := r.h.binSet(name, r.enc); code < 0 {
		return fmt.Errorf("udf: set bin %q: %w", name, codeError(code))
	}
	return nil
}

// Remove removes bin name; removing an absent bin is not an error.
func (r *Record) Remove(name string) error {
	if code := r.h.binRemove(name); code < 0 {
		return fmt.Errorf("udf: remove bin %q: %w", name, codeError(code))
	}
	return nil
}

// Delete removes every bin: the node deletes the record when the call
// succeeds, unless the call sets bins after Delete.
func (r *Record) Delete() error {
	if code := r.h.recDelete(); code < 0 {
		return fmt.Errorf("udf: delete record: %w", codeError(code))
	}
	return nil
}

// BinNames returns the names of the record's bins, as the call has
// changed it so far.
func (r *Record) BinNames() []string {
	n := r.read(readBinNames, "")
	if n < 0 {
		fault("bin names: %w", codeError(n))
	}
	var names []string
	for p := r.buf[:n]; len(p) > 0; {
		l := int(p[0])
		if l+1 > len(p) {
			fault("bin names: %w: name of %d bytes in %d", ErrInvalid, l, len(p)-1)
		}
		names = append(names, string(p[1:1+l]))
		p = p[1+l:]
	}
	return names
}

// Generation returns the stored generation, 0 for a new record.
func (r *Record) Generation() uint32 {
	return uint32(r.h.recGeneration())
}

// TTL returns the seconds until the stored record expires, -1 when it
// never does, and 0 for a new record.
func (r *Record) TTL() int32 {
	return r.h.recTTL()
}

// LastUpdate returns the time of the record's last write, and the zero
// time for a new record.
func (r *Record) LastUpdate() time.Time {
	ns := r.h.recLastUpdate()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// SetTTL sets the TTL the call's write gives the record, as a client
// gives it: 0 the namespace default, -1 never expire, -2 leave the
// stored TTL unchanged, more than 0 that many seconds. A bad TTL returns
// an error wrapping ErrInvalid.
func (r *Record) SetTTL(ttl int32) error {
	if code := r.h.recSetTTL(ttl); code < 0 {
		return fmt.Errorf("udf: set ttl %d: %w", ttl, codeError(code))
	}
	return nil
}

// Key returns the record's user key, stored or sent by the client, and
// false when there is none (only the digest).
func (r *Record) Key() (Value, bool) {
	n := r.read(readKey, "")
	switch {
	case n == -1:
		return nil, false
	case n < 0:
		fault("key: %w", codeError(n))
	}
	v, err := decodeValue(r.buf[:n])
	if err != nil {
		fault("key: %w", err)
	}
	return v, true
}

// SetName returns the name of the record's set, "" for none.
func (r *Record) SetName() string {
	n := r.read(readSetName, "")
	if n < 0 {
		fault("set name: %w", codeError(n))
	}
	return string(r.buf[:n])
}

// Digest returns the record's 20-byte digest, its identity in the
// namespace.
func (r *Record) Digest() [20]byte {
	r.h.recDigest(&r.digest)
	return r.digest
}

type readOp int

const (
	readBin readOp = iota
	readBinNames
	readKey
	readSetName
)

// read runs a host call that copies a value into r.buf, growing the
// buffer and calling again when the value does not fit. It returns the
// value's length or the host's negative code.
func (r *Record) read(op readOp, name string) int32 {
	if cap(r.buf) < minReadBuf {
		r.buf = make([]byte, minReadBuf)
	}
	for {
		buf := r.buf[:cap(r.buf)]
		var n int32
		switch op {
		case readBin:
			n = r.h.binGet(name, buf)
		case readBinNames:
			n = r.h.binNames(buf)
		case readKey:
			n = r.h.recKey(buf)
		case readSetName:
			n = r.h.recSetName(buf)
		}
		if n < 0 || int(n) <= len(buf) {
			return n
		}
		r.buf = make([]byte, n)
	}
}

// minReadBuf is the first size of Record's read buffer: most bins fit.
const minReadBuf = 1024
