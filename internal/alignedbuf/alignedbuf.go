// Package alignedbuf pools page-aligned buffers for direct I/O, whose
// reads need their buffer's address, like their offset and length, to be a
// multiple of the page size.
package alignedbuf

import (
	"math/bits"
	"sync"
	"unsafe"
)

// PageSize is the alignment of every buffer.
const PageSize = 4096

// pools holds buffers by power-of-two size, from 4 KiB up. They are Go heap
// memory: a dropped one is collected.
var pools [16]sync.Pool

func class(n int) int {
	if n <= PageSize {
		return 0
	}
	return bits.Len(uint(n-1)) - 12
}

// Get returns an aligned buffer of at least n bytes; Put gives it back.
func Get(n int) *[]byte {
	c := class(n)
	if c < len(pools) {
		if p, ok := pools[c].Get().(*[]byte); ok {
			return p
		}
	}
	size := PageSize << c
	b := make([]byte, size+PageSize)
	skip := (PageSize - int(uintptr(unsafe.Pointer(&b[0]))%PageSize)) % PageSize
	b = b[skip : skip+size : skip+size]
	return &b
}

// Put returns a buffer from Get for reuse.
func Put(p *[]byte) {
	if c := class(len(*p)); c < len(pools) {
		pools[c].Put(p)
	}
}
