package cdt

import (
	"fmt"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
)

// BenchmarkOps times common operations on a collection of n items: an
// append to a list, a read by index, a map increment (a frequency cap's
// counter) and a map read by key.
func BenchmarkOps(b *testing.B) {
	for _, n := range []int{10, 1000} {
		items := make([][]byte, n)
		kv := make([][]byte, 0, 2*n)
		for i := range n {
			items[i] = mi(int64(i))
			kv = append(kv, ms(fmt.Sprintf("k%d", i)), mi(int64(i)))
		}
		list, m := ml(items...), mm(kv...)
		for _, bc := range []struct {
			name   string
			typ    uint8
			bin    []byte
			modify bool
			arg    []byte
		}{
			{"list-append", proto.ParticleList, list, true, mop(listAppend, mi(7))},
			{"list-get-by-index", proto.ParticleList, list, false, mop(listGetByIndex, mrt(retValue), mi(int64(n/2)))},
			{"map-increment", proto.ParticleMap, m, true, mop(mapIncrement, ms("k1"), mi(1))},
			{"map-get-by-key", proto.ParticleMap, m, false, mop(mapGetByKey, mrt(retValue), ms("k1"))},
		} {
			b.Run(fmt.Sprintf("%s/n=%d", bc.name, n), func(b *testing.B) {
				var a bins.Arena
				b.ReportAllocs()
				for b.Loop() {
					a.Reset()
					if _, err := Apply(&a, bc.modify, bc.typ, bc.bin, bc.arg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
