package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// The server's geometry comes from S2: a point is a leaf cell, a polygon a
// set of loops with geodesic edges, a circle (AeroCircle) a spherical cap.
// This file keeps the same model with plain spherical geometry: a cap
// contains the points within its radius by great-circle (haversine)
// distance, and a loop contains a point by ray casting in the gnomonic
// projection centred on the point, where geodesic edges are straight.
// Loops that reach beyond the point's hemisphere fall back to ray casting in
// longitude/latitude. As with S2's normalized loops, a loop's inside is its
// smaller side, and a polygon contains what an odd number of its loops do
// (holes); a MultiPolygon is the union of its polygons.

// earthRadius is the server's default geo2dsphere-within-earth-radius-meters.
const earthRadius = 6371000.0

type shapeKind uint8

const (
	shapePoint shapeKind = iota
	shapeCircle
	shapePolygons
)

// shape is a parsed GeoJSON value.
type shape struct {
	kind shapeKind
	// pt is the point, or the circle's centre.
	pt     latLng
	radius float64 // meters
	// polys are the polygons of a Polygon (one) or MultiPolygon, each a
	// list of loops without the closing vertex.
	polys [][][]latLng
}

// latLng is a position in degrees.
type latLng struct{ lat, lng float64 }

func (s *shape) isRegion() bool { return s.kind != shapePoint }

// geoMatch is the server's geo comparison of candidate against query:
// a candidate region must contain a query point, a candidate point must lie
// within a query region; a point never matches a point, nor a region a
// region.
func geoMatch(candidate, query *shape) bool {
	switch {
	case !query.isRegion() && candidate.isRegion():
		return candidate.contains(query.pt)
	case query.isRegion() && !candidate.isRegion():
		return query.contains(candidate.pt)
	}
	return false
}

// contains reports whether region s contains p.
func (s *shape) contains(p latLng) bool {
	switch s.kind {
	case shapeCircle:
		return distance(s.pt, p) <= s.radius
	case shapePolygons:
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

// distance is the great-circle distance in meters (haversine).
func distance(a, b latLng) float64 {
	lat1, lat2 := radians(a.lat), radians(b.lat)
	dLat, dLng := lat2-lat1, radians(b.lng-a.lng)
	h := sq(math.Sin(dLat/2)) + math.Cos(lat1)*math.Cos(lat2)*sq(math.Sin(dLng/2))
	return 2 * earthRadius * math.Asin(math.Sqrt(min(1, h)))
}

func radians(deg float64) float64 { return deg * math.Pi / 180 }
func sq(x float64) float64        { return x * x }

type vec3 struct{ x, y, z float64 }

func (v latLng) vec() vec3 {
	lat, lng := radians(v.lat), radians(v.lng)
	return vec3{math.Cos(lat) * math.Cos(lng), math.Cos(lat) * math.Sin(lng), math.Sin(lat)}
}

func dot(a, b vec3) float64 { return a.x*b.x + a.y*b.y + a.z*b.z }

func cross(a, b vec3) vec3 {
	return vec3{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}

// loopContains reports whether loop contains p, by counting the crossings
// of a ray from p with the loop's edges.
func loopContains(loop []latLng, p latLng) bool {
	// Gnomonic projection centred on p: vertex v maps to its direction
	// from p in the tangent plane, scaled by 1/(v·p). It is defined for
	// the hemisphere around p, and maps great circles to lines.
	c := p.vec()
	east := cross(vec3{0, 0, 1}, c)
	if n := math.Sqrt(dot(east, east)); n > 1e-12 {
		east = vec3{east.x / n, east.y / n, east.z / n}
	} else { // at a pole any tangent direction will do
		east = vec3{0, 1, 0}
	}
	north := cross(c, east)
	var ring [64][2]float64
	pts := ring[:0]
	for _, v := range loop {
		w := v.vec()
		d := dot(w, c)
		if d <= 1e-9 {
			return planarContains(loop, p)
		}
		pts = append(pts, [2]float64{dot(w, east) / d, dot(w, north) / d})
	}
	return crossings(pts, 0, 0)
}

// planarContains casts the ray in longitude/latitude, for loops too large to
// project.
func planarContains(loop []latLng, p latLng) bool {
	pts := make([][2]float64, len(loop))
	for i, v := range loop {
		pts[i] = [2]float64{v.lng, v.lat}
	}
	return crossings(pts, p.lng, p.lat)
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

// parseGeoJSON parses the GeoJSON the server accepts: a Point, Polygon,
// MultiPolygon or AeroCircle geometry, or a Feature holding one.
func parseGeoJSON(text []byte) (*shape, error) {
	obj, err := jsonObject(text)
	if err != nil {
		return nil, err
	}
	typ, err := jsonString(obj["type"])
	if err != nil {
		return nil, fmt.Errorf("type: %w", err)
	}
	if typ == "Feature" {
		if obj, err = jsonObject(obj["geometry"]); err != nil {
			return nil, fmt.Errorf("geometry: %w", err)
		}
		if typ, err = jsonString(obj["type"]); err != nil {
			return nil, fmt.Errorf("geometry type: %w", err)
		}
	}
	coords := obj["coordinates"]
	s := &shape{}
	switch typ {
	case "Point":
		s.kind = shapePoint
		s.pt, err = parsePosition(coords)
	case "AeroCircle":
		s.kind = shapeCircle
		var parts []json.RawMessage
		if parts, err = jsonArray(coords); err == nil {
			if len(parts) != 2 {
				return nil, errors.New("circle is not [center, radius]")
			}
			if s.pt, err = parsePosition(parts[0]); err == nil {
				s.radius, err = jsonNumber(parts[1])
			}
		}
	case "Polygon":
		s.kind = shapePolygons
		var poly [][]latLng
		if poly, err = parsePolygon(coords); err == nil {
			s.polys = [][][]latLng{poly}
		}
	case "MultiPolygon":
		s.kind = shapePolygons
		var parts []json.RawMessage
		if parts, err = jsonArray(coords); err == nil {
			for _, part := range parts {
				poly, err := parsePolygon(part)
				if err != nil {
					return nil, err
				}
				s.polys = append(s.polys, poly)
			}
		}
	default:
		return nil, fmt.Errorf("unknown geometry type %q", typ)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	return s, nil
}

func parsePolygon(raw json.RawMessage) ([][]latLng, error) {
	loops, err := jsonArray(raw)
	if err != nil {
		return nil, err
	}
	poly := make([][]latLng, 0, len(loops))
	for _, l := range loops {
		loop, err := parseLoop(l)
		if err != nil {
			return nil, err
		}
		poly = append(poly, loop)
	}
	return poly, nil
}

// parseLoop parses a closed ring of at least four distinct consecutive
// positions and returns it without the closing one.
func parseLoop(raw json.RawMessage) ([]latLng, error) {
	verts, err := jsonArray(raw)
	if err != nil {
		return nil, err
	}
	loop := make([]latLng, 0, len(verts))
	for _, v := range verts {
		p, err := parsePosition(v)
		if err != nil {
			return nil, err
		}
		if len(loop) > 0 && loop[len(loop)-1] == p {
			continue
		}
		loop = append(loop, p)
	}
	if len(loop) < 4 {
		return nil, errors.New("loop of less than 4 points")
	}
	if loop[0] != loop[len(loop)-1] {
		return nil, errors.New("loop not closed")
	}
	return loop[:len(loop)-1], nil
}

// parsePosition parses [longitude, latitude].
func parsePosition(raw json.RawMessage) (latLng, error) {
	parts, err := jsonArray(raw)
	if err != nil {
		return latLng{}, err
	}
	if len(parts) != 2 {
		return latLng{}, fmt.Errorf("position of %d coordinates", len(parts))
	}
	lng, err := jsonNumber(parts[0])
	if err != nil {
		return latLng{}, err
	}
	lat, err := jsonNumber(parts[1])
	if err != nil {
		return latLng{}, err
	}
	if math.Abs(lat) > 90 || math.Abs(lng) > 180 {
		return latLng{}, fmt.Errorf("invalid position [%g, %g]", lng, lat)
	}
	return latLng{lat: lat, lng: lng}, nil
}

// The json helpers check the JSON kind themselves: encoding/json would
// silently accept null for any of them.

func jsonObject(raw []byte) (map[string]json.RawMessage, error) {
	if first(raw) != '{' {
		return nil, errors.New("not an object")
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(raw, &m)
}

func jsonArray(raw []byte) ([]json.RawMessage, error) {
	if first(raw) != '[' {
		return nil, errors.New("not an array")
	}
	var a []json.RawMessage
	return a, json.Unmarshal(raw, &a)
}

func jsonString(raw []byte) (string, error) {
	if first(raw) != '"' {
		return "", errors.New("not a string")
	}
	var s string
	return s, json.Unmarshal(raw, &s)
}

func jsonNumber(raw []byte) (float64, error) {
	if c := first(raw); c != '-' && (c < '0' || c > '9') {
		return 0, errors.New("not a number")
	}
	var f float64
	return f, json.Unmarshal(raw, &f)
}

func first(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}
