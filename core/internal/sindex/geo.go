package sindex

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
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
// suffice, each of which intersects the region. A points-within-region query
// walks the leaf ranges of the query region's covering (PointsWithin,
// Index.RangeCells); a regions-containing-point query looks up the point's
// cell at every level (RegionsContaining, Index.EqualKeys), which finds
// every region whose covering holds one of them. Both return candidates:
// the node checks each record with the exact predicates below.
//
// Geometry. Polygon edges are straight lines in longitude/latitude (a
// plate carrée), and containment is tested by ray casting, holes excluded.
// A circle is a spherical cap: a point is inside when its haversine
// distance to the centre, on a sphere of radius EarthRadius, is at most the
// radius. Aerospike's server uses S2, whose polygon edges are geodesics:
// for polygons spanning a few degrees or more, points very near an edge may
// be classified differently. Polygons crossing the antimeridian are not
// supported (their edges would go the long way round); circles are.

const (
	// MaxLevel is the level of leaf cells.
	MaxLevel = 30
	// MaxCovering is the most cells a stored region is indexed at.
	MaxCovering = 16
	// maxQueryCovering is the most cells a query region is covered with:
	// a range walk each, so a query can afford a finer covering.
	maxQueryCovering = 64
	// EarthRadius is the radius in meters of the sphere circles live on.
	EarthRadius = 6371008.8
)

// ErrGeoJSON reports GeoJSON that does not parse or is not a supported
// shape: GEO_INVALID_GEOJSON (160).
var ErrGeoJSON = errors.New("invalid GeoJSON")

// ShapeKind is the type of a GeoJSON value.
type ShapeKind uint8

// The supported GeoJSON types.
const (
	ShapePoint        ShapeKind = iota + 1 // "Point"
	ShapePolygon                           // "Polygon"
	ShapeMultiPolygon                      // "MultiPolygon"
	ShapeCircle                            // "AeroCircle": {"type": "AeroCircle", "coordinates": [[lng, lat], radiusMeters]}
)

// Shape is a parsed GeoJSON value.
type Shape struct {
	Kind     ShapeKind
	Lon, Lat float64 // a point; a circle's centre
	Radius   float64 // a circle's radius, in meters

	polys [][]ring // a polygon's, or each polygon's, rings: outer first, then holes
	box   box      // bounding box of the outer rings
}

type lonLat struct{ lon, lat float64 }

// ring is a polygon ring without its closing vertex.
type ring []lonLat

// box is a closed longitude/latitude rectangle.
type box struct{ lon0, lat0, lon1, lat1 float64 }

// ParseGeoJSON parses a GeoJSON Point, Polygon, MultiPolygon or
// AeroCircle. Errors wrap ErrGeoJSON.
func ParseGeoJSON(text []byte) (*Shape, error) {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(text, &g); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGeoJSON, err)
	}
	if len(g.Coordinates) == 0 {
		return nil, fmt.Errorf("%w: %s without coordinates", ErrGeoJSON, g.Type)
	}
	s := &Shape{}
	var err error
	switch g.Type {
	case "Point":
		s.Kind = ShapePoint
		var c []float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			s.Lon, s.Lat, err = parsePosition(c)
		}
	case "Polygon":
		s.Kind = ShapePolygon
		var c [][][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			err = s.addPolygon(c)
		}
	case "MultiPolygon":
		s.Kind = ShapeMultiPolygon
		var c [][][][]float64
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			if len(c) == 0 {
				err = errors.New("no polygons")
			}
			for i := 0; i < len(c) && err == nil; i++ {
				err = s.addPolygon(c[i])
			}
		}
	case "AeroCircle":
		s.Kind = ShapeCircle
		var c []json.RawMessage
		if err = json.Unmarshal(g.Coordinates, &c); err == nil {
			err = s.circle(c)
		}
	default:
		return nil, fmt.Errorf("%w: unsupported type %q", ErrGeoJSON, g.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrGeoJSON, g.Type, err)
	}
	return s, nil
}

func parsePosition(c []float64) (lon, lat float64, err error) {
	if len(c) < 2 {
		return 0, 0, fmt.Errorf("position with %d numbers", len(c))
	}
	lon, lat = c[0], c[1]
	if !(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90) {
		return 0, 0, fmt.Errorf("position [%g, %g] out of range", lon, lat)
	}
	return lon, lat, nil
}

func (s *Shape) addPolygon(c [][][]float64) error {
	if len(c) == 0 {
		return errors.New("polygon without rings")
	}
	rings := make([]ring, 0, len(c))
	for _, rc := range c {
		r := make(ring, 0, len(rc))
		for _, p := range rc {
			lon, lat, err := parsePosition(p)
			if err != nil {
				return err
			}
			r = append(r, lonLat{lon, lat})
		}
		if len(r) > 1 && r[0] == r[len(r)-1] {
			r = r[:len(r)-1]
		}
		if len(r) < 3 {
			return fmt.Errorf("ring with %d distinct vertices", len(r))
		}
		rings = append(rings, r)
	}
	if len(s.polys) == 0 {
		s.box = box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	}
	for _, p := range rings[0] {
		s.box.lon0, s.box.lon1 = min(s.box.lon0, p.lon), max(s.box.lon1, p.lon)
		s.box.lat0, s.box.lat1 = min(s.box.lat0, p.lat), max(s.box.lat1, p.lat)
	}
	s.polys = append(s.polys, rings)
	return nil
}

func (s *Shape) circle(c []json.RawMessage) error {
	if len(c) != 2 {
		return errors.New("coordinates are not [[lng, lat], radius]")
	}
	var centre []float64
	if err := json.Unmarshal(c[0], &centre); err != nil {
		return err
	}
	var err error
	if s.Lon, s.Lat, err = parsePosition(centre); err != nil {
		return err
	}
	if err := json.Unmarshal(c[1], &s.Radius); err != nil {
		return err
	}
	if !(s.Radius >= 0) || math.IsInf(s.Radius, 0) {
		return fmt.Errorf("radius %g", s.Radius)
	}
	return nil
}

// IsRegion reports whether s is a region (not a point).
func (s *Shape) IsRegion() bool { return s.Kind != ShapePoint }

// ContainsPoint reports whether region s contains the point (lon, lat):
// ray casting for polygons (inside the outer ring and no hole), haversine
// distance for circles. A point contains nothing.
func (s *Shape) ContainsPoint(lon, lat float64) bool {
	switch s.Kind {
	case ShapeCircle:
		return Distance(s.Lon, s.Lat, lon, lat) <= s.Radius
	case ShapePolygon, ShapeMultiPolygon:
		if lon < s.box.lon0 || lon > s.box.lon1 || lat < s.box.lat0 || lat > s.box.lat1 {
			return false
		}
		for _, rings := range s.polys {
			if rings[0].contains(lon, lat) && !slices.ContainsFunc(rings[1:], func(h ring) bool { return h.contains(lon, lat) }) {
				return true
			}
		}
	}
	return false
}

// Contains reports whether region s contains point p (false if s is not a
// region or p not a point).
func (s *Shape) Contains(p *Shape) bool {
	return p.Kind == ShapePoint && s.ContainsPoint(p.Lon, p.Lat)
}

// contains is the crossing-number test: a horizontal ray from the point
// crosses the ring's edges an odd number of times.
func (r ring) contains(lon, lat float64) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a.lat > lat) != (b.lat > lat) && lon < (b.lon-a.lon)*(lat-a.lat)/(b.lat-a.lat)+a.lon {
			in = !in
		}
	}
	return in
}

// Distance is the haversine distance in meters between two points on a
// sphere of radius EarthRadius.
func Distance(lon1, lat1, lon2, lat2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadius * math.Asin(math.Sqrt(min(h, 1)))
}

// PointInRegion reports whether the GeoJSON point lies in the GeoJSON
// region (Polygon, MultiPolygon, AeroCircle). It is false, without error,
// when the first is not a point or the second not a region.
func PointInRegion(pointJSON, regionJSON []byte) (bool, error) {
	p, err := ParseGeoJSON(pointJSON)
	if err != nil {
		return false, err
	}
	r, err := ParseGeoJSON(regionJSON)
	if err != nil {
		return false, err
	}
	return r.Contains(p), nil
}

// RegionContainsPoint is PointInRegion with its arguments the other way
// round, as a regions-containing-point query has them (the record holds
// the region).
func RegionContainsPoint(regionJSON, pointJSON []byte) (bool, error) {
	return PointInRegion(pointJSON, regionJSON)
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

// cellBox is the longitude/latitude rectangle of cell (cx, cy) of level,
// widened by a hair so that points on its edges, mapped to it or to a
// neighbour by rounding, count as inside.
func cellBox(level int, cx, cy uint32) box {
	const eps = 1e-9
	n := float64(uint64(1) << level)
	return box{
		lon0: float64(cx)/n*360 - 180 - eps, lon1: float64(cx+1)/n*360 - 180 + eps,
		lat0: float64(cy)/n*180 - 90 - eps, lat1: float64(cy+1)/n*180 - 90 + eps,
	}
}

// cell is a cell by level and coordinates, while a covering is built.
type cell struct {
	level  int
	cx, cy uint32
}

// leafRect is an inclusive rectangle of leaf coordinates.
type leafRect struct{ x0, y0, x1, y1 uint32 }

// rects returns the leaf rectangles that bound region s: one, or two for a
// circle crossing the antimeridian.
func (s *Shape) rects() []leafRect {
	if s.Kind != ShapeCircle {
		b := s.box
		return []leafRect{{leafX(b.lon0), leafY(b.lat0), leafX(b.lon1), leafY(b.lat1)}}
	}
	const margin = 1e-7 // degrees, ~1 cm: float slack
	r := s.Radius / EarthRadius
	dLat := r*180/math.Pi + margin
	lat0, lat1 := s.Lat-dLat, s.Lat+dLat
	if r >= math.Pi/2 || lat0 <= -90 || lat1 >= 90 {
		// The cap holds a pole (or is a hemisphere or more): every
		// longitude, from the pole to its lower latitude.
		return []leafRect{{0, leafY(lat0), 1<<MaxLevel - 1, leafY(lat1)}}
	}
	// The widest longitude extent of a cap of angular radius r centred at
	// latitude φ is asin(sin r / cos φ).
	sin := math.Sin(r) / math.Cos(s.Lat*math.Pi/180)
	if sin >= 1 {
		return []leafRect{{0, leafY(lat0), 1<<MaxLevel - 1, leafY(lat1)}}
	}
	dLon := math.Asin(sin)*180/math.Pi + margin
	lon0, lon1 := s.Lon-dLon, s.Lon+dLon
	y0, y1 := leafY(lat0), leafY(lat1)
	switch {
	case lon0 < -180:
		return []leafRect{{0, y0, leafX(lon1), y1}, {leafX(lon0 + 360), y0, 1<<MaxLevel - 1, y1}}
	case lon1 > 180:
		return []leafRect{{leafX(lon0), y0, 1<<MaxLevel - 1, y1}, {0, y0, leafX(lon1 - 360), y1}}
	}
	return []leafRect{{leafX(lon0), y0, leafX(lon1), y1}}
}

// intersects reports whether region s may meet the cell's rectangle. It
// errs only towards true: a cell it rejects holds no point s contains.
func (s *Shape) intersects(c cell) bool {
	b := cellBox(c.level, c.cx, c.cy)
	switch s.Kind {
	case ShapeCircle:
		return capMeetsBox(s.Lon, s.Lat, s.Radius/EarthRadius, b)
	case ShapePolygon, ShapeMultiPolygon:
		for _, rings := range s.polys {
			if rings[0].meetsBox(b) {
				return true
			}
		}
		return false
	}
	return true
}

// meetsBox reports whether the ring's polygon (holes ignored) and the box
// intersect: an edge crosses the box, or one contains the other.
func (r ring) meetsBox(b box) bool {
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		if segmentMeetsBox(r[j], r[i], b) {
			return true
		}
	}
	// No edge meets the box: the box is wholly inside or wholly outside.
	return r.contains((b.lon0+b.lon1)/2, (b.lat0+b.lat1)/2)
}

// segmentMeetsBox clips segment ab to the box (Liang–Barsky).
func segmentMeetsBox(a, b lonLat, bx box) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b.lon-a.lon, b.lat-a.lat
	clip := func(p, q float64) bool { // the part of the segment where p·t ≤ q
		switch {
		case p == 0:
			return q >= 0
		case p < 0:
			t0 = max(t0, q/p)
		default:
			t1 = min(t1, q/p)
		}
		return t0 <= t1
	}
	return clip(-dx, a.lon-bx.lon0) && clip(dx, bx.lon1-a.lon) &&
		clip(-dy, a.lat-bx.lat0) && clip(dy, bx.lat1-a.lat)
}

// capMeetsBox reports whether the spherical cap of angular radius r
// centred at (lon, lat) meets the longitude/latitude box. The box's nearest
// point to the centre lies on the centre's meridian if the box spans that
// longitude (at the nearest latitude in the box), and otherwise on one of
// the box's two bounding meridians; along a meridian, the cosine of the
// distance to the centre is A·cos φ + B·sin φ, largest at φ* = atan2(B, A)
// or at an end of the segment.
func capMeetsBox(lon, lat, r float64, b box) bool {
	const rad = math.Pi / 180
	const slack = 1e-9 // radians, ~6 mm: float slack
	if r >= math.Pi {
		return true
	}
	limit := r + slack
	dLon := math.Mod(lon-b.lon0, 360)
	if dLon < 0 {
		dLon += 360
	}
	if dLon <= b.lon1-b.lon0 { // the box spans the centre's longitude
		d := max(0, b.lat0-lat, lat-b.lat1) * rad
		return d <= limit
	}
	phiC := lat * rad
	best := -1.0 // the largest cosine of a distance
	for _, edge := range [2]float64{b.lon0, b.lon1} {
		a := math.Cos(phiC) * math.Cos((edge-lon)*rad)
		bb := math.Sin(phiC)
		dot := func(phi float64) float64 { return a*math.Cos(phi) + bb*math.Sin(phi) }
		lo, hi := max(b.lat0, -90)*rad, min(b.lat1, 90)*rad
		best = max(best, dot(lo), dot(hi))
		if star := math.Atan2(bb, a); star > lo && star < hi {
			best = max(best, dot(star))
		}
	}
	return math.Acos(max(-1, min(1, best))) <= limit
}

// covering returns the cells covering region s: at most maxCells cells of
// one level, each meeting s, at the finest level where that many suffice.
// A point's covering is its leaf cell.
func (s *Shape) covering(maxCells int) []cell {
	if s.Kind == ShapePoint {
		return []cell{{MaxLevel, leafX(s.Lon), leafY(s.Lat)}}
	}
	rects := s.rects()
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
		if s.intersects(c) {
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
				if s.intersects(k) {
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
func (s *Shape) appendCovering(dst []Key, maxCells int) []Key {
	start := len(dst)
	for _, c := range s.covering(maxCells) {
		dst = append(dst, cellID(c.level, c.cx, c.cy))
	}
	slices.Sort(dst[start:])
	return dst
}

// PointsWithin returns the leaf-id ranges a points-within-region query
// walks (with Index.RangeCells): sorted, disjoint, adjacent ranges merged.
// The entries found are candidates: the node checks each record's point
// with ContainsPoint. Errors wrap ErrGeoJSON; a point is not a region.
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
	ids := s.appendCovering(nil, maxQueryCovering)
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
// with ContainsPoint. Errors wrap ErrGeoJSON; the value must be a point.
func RegionsContaining(pointJSON []byte) ([]Key, error) {
	s, err := ParseGeoJSON(pointJSON)
	if err != nil {
		return nil, err
	}
	if s.Kind != ShapePoint {
		return nil, fmt.Errorf("%w: not a point", ErrGeoJSON)
	}
	return PointAncestors(s.Lon, s.Lat), nil
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
