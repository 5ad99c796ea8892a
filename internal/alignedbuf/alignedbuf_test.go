package alignedbuf

import (
	"testing"
	"unsafe"
)

func TestAligned(t *testing.T) {
	for _, n := range []int{1, PageSize, PageSize + 1, 100 << 10, 1 << 20} {
		for range 3 {
			p := Get(n)
			if len(*p) < n || uintptr(unsafe.Pointer(&(*p)[0]))%PageSize != 0 || len(*p)%PageSize != 0 {
				t.Fatalf("Get(%d): %d bytes at %p", n, len(*p), &(*p)[0])
			}
			Put(p)
		}
	}
}
