package geo

import "math"

// EarthRadius is the radius in meters of the sphere circles are drawn on:
// the server's default earth-radius-meters.
const EarthRadius = 6371000.0

// Kind is the type of a parsed GeoJSON value.
type Kind uint8

// The kinds of shapes.
const (
	Point   Kind = iota + 1
	Circle       // "AeroCircle": {"type": "AeroCircle", "coordinates": [[lng, lat], radiusMeters]}
	Polygon      // a "Polygon", or a "MultiPolygon": the union of its polygons
)

// LatLng is a position in degrees.
type LatLng struct{ Lat, Lng float64 }

// Shape is a parsed GeoJSON value.
type Shape struct {
	Kind Kind
	// Pos is the point, or the circle's centre.
	Pos    LatLng
	Radius float64 // a circle's, in meters

	// polys are the polygons of a Polygon (one) or MultiPolygon, each a
	// list of loops without the closing vertex.
	polys [][][]LatLng
}

// IsRegion reports whether s is a region (not a point).
func (s *Shape) IsRegion() bool { return s.Kind != Point }

// Match is the server's geo comparison of a candidate (a record's value)
// against a query: a candidate region must contain a query point, a
// candidate point must lie within a query region; a point never matches a
// point, nor a region a region.
func Match(candidate, query *Shape) bool {
	switch {
	case !query.IsRegion() && candidate.IsRegion():
		return candidate.Contains(query.Pos)
	case query.IsRegion() && !candidate.IsRegion():
		return query.Contains(candidate.Pos)
	}
	return false
}

// Contains reports whether region s contains p. A point contains nothing.
func (s *Shape) Contains(p LatLng) bool {
	switch s.Kind {
	case Circle:
		return Distance(s.Pos, p) <= s.Radius
	case Polygon:
		for _, poly := range s.polys {
			in := false
			for _, loop := range poly {
				if loopContains(loop, p) {
					in = !in
				}
			}
			if in {
				return true
			}
		}
	}
	return false
}

// Distance is the great-circle distance in meters (haversine) on a sphere
// of EarthRadius.
func Distance(a, b LatLng) float64 {
	lat1, lat2 := radians(a.Lat), radians(b.Lat)
	dLat, dLng := lat2-lat1, radians(b.Lng-a.Lng)
	h := sq(math.Sin(dLat/2)) + math.Cos(lat1)*math.Cos(lat2)*sq(math.Sin(dLng/2))
	return 2 * EarthRadius * math.Asin(math.Sqrt(min(1, h)))
}

func radians(deg float64) float64 { return deg * math.Pi / 180 }
func degrees(rad float64) float64 { return rad * 180 / math.Pi }
func sq(x float64) float64        { return x * x }

// vec3 is a point on the unit sphere, or a direction.
type vec3 struct{ x, y, z float64 }

func (v LatLng) vec() vec3 {
	lat, lng := radians(v.Lat), radians(v.Lng)
	return vec3{math.Cos(lat) * math.Cos(lng), math.Cos(lat) * math.Sin(lng), math.Sin(lat)}
}

func dot(a, b vec3) float64 { return a.x*b.x + a.y*b.y + a.z*b.z }

func cross(a, b vec3) vec3 {
	return vec3{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}

func (v vec3) norm() float64 { return math.Sqrt(dot(v, v)) }

// visible is how far above p's horizon (as a dot product) every vertex of
// a loop must be for the loop to be projected around p.
const visible = 1e-9

// tangent is a gnomonic projection: the plane touching the sphere at c,
// with its east and north directions. It maps the open hemisphere around c
// onto the plane, and great circles onto lines.
type tangent struct{ c, east, north vec3 }

func newTangent(c vec3) tangent {
	east := cross(vec3{0, 0, 1}, c)
	if n := east.norm(); n > 1e-12 {
		east = vec3{east.x / n, east.y / n, east.z / n}
	} else { // at a pole any tangent direction will do
		east = vec3{0, 1, 0}
	}
	return tangent{c: c, east: east, north: cross(c, east)}
}

// project maps w, which must lie in the hemisphere around t.c (d > 0).
func (t *tangent) project(w vec3, d float64) [2]float64 {
	return [2]float64{dot(w, t.east) / d, dot(w, t.north) / d}
}

// loopContains reports whether loop contains p, by counting the crossings
// of a ray from p with the loop's edges in the gnomonic projection around
// the loop's center, where its geodesic edges are straight. The projection
// is the loop's, whatever p, so a point sees the same loop from anywhere:
// one outside the loop's hemisphere is outside it (a loop's interior is
// its smaller side). Only a loop too large for any hemisphere around its
// center falls back to longitude/latitude.
func loopContains(loop []LatLng, p LatLng) bool {
	var sum vec3
	for _, v := range loop {
		w := v.vec()
		sum = vec3{sum.x + w.x, sum.y + w.y, sum.z + w.z}
	}
	n := sum.norm()
	if n < 1e-12 {
		return planarContains(loop, p)
	}
	c := vec3{sum.x / n, sum.y / n, sum.z / n}
	t := newTangent(c)
	var ring [64][2]float64
	pts := ring[:0]
	for _, v := range loop {
		w := v.vec()
		d := dot(w, c)
		if d <= visible {
			return planarContains(loop, p)
		}
		pts = append(pts, t.project(w, d))
	}
	w := p.vec()
	d := dot(w, c)
	if d <= visible {
		return false
	}
	q := t.project(w, d)
	return crossings(pts, q[0], q[1])
}

// planarContains casts the ray in longitude/latitude, for loops too large to
// project.
func planarContains(loop []LatLng, p LatLng) bool {
	pts := make([][2]float64, len(loop))
	for i, v := range loop {
		pts[i] = [2]float64{v.Lng, v.Lat}
	}
	return crossings(pts, p.Lng, p.Lat)
}

// crossings is the even-odd rule: whether a ray from (x, y) towards +x
// crosses the closed polygon pts an odd number of times.
func crossings(pts [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
		xi, yi, xj, yj := pts[i][0], pts[i][1], pts[j][0], pts[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}
