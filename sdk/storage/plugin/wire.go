package plugin

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/skiffdb/skiff/sdk/storage"
)

// The data path is a byte stream of frames on a Unix socket, requests from
// the node and replies from the plugin:
//
//	length  uint32  bytes after this field
//	id      uint32  chosen by the node; a reply carries its request's id
//	code    uint8   the operation of a request, the status of a reply
//	payload
//
// Requests are pipelined: the node writes them as they come, many per
// write, and matches replies by id, which may come in any order. Payloads,
// big-endian:
//
//	opGet, opGetMeta  digest[20]
//	opPut             digest[20] meta keyLen:uint32 key bins
//	opDelete          digest[20] durable:uint8
//	opScan            partition:uint16 metaOnly:uint8
//	opPutShared       digest[20] offset:uint32 length:uint32
//
//	meta              generation:uint32 voidTime:uint32 lastUpdate:uint64 flags:uint8 setLen:uint8 set
//
// A meta's flags are metaHasKey or 0.
//
// A reply's status is statusOK, an error status, or, for scans only,
// statusRecord: one record of the scan, "digest[20] meta keyLen:uint32 key
// bins", with more frames to follow until the scan's final status. Replies
// with statusOK carry "meta keyLen:uint32 key bins" for opGet, "meta" for
// opGetMeta and nothing otherwise; statusError carries a message.
//
// opPutShared and statusShared carry a record that lies in the
// connection's shared memory (shm.go). opPutShared, otherwise an opPut,
// says where on the node's side its "meta keyLen key bins" lie:
// "offset:uint32 length:uint32". statusShared, an opGet's statusOK, carries
// "meta keyLen:uint32 offset:uint32 length:uint32", and the key and bins lie
// on the plugin's side.
// statusRecordShared, a scan's statusRecord, carries "digest[20]
// offset:uint32 length:uint32", and "meta keyLen key bins" lie on the
// plugin's side.
const (
	opGet     = 1
	opGetMeta = 2
	opPut     = 3
	opDelete  = 4
	opScan    = 5
	// opPutShared is last: handle takes opGet to it as point requests.
	opPutShared = 6
)

const (
	statusOK           = 0
	statusNotFound     = 1
	statusTooBig       = 2
	statusOutOfSpace   = 3
	statusClosed       = 4
	statusUnavailable  = 5
	statusError        = 6
	statusShared       = 7
	statusOverloaded   = 8
	statusRecord       = 100
	statusRecordShared = 101
)

// isScanRecord reports whether a reply's status is one record of a scan,
// with more replies to follow.
func isScanRecord(status uint8) bool {
	return status == statusRecord || status == statusRecordShared
}

// metaHasKey is the meta flag of storage.Meta.HasKey.
const metaHasKey = 1

const (
	frameHeaderSize = 9 // length, id, code
	digestSize      = len(storage.Digest{})
	// maxFrame bounds a frame either side accepts: the largest record and
	// its metadata, with room to spare.
	maxFrame = 256 << 20
)

var errFrameTooBig = errors.New("storage plugin: frame too big")

// appendFrameHeader starts a frame; finishFrame writes its length once the
// payload is appended.
func appendFrameHeader(b []byte, id uint32, code uint8) ([]byte, int) {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, id)
	return append(b, code), start
}

func finishFrame(b []byte, start int) {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
}

// readFrame reads one frame into buf (grown as needed) and returns its id,
// code and payload, which alias buf.
func readFrame(r *bufio.Reader, buf []byte) (id uint32, code uint8, payload, newBuf []byte, err error) {
	hdr, err := r.Peek(frameHeaderSize)
	if err != nil {
		return 0, 0, nil, buf, err
	}
	n := int(binary.BigEndian.Uint32(hdr))
	if n < frameHeaderSize-4 || n > maxFrame {
		return 0, 0, nil, buf, fmt.Errorf("%w: %d bytes", errFrameTooBig, n)
	}
	id, code = binary.BigEndian.Uint32(hdr[4:]), hdr[8]
	r.Discard(frameHeaderSize)
	n -= frameHeaderSize - 4
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, 0, nil, buf, err
	}
	return id, code, buf, buf, nil
}

func appendMeta(b []byte, m *storage.Meta) []byte {
	b = binary.BigEndian.AppendUint32(b, m.Generation)
	b = binary.BigEndian.AppendUint32(b, m.VoidTime)
	b = binary.BigEndian.AppendUint64(b, m.LastUpdate)
	var flags byte
	if m.HasKey {
		flags = metaHasKey
	}
	b = append(b, flags, byte(len(m.Set)))
	return append(b, m.Set...)
}

// appendRecord appends "meta keyLen key bins".
func appendRecord(b []byte, rec *storage.Record) []byte {
	b = appendMeta(b, &rec.Meta)
	b = binary.BigEndian.AppendUint32(b, uint32(len(rec.Key)))
	b = append(b, rec.Key...)
	return append(b, rec.Bins...)
}

var errMalformed = errors.New("storage plugin: malformed frame")

// interner keeps one string per set name, so that decoding a record's meta
// does not allocate a string per record. A namespace has few sets. It is
// not safe for concurrent use.
type interner map[string]string

func (in interner) intern(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// parseMeta reads a meta from p.
func parseMeta(p []byte, in interner) (storage.Meta, []byte, error) {
	if len(p) < 18 {
		return storage.Meta{}, nil, errMalformed
	}
	m := storage.Meta{
		Generation: binary.BigEndian.Uint32(p),
		VoidTime:   binary.BigEndian.Uint32(p[4:]),
		LastUpdate: binary.BigEndian.Uint64(p[8:]),
		HasKey:     p[16]&metaHasKey != 0,
	}
	n := int(p[17])
	p = p[18:]
	if len(p) < n {
		return storage.Meta{}, nil, errMalformed
	}
	m.Set = in.intern(p[:n])
	return m, p[n:], nil
}

// parseRecord reads "meta keyLen key bins"; key and bins alias p.
func parseRecord(p []byte, in interner) (storage.Record, error) {
	m, p, err := parseMeta(p, in)
	if err != nil {
		return storage.Record{}, err
	}
	if len(p) < 4 {
		return storage.Record{}, errMalformed
	}
	k := int(binary.BigEndian.Uint32(p))
	p = p[4:]
	if len(p) < k {
		return storage.Record{}, errMalformed
	}
	return storage.Record{Meta: m, Key: p[:k], Bins: p[k:]}, nil
}

// statusOf maps a backend error to the status that carries it.
func statusOf(err error) uint8 {
	switch {
	case err == nil:
		return statusOK
	case errors.Is(err, storage.ErrNotFound):
		return statusNotFound
	case errors.Is(err, storage.ErrRecordTooBig):
		return statusTooBig
	case errors.Is(err, storage.ErrOutOfSpace):
		return statusOutOfSpace
	case errors.Is(err, storage.ErrOverloaded):
		return statusOverloaded
	case errors.Is(err, storage.ErrClosed):
		return statusClosed
	case errors.Is(err, storage.ErrUnavailable):
		return statusUnavailable
	}
	return statusError
}

// errorOf maps a status back to the sentinel error, so that errors.Is works
// across the process boundary; msg is the plugin's text, when it sent one.
func errorOf(status uint8, msg []byte) error {
	var sentinel error
	switch status {
	case statusOK:
		return nil
	case statusNotFound:
		return storage.ErrNotFound
	case statusTooBig:
		sentinel = storage.ErrRecordTooBig
	case statusOutOfSpace:
		sentinel = storage.ErrOutOfSpace
	case statusOverloaded:
		sentinel = storage.ErrOverloaded
	case statusClosed:
		return storage.ErrClosed
	case statusUnavailable:
		sentinel = storage.ErrUnavailable
	default:
		return fmt.Errorf("storage plugin: %s", msg)
	}
	if len(msg) == 0 {
		return sentinel
	}
	return &remoteError{msg: string(msg), sentinel: sentinel}
}

// remoteError is a plugin's error: its text as the plugin wrote it (which
// already names the sentinel), and the sentinel for errors.Is.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }
