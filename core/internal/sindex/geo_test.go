package sindex

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// The region and points of the official client's geo_test.go.
const clientRegion = `{
    "type": "Polygon",
    "coordinates": [
        [[-122.500000, 37.000000],[-121.000000, 37.000000],
         [-121.000000, 38.080000],[-122.500000, 38.080000],
         [-122.500000, 37.000000]]
    ]
}`

// clientPoint is point i of the client's test: lng -122+0.1i, lat 37.5+0.1i.
func clientPoint(i int) string {
	return fmt.Sprintf(`{ "type": "Point", "coordinates": [%f, %f] }`, -122.0+0.1*float64(i), 37.5+0.1*float64(i))
}

func clientCircle(lng, lat, radius float64) string {
	return fmt.Sprintf("{ \"type\": \"AeroCircle\", "+"\"coordinates\": [[%.8f, %.8f], %f] }", lng, lat, radius)
}

// geoIndex indexes GeoJSON bin values under digests 0, 1, ...
func geoIndex(tb testing.TB, values []string) *Index {
	tb.Helper()
	x := New(Def{Namespace: "t", Name: "g", Bin: "loc", Type: Geo2DSphere})
	for i, v := range values {
		keys := x.Keys(nil, proto.ParticleGeoJSON, geoBin(v))
		if len(keys) == 0 {
			tb.Fatalf("value %d gives no keys: %s", i, v)
		}
		x.Insert(digestN(uint16(i), uint64(i)), keys...)
	}
	return x
}

// pointsWithin runs a points-within-region query the way the node will:
// candidates from the index, then the exact check.
func pointsWithin(tb testing.TB, x *Index, values []string, region string) (candidates, matches []int) {
	tb.Helper()
	ranges, err := PointsWithin([]byte(region))
	if err != nil {
		tb.Fatal(err)
	}
	x.RangeCells(ranges, nil, nil, func(k Key, d storage.Digest) bool {
		i := int(d.Partition())
		candidates = append(candidates, i)
		ok, err := PointInRegion([]byte(values[i]), []byte(region))
		if err != nil {
			tb.Fatal(err)
		}
		if ok {
			matches = append(matches, i)
		}
		return true
	})
	slices.Sort(matches)
	return candidates, matches
}

func TestGeoClientPointsInRegion(t *testing.T) {
	var points []string
	for i := range 20 {
		points = append(points, clientPoint(i))
	}
	x := geoIndex(t, points)
	_, got := pointsWithin(t, x, points, clientRegion)
	if want := []int{0, 1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("points in the client's region: %v, want %v", got, want)
	}
	// The client's radius query: 50 km around (-122, 37.5) holds 4 points.
	_, got = pointsWithin(t, x, points, clientCircle(-122, 37.5, 50000))
	if want := []int{0, 1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("points in the client's circle: %v, want %v", got, want)
	}
}

func TestGeoClientRegionsContainingPoint(t *testing.T) {
	regions := []string{clientRegion,
		`{"type": "Polygon", "coordinates": [[[10, 10], [11, 10], [11, 11], [10, 11], [10, 10]]]}`,
		clientCircle(-121.7, 37.8, 1000),
	}
	x := geoIndex(t, regions)
	for _, p := range []string{
		`{ "type": "Point", "coordinates": [-122.000000, 37.500000] }`,
		`{ "type": "Point", "coordinates": [-121.700000, 37.800000] }`,
		`{ "type": "Point", "coordinates": [-121.900000, 37.600000] }`,
		`{ "type": "Point", "coordinates": [-121.800000, 37.700000] }`,
		`{ "type": "Point", "coordinates": [-121.600000, 37.900000] }`,
		`{ "type": "Point", "coordinates": [-121.500000, 38.000000] }`,
	} {
		keys, err := RegionsContaining([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		var found []int
		x.EqualKeys(keys, nil, nil, func(k Key, d storage.Digest) bool {
			i := int(d.Partition())
			ok, err := RegionContainsPoint([]byte(regions[i]), []byte(p))
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				found = append(found, i)
			}
			return true
		})
		want := []int{0}
		if p == `{ "type": "Point", "coordinates": [-121.700000, 37.800000] }` {
			want = []int{0, 2} // also the centre of the small circle
		}
		if slices.Sort(found); !slices.Equal(found, want) {
			t.Errorf("regions containing %s: %v, want %v", p, found, want)
		}
	}
}

func TestGeoPredicates(t *testing.T) {
	holed := `{"type": "Polygon", "coordinates": [
		[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
		[[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]]}`
	multi := `{"type": "MultiPolygon", "coordinates": [
		[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
		[[[20, 20], [21, 20], [21, 21], [20, 21], [20, 20]]]]}`
	concave := `{"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [5, 2], [0, 10], [0, 0]]]}`
	pt := func(lon, lat float64) string {
		return fmt.Sprintf(`{"type": "Point", "coordinates": [%v, %v]}`, lon, lat)
	}
	for _, tc := range []struct {
		region   string
		lon, lat float64
		want     bool
	}{
		{holed, 2, 2, true},
		{holed, 5, 5, false}, // in the hole
		{holed, 11, 5, false},
		{holed, 6.5, 5, true},
		{multi, 0.5, 0.5, true},
		{multi, 20.5, 20.9, true},
		{multi, 10, 10, false},
		{concave, 5, 1, true},
		{concave, 5, 5, false}, // in the notch
		{concave, 1, 8, true},
		// London–Paris is about 343.5 km.
		{clientCircle(-0.1276, 51.5072, 344000), 2.3522, 48.8566, true},
		{clientCircle(-0.1276, 51.5072, 343000), 2.3522, 48.8566, false},
		// Across the antimeridian, and at the pole.
		{clientCircle(179.9, 0, 50000), -179.9, 0, true},
		{clientCircle(179.9, 0, 50000), -179.0, 0, false},
		{clientCircle(0, 89.9, 50000), 180, 89.9, true},
		{clientCircle(0, 89.9, 50000), 0, 89.0, false},
	} {
		got, err := PointInRegion([]byte(pt(tc.lon, tc.lat)), []byte(tc.region))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PointInRegion([%v, %v], %.60s) = %v, want %v", tc.lon, tc.lat, tc.region, got, tc.want)
		}
	}
	// A point is not a region, a region not a point.
	if ok, err := PointInRegion([]byte(pt(1, 1)), []byte(pt(1, 1))); ok || err != nil {
		t.Errorf("point in point: %v, %v", ok, err)
	}
	if ok, err := PointInRegion([]byte(holed), []byte(holed)); ok || err != nil {
		t.Errorf("region in region: %v, %v", ok, err)
	}
}

func TestParseGeoJSONErrors(t *testing.T) {
	for _, bad := range []string{
		``, `{`, `[]`, `{"type": "Point"}`, `{"type": "Point", "coordinates": [1]}`,
		`{"type": "Point", "coordinates": [181, 0]}`, `{"type": "Point", "coordinates": [0, -91]}`,
		`{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}`,
		`{"type": "Polygon", "coordinates": []}`,
		`{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}`,
		`{"type": "MultiPolygon", "coordinates": []}`,
		`{"type": "AeroCircle", "coordinates": [[0, 0]]}`,
		`{"type": "AeroCircle", "coordinates": [[0, 0], -1]}`,
		`{"type": "AeroCircle", "coordinates": [[0, 200], 1]}`,
		`{"type": "point", "coordinates": [0, 0]}`,
	} {
		if _, err := ParseGeoJSON([]byte(bad)); !errors.Is(err, ErrGeoJSON) {
			t.Errorf("ParseGeoJSON(%q): %v", bad, err)
		}
	}
	if _, err := PointsWithin([]byte(`{"type": "Point", "coordinates": [0, 0]}`)); !errors.Is(err, ErrGeoJSON) {
		t.Errorf("PointsWithin(point): %v", err)
	}
	if _, err := RegionsContaining([]byte(clientRegion)); !errors.Is(err, ErrGeoJSON) {
		t.Errorf("RegionsContaining(region): %v", err)
	}
	// An unclosed ring and an altitude are accepted.
	if _, err := ParseGeoJSON([]byte(`{"type": "Polygon", "coordinates": [[[0, 0, 5], [1, 0, 5], [1, 1, 5]]]}`)); err != nil {
		t.Errorf("unclosed ring: %v", err)
	}
}

func TestCells(t *testing.T) {
	leafID := PointCell(-122.4194, 37.7749)
	if !IsLeafCell(leafID) {
		t.Fatal("PointCell is not a leaf")
	}
	if l, ok := CellLevel(leafID); !ok || l != MaxLevel {
		t.Fatalf("leaf level %d %v", l, ok)
	}
	prev := CellRange{math.MinInt64, math.MaxInt64}
	for l := 0; l <= MaxLevel; l++ {
		a := ancestor(leafID, l)
		if got, ok := CellLevel(a); !ok || got != l {
			t.Fatalf("ancestor at %d has level %d %v", l, got, ok)
		}
		r := CellRangeOf(a)
		if leafID < r.Lo || leafID > r.Hi || r.Lo < prev.Lo || r.Hi > prev.Hi || a < r.Lo || a > r.Hi {
			t.Fatalf("level %d range %v does not nest (leaf %d, parent range %v)", l, r, leafID, prev)
		}
		prev = r
	}
	if r := CellRangeOf(ancestor(leafID, 0)); r.Lo != 1 || r.Hi != 1<<61-1 {
		t.Fatalf("level 0 covers %v", r)
	}
	if ancestor(leafID, MaxLevel) != leafID {
		t.Fatal("a leaf's level-30 ancestor is itself")
	}
	for _, k := range []Key{0, -1, 1 << 61, 2} { // 2: trailing zeros odd
		if _, ok := CellLevel(k); ok {
			t.Errorf("CellLevel(%d) ok", k)
		}
	}
	// Corners map inside.
	for _, p := range [][2]float64{{-180, -90}, {180, 90}, {180, -90}, {-180, 90}, {0, 0}} {
		if k := PointCell(p[0], p[1]); !IsLeafCell(k) {
			t.Errorf("PointCell(%v) = %d", p, k)
		}
	}
}

// TestCoveringProperty checks, for random regions and points, that every
// point a region contains is found both ways: its leaf lies in the region's
// query ranges, and one of its ancestors is in the region's stored
// covering. It also bounds the covering's size.
func TestCoveringProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	inRanges := func(rs []CellRange, k Key) bool {
		for _, c := range rs {
			if k >= c.Lo && k <= c.Hi {
				return true
			}
		}
		return false
	}
	randomRegion := func() string {
		lon, lat := r.Float64()*360-180, r.Float64()*180-90
		switch r.IntN(3) {
		case 0: // circles from 10 m to 3000 km, some around a pole
			if r.IntN(8) == 0 {
				lat = math.Copysign(85+r.Float64()*5, lat)
			}
			return clientCircle(lon, lat, math.Pow(10, 1+r.Float64()*5.5))
		case 1: // a random star-shaped polygon
			size := math.Pow(10, -4+r.Float64()*5)
			n := 3 + r.IntN(8)
			var ring [][2]float64
			for i := range n {
				a := 2 * math.Pi * float64(i) / float64(n)
				d := size * (0.3 + r.Float64())
				ring = append(ring, [2]float64{
					max(-180, min(180, lon+d*math.Cos(a))), max(-90, min(90, lat+d*math.Sin(a)))})
			}
			ring = append(ring, ring[0])
			return fmt.Sprintf(`{"type": "Polygon", "coordinates": [%s]}`, mustJSON(ring))
		default: // a thin diagonal polygon
			d := math.Pow(10, -3+r.Float64()*3)
			lon, lat = max(-170, min(170, lon)), max(-80, min(80, lat))
			return fmt.Sprintf(`{"type": "Polygon", "coordinates": [[[%v, %v], [%v, %v], [%v, %v], [%v, %v]]]}`,
				lon, lat, lon+d, lat+d, lon+d, lat+d*1.01, lon, lat+d*0.01)
		}
	}
	withInside := 0
	for i := range 300 {
		text := randomRegion()
		s, err := ParseGeoJSON([]byte(text))
		if err != nil {
			t.Fatalf("region %d: %v\n%s", i, err, text)
		}
		cover := s.appendCovering(nil, MaxCovering)
		if len(cover) == 0 || len(cover) > MaxCovering {
			t.Fatalf("region %d: covering of %d cells", i, len(cover))
		}
		ranges := s.CellRanges()
		// Sample points near the region: inside ones must be found.
		lon0, lat0, lon1, lat1 := s.box.lon0, s.box.lat0, s.box.lon1, s.box.lat1
		if s.Kind == ShapeCircle {
			dLat := s.Radius / EarthRadius * 180 / math.Pi
			lon0, lon1 = s.Lon-3*dLat, s.Lon+3*dLat
			lat0, lat1 = s.Lat-1.5*dLat, s.Lat+1.5*dLat
			if i%2 == 0 || lat0 < -80 || lat1 > 80 { // every longitude: poles, antimeridian
				lon0, lon1 = -180, 180
			}
		}
		inside := 0
		for range 300 {
			lon := lon0 + r.Float64()*(lon1-lon0)
			lat := max(-90, min(90, lat0+r.Float64()*(lat1-lat0)))
			lon = math.Mod(lon+540, 360) - 180
			if !s.ContainsPoint(lon, lat) {
				continue
			}
			inside++
			leafID := PointCell(lon, lat)
			if !inRanges(ranges, leafID) {
				t.Fatalf("region %d: contained point [%v, %v] outside the query ranges\n%s", i, lon, lat, text)
			}
			anc := PointAncestors(lon, lat)
			if !slices.ContainsFunc(cover, func(k Key) bool { return slices.Contains(anc, k) }) {
				t.Fatalf("region %d: contained point [%v, %v] under no covering cell\n%s", i, lon, lat, text)
			}
		}
		if inside > 0 {
			withInside++
		}
	}
	if withInside < 150 {
		t.Fatalf("only %d regions had sampled points inside", withInside)
	}
}

func mustJSON(ring [][2]float64) string {
	s := "["
	for i, p := range ring {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("[%v, %v]", p[0], p[1])
	}
	return s + "]"
}

// TestCoveringPrecision reports how tight coverings are: the area of the
// query cells over the region's own, for a few typical regions.
func TestCoveringPrecision(t *testing.T) {
	for _, tc := range []struct {
		name, region string
		maxRatio     float64
	}{
		{"client polygon", clientRegion, 3},
		{"1 km circle", clientCircle(-122, 37.5, 1000), 6},
		{"50 km circle", clientCircle(-122, 37.5, 50000), 6},
	} {
		s, err := ParseGeoJSON([]byte(tc.region))
		if err != nil {
			t.Fatal(err)
		}
		var cellArea float64
		for _, c := range s.covering(maxQueryCovering) {
			b := cellBox(c.level, c.cx, c.cy)
			cellArea += (b.lon1 - b.lon0) * (b.lat1 - b.lat0)
		}
		var area float64 // in square degrees, by sampling the bounding box of the covering
		if s.Kind == ShapeCircle {
			dLat := s.Radius / EarthRadius * 180 / math.Pi
			area = math.Pi * dLat * dLat / math.Cos(s.Lat*math.Pi/180)
		} else {
			area = (s.box.lon1 - s.box.lon0) * (s.box.lat1 - s.box.lat0)
		}
		ratio := cellArea / area
		t.Logf("%s: %d query cells, %d stored cells, cell area / region area %.2f",
			tc.name, len(s.covering(maxQueryCovering)), len(s.covering(MaxCovering)), ratio)
		if ratio > tc.maxRatio {
			t.Errorf("%s: covering %.1f× the region", tc.name, ratio)
		}
	}
}
