package sindex

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// Reproduce with:
//
//	go test -run '^$' -bench . -benchtime 2s ./core/internal/sindex/
//
// The 10M-entry benchmarks build their index once (a few seconds, about
// 350 MB).

const bigEntries = 10_000_000

// bigIndex holds 10M entries: 100,000 keys × 100 digests, inserted in
// random order, digests spread over the partitions.
var bigIndex = sync.OnceValue(func() *Index {
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric})
	r := rand.New(rand.NewPCG(42, 42))
	for i := range bigEntries {
		k := Key(r.IntN(bigEntries / 100))
		x.Insert(benchDigest(r, i), k)
	}
	return x
})

func benchDigest(r *rand.Rand, i int) storage.Digest {
	d := digestN(uint16(r.IntN(storage.Partitions)), uint64(i))
	d[5] = byte(r.Uint32()) // like a hash: not ordered with i
	return d
}

func BenchmarkInsert(b *testing.B) {
	for _, order := range []string{"random", "ascending"} {
		b.Run(order, func(b *testing.B) {
			x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric})
			r := rand.New(rand.NewPCG(1, 1))
			keys := make([]Key, b.N)
			for i := range keys {
				if order == "random" {
					keys[i] = Key(r.Uint64())
				} else {
					keys[i] = Key(i)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				x.Insert(benchDigest(r, i), keys[i])
			}
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric})
	r := rand.New(rand.NewPCG(1, 1))
	const records = 1 << 20
	digests := make([]storage.Digest, records)
	vals := make([]Key, records)
	for i := range digests {
		digests[i] = benchDigest(r, i)
		vals[i] = Key(r.Uint64())
		x.Insert(digests[i], vals[i])
	}
	b.ResetTimer()
	for i := range b.N {
		j := i % records
		next := Key(r.Uint64())
		x.Update(digests[j], []Key{vals[j]}, []Key{next})
		vals[j] = next
	}
}

// BenchmarkEqual: an equality query returning 100 of 10M entries, over
// every partition and over a quarter of them.
func BenchmarkEqual(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 10M-entry index")
	}
	x := bigIndex()
	var quarter PartitionSet
	for p := range uint16(storage.Partitions / 4) {
		quarter.Add(p * 4)
	}
	for _, tc := range []struct {
		name  string
		parts *PartitionSet
	}{{"all-partitions", nil}, {"quarter-partitions", &quarter}} {
		b.Run(tc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, 7))
			found := 0
			fn := func(Key, storage.Digest) bool { found++; return true }
			b.ResetTimer()
			for range b.N {
				x.Equal(Key(r.IntN(bigEntries/100)), nil, tc.parts, fn)
			}
			b.ReportMetric(float64(found)/float64(b.N), "entries/op")
		})
	}
}

// BenchmarkRange: a numeric range query walking 100,000 of 10M entries.
func BenchmarkRange(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 10M-entry index")
	}
	x := bigIndex()
	r := rand.New(rand.NewPCG(8, 8))
	found := 0
	fn := func(Key, storage.Digest) bool { found++; return true }
	b.ResetTimer()
	for range b.N {
		lo := Key(r.IntN(bigEntries/100 - 1000))
		x.Range(lo, lo+999, nil, nil, fn)
	}
	b.ReportMetric(float64(found)/float64(b.N), "entries/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(found), "ns/entry")
}

// BenchmarkMemoryPerEntry measures the heap an index of 10M entries takes,
// with runtime.MemStats, and how long a full GC takes with it live (the
// leaves hold no pointers: the collector does not scan them).
func BenchmarkMemoryPerEntry(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 10M-entry index")
	}
	for _, order := range []string{"random", "ascending"} {
		b.Run(order, func(b *testing.B) {
			for range b.N {
				perEntry, gc := measureMemory(bigEntries, order == "random")
				b.ReportMetric(perEntry, "bytes/entry")
				b.ReportMetric(float64(gc.Microseconds())/1000, "gc-ms")
			}
		})
	}
}

func measureMemory(n int, random bool) (perEntry float64, gc time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric})
	r := rand.New(rand.NewPCG(3, 3))
	for i := range n {
		k := Key(i)
		if random {
			k = Key(r.Uint64())
		}
		x.Insert(benchDigest(r, i), k)
	}
	start := time.Now()
	runtime.GC()
	gc = time.Since(start)
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(x)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n), gc
}

func BenchmarkKeys(b *testing.B) {
	list := make([]any, 20)
	for i := range list {
		if i%2 == 0 {
			list[i] = i * 1000
		} else {
			list[i] = fmt.Sprint("value-", i)
		}
	}
	packed := clientPack(b, list)
	for _, typ := range []Type{Numeric, String} {
		b.Run(typ.String()+"-list-of-20", func(b *testing.B) {
			x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: typ, Collection: List})
			dst := make([]Key, 0, 32)
			b.SetBytes(int64(len(packed)))
			for range b.N {
				dst = x.Keys(dst[:0], proto.ParticleList, packed)
			}
		})
	}
	b.Run("geo-point", func(b *testing.B) {
		x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Geo2DSphere})
		v := geoBin(pointA)
		for range b.N {
			x.Keys(nil, proto.ParticleGeoJSON, v)
		}
	})
	b.Run("geo-polygon", func(b *testing.B) {
		x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Geo2DSphere})
		v := geoBin(clientRegion)
		for range b.N {
			x.Keys(nil, proto.ParticleGeoJSON, v)
		}
	})
	b.Run("geo-circle", func(b *testing.B) {
		x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Geo2DSphere})
		v := geoBin(clientCircle(-122, 37.5, 50000))
		for range b.N {
			x.Keys(nil, proto.ParticleGeoJSON, v)
		}
	})
}
