package hll

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/skiffdb/skiff/core/internal/bins"
)

// Limits and layout of an HLL value (see the package documentation).
const (
	headerSize      = 11
	rankBits        = 6
	minIndexBits    = 4
	maxIndexBits    = 16
	minMinhashBits  = 4
	maxMinhashBits  = 64 - rankBits - 7
	maxCombinedBits = 64
)

// sketch is an HLL value: header, then registers. Its bytes are never
// written unless the sketch was made for the operation (fresh or clone).
type sketch []byte

func validIndexBits(n int64) bool { return n >= minIndexBits && n <= maxIndexBits }

func validMinhashBits(n int64) bool {
	return n == 0 || n >= minMinhashBits && n <= maxMinhashBits
}

func validBits(index, minhash int) bool {
	return validIndexBits(int64(index)) && validMinhashBits(int64(minhash)) &&
		index+minhash <= maxCombinedBits
}

// sketchSize returns the length of an HLL value with the given bit counts.
func sketchSize(index, minhash int) int {
	return headerSize + ((rankBits+minhash)<<index+7)/8
}

// Check reports whether b is a well-formed HLL value, as Aerospike checks
// one written to a bin: a parameter error if not. (Apply reports such a
// bin as a server error, the bin being damaged rather than the request.)
func Check(b []byte) error {
	if !wellFormed(b, true) {
		return errParam
	}
	return nil
}

// wellFormed reports whether b is an HLL value: no flags, bit counts in
// range (and together at most 64 if combined, which Aerospike does not
// ask of HLL arguments), and the length they give.
func wellFormed(b []byte, combined bool) bool {
	if len(b) < headerSize || b[0] != 0 {
		return false
	}
	index, minhash := int(b[1]), int(b[2])
	return validIndexBits(int64(index)) && validMinhashBits(int64(minhash)) &&
		(!combined || index+minhash <= maxCombinedBits) &&
		len(b) == sketchSize(index, minhash)
}

// fresh returns an empty sketch made in buf, which must hold it.
func fresh(buf []byte, index, minhash int) sketch {
	s := sketch(buf[:sketchSize(index, minhash)])
	clear(s)
	s[1], s[2] = byte(index), byte(minhash)
	return s
}

// newSketch returns an empty sketch in the arena.
func newSketch(a *bins.Arena, index, minhash int) sketch {
	return fresh(a.Alloc(sketchSize(index, minhash)), index, minhash)
}

// clone returns a copy of s in the arena.
func clone(a *bins.Arena, s sketch) sketch {
	c := a.Alloc(len(s))
	copy(c, s)
	return c
}

func (s sketch) indexBits() int   { return int(s[1]) }
func (s sketch) minhashBits() int { return int(s[2]) }
func (s sketch) registers() int   { return 1 << s[1] }

func (s sketch) cache() uint64     { return binary.LittleEndian.Uint64(s[3:headerSize]) }
func (s sketch) setCache(n uint64) { binary.LittleEndian.PutUint64(s[3:headerSize], n) }

// register returns register r. A register is at most 57 bits, so with its
// offset in its first byte it fits the 64-bit window read from there.
func (s sketch) register(r int) uint64 {
	n := rankBits + s.minhashBits()
	bit := r * n
	return s.window(bit/8) << (bit % 8) >> (64 - n)
}

// setRegister sets register r to v, cut to the register's width.
func (s sketch) setRegister(r int, v uint64) {
	n := rankBits + s.minhashBits()
	bit := r * n
	shift := 64 - n - bit%8
	mask := (uint64(1)<<n - 1) << shift
	s.putWindow(bit/8, s.window(bit/8)&^mask|v<<shift&mask)
}

// window reads the 8 register bytes from byte i, big-endian; bytes past
// the end read as zeros.
func (s sketch) window(i int) uint64 {
	regs := s[headerSize:]
	if i+8 <= len(regs) {
		return binary.BigEndian.Uint64(regs[i:])
	}
	var w uint64
	for j := i; j < i+8; j++ {
		w <<= 8
		if j < len(regs) {
			w |= uint64(regs[j])
		}
	}
	return w
}

// putWindow writes w as window reads it, dropping bytes past the end
// (which hold no register bits).
func (s sketch) putWindow(i int, w uint64) {
	regs := s[headerSize:]
	if i+8 <= len(regs) {
		binary.BigEndian.PutUint64(regs[i:], w)
		return
	}
	for j := i + 7; j >= i; j-- {
		if j < len(regs) {
			regs[j] = byte(w)
		}
		w >>= 8
	}
}

// hash returns the register a value's canonical encoding goes to and the
// register value it brings. The rank may reach 65 (for a zero hash
// half), which setRegister cuts to the register's width as Aerospike does.
func (s sketch) hash(elem []byte) (int, uint64) {
	h0, h1 := murmur3(elem)
	index, minhash := uint(s.indexBits()), uint(s.minhashBits())
	rank := uint64(bits.TrailingZeros64(h1)) + 1
	return int(h0 & (1<<index - 1)), rank<<minhash | h0>>index&(1<<minhash-1)
}

// add adds a value and reports whether it raised its register.
func (s sketch) add(elem []byte) bool {
	r, v := s.hash(elem)
	if s.register(r) >= v {
		return false
	}
	s.setRegister(r, v)
	s.setCache(0)
	return true
}

// mayContain reports whether adding the value would leave s as it is.
func (s sketch) mayContain(elem []byte) bool {
	r, v := s.hash(elem)
	return v <= s.register(r)
}

// estimate returns the estimated count of s: its cache, or Ertl's
// improved estimate from the histogram of ranks.
func (s sketch) estimate() uint64 {
	if c := s.cache(); c != 0 {
		return c
	}
	m := s.registers()
	var hist [1 << rankBits]int
	for r := range m {
		hist[s.register(r)>>s.minhashBits()]++
	}
	// Ertl starts from a term for the count of ranks past the largest a
	// register holds (64, as Aerospike sizes it), which a 6-bit register
	// never reaches: that term is 0.
	z := 0.0
	for k := len(hist) - 1; k > 0; k-- {
		z = 0.5 * (z + float64(hist[k]))
	}
	z += float64(m) * sigma(float64(hist[0])/float64(m))
	return uint64(math.Round(alpha(s.indexBits()) * float64(m) * float64(m) / z))
}

// sigma is Ertl's sigma function; it is infinite (the estimate 0) when
// every register is empty.
func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

// alpha is HyperLogLog's bias correction for 2^index registers.
func alpha(index int) float64 {
	switch index {
	case 4:
		return 0.673
	case 5:
		return 0.697
	case 6:
		return 0.709
	}
	return 0.7213 / (1 + 1.079/float64(int(1)<<index))
}

// merge takes into s, an empty or merged sketch with no more index bits
// than t, the larger of each register and t's registers folded onto it.
// Without minhash bits in s only ranks are compared; with them, s and t
// have the same and whole register values are.
func (s sketch) merge(t sketch) {
	mask := s.registers() - 1
	shift := 0
	if s.minhashBits() == 0 {
		shift = t.minhashBits()
	}
	for r := range t.registers() {
		v := t.register(r) >> shift
		if s.register(r&mask) < v {
			s.setRegister(r&mask, v)
		}
	}
}

// intersect keeps the registers of s that t (with as many or more index
// bits, folded onto s) holds the same value in, and empties the others.
func (s sketch) intersect(t sketch) {
	mask := s.registers() - 1
	for r := range t.registers() {
		v := s.register(r & mask)
		if v != t.register(r) {
			v = 0
		}
		s.setRegister(r&mask, v)
	}
}

// used returns the number of non-empty registers.
func (s sketch) used() int {
	n := 0
	for r := range s.registers() {
		if s.register(r) != 0 {
			n++
		}
	}
	return n
}

// hasData reports whether s holds values as Aerospike's similarity
// decides it: by the first 2^index bytes of the registers alone, which
// can miss values in the last registers of a sketch with minhash bits.
func (s sketch) hasData() bool {
	regs := s[headerSize:]
	for _, b := range regs[:min(len(regs), s.registers())] {
		if b != 0 {
			return true
		}
	}
	return false
}
