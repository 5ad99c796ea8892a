package cdt

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// applyBoth runs an operation with the fast paths and without them, and
// fails unless both give the same outcome or the same error.
func applyBoth(t *testing.T, modify bool, binType uint8, bin, arg []byte) {
	t.Helper()
	var fa, ga bins.Arena
	fast, ferr := Apply(&fa, modify, binType, bin, arg)
	fastPaths = false
	general, gerr := Apply(&ga, modify, binType, bin, arg)
	fastPaths = true
	if Code(ferr) != Code(gerr) || (ferr == nil) != (gerr == nil) {
		t.Fatalf("bin %s, op % x: fast path error %v, general %v", render(bin), arg, ferr, gerr)
	}
	if ferr != nil {
		return
	}
	same := fast.Changed == general.Changed && fast.Type == general.Type && bytes.Equal(fast.Value, general.Value) &&
		fast.HasResult == general.HasResult && fast.ResType == general.ResType && bytes.Equal(fast.Res, general.Res)
	if !same {
		t.Fatalf("bin %s, op % x:\nfast    %+v\ngeneral %+v", render(bin), arg, fast, general)
	}
}

// TestFastPathsAgree runs the operations the fast paths take, with args
// that suit them and args that do not, on collections of every shape, and
// checks each gives what the general path gives.
func TestFastPathsAgree(t *testing.T) {
	flagsFirst := []byte{0x93, 0xd4, 0, 0, 0x01, 0x02} // unordered, its flags written as fixext 1
	wide := []byte{0xdc, 0, 3, 1, 2, 3}                // a list header wider than needed
	lists := [][]byte{oneToTen, mixed, rel, emptyList, emptyOrderedList, flagsFirst, wide,
		ml(mNil, ms("s"), mf(1), ints(2)), ml(mm(mi(1), mi(2)), ml(mi(3))),
		ml(mi(1), []byte{0xd4, 0x31, 0}, mi(2)), ol(mi(1), mi(2), []byte{0xd4, 0x31, 0})}
	maps := [][]byte{mapPeople, mapNumbers, emptyMap, emptyKeyOrderedMap, om(ms("a"), mi(1), ms("c"), mf(2.5)),
		[]byte{0x82, 0xc7, 0, 3, 0xc0, 0x01, 0x05}, mm(ms("s"), ms("x"), mi(2), ml()),
		mm(mi(1), mi(2), []byte{0xd4, 0x31, 0}, mi(3))}
	elems := [][]byte{mNil, mAny, mi(0), mi(1), mi(-1), mi(3), mi(11), mi(-11), ms("a"), ms("b"), ms("John"), ms("Harry"),
		ms("c"), mi(4), mi(5), mi(9), mf(0.5), ml(), mm(mi(1), mi(2)), {0xd9, 9}}
	listCodes := []int{listAppend, listInsert, listSet, listGet, listGetByIndex, listSize, listPop, listRemove, listRemoveByIndex,
		listGetByValue, listRemoveByValue,
		listGetRange, listGetByIndexRange, listTrim, listRemoveRange, listRemoveByIndexRange}
	mapCodes := []int{mapSize, mapGetByKey, mapRemoveByKey, mapPut, mapIncrement, mapDecrement}
	rng := rand.New(rand.NewPCG(5, 6))
	taken := map[int]int{}
	for range 100000 {
		isMap := rng.IntN(2) == 0
		codes, pool, typ := listCodes, lists, uint8(proto.ParticleList)
		if isMap {
			codes, pool, typ = mapCodes, maps, proto.ParticleMap
		}
		if rng.IntN(10) == 0 {
			// The other kind of collection.
			pool = append(lists[:len(lists):len(lists)], maps...)
		}
		args := make([][]byte, rng.IntN(5))
		for i := range args {
			args[i] = elems[rng.IntN(len(elems))]
		}
		// Return types and flags that fit, often.
		if len(args) > 0 && rng.IntN(2) == 0 {
			args[0] = mrt(retValue)
		}
		if len(args) > 2 && rng.IntN(2) == 0 {
			args[len(args)-1] = mi(0)
		}
		bin := pool[rng.IntN(len(pool))]
		binType := typ
		if isMap != (bin[0]&0xf0 == 0x80 || bin[0] == 0xde) {
			binType = proto.ParticleList + proto.ParticleMap - typ
		}
		modify, code := rng.IntN(4) != 0, codes[rng.IntN(len(codes))]
		// Reads and removals by index as the clients send them, often.
		if i := mi(int64(rng.IntN(24) - 12)); rng.IntN(2) == 0 {
			switch code {
			case listGet, listPop, listRemove:
				args = [][]byte{i}
			case listGetByValue, listRemoveByValue:
				args = [][]byte{mrt([]int{retNone, retCount, retValue, retValue, retIndex}[rng.IntN(5)] | rng.IntN(6)/5*retInverted), elems[rng.IntN(len(elems))]}
			case listInsert, listSet:
				args = [][]byte{i, elems[rng.IntN(len(elems))], mi(0)}[:2+rng.IntN(2)]
			case listGetByIndex, listRemoveByIndex:
				args = [][]byte{mrt([]int{retNone, retCount, retValue, retValue, retIndex}[rng.IntN(5)] | rng.IntN(6)/5*retInverted), i}
			case listGetRange, listTrim, listRemoveRange:
				args = [][]byte{i, mi(int64(rng.IntN(8) - 1))}[:1+rng.IntN(2)]
			case mapGetByKey, mapRemoveByKey:
				args = [][]byte{mrt([]int{retNone, retCount, retValue, retKey, retExists, retKeyValue}[rng.IntN(6)]), elems[rng.IntN(len(elems))]}
			case mapPut:
				// Write flags as the clients send them (HSETNX is
				// create-only), and now and then one that is not a flag.
				flags := int64(rng.IntN(17))
				args = [][]byte{elems[rng.IntN(len(elems))], elems[rng.IntN(len(elems))], mi(0), mi(flags)}[:2+rng.IntN(3)]
			case listGetByIndexRange, listRemoveByIndexRange:
				rt := []int{retNone, retCount, retValue, retIndex}[rng.IntN(4)] | rng.IntN(2)*retInverted
				args = [][]byte{mrt(rt), i, mi(int64(rng.IntN(8) - 1))}[:2+rng.IntN(2)]
			}
		}
		arg := mop(code, args...)
		applyBoth(t, modify, binType, bin, arg)
		if o, err := parseOp(arg); err == nil {
			var a bins.Arena
			o.modify, o.a = modify, &a
			if _, ok := fastApply(&o, bin); ok {
				taken[code]++
			}
		}
	}
	// Each fast path ran often enough to have been compared.
	for _, code := range append(listCodes, mapCodes...) {
		if taken[code] < 200 {
			t.Errorf("code %d took its fast path %d times", code, taken[code])
		}
	}
}

// TestFastPathsThroughContext checks the fast paths at the end of a
// context.
func TestFastPathsThroughContext(t *testing.T) {
	bin := clientPack(map[any]any{"events": []any{1, 2, 3}, "caps": map[any]any{"a": 1, "b": 2}})
	for _, arg := range [][]byte{
		ml(mi(ctxMarker), ml(mi(ctxMapKey), ms("events")), lop(listAppend, mi(4))),
		ml(mi(ctxMarker), ml(mi(ctxMapKey), ms("events")), lop(listGetByIndex, mrt(retValue), mi(-1))),
		ml(mi(ctxMarker), ml(mi(ctxMapKey), ms("caps")), mop(mapIncrement, ms("b"), mi(5))),
		ml(mi(ctxMarker), ml(mi(ctxMapKey), ms("caps")), mop(mapPut, ms("z"), mi(0))),
		ml(mi(ctxMarker), ml(mi(ctxMapKey), ms("caps")), mop(mapGetByKey, mrt(retValue), ms("a"))),
	} {
		applyBoth(t, true, proto.ParticleMap, bin, arg)
	}
}

// TestFastPathAllocs checks a map increment and an append allocate only
// what they write.
func TestFastPathAllocs(t *testing.T) {
	kv := make([][]byte, 0, 200)
	for i := range 100 {
		kv = append(kv, ms(fmt.Sprintf("k%d", i)), mi(int64(i)))
	}
	m := mm(kv...)
	var a bins.Arena
	for _, c := range []struct {
		name string
		typ  uint8
		bin  []byte
		arg  []byte
	}{
		{"map increment", proto.ParticleMap, m, mop(mapIncrement, ms("k50"), mi(1))},
		{"map get", proto.ParticleMap, m, mop(mapGetByKey, mrt(retValue), ms("k50"))},
		{"list append", proto.ParticleList, oneToTen, mop(listAppend, mi(11))},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			a.Reset()
			if _, err := Apply(&a, true, c.typ, c.bin, c.arg); err != nil {
				t.Fatal(err)
			}
		})
		// The result's integer, and the op's own decoding.
		if allocs > 2 {
			t.Errorf("%s: %v allocations, want at most 2", c.name, allocs)
		}
	}
}

// TestFlatten checks the view the fast paths take of a collection.
func TestFlatten(t *testing.T) {
	f, ok := flatten(ol(mi(1), mi(2)), false)
	if !ok || f.n != 2 || f.count != 3 || f.flags != listOrdered {
		t.Errorf("ordered list: %+v, %v", f, ok)
	}
	f, ok = flatten(om(ms("a"), mi(1)), true)
	if !ok || f.n != 1 || f.count != 2 || f.flags != mapKeyOrdered {
		t.Errorf("key-ordered map: %+v, %v", f, ok)
	}
	if _, ok := flatten(mm(mi(1), mi(2)), false); ok {
		t.Error("a map taken for a list")
	}
	if _, ok := flatten(msgpack.AppendInt(nil, 1), true); ok {
		t.Error("an integer taken for a map")
	}
	// Damaged collections, whose items are short or run on, go to the
	// general path, which refuses them.
	var a bins.Arena
	for _, c := range []struct {
		bin []byte
		arg []byte
	}{
		{[]byte{0x92, 0x01}, mop(listSize)},
		{[]byte{0x93, 0x01, 0x02}, mop(listGetByIndex, mrt(retValue), mi(0))},
		{[]byte{0x92, 0x01, 0x02, 0x03}, mop(listGet, mi(1))},
		{[]byte{0x92, 0x01, 0xd9}, mop(listAppend, mi(1))},
		{[]byte{0x82, 0x01, 0x02, 0x03}, mop(mapGetByKey, mrt(retValue), mi(1))},
		{[]byte{0x82, 0x01, 0x02, 0x03, 0x04, 0x05}, mop(mapPut, mi(3), mi(9))},
		{[]byte{0x81, 0x01}, mop(mapIncrement, mi(1))},
	} {
		o, err := parseOp(c.arg)
		if err != nil {
			t.Fatal(err)
		}
		o.modify, o.a = true, &a
		if _, ok := fastApply(&o, c.bin); ok {
			t.Errorf("op % x took its fast path on the damaged % x", c.arg, c.bin)
		}
	}
}

func FuzzFastPaths(f *testing.F) {
	f.Add(true, false, oneToTen, mop(listAppend, mi(11)))
	f.Add(false, false, mixed, mop(listGetByIndex, mrt(retValue), mi(-2)))
	f.Add(true, false, mixed, mop(listPop, mi(1)))
	f.Add(true, false, oneToTen, mop(listInsert, mi(0), ms("a")))
	f.Add(true, false, oneToTen, mop(listSet, mi(-1), mi(7)))
	f.Add(false, true, mapPeople, mop(mapSize))
	f.Add(true, false, mixed, mop(listRemoveByValue, mrt(retCount), ms("a")))
	f.Add(true, false, oneToTen, mop(listRemoveByIndex, mrt(retValue), mi(-1)))
	f.Add(true, true, mapPeople, mop(mapIncrement, ms("Jim"), mi(2)))
	f.Add(true, true, om(ms("a"), mi(1), ms("c"), mi(2)), mop(mapPut, ms("b"), ms("x")))
	f.Fuzz(func(t *testing.T, modify, isMap bool, bin, arg []byte) {
		typ := uint8(proto.ParticleList)
		if isMap {
			typ = proto.ParticleMap
		}
		applyBoth(t, modify, typ, bin, arg)
	})
}
