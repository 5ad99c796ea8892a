package sindex

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/skiffdb/skiff/core/internal/geo"
)

// Geo cells
//
// A GEO2DSPHERE index keys points and regions by cells of a quadtree over
// the longitude/latitude rectangle [-180, 180] × [-90, 90]: level L has
// 2^L × 2^L cells, each 360/2^L degrees of longitude by 180/2^L of
// latitude; level 30, the leaves, are about 3.7 cm × 1.9 cm at the equator.
//
// A cell's coordinates are interleaved into a Morton (Z-order) code,
// longitude bit first, and encoded as S2 encodes its cell ids: the 2L-bit
// code, a 1 bit, then 60-2L zero bits, 61 bits in all:
//
//	id(L, code) = code << (61-2L) | 1 << (60-2L)
//
// so every id is a positive int64, leaf ids are odd, and a cell covers
// exactly the leaf ids in [id-lsb+1, id+lsb-1] (lsb = 1 << (60-2L)), a
// contiguous range that contains the ids of all the cell's descendants.
//
// A point is indexed at its leaf cell. A region (Polygon, MultiPolygon,
// AeroCircle) is indexed at the cells of a covering: at most MaxCovering
// cells, all of one level, the finest level at which that many cells
// suffice, each of which may intersect the region. A points-within-region query
// walks the leaf ranges of the query region's covering (PointsWithin,
// Index.RangeCells); a regions-containing-point query looks up the point's
// cell at every level (RegionsContaining, Index.EqualKeys), which finds
// every region whose covering holds one of them. Both return candidates:
// the node checks each record with the exact predicate.
//
// The exact predicate (geo.Shape.Contains), and the bounds and intersection
// tests coverings are built from (geo.Cover), are package geo's, which
// filter expressions use too: a covering holds every point the predicate
// accepts, so an index query, once the node has checked its candidates,
// answers as a filter expression would.

const (
	// MaxLevel is the level of leaf cells.
	MaxLevel = 30
	// MaxCovering is the most cells a stored region is indexed at.
	MaxCovering = 16
	// maxQueryCovering is the most cells a query region is covered with:
	// a range walk each, so a query can afford a finer covering.
	maxQueryCovering = 64
)

// ErrGeoJSON reports GeoJSON that does not parse or is not a supported
// shape: GEO_INVALID_GEOJSON (160). It is the parser's own sentinel.
var ErrGeoJSON = geo.ErrInvalid

// Shape is a parsed GeoJSON value, which an index keys by the cells of its
// covering.
type Shape struct{ *geo.Shape }

// ParseGeoJSON parses a GeoJSON value (see geo.Parse). Errors wrap
// ErrGeoJSON.
func ParseGeoJSON(text []byte) (*Shape, error) {
	s, err := geo.Parse(text)
	if err != nil {
		return nil, err
	}
	return &Shape{s}, nil
}

// leafCoord maps v ∈ [0, 1] to a leaf cell coordinate in [0, 2^30).
func leafCoord(v float64) uint32 {
	f := v * (1 << MaxLevel)
	switch {
	case !(f > 0): // also NaN
		return 0
	case f >= 1<<MaxLevel:
		return 1<<MaxLevel - 1
	}
	return uint32(f)
}

func leafX(lon float64) uint32 { return leafCoord((lon + 180) / 360) }
func leafY(lat float64) uint32 { return leafCoord((lat + 90) / 180) }

// spread moves the bits of x to the even bit positions.
func spread(x uint32) uint64 {
	v := uint64(x)
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff
	v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
	v = (v | v<<2) & 0x3333333333333333
	v = (v | v<<1) & 0x5555555555555555
	return v
}

// cellID is the id of cell (cx, cy) of level (cx, cy < 2^level).
func cellID(level int, cx, cy uint32) Key {
	code := spread(cx)<<1 | spread(cy)
	sh := uint(60 - 2*level)
	return Key(code<<(sh+1) | 1<<sh)
}

// PointCell is the leaf cell id of the point (lon, lat): its key in a geo
// index.
func PointCell(lon, lat float64) Key { return cellID(MaxLevel, leafX(lon), leafY(lat)) }

// CellLevel returns the level of a cell id; ok is false for keys that are
// not cell ids.
func CellLevel(id Key) (level int, ok bool) {
	if id <= 0 || id >= 1<<61 {
		return 0, false
	}
	tz := bits.TrailingZeros64(uint64(id))
	if tz%2 != 0 {
		return 0, false
	}
	return (60 - tz) / 2, true
}

// IsLeafCell reports whether k is a leaf cell id: the key of a point.
func IsLeafCell(k Key) bool { return k > 0 && k < 1<<61 && k&1 == 1 }

// CellRangeOf is the range of leaf ids a cell covers.
func CellRangeOf(id Key) CellRange {
	lsb := id & -id
	return CellRange{id - lsb + 1, id + lsb - 1}
}

// ancestor is the id of the level-level cell containing leaf cell leafID.
func ancestor(leafID Key, level int) Key {
	sh := uint(60 - 2*level)
	code := uint64(leafID) >> 1 >> sh
	return Key(code<<(sh+1) | 1<<sh)
}

// cellRect is the longitude/latitude rectangle of cell (cx, cy) of level,
// widened by a hair so that points on its edges, mapped to it or to a
// neighbour by rounding, count as inside.
func cellRect(level int, cx, cy uint32) geo.Rect {
	const eps = 1e-9
	n := float64(uint64(1) << level)
	return geo.Rect{
		Lng0: float64(cx)/n*360 - 180 - eps, Lng1: float64(cx+1)/n*360 - 180 + eps,
		Lat0: float64(cy)/n*180 - 90 - eps, Lat1: float64(cy+1)/n*180 - 90 + eps,
	}
}

// cell is a cell by level and coordinates, while a covering is built.
type cell struct {
	level  int
	cx, cy uint32
}

// leafRect is an inclusive rectangle of leaf coordinates.
type leafRect struct{ x0, y0, x1, y1 uint32 }

// leafRects returns the leaf rectangles of a region's bounds.
func leafRects(bounds []geo.Rect) []leafRect {
	out := make([]leafRect, 0, len(bounds))
	for _, b := range bounds {
		out = append(out, leafRect{leafX(b.Lng0), leafY(b.Lat0), leafX(b.Lng1), leafY(b.Lat1)})
	}
	return out
}

// covering returns the cells covering region s: at most maxCells cells of
// one level, each meeting s, at the finest level where that many suffice.
// A point's covering is its leaf cell.
func covering(s *geo.Shape, maxCells int) []cell {
	if s.Kind == geo.Point {
		return []cell{{MaxLevel, leafX(s.Pos.Lng), leafY(s.Pos.Lat)}}
	}
	cover := geo.NewCover(s)
	intersects := func(c cell) bool { return cover.MayIntersect(cellRect(c.level, c.cx, c.cy)) }
	rects := leafRects(cover.Bounds())
	// The finest level at which the bounding rectangles take few enough
	// cells...
	level := 0
	for l := 1; l <= MaxLevel; l++ {
		n := 0
		for _, r := range rects {
			sh := uint(MaxLevel - l)
			n += int(r.x1>>sh-r.x0>>sh+1) * int(r.y1>>sh-r.y0>>sh+1)
		}
		if n > maxCells {
			break
		}
		level = l
	}
	var all, cells []cell
	sh := uint(MaxLevel - level)
	for _, r := range rects {
		for cx := r.x0 >> sh; cx <= r.x1>>sh; cx++ {
			for cy := r.y0 >> sh; cy <= r.y1>>sh; cy++ {
				if c := (cell{level, cx, cy}); !slices.Contains(all, c) {
					all = append(all, c)
				}
			}
		}
	}
	for _, c := range all {
		if intersects(c) {
			cells = append(cells, c)
		}
	}
	if len(cells) == 0 {
		// Only float slack could reject every cell of the region's own
		// bounding box: keep them all rather than index it nowhere.
		cells = all
	}
	// ...then finer levels, keeping the children that meet s, while they
	// stay few enough.
	next := make([]cell, 0, 4*maxCells)
	for l := level + 1; l <= MaxLevel; l++ {
		next = next[:0]
		for _, c := range cells {
			for _, d := range [4][2]uint32{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
				k := cell{l, 2*c.cx + d[0], 2*c.cy + d[1]}
				if intersects(k) {
					next = append(next, k)
				}
			}
		}
		if len(next) == 0 || len(next) > maxCells {
			break
		}
		cells = append(cells[:0:0], next...)
	}
	return cells
}

// appendCovering appends the ids of s's covering, sorted.
func appendCovering(dst []Key, s *geo.Shape, maxCells int) []Key {
	start := len(dst)
	for _, c := range covering(s, maxCells) {
		dst = append(dst, cellID(c.level, c.cx, c.cy))
	}
	slices.Sort(dst[start:])
	return dst
}

// PointsWithin returns the leaf-id ranges a points-within-region query
// walks (with Index.RangeCells): sorted, disjoint, adjacent ranges merged.
// The entries found are candidates: the node checks each record's point
// with PointInRegion. Errors wrap ErrGeoJSON; a point is not a region.
func PointsWithin(regionJSON []byte) ([]CellRange, error) {
	s, err := ParseGeoJSON(regionJSON)
	if err != nil {
		return nil, err
	}
	if !s.IsRegion() {
		return nil, fmt.Errorf("%w: a point is not a region", ErrGeoJSON)
	}
	return s.CellRanges(), nil
}

// CellRanges is PointsWithin for a parsed region.
func (s *Shape) CellRanges() []CellRange {
	ids := appendCovering(nil, s.Shape, maxQueryCovering)
	var out []CellRange
	for _, id := range ids {
		r := CellRangeOf(id)
		if n := len(out); n > 0 && r.Lo <= out[n-1].Hi+1 {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// RegionsContaining returns the keys a regions-containing-point query
// looks up (with Index.EqualKeys): the point's cell at every level, sorted.
// The entries found are candidates: the node checks each record's region
// with RegionContainsPoint. Errors wrap ErrGeoJSON; the value must be a
// point.
func RegionsContaining(pointJSON []byte) ([]Key, error) {
	s, err := ParseGeoJSON(pointJSON)
	if err != nil {
		return nil, err
	}
	if s.Kind != geo.Point {
		return nil, fmt.Errorf("%w: not a point", ErrGeoJSON)
	}
	return PointAncestors(s.Pos.Lng, s.Pos.Lat), nil
}

// PointAncestors is RegionsContaining for a parsed point.
func PointAncestors(lon, lat float64) []Key {
	leafID := PointCell(lon, lat)
	keys := make([]Key, 0, MaxLevel+1)
	for l := 0; l <= MaxLevel; l++ {
		keys = append(keys, ancestor(leafID, l))
	}
	slices.Sort(keys)
	return keys
}
