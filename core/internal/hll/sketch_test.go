package hll

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
)

// TestMurmur3 checks the hash against published MurmurHash3 x64-128
// vectors (seed 0), covering empty input, tails and whole blocks.
func TestMurmur3(t *testing.T) {
	for _, tc := range []struct {
		in     string
		h1, h2 uint64
	}{
		{"", 0, 0},
		{"a", 0x85555565f6597889, 0xe6b53a48510e895a},
		{"hello", 0xcbd8a7b341bd9b02, 0x5b1e906a48ae1d19},
		{"0123456789abcdef", 0x4be06d94cf4ad1a7, 0x87c35b5c63a708da},
		{"0123456789abcdefg", 0x8e32612daa45f9de, 0x0800f4c206c372ee},
		{"The quick brown fox jumps over the lazy dog", 0xe34bbc7bbc071b6c, 0x7a433ca9c49a9347},
	} {
		if h1, h2 := murmur3([]byte(tc.in)); h1 != tc.h1 || h2 != tc.h2 {
			t.Errorf("murmur3(%q) = %#x %#x, want %#x %#x", tc.in, h1, h2, tc.h1, tc.h2)
		}
	}
}

// TestCanonical checks the rewriting of values before hashing, as
// Aerospike's msgpack_compactify does it.
func TestCanonical(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, 40)
	for _, tc := range []struct{ in, want string }{
		{"05", "05"},
		{"cc05", "05"},
		{"cd0005", "05"},
		{"cd0100", "cd0100"},
		{"ce00010000", "ce00010000"},
		{"cf00000000ffffffff", "ceffffffff"},
		{"cfffffffffffffffff", "cfffffffffffffffff"},
		{"d005", "05"},
		{"d0e0", "e0"},
		{"d0df", "d0df"},
		{"d10100", "cd0100"},
		{"d1ff9c", "d09c"},
		{"d1ff38", "d1ff38"},
		{"d3fffffffffffffffb", "fb"},
		{"d3000000000000002a", "2a"},
		{"d30000000100000000", "cf0000000100000000"},
		{"cb3ff0000000000000", "cb3ff0000000000000"},
		{"c40203ff", "a203ff"},
		{"d90203ff", "a203ff"},
		{"da000203ff", "a203ff"},
		{"c5002803" + hex.EncodeToString(long[:39]), "d92803" + hex.EncodeToString(long[:39])},
		{"c42803" + hex.EncodeToString(long[:39]), "c42803" + hex.EncodeToString(long[:39])},
		{"a203ff", "a203ff"},
		{"c70401deadbeef", "d601deadbeef"},
		{"c70301aabbcc", "c70301aabbcc"},
		{"c8000101aa", "d401aa"},
		{"c9000000030199aabb", "c7030199aabb"},
		{"c0", "c0"},
		{"c3", "c3"},
	} {
		in, _ := hex.DecodeString(tc.in)
		var a bins.Arena
		if got := hex.EncodeToString(canonical(&a, in)); got != tc.want {
			t.Errorf("canonical(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestRegisters checks register reads and writes against a bit-by-bit
// model, for every width, at both ends and at random.
func TestRegisters(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, index := range []int{4, 5, 9, 16} {
		for minhash := 0; minhash <= maxMinhashBits; minhash++ {
			if minhash > 0 && minhash < minMinhashBits {
				continue
			}
			var a bins.Arena
			s := newSketch(&a, index, minhash)
			width := rankBits + minhash
			model := make([]uint64, s.registers())
			for range 300 {
				r := rng.IntN(len(model))
				if rng.IntN(4) == 0 {
					r = len(model) - 1 - rng.IntN(2)
				}
				v := rng.Uint64() // wider than the register: cut to it
				s.setRegister(r, v)
				model[r] = v & (1<<width - 1)
			}
			for r, want := range model {
				if got := s.register(r); got != want {
					t.Fatalf("index %d minhash %d: register %d = %#x, want %#x", index, minhash, r, got, want)
				}
				for b := range width {
					bit := r*width + b
					got := s[headerSize+bit/8] >> (7 - bit%8) & 1
					if uint64(got) != want>>(width-1-b)&1 {
						t.Fatalf("index %d minhash %d: register %d bit %d misplaced", index, minhash, r, b)
					}
				}
			}
			if Check(s) != nil != (index+minhash > maxCombinedBits) {
				t.Fatalf("index %d minhash %d: Check %v", index, minhash, Check(s))
			}
		}
	}
}

// TestLayout pins the bytes of a small sketch: header, little-endian
// cache, and where a value's rank lands.
func TestLayout(t *testing.T) {
	st, outs := run(t, noBin, opAdd(0, []as.Value{as.StringValue("hello")}, 4, 0), opRefreshCount())
	s := sketch(st.val)
	if len(s) != headerSize+12 || s[0] != 0 || s[1] != 4 || s[2] != 0 {
		t.Fatalf("header % x, length %d", s[:3], len(s))
	}
	// The client packs "hello" as a6 03 'h' 'e' 'l' 'l' 'o': a str of 6
	// bytes led by the string particle type. Those bytes are hashed.
	h0, h1 := murmur3(append([]byte{0xa6, 0x03}, "hello"...))
	r := int(h0 & 15)
	rank := uint64(0)
	for h1&(1<<rank) == 0 {
		rank++
	}
	if got := s.register(r); got != rank+1 {
		t.Errorf("register %d = %d, want rank %d", r, got, rank+1)
	}
	if s.cache() != uint64(resultInt(t, outs[1])) || s[3] != byte(resultInt(t, outs[1])) {
		t.Errorf("cache bytes % x, count %d", s[3:11], resultInt(t, outs[1]))
	}
}

// TestAllocs pins the operations on an existing bin to no allocations
// once the arena has room.
func TestAllocs(t *testing.T) {
	st, _ := run(t, noBin, opAdd(0, entries, 12, 8))
	other, _ := run(t, noBin, opAdd(0, strings("other ", 0, 100), 12, 8))
	plain, _ := run(t, noBin, opAdd(0, entries, 12, 0))
	plainOther, _ := run(t, noBin, opAdd(0, entries[:50], 10, 0))
	ops := map[string]wireOp{
		"intersect3": opIntersect(plainOther.val, plainOther.val),
		"add":        opAdd(0, strings("x", 0, 20), -1, -1),
		"count":      opCount(),
		"union":      opUnion(other.val),
		"intersect":  opIntersect(other.val, other.val, other.val),
		"similar":    opSimilarity(other.val),
		"set_union":  opSetUnion(0, other.val),
	}
	var a bins.Arena
	for name, op := range ops {
		a.Alloc(1 << 20) // warm: one chunk big enough for every run
		a.Reset()
		bin := st
		if name == "intersect3" {
			bin = plain
		}
		n := testing.AllocsPerRun(20, func() {
			a.Reset()
			if _, err := Apply(&a, op.modify, bin.typ, bin.val, op.arg); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}
