package cdt

import (
	"fmt"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
)

// BenchmarkOps times common operations on a collection of n items: an
// append to a list, a read by index, a read of the last 5 items, a
// removal of the first (an event list's oldest), a map increment (a
// frequency cap's counter), a map put of an existing key, a map read by
// key and a map removal by key; each
// through the fast path (path=fast) and the general one (path=general),
// side by side.
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
			{"list-get-last-5", proto.ParticleList, list, false, mop(listGetByIndexRange, mrt(retValue), mi(-5))},
			{"list-remove-first", proto.ParticleList, list, true, mop(listRemoveByIndexRange, mrt(retNone), mi(0), mi(1))},
			{"list-pop-first", proto.ParticleList, list, true, mop(listPop, mi(0))},
			{"list-insert-first", proto.ParticleList, list, true, mop(listInsert, mi(0), mi(7))},
			{"list-remove-by-value", proto.ParticleList, list, true, mop(listRemoveByValue, mrt(retCount), mi(int64(n/2)))},
			{"map-increment", proto.ParticleMap, m, true, mop(mapIncrement, ms(fmt.Sprintf("k%d", n/2)), mi(1))},
			{"map-put", proto.ParticleMap, m, true, mop(mapPut, ms(fmt.Sprintf("k%d", n/2)), ms("v"))},
			// HSETNX of a new key, and of one there (no-fail: nothing changes).
			{"map-put-create-only", proto.ParticleMap, m, true, mop(mapPut, ms("new"), ms("v"), mi(0), mi(mapCreateOnly))},
			{"map-put-create-only-there", proto.ParticleMap, m, true, mop(mapPut, ms(fmt.Sprintf("k%d", n/2)), ms("v"), mi(0), mi(mapCreateOnly|mapNoFail))},
			{"map-get-by-key", proto.ParticleMap, m, false, mop(mapGetByKey, mrt(retValue), ms(fmt.Sprintf("k%d", n/2)))},
			{"map-size", proto.ParticleMap, m, false, mop(mapSize)},
			{"map-remove-by-key", proto.ParticleMap, m, true, mop(mapRemoveByKey, mrt(retNone), ms(fmt.Sprintf("k%d", n/2)))},
		} {
			for _, fast := range []bool{true, false} {
				path := map[bool]string{true: "fast", false: "general"}[fast]
				b.Run(fmt.Sprintf("%s/n=%d/path=%s", bc.name, n, path), func(b *testing.B) {
					fastPaths = fast
					defer func() { fastPaths = true }()
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
}
