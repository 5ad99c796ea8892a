package geo

import "math"

// Rect is a closed longitude/latitude rectangle, in degrees, that does not
// cross the antimeridian: Lng0 ≤ Lng1.
type Rect struct{ Lng0, Lat0, Lng1, Lat1 float64 }

// Cover answers, for one shape, the two questions a cell covering asks:
// where may the points it contains be (Bounds), and may it contain a point
// of a given rectangle (MayIntersect). Both err only towards yes, so a
// covering built from them finds every point Contains accepts, and index
// queries agree with Contains once their candidates are checked with it.
//
// A polygon's loop contains a point by one of two rules (see loopContains):
// within the geodesic loop, for a loop whose center sees every vertex, else
// within the loop drawn straight in longitude/latitude. Cover bounds the
// union of both regions, which holds whichever rule applies; a loop whose
// centroid does not see all its vertices is taken to be anywhere.
//
// A Cover is immutable and safe for concurrent use.
type Cover struct {
	s     *Shape
	b     bound
	loops []loopCover
}

// loopCover is what Cover keeps of one loop.
type loopCover struct {
	ll   []LatLng
	flat [][2]float64 // the vertices as (lng, lat)
	box  bound        // of the vertices: the straight-edged loop's bounds
	// whole is set when no projection was found to hold the loop: it may
	// contain any point.
	whole bool
	v     []vec3       // the vertices
	t     tangent      // centred on the centroid, which sees every vertex
	proj  [][2]float64 // the vertices in t
	geo   bound        // of the geodesic loop's inside
}

// slack widens bounds for floating-point error: 1e-9 degrees is about
// 0.1 mm, far above the error of the computations and far below a leaf
// cell.
const slack = 1e-9

// maxSplit bounds the halvings of an edge in MayIntersect: 2^-40 of an
// edge is below a leaf cell.
const maxSplit = 40

// NewCover prepares s for coverings.
func NewCover(s *Shape) *Cover {
	c := &Cover{s: s}
	switch s.Kind {
	case Point:
		c.b = bound{s.Pos.Lat, s.Pos.Lat, s.Pos.Lng, s.Pos.Lng}
	case Circle:
		c.b = capBound(s.Pos, s.Radius/EarthRadius)
	case Polygon:
		var bs []bound
		for _, poly := range s.polys {
			for _, loop := range poly {
				l := newLoopCover(loop)
				c.loops = append(c.loops, l)
				if l.whole {
					bs = append(bs, world)
				} else {
					bs = append(bs, l.box, l.geo)
				}
			}
		}
		c.b = hull(bs)
	}
	return c
}

// Bounds returns rectangles that hold every point s contains: one, or two
// where the bounds cross the antimeridian.
func (c *Cover) Bounds() []Rect { return c.b.rects() }

// MayIntersect reports whether s may contain a point of r. It is false
// only when s contains none.
func (c *Cover) MayIntersect(r Rect) bool {
	if !c.b.meets(r) {
		return false
	}
	switch c.s.Kind {
	case Point:
		return true
	case Circle:
		return capMeetsRect(c.s.Pos, c.s.Radius/EarthRadius, r)
	}
	for i := range c.loops {
		if c.loops[i].mayMeet(r) {
			return true
		}
	}
	return false
}

func newLoopCover(loop []LatLng) loopCover {
	l := loopCover{ll: loop, box: bound{90, -90, 180, -180}}
	var sum vec3
	for _, p := range loop {
		l.flat = append(l.flat, [2]float64{p.Lng, p.Lat})
		l.box.lat0, l.box.lat1 = min(l.box.lat0, p.Lat), max(l.box.lat1, p.Lat)
		l.box.lng0, l.box.lng1 = min(l.box.lng0, p.Lng), max(l.box.lng1, p.Lng)
		w := p.vec()
		l.v = append(l.v, w)
		sum = vec3{sum.x + w.x, sum.y + w.y, sum.z + w.z}
	}
	n := sum.norm()
	if n < 1e-12 {
		l.whole = true
		return l
	}
	l.t = newTangent(vec3{sum.x / n, sum.y / n, sum.z / n})
	for _, w := range l.v {
		d := dot(w, l.t.c)
		if d <= visible {
			l.whole = true
			return l
		}
		l.proj = append(l.proj, l.t.project(w, d))
	}
	l.geo = l.geodesicBound()
	return l
}

// inside reports whether w lies inside the geodesic loop: on its side
// away from the hemisphere opposite the centroid.
func (l *loopCover) inside(w vec3) bool {
	d := dot(w, l.t.c)
	if d <= 0 {
		return false
	}
	p := l.t.project(w, d)
	return crossings(l.proj, p[0], p[1])
}

// geodesicBound bounds the inside of the geodesic loop: the bounds of its
// edges, unless it holds a pole. (Every meridian through a point inside
// meets an edge on the way to a pole outside, at that longitude and further
// from the equator.)
func (l *loopCover) geodesicBound() bound {
	b := bound{90, -90, 0, 0}
	n := len(l.ll)
	walk, lo, hi := 0.0, 0.0, 0.0 // longitude travelled along the edges, unwrapped
	fullLng := false
	for i := range n {
		j := (i + 1) % n
		e := arcBound(l.v[i], l.v[j], l.ll[i], l.ll[j])
		b.lat0, b.lat1 = min(b.lat0, e.lat0), max(b.lat1, e.lat1)
		if e.fullLng() {
			fullLng = true
			continue
		}
		walk += lngDelta(l.ll[i].Lng, l.ll[j].Lng)
		lo, hi = min(lo, walk), max(hi, walk)
	}
	b.lng0, b.lng1 = l.ll[0].Lng+lo, l.ll[0].Lng+hi
	if l.inside(vec3{0, 0, 1}) {
		b.lat1, fullLng = 90, true
	}
	if l.inside(vec3{0, 0, -1}) {
		b.lat0, fullLng = -90, true
	}
	if fullLng {
		b.lng0, b.lng1 = -180, 180
	}
	return b
}

func (l *loopCover) mayMeet(r Rect) bool {
	if l.whole {
		return true
	}
	centre := LatLng{Lat: (r.Lat0 + r.Lat1) / 2, Lng: (r.Lng0 + r.Lng1) / 2}
	if l.box.meets(r) {
		// The straight-edged loop: an edge crosses r, or r lies inside.
		for i, j := 0, len(l.ll)-1; i < len(l.ll); j, i = i, i+1 {
			if segmentMeetsRect(l.ll[j], l.ll[i], r) {
				return true
			}
		}
		if crossings(l.flat, centre.Lng, centre.Lat) {
			return true
		}
	}
	if l.geo.meets(r) {
		// The geodesic loop, likewise.
		for i := range l.v {
			j := (i + 1) % len(l.v)
			if arcMeets(l.v[i], l.v[j], l.ll[i], l.ll[j], r, maxSplit) {
				return true
			}
		}
		if l.inside(centre.vec()) {
			return true
		}
	}
	return false
}

// arcMeets reports whether the geodesic from a to b (at la, lb) may cross
// r: its bounds meet r, and, while they are large next to r, so do those of
// one of its halves.
func arcMeets(a, b vec3, la, lb LatLng, r Rect, splits int) bool {
	e := arcBound(a, b, la, lb)
	if !e.meets(r) {
		return false
	}
	if splits == 0 || e.lat1-e.lat0 <= (r.Lat1-r.Lat0)/4 && e.lng1-e.lng0 <= (r.Lng1-r.Lng0)/4 {
		return true
	}
	m := vec3{a.x + b.x, a.y + b.y, a.z + b.z}
	n := m.norm()
	m = vec3{m.x / n, m.y / n, m.z / n}
	lm := LatLng{Lat: degrees(math.Asin(max(-1, min(1, m.z)))), Lng: degrees(math.Atan2(m.y, m.x))}
	return arcMeets(a, m, la, lm, r, splits-1) || arcMeets(m, b, lm, lb, r, splits-1)
}

// arcBound bounds the minor geodesic from a to b (at la, lb). Its latitude
// goes beyond its ends' where it passes the northernmost or southernmost
// point of its great circle; its longitude moves monotonically, the short
// way round.
func arcBound(a, b vec3, la, lb LatLng) bound {
	e := bound{min(la.Lat, lb.Lat), max(la.Lat, lb.Lat), 0, 0}
	if n := cross(a, b); n.norm() > 1e-15 {
		nn := n.norm()
		n = vec3{n.x / nn, n.y / nn, n.z / nn}
		// The great circle's northernmost point: the pole's direction
		// less its component along the circle's axis.
		top := vec3{-n.z * n.x, -n.z * n.y, 1 - n.z*n.z}
		if tn := top.norm(); tn > 1e-15 {
			top = vec3{top.x / tn, top.y / tn, top.z / tn}
			lat := degrees(math.Asin(min(1, top.z)))
			if between(a, top, b, n) {
				e.lat1 = max(e.lat1, lat)
			}
			if between(a, vec3{-top.x, -top.y, -top.z}, b, n) {
				e.lat0 = min(e.lat0, -lat)
			}
		}
	}
	const pole = 90 - 1e-9
	d := lngDelta(la.Lng, lb.Lng)
	if math.Abs(la.Lat) >= pole || math.Abs(lb.Lat) >= pole || math.Abs(d) >= 180-slack {
		// At a pole longitude means nothing, and an edge half way round
		// may pass either side of it.
		e.lng0, e.lng1 = -180, 180
		return e
	}
	e.lng0, e.lng1 = la.Lng+min(0, d), la.Lng+max(0, d)
	return e
}

// between reports whether m lies strictly inside the minor arc from a to
// b, whose great circle has axis n (a × b, normalized).
func between(a, m, b, n vec3) bool {
	return dot(cross(a, m), n) > 0 && dot(cross(m, b), n) > 0
}

// lngDelta is the change of longitude from a to b the short way round, in
// (-180, 180].
func lngDelta(a, b float64) float64 {
	d := math.Mod(b-a, 360)
	switch {
	case d > 180:
		d -= 360
	case d <= -180:
		d += 360
	}
	return d
}

// segmentMeetsRect clips segment ab, straight in longitude/latitude, to r
// (Liang–Barsky).
func segmentMeetsRect(a, b LatLng, r Rect) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b.Lng-a.Lng, b.Lat-a.Lat
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
	return clip(-dx, a.Lng-r.Lng0) && clip(dx, r.Lng1-a.Lng) &&
		clip(-dy, a.Lat-r.Lat0) && clip(dy, r.Lat1-a.Lat)
}

// capBound bounds the cap of angular radius r (radians) centred at c.
func capBound(c LatLng, r float64) bound {
	const margin = 1e-7 // degrees, ~1 cm: float slack
	dLat := degrees(r) + margin
	b := bound{max(-90, c.Lat-dLat), min(90, c.Lat+dLat), -180, 180}
	if r >= math.Pi/2 || c.Lat-dLat <= -90 || c.Lat+dLat >= 90 {
		// The cap holds a pole (or is a hemisphere or more): every
		// longitude, from the pole to its lower latitude.
		return b
	}
	// The widest longitude extent of a cap of angular radius r centred at
	// latitude φ is asin(sin r / cos φ).
	sin := math.Sin(r) / math.Cos(radians(c.Lat))
	if sin >= 1 {
		return b
	}
	dLng := degrees(math.Asin(sin)) + margin
	b.lng0, b.lng1 = c.Lng-dLng, c.Lng+dLng
	return b
}

// capMeetsRect reports whether the spherical cap of angular radius r
// centred at c meets r. The rectangle's nearest point to the centre lies
// on the centre's meridian if the rectangle spans that longitude (at the
// nearest latitude in it), and otherwise on one of its two bounding
// meridians; along a meridian, the cosine of the distance to the centre
// is A·cos φ + B·sin φ, largest at φ* = atan2(B, A) or at an end of the
// segment.
func capMeetsRect(c LatLng, r float64, b Rect) bool {
	const slack = 1e-9 // radians, ~6 mm: float slack
	if r >= math.Pi {
		return true
	}
	limit := r + slack
	dLng := math.Mod(c.Lng-b.Lng0, 360)
	if dLng < 0 {
		dLng += 360
	}
	if dLng <= b.Lng1-b.Lng0 { // the rectangle spans the centre's longitude
		return radians(max(0, b.Lat0-c.Lat, c.Lat-b.Lat1)) <= limit
	}
	phiC := radians(c.Lat)
	best := -1.0 // the largest cosine of a distance
	for _, edge := range [2]float64{b.Lng0, b.Lng1} {
		a := math.Cos(phiC) * math.Cos(radians(edge-c.Lng))
		bb := math.Sin(phiC)
		cos := func(phi float64) float64 { return a*math.Cos(phi) + bb*math.Sin(phi) }
		lo, hi := radians(max(b.Lat0, -90)), radians(min(b.Lat1, 90))
		best = max(best, cos(lo), cos(hi))
		if star := math.Atan2(bb, a); star > lo && star < hi {
			best = max(best, cos(star))
		}
	}
	return math.Acos(max(-1, min(1, best))) <= limit
}

// bound is a latitude range and a longitude range running east from lng0
// to lng1, which may lie outside [-180, 180] (it wraps) and spans every
// longitude when lng1-lng0 ≥ 360.
type bound struct{ lat0, lat1, lng0, lng1 float64 }

var world = bound{-90, 90, -180, 180}

func (b bound) fullLng() bool { return b.lng1-b.lng0 >= 360 }

// meets reports whether b, widened by slack, meets r.
func (b bound) meets(r Rect) bool {
	if b.lat0 > r.Lat1+slack || b.lat1 < r.Lat0-slack {
		return false
	}
	if b.fullLng() {
		return true
	}
	// How far east of r's start b starts: inside r, or far enough east
	// to wrap round to it.
	d := math.Mod(b.lng0-slack-r.Lng0, 360)
	if d < 0 {
		d += 360
	}
	return d <= r.Lng1-r.Lng0 || d+(b.lng1-b.lng0)+2*slack >= 360
}

// rects returns b as rectangles: one, or two across the antimeridian.
func (b bound) rects() []Rect {
	if b.fullLng() {
		return []Rect{{-180, b.lat0, 180, b.lat1}}
	}
	lo := math.Mod(b.lng0, 360)
	switch {
	case lo < -180:
		lo += 360
	case lo >= 180:
		lo -= 360
	}
	hi := lo + (b.lng1 - b.lng0)
	if hi <= 180 {
		return []Rect{{lo, b.lat0, hi, b.lat1}}
	}
	return []Rect{{lo, b.lat0, 180, b.lat1}, {-180, b.lat0, hi - 360, b.lat1}}
}

// hull is the smallest bound holding all of bs: their latitudes' range,
// and the shortest longitude range holding all of theirs, which starts
// where one of theirs does.
func hull(bs []bound) bound {
	h := bound{90, -90, 0, 360}
	for _, b := range bs {
		h.lat0, h.lat1 = min(h.lat0, b.lat0), max(h.lat1, b.lat1)
	}
	for _, s := range bs {
		if s.fullLng() {
			continue
		}
		span := 0.0
		for _, b := range bs {
			if b.fullLng() {
				span = 360
				break
			}
			off := math.Mod(b.lng0-s.lng0, 360)
			if off < 0 {
				off += 360
			}
			span = max(span, off+(b.lng1-b.lng0))
		}
		if span < h.lng1-h.lng0 {
			h.lng0, h.lng1 = s.lng0, s.lng0+span
		}
	}
	if h.fullLng() {
		h.lng0, h.lng1 = -180, 180
	}
	return h
}
