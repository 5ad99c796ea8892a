package msgpack

import (
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/internal/clientpack"
)

// FuzzCompare checks that the comparison never panics, is antisymmetric,
// and finds every well-formed element equal to itself; and that Skip and
// Parse agree on what is whole.
func FuzzCompare(f *testing.F) {
	seeds := []as.Value{
		as.IntegerValue(5), as.IntegerValue(-1 << 40), as.StringValue("xyz"), as.FloatValue(1.5),
		as.BytesValue([]byte{1, 2}), as.NewGeoJSONValue(`{"type":"Point","coordinates":[0,0]}`),
		as.ValueArray{as.IntegerValue(1), as.StringValue("a"), as.ValueArray{as.NewNullValue()}},
		as.MapValue{"k": 1, "l": as.ValueArray{as.BoolValue(true)}},
		as.NewWildCardValue(), as.NewInfinityValue(),
	}
	for _, a := range seeds {
		for _, b := range seeds[:3] {
			f.Add(clientpack.Value(a), clientpack.Value(b))
		}
	}
	f.Add([]byte{0x92, 0x01, 0x81, 0xa1, 'a', 0x01}, []byte{0x92, 0x01, 0xd4, 0xff, 0x00})
	f.Add([]byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0x02}, []byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ab, _, okAB := Compare(a, b)
		ba, _, okBA := Compare(b, a)
		if okAB != okBA || okAB && ab != -ba {
			t.Fatalf("compare(a, b) = %d %v, compare(b, a) = %d %v", ab, okAB, ba, okBA)
		}
		n, whole := Skip(a)
		if aa, _, ok := Compare(a, a); ok != whole || ok && aa != 0 {
			t.Fatalf("compare(a, a) = %d %v, skip(a) = %d %v", aa, ok, n, whole)
		}
		if whole && (n < 1 || n > len(a)) {
			t.Fatalf("skip(a) = %d of %d bytes", n, len(a))
		}
	})
}
