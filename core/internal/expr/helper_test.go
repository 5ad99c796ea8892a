package expr

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/clientpack"
	"github.com/skiffdb/skiff/sdk/storage"
)

// wire returns the bytes the official client sends for e.
func wire(t testing.TB, e *as.Expression) []byte {
	t.Helper()
	s, err := e.Base64()
	if err != nil {
		t.Fatalf("pack expression: %v", err)
	}
	b, derr := base64.StdEncoding.DecodeString(s)
	if derr != nil {
		t.Fatalf("decode base64: %v", derr)
	}
	return b
}

// opBytes returns the value of an expression operation as the client's
// ExpReadOp/ExpWriteOp encode it: [expression, flags].
func opBytes(t testing.TB, e *as.Expression, flags int) []byte {
	t.Helper()
	out := []byte{0x92}
	out = append(out, wire(t, e)...)
	if flags >= 0x80 {
		t.Fatalf("flags %d: test helper packs fixints only", flags)
	}
	return append(out, byte(flags))
}

// mapMsgpack returns the client's msgpack for a map value: ExpMapVal's
// expression is the map itself.
func mapMsgpack(t testing.TB, m as.MapValue) []byte {
	t.Helper()
	return wire(t, as.ExpMapVal(m))
}

// Bin constructors, values in wire form.

func intBin(name string, v int64) bins.Bin {
	return bins.Bin{Name: []byte(name), Type: proto.ParticleInteger, Value: binary.BigEndian.AppendUint64(nil, uint64(v))}
}

func floatBin(name string, v float64) bins.Bin {
	return bins.Bin{Name: []byte(name), Type: proto.ParticleFloat, Value: binary.BigEndian.AppendUint64(nil, math.Float64bits(v))}
}

func strBin(name, v string) bins.Bin {
	return bins.Bin{Name: []byte(name), Type: proto.ParticleString, Value: []byte(v)}
}

func blobBin(name string, v []byte) bins.Bin {
	return bins.Bin{Name: []byte(name), Type: proto.ParticleBlob, Value: v}
}

func boolBin(name string, v bool) bins.Bin {
	b := byte(0)
	if v {
		b = 1
	}
	return bins.Bin{Name: []byte(name), Type: proto.ParticleBool, Value: []byte{b}}
}

func geoBin(name, json string) bins.Bin {
	// flags, no cells, JSON: as the clients send GeoJSON bins.
	return bins.Bin{Name: []byte(name), Type: proto.ParticleGeoJSON, Value: append([]byte{0, 0, 0}, json...)}
}

func rawBin(name string, typ uint8, v []byte) bins.Bin {
	return bins.Bin{Name: []byte(name), Type: typ, Value: v}
}

// Fixed metadata for the tests.
var (
	testNow        = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	testLastUpdate = testNow.Add(-90*time.Second - 1234567*time.Nanosecond)
	testVoidTime   = uint32(testNow.Unix()-storage.EpochUnix) + 3600
	testDigest     = storage.Digest{0: 1, 16: 0x10, 17: 0x27, 18: 0, 19: 0} // bytes 16-19 LE: 10000
)

const (
	pointJSON  = `{"type":"Point","coordinates":[-122.0,37.5]}`
	circleJSON = `{"type":"AeroCircle","coordinates":[[-122.0,37.5],3000.0]}`
)

// testRecord is a record with a bin of each type and metadata.
func testRecord(t testing.TB) *Record {
	return &Record{
		Digest: testDigest,
		Meta: storage.Meta{
			Generation: 3,
			VoidTime:   testVoidTime,
			LastUpdate: uint64(testLastUpdate.UnixNano()),
			Set:        "people",
		},
		Key: append([]byte{proto.ParticleString}, "key1"...),
		Bins: []bins.Bin{
			intBin("a", 5),
			strBin("b", "xyz"),
			floatBin("c", 2.5),
			blobBin("d", []byte{1, 2, 3}),
			boolBin("e", true),
			intBin("neg", -2),
			intBin("one", 1),
			intBin("zero", 0),
			floatBin("f22", 2.2),
			rawBin("l", proto.ParticleList, clientpack.List(as.IntegerValue(1), as.StringValue("a"), as.IntegerValue(2))),
			rawBin("m", proto.ParticleMap, mapMsgpack(t, as.MapValue{"k": 1})),
			geoBin("g", pointJSON),
			geoBin("r", circleJSON),
			rawBin("h", proto.ParticleHLL, []byte{0, 4, 0, 0}),
		},
		Size: 123,
		Now:  testNow,
	}
}

// unk is the expected result "unknown" in tables.
type unkT struct{}

var unk unkT

// checkValue compares a result with an expectation written as a Go value:
// bool, int (int64), float64, string, []byte (blob), nil (Nil), unk.
func checkValue(t *testing.T, got Value, want any) {
	t.Helper()
	ok := false
	switch w := want.(type) {
	case unkT:
		ok = got.Kind() == Unknown
	case nil:
		ok = got.Kind() == Nil
	case bool:
		ok = got.Kind() == Bool && got.Bool() == w
	case int:
		ok = got.Kind() == Int && got.Int() == int64(w)
	case int64:
		ok = got.Kind() == Int && got.Int() == w
	case float64:
		ok = got.Kind() == Float && (got.Float() == w || math.IsNaN(w) && math.IsNaN(got.Float()))
	case string:
		ok = got.Kind() == String && string(got.Bytes()) == w
	case []byte:
		ok = got.Kind() == Blob && bytes.Equal(got.Bytes(), w)
	default:
		t.Fatalf("bad expectation %T", want)
	}
	if !ok {
		t.Errorf("got %s", describe(got))
	}
}

func describe(v Value) string {
	switch v.Kind() {
	case Bool:
		if v.Bool() {
			return "bool true"
		}
		return "bool false"
	case Int:
		return "int " + itoa(v.Int())
	case Float:
		return "float " + ftoa(v.Float())
	case String, Blob, List, Map, GeoJSON, HLL, Ext:
		return v.Kind().String() + " " + string(v.Bytes())
	}
	return v.Kind().String()
}
