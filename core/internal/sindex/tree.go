package sindex

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
)

// tree is a B+tree of (key, digest) entries ordered by key, then digest
// bytes. It is not safe for concurrent use: Index guards it.
//
// # Layout
//
// Leaves hold the entries in two parallel arrays (keys, digests): 28 bytes
// an entry, no padding, no pointer, so the garbage collector never scans
// them. A leaf is 2024 bytes, in the 2048-byte size class (1% rounding
// waste). 4096-byte leaves were tried and dropped: they save one byte an
// entry but cost about 25% more per insert (moving half a leaf to open a
// slot); 1024-byte ones cost another byte an entry for no clear gain.
// Inner nodes hold separators and child pointers; there is one per ~50
// leaves, half a byte an entry.
//
// google/btree v1.1.3 was considered: its BTreeG keeps items by value
// too, but an item is a 32-byte struct (28 bytes padded to 8), nodes split
// in half and keep the capacity of their item slices. Measured the same way
// (2M entries, runtime.MemStats, degrees 16 to 64): 47-51 bytes an entry
// for random inserts and 66-74 for ascending ones, against 36 and 29 here.
//
// Memory per entry is therefore 28 bytes divided by the leaves' fill
// factor. Three policies keep the fill high:
//
//   - a full leaf first shifts entries into a neighbour (same parent) that
//     has room, and splits only when both are nearly full (B*-tree style):
//     random inserts settle around 80% full;
//   - a leaf that overflows at its end (ascending keys: timestamps, counters)
//     splits off just the new entry, leaving the old leaf full, and one that
//     overflows at its start (descending keys) keeps just the new entry;
//     inner nodes do the same, so monotone inserts build full nodes;
//   - a leaf under a quarter full after a delete merges with a neighbour (or
//     takes entries from it), so deletes give memory back.
//
// Leaves have no sibling pointers: an iterator keeps the path from the root
// (see iter), which is valid only while the tree is not modified. Index
// walks in batches and seeks again after each batch.
//
// Invariants (checked by check, which the tests call):
//   - every leaf is at depth height; entries are strictly increasing across
//     the leaves in order;
//   - in an inner node, for 1 ≤ i < n, sep(i) ≤ every entry under child i and
//     sep(i) > every entry under child i-1 (slot 0's separator is unused);
//   - only the root may have fewer than two children; an empty tree is a root
//     at height 1 with no children.
type tree struct {
	root   *inner
	height int // inner levels; the root's children are leaves when 1
	count  int // entries
	leaves int // leaf nodes, for memory accounting
	inners int // inner nodes
}

const (
	// leafCap fills the 2048-byte size class: 8 + 72×(8+20) = 2024.
	leafCap  = (2048 - 8) / (8 + digestSize)
	innerCap = 64
	// maxHeight bounds an iterator's path. With at least two children per
	// inner node (one transiently after an appending split) 2^24 leaves
	// would need height 24; the tree stays far lower in practice.
	maxHeight = 32
)

// digestSize is the size of storage.Digest, as an untyped constant.
const digestSize = 20

var _ storage.Digest = [digestSize]byte{} // fails to compile if it changes

type leaf struct {
	n    int32
	keys [leafCap]Key
	digs [leafCap]storage.Digest
}

type inner struct {
	n      int
	keys   [innerCap]Key
	digs   [innerCap]storage.Digest
	leaves [innerCap]*leaf  // children, at height 1
	kids   [innerCap]*inner // children, above
}

// Heap bytes of a node: its size rounded up to its allocation size class
// (TestNodeAllocSizes checks them against runtime.MemStats).
const (
	leafAlloc  = 2048 // leaf is 2024 bytes
	innerAlloc = 3072 // inner is 2824 bytes
)

var _ = [1]struct{}{}[unsafe.Sizeof(leaf{})/leafAlloc]   // a leaf fits its class
var _ = [1]struct{}{}[unsafe.Sizeof(inner{})/innerAlloc] // so does an inner node

func newTree() tree { return tree{root: &inner{}, height: 1, inners: 1} }

// cmpDigest compares digests as byte strings.
func cmpDigest(a, b *storage.Digest) int {
	x, y := binary.BigEndian.Uint64(a[0:8]), binary.BigEndian.Uint64(b[0:8])
	if x == y {
		x, y = binary.BigEndian.Uint64(a[8:16]), binary.BigEndian.Uint64(b[8:16])
		if x == y {
			x, y = uint64(binary.BigEndian.Uint32(a[16:20])), uint64(binary.BigEndian.Uint32(b[16:20]))
		}
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cmpEntry orders entries by key, then digest.
func cmpEntry(k1 Key, d1 *storage.Digest, k2 Key, d2 *storage.Digest) int {
	switch {
	case k1 < k2:
		return -1
	case k1 > k2:
		return 1
	}
	return cmpDigest(d1, d2)
}

// search returns the position of the first entry ≥ (k, d) and whether it
// is (k, d).
func (l *leaf) search(k Key, d *storage.Digest) (int, bool) {
	n := int(l.n)
	i := lowerBound(l.keys[:n], k)
	if i == n || l.keys[i] != k {
		return i, false
	}
	// A run of entries with key k: search it by digest.
	hi := i + upperBound(l.keys[i:n], k)
	j := i + digestBound(l.digs[i:hi], d)
	return j, j < hi && l.digs[j] == *d
}

// lowerBound returns the first i with s[i] ≥ k, or len(s). The loop has no
// data-dependent branch (the compiler turns the if into a conditional
// move), which matters more than the comparisons saved by exiting early:
// keys are random, so a branch would be mispredicted half the time.
func lowerBound(s []Key, k Key) int {
	base, n := 0, len(s)
	if n == 0 {
		return 0
	}
	for n > 1 {
		half := n / 2
		if s[base+half] < k {
			base += half
		}
		n -= half
	}
	if s[base] < k {
		base++
	}
	return base
}

// upperBound returns the first i with s[i] > k, or len(s).
func upperBound(s []Key, k Key) int {
	base, n := 0, len(s)
	if n == 0 {
		return 0
	}
	for n > 1 {
		half := n / 2
		if s[base+half] <= k {
			base += half
		}
		n -= half
	}
	if s[base] <= k {
		base++
	}
	return base
}

// digestBound returns the first i with s[i] ≥ d, or len(s).
func digestBound(s []storage.Digest, d *storage.Digest) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cmpDigest(&s[m], d) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (l *leaf) insertAt(i int, k Key, d *storage.Digest) {
	n := int(l.n)
	copy(l.keys[i+1:n+1], l.keys[i:n])
	copy(l.digs[i+1:n+1], l.digs[i:n])
	l.keys[i], l.digs[i] = k, *d
	l.n++
}

func (l *leaf) removeAt(i int) {
	n := int(l.n)
	copy(l.keys[i:n-1], l.keys[i+1:n])
	copy(l.digs[i:n-1], l.digs[i+1:n])
	l.n--
}

// moveLeaf moves the m entries of src from position si to dst at position
// di, opening a gap in dst and closing the one in src.
func moveLeaf(dst *leaf, di int, src *leaf, si, m int) {
	dn, sn := int(dst.n), int(src.n)
	copy(dst.keys[di+m:dn+m], dst.keys[di:dn])
	copy(dst.digs[di+m:dn+m], dst.digs[di:dn])
	copy(dst.keys[di:di+m], src.keys[si:si+m])
	copy(dst.digs[di:di+m], src.digs[si:si+m])
	copy(src.keys[si:sn-m], src.keys[si+m:sn])
	copy(src.digs[si:sn-m], src.digs[si+m:sn])
	dst.n += int32(m)
	src.n -= int32(m)
}

// child returns the index of the child whose range holds (k, d): the last
// i ≥ 1 with sep(i) ≤ (k, d), or 0; that is, the number of separators
// ≤ (k, d).
func (n *inner) child(k Key, d *storage.Digest) int {
	if n.n <= 1 {
		return 0
	}
	keys := n.keys[1:n.n]
	u := upperBound(keys, k)
	if u > 0 && keys[u-1] == k {
		// Separators with key k end at u-1: count those ≤ d.
		lo := lowerBound(keys[:u], k)
		u = lo + digestUpper(n.digs[1+lo:1+u], d)
	}
	return u
}

// digestUpper returns the first i with s[i] > d, or len(s).
func digestUpper(s []storage.Digest, d *storage.Digest) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cmpDigest(&s[m], d) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// insertChild puts a child with separator (k, d) at position i.
func (n *inner) insertChild(i int, k Key, d *storage.Digest, l *leaf, c *inner) {
	copy(n.keys[i+1:n.n+1], n.keys[i:n.n])
	copy(n.digs[i+1:n.n+1], n.digs[i:n.n])
	copy(n.leaves[i+1:n.n+1], n.leaves[i:n.n])
	copy(n.kids[i+1:n.n+1], n.kids[i:n.n])
	n.keys[i], n.digs[i], n.leaves[i], n.kids[i] = k, *d, l, c
	n.n++
}

func (n *inner) removeChild(i int) {
	copy(n.keys[i:n.n-1], n.keys[i+1:n.n])
	copy(n.digs[i:n.n-1], n.digs[i+1:n.n])
	copy(n.leaves[i:n.n-1], n.leaves[i+1:n.n])
	copy(n.kids[i:n.n-1], n.kids[i+1:n.n])
	n.n--
	n.leaves[n.n], n.kids[n.n] = nil, nil
}

// moveInner moves the m children of src from position si to dst at
// position di, separators included; the caller fixes the separators at the
// boundaries it changes.
func moveInner(dst *inner, di int, src *inner, si, m int) {
	dn, sn := dst.n, src.n
	copy(dst.keys[di+m:dn+m], dst.keys[di:dn])
	copy(dst.digs[di+m:dn+m], dst.digs[di:dn])
	copy(dst.leaves[di+m:dn+m], dst.leaves[di:dn])
	copy(dst.kids[di+m:dn+m], dst.kids[di:dn])
	copy(dst.keys[di:di+m], src.keys[si:si+m])
	copy(dst.digs[di:di+m], src.digs[si:si+m])
	copy(dst.leaves[di:di+m], src.leaves[si:si+m])
	copy(dst.kids[di:di+m], src.kids[si:si+m])
	copy(src.keys[si:sn-m], src.keys[si+m:sn])
	copy(src.digs[si:sn-m], src.digs[si+m:sn])
	copy(src.leaves[si:sn-m], src.leaves[si+m:sn])
	copy(src.kids[si:sn-m], src.kids[si+m:sn])
	clear(src.leaves[sn-m : sn])
	clear(src.kids[sn-m : sn])
	dst.n += m
	src.n -= m
}

// insert adds (k, d); false if it is there already.
func (t *tree) insert(k Key, d *storage.Digest) bool {
	if t.root.n == 0 {
		t.root.leaves[0] = &leaf{}
		t.root.n = 1
		t.leaves++
	}
	ok, sk, sd, right := t.insertIn(t.root, t.height, k, d)
	if right != nil {
		r := &inner{n: 2}
		r.kids[0], r.kids[1] = t.root, right
		r.keys[1], r.digs[1] = sk, sd
		t.root = r
		t.height++
		t.inners++
	}
	if ok {
		t.count++
	}
	return ok
}

// insertIn inserts into the subtree of n, at level (1: n's children are
// leaves). If n had to split, it returns its new right sibling and that
// sibling's separator.
func (t *tree) insertIn(n *inner, level int, k Key, d *storage.Digest) (ok bool, sk Key, sd storage.Digest, right *inner) {
	i := n.child(k, d)
	var ck Key
	var cd storage.Digest
	var nl *leaf
	var nc *inner
	if level == 1 {
		ok, ck, cd, nl = t.insertLeaf(n, i, k, d)
		if nl == nil {
			return ok, 0, sd, nil
		}
	} else {
		ok, ck, cd, nc = t.insertIn(n.kids[i], level-1, k, d)
		if nc == nil {
			return ok, 0, sd, nil
		}
	}
	if n.n < innerCap {
		n.insertChild(i+1, ck, &cd, nl, nc)
		return ok, 0, sd, nil
	}
	// n is full: split it. Appending at its end keeps n full and starts
	// the sibling with the new child alone; inserting after the first
	// child (descending inserts) leaves that child alone in n.
	right = &inner{}
	t.inners++
	switch i {
	case n.n - 1:
		right.n = 1
		right.leaves[0], right.kids[0] = nl, nc
		return ok, ck, cd, right
	case 0:
		moveInner(right, 0, n, 1, n.n-1)
		right.insertChild(0, ck, &cd, nl, nc)
		return ok, ck, cd, right
	}
	mid := n.n / 2
	sk, sd = n.keys[mid], n.digs[mid]
	moveInner(right, 0, n, mid, n.n-mid)
	if i+1 <= mid {
		n.insertChild(i+1, ck, &cd, nl, nc)
	} else {
		right.insertChild(i+1-mid, ck, &cd, nl, nc)
	}
	return ok, sk, sd, right
}

// insertLeaf inserts into child i of n, a leaf. If the leaf had to split,
// it returns the new leaf (n's next child) and its separator.
func (t *tree) insertLeaf(n *inner, i int, k Key, d *storage.Digest) (ok bool, sk Key, sd storage.Digest, right *leaf) {
	l := n.leaves[i]
	pos, found := l.search(k, d)
	if found {
		return false, 0, sd, nil
	}
	if l.n < leafCap {
		l.insertAt(pos, k, d)
		return true, 0, sd, nil
	}
	if t.shiftRight(n, i) || t.shiftLeft(n, i) {
		l = n.leaves[n.child(k, d)]
		pos, _ = l.search(k, d)
		l.insertAt(pos, k, d)
		return true, 0, sd, nil
	}
	right = &leaf{}
	t.leaves++
	mid := leafCap / 2
	switch pos {
	case leafCap: // appending: keep l full
		right.insertAt(0, k, d)
		return true, k, *d, right
	case 0: // prepending: move l whole
		mid = 0
	}
	moveLeaf(right, 0, l, mid, leafCap-mid)
	if pos <= mid {
		l.insertAt(pos, k, d)
	} else {
		right.insertAt(pos-mid, k, d)
	}
	return true, right.keys[0], right.digs[0], right
}

// shiftMin is the room a neighbour must have for a full leaf to shift
// entries into it rather than split.
const shiftMin = leafCap / 8

// shiftRight moves entries from the end of full leaf i into leaf i+1 when
// that one has room, evening them out.
func (t *tree) shiftRight(n *inner, i int) bool {
	if i+1 >= n.n {
		return false
	}
	l, r := n.leaves[i], n.leaves[i+1]
	room := leafCap - int(r.n)
	if room < shiftMin {
		return false
	}
	m := room / 2
	moveLeaf(r, 0, l, int(l.n)-m, m)
	n.keys[i+1], n.digs[i+1] = r.keys[0], r.digs[0]
	return true
}

// shiftLeft moves entries from the start of full leaf i into leaf i-1 when
// that one has room.
func (t *tree) shiftLeft(n *inner, i int) bool {
	if i == 0 {
		return false
	}
	l, r := n.leaves[i-1], n.leaves[i]
	room := leafCap - int(l.n)
	if room < shiftMin {
		return false
	}
	m := room / 2
	moveLeaf(l, int(l.n), r, 0, m)
	n.keys[i], n.digs[i] = r.keys[0], r.digs[0]
	return true
}

// delete removes (k, d); false if it was not there.
func (t *tree) delete(k Key, d *storage.Digest) bool {
	if !t.deleteIn(t.root, t.height, k, d) {
		return false
	}
	t.count--
	for t.height > 1 && t.root.n <= 1 {
		if t.root.n == 0 { // only when the last entry went
			t.root.n, t.height = 0, 1
			t.inners = 1
			break
		}
		t.root = t.root.kids[0]
		t.height--
		t.inners--
	}
	return true
}

func (t *tree) deleteIn(n *inner, level int, k Key, d *storage.Digest) bool {
	if n.n == 0 {
		return false
	}
	i := n.child(k, d)
	if level == 1 {
		l := n.leaves[i]
		pos, found := l.search(k, d)
		if !found {
			return false
		}
		l.removeAt(pos)
		if l.n < leafCap/4 {
			t.rebalanceLeaf(n, i)
		}
		return true
	}
	c := n.kids[i]
	if !t.deleteIn(c, level-1, k, d) {
		return false
	}
	if c.n < innerCap/4 {
		t.rebalanceInner(n, i)
	}
	return true
}

// rebalanceLeaf fixes leaf i of n after it fell under a quarter full: it
// merges with a neighbour when both fit in three quarters of a leaf, and
// otherwise takes entries from it to even them out. An empty only child is
// removed (the caller's parent rebalances n).
func (t *tree) rebalanceLeaf(n *inner, i int) {
	if n.n == 1 {
		if n.leaves[0].n == 0 {
			n.removeChild(0)
			t.leaves--
		}
		return
	}
	j := i
	if j == n.n-1 {
		j--
	}
	a, b := n.leaves[j], n.leaves[j+1]
	if int(a.n)+int(b.n) <= leafCap*3/4 {
		moveLeaf(a, int(a.n), b, 0, int(b.n))
		n.removeChild(j + 1)
		t.leaves--
		return
	}
	want := (int(a.n) + int(b.n)) / 2
	if int(a.n) < want {
		moveLeaf(a, int(a.n), b, 0, want-int(a.n))
	} else {
		moveLeaf(b, 0, a, want, int(a.n)-want)
	}
	n.keys[j+1], n.digs[j+1] = b.keys[0], b.digs[0]
}

// rebalanceInner fixes child i of n, an inner node under a quarter full,
// by merging it with a neighbour or taking children from it. Separators
// rotate through n.
func (t *tree) rebalanceInner(n *inner, i int) {
	if n.n == 1 {
		return // only the root has a single child; delete collapses it
	}
	j := i
	if j == n.n-1 {
		j--
	}
	a, b := n.kids[j], n.kids[j+1]
	sk, sd := n.keys[j+1], n.digs[j+1]
	if a.n+b.n <= innerCap {
		an := a.n
		moveInner(a, an, b, 0, b.n)
		a.keys[an], a.digs[an] = sk, sd
		n.removeChild(j + 1)
		t.inners--
		return
	}
	want := (a.n + b.n) / 2
	if a.n < want {
		m, an := want-a.n, a.n
		nk, nd := b.keys[m], b.digs[m]
		moveInner(a, an, b, 0, m)
		a.keys[an], a.digs[an] = sk, sd
		n.keys[j+1], n.digs[j+1] = nk, nd
	} else {
		m := a.n - want
		nk, nd := a.keys[want], a.digs[want]
		b.keys[0], b.digs[0] = sk, sd
		moveInner(b, 0, a, want, m)
		n.keys[j+1], n.digs[j+1] = nk, nd
	}
}

// clear empties the tree.
func (t *tree) clear() { *t = newTree() }

// memory is the bytes the tree's nodes occupy.
func (t *tree) memory() uint64 {
	return uint64(t.leaves)*leafAlloc + uint64(t.inners)*innerAlloc
}

// iter is a position in the tree: the path from the root to a leaf and an
// entry of it. It is valid until the tree is next modified.
type iter struct {
	path   [maxHeight]pathStep // path[level-1]: the node at that level and the child taken
	height int
	l      *leaf
	pos    int
}

type pathStep struct {
	n *inner
	i int
}

// seek positions it at the first entry ≥ (k, d); it.l is nil past the end.
func (t *tree) seek(it *iter, k Key, d *storage.Digest) {
	it.height = t.height
	it.l = nil
	n := t.root
	for level := t.height; ; level-- {
		if n.n == 0 {
			return
		}
		i := n.child(k, d)
		it.path[level-1] = pathStep{n, i}
		if level == 1 {
			it.l = n.leaves[i]
			it.pos, _ = it.l.search(k, d)
			break
		}
		n = n.kids[i]
	}
	if it.pos >= int(it.l.n) {
		it.nextLeaf()
	}
}

// valid reports whether it is at an entry.
func (it *iter) valid() bool { return it.l != nil }

// next moves to the following entry.
func (it *iter) next() {
	it.pos++
	if it.pos >= int(it.l.n) {
		it.nextLeaf()
	}
}

// nextLeaf moves to the first entry of the next non-empty leaf.
func (it *iter) nextLeaf() {
	for {
		level := 1
		for level <= it.height && it.path[level-1].i+1 >= it.path[level-1].n.n {
			level++
		}
		if level > it.height {
			it.l = nil
			return
		}
		it.path[level-1].i++
		for ; level > 1; level-- {
			p := it.path[level-1]
			it.path[level-2] = pathStep{p.n.kids[p.i], 0}
		}
		p := it.path[0]
		it.l, it.pos = p.n.leaves[p.i], 0
		if it.l.n > 0 {
			return
		}
	}
}

// check verifies the invariants documented on tree; tests call it.
func (t *tree) check() error {
	c := checker{t: t, first: true}
	if t.height < 1 || t.height > maxHeight {
		return fmt.Errorf("height %d", t.height)
	}
	if err := c.walk(t.root, t.height, bound{}, bound{}, true); err != nil {
		return err
	}
	if t.height > 1 && t.root.n < 2 {
		return fmt.Errorf("root at height %d with %d children", t.height, t.root.n)
	}
	if c.count != t.count || c.leaves != t.leaves || c.inners != t.inners {
		return fmt.Errorf("counted %d entries, %d leaves, %d inner nodes; recorded %d, %d, %d",
			c.count, c.leaves, c.inners, t.count, t.leaves, t.inners)
	}
	return nil
}

// bound is an optional (key, digest) bound of a subtree.
type bound struct {
	set bool
	k   Key
	d   storage.Digest
}

type checker struct {
	t                     *tree
	prevK                 Key
	prevD                 storage.Digest
	first                 bool
	count, leaves, inners int
}

// walk checks the subtree of n, whose entries must be ≥ lo and < hi.
func (c *checker) walk(n *inner, level int, lo, hi bound, root bool) error {
	c.inners++
	if n.n > innerCap || n.n < 0 || (!root && n.n == 0) {
		return fmt.Errorf("inner node with %d children", n.n)
	}
	for i := 0; i < n.n; i++ {
		clo, chi := lo, hi
		if i > 0 {
			clo = bound{true, n.keys[i], n.digs[i]}
			if i > 1 && cmpEntry(n.keys[i-1], &n.digs[i-1], n.keys[i], &n.digs[i]) >= 0 {
				return fmt.Errorf("separators out of order at %d", i)
			}
		}
		if i+1 < n.n {
			chi = bound{true, n.keys[i+1], n.digs[i+1]}
		}
		if level > 1 {
			k := n.kids[i]
			if k == nil || n.leaves[i] != nil {
				return fmt.Errorf("level %d child %d is not an inner node", level, i)
			}
			if err := c.walk(k, level-1, clo, chi, false); err != nil {
				return err
			}
			continue
		}
		l := n.leaves[i]
		if l == nil || n.kids[i] != nil {
			return fmt.Errorf("level 1 child %d is not a leaf", i)
		}
		c.leaves++
		if l.n <= 0 || l.n > leafCap {
			return fmt.Errorf("leaf with %d entries", l.n)
		}
		for e := 0; e < int(l.n); e++ {
			k, d := l.keys[e], &l.digs[e]
			if clo.set && cmpEntry(k, d, clo.k, &clo.d) < 0 {
				return fmt.Errorf("entry (%d, %x) under its lower bound (%d, %x)", k, d[:4], clo.k, clo.d[:4])
			}
			if chi.set && cmpEntry(k, d, chi.k, &chi.d) >= 0 {
				return fmt.Errorf("entry (%d, %x) at or over its upper bound (%d, %x)", k, d[:4], chi.k, chi.d[:4])
			}
			if !c.first && cmpEntry(c.prevK, &c.prevD, k, d) >= 0 {
				return fmt.Errorf("entries out of order: (%d, %x) then (%d, %x)", c.prevK, c.prevD[:4], k, d[:4])
			}
			c.prevK, c.prevD, c.first = k, *d, false
			c.count++
		}
	}
	for i := n.n; i < innerCap; i++ {
		if n.leaves[i] != nil || n.kids[i] != nil {
			return fmt.Errorf("stale child pointer at %d", i)
		}
	}
	return nil
}
