package sindex

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/skiffdb/skiff/core/internal/geo"
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
	inRegion := func(v []byte) (bool, error) { return PointInRegion(v, []byte(region)) }
	x.RangeCells(ranges, nil, nil, check(tb, values, inRegion, &candidates, &matches))
	slices.Sort(matches)
	return candidates, matches
}

// check returns a walk callback that checks each candidate, value i of
// values, with match, and collects candidates and matches.
func check(tb testing.TB, values []string, match func(value []byte) (bool, error), candidates, matches *[]int) func(Key, storage.Digest) bool {
	return func(k Key, d storage.Digest) bool {
		i := int(d.Partition())
		*candidates = append(*candidates, i)
		ok, err := match([]byte(values[i]))
		if err != nil {
			tb.Fatal(err)
		}
		if ok {
			*matches = append(*matches, i)
		}
		return true
	}
}

// regionsContaining runs a regions-containing-point query the way the node
// does: candidates from the index, then the exact check. It returns the
// matches, sorted, each once.
func regionsContaining(tb testing.TB, x *Index, values []string, point string) []int {
	tb.Helper()
	keys, err := RegionsContaining([]byte(point))
	if err != nil {
		tb.Fatal(err)
	}
	var candidates, matches []int
	containing := func(v []byte) (bool, error) { return RegionContainsPoint(v, []byte(point)) }
	x.EqualKeys(keys, nil, nil, check(tb, values, containing, &candidates, &matches))
	slices.Sort(matches)
	return slices.Compact(matches)
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
		found := regionsContaining(t, x, regions, p)
		want := []int{0}
		if p == `{ "type": "Point", "coordinates": [-121.700000, 37.800000] }` {
			want = []int{0, 2} // also the centre of the small circle
		}
		if !slices.Equal(found, want) {
			t.Errorf("regions containing %s: %v, want %v", p, found, want)
		}
	}
}

// TestGeoPredicates checks the wrappers the node calls; the geometry has
// its own tests in package geo.
func TestGeoPredicates(t *testing.T) {
	holed := `{"type": "Polygon", "coordinates": [
		[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
		[[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]]}`
	pt := func(lon, lat float64) string {
		return fmt.Sprintf(`{"type": "Point", "coordinates": [%v, %v]}`, lon, lat)
	}
	for _, tc := range []struct {
		point, region string
		want          bool
	}{
		{pt(2, 2), holed, true},
		{pt(5, 5), holed, false}, // in the hole
		{pt(-122.2, 37.2), clientRegion, true},
		{pt(1, 1), pt(1, 1), false}, // a point is not a region
		{holed, holed, false},       // a region is not a point
		{holed, pt(2, 2), false},    // nor the other way round
		{pt(-122, 37.5), clientCircle(-122, 37.5, 1), true},
	} {
		got, err := PointInRegion([]byte(tc.point), []byte(tc.region))
		if err != nil || got != tc.want {
			t.Errorf("PointInRegion(%.40s, %.40s) = %v, %v, want %v", tc.point, tc.region, got, err, tc.want)
		}
		if got, err := RegionContainsPoint([]byte(tc.region), []byte(tc.point)); err != nil || got != tc.want {
			t.Errorf("RegionContainsPoint(%.40s, %.40s) = %v, %v, want %v", tc.region, tc.point, got, err, tc.want)
		}
	}
}

func TestParseGeoJSONErrors(t *testing.T) {
	for _, bad := range []string{``, `{"type": "Point"}`, `{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}`} {
		if _, err := ParseGeoJSON([]byte(bad)); !errors.Is(err, ErrGeoJSON) || ResultCode(err) != proto.GeoInvalidGeoJSON {
			t.Errorf("ParseGeoJSON(%q): %v", bad, err)
		}
		if _, err := PointInRegion([]byte(bad), []byte(clientRegion)); !errors.Is(err, ErrGeoJSON) {
			t.Errorf("PointInRegion(%q, region): %v", bad, err)
		}
		if _, err := PointInRegion([]byte(pointA), []byte(bad)); !errors.Is(err, ErrGeoJSON) {
			t.Errorf("PointInRegion(point, %q): %v", bad, err)
		}
	}
	if _, err := PointsWithin([]byte(`{"type": "Point", "coordinates": [0, 0]}`)); !errors.Is(err, ErrGeoJSON) {
		t.Errorf("PointsWithin(point): %v", err)
	}
	if _, err := RegionsContaining([]byte(clientRegion)); !errors.Is(err, ErrGeoJSON) {
		t.Errorf("RegionsContaining(region): %v", err)
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
		switch r.IntN(4) {
		case 3: // a longitude/latitude box, whose east-west edges bulge poleward
			size := math.Pow(10, -3+r.Float64()*4.5)
			lon, lat = max(-180, min(180-size, lon)), max(-89, min(89-size, lat))
			return fmt.Sprintf(`{"type": "Polygon", "coordinates": [[[%[1]v, %[2]v], [%[3]v, %[2]v], [%[3]v, %[4]v], [%[1]v, %[4]v], [%[1]v, %[2]v]]]}`,
				lon, lat, lon+size, lat+size)
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
			return fmt.Sprintf(`{"type": "Polygon", "coordinates": [[[%v, %v], [%v, %v], [%v, %v], [%v, %v], [%[1]v, %[2]v]]]}`,
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
		cover := appendCovering(nil, s.Shape, MaxCovering)
		if len(cover) == 0 || len(cover) > MaxCovering {
			t.Fatalf("region %d: covering of %d cells", i, len(cover))
		}
		ranges := s.CellRanges()
		// Sample points near the region, in its bounds and around them:
		// inside ones must be found.
		areas := geo.NewCover(s.Shape).Bounds()
		if s.Kind == geo.Circle {
			dLat := s.Radius / geo.EarthRadius * 180 / math.Pi
			areas = []geo.Rect{{Lng0: s.Pos.Lng - 3*dLat, Lng1: s.Pos.Lng + 3*dLat,
				Lat0: s.Pos.Lat - 1.5*dLat, Lat1: s.Pos.Lat + 1.5*dLat}}
			if i%2 == 0 || areas[0].Lat0 < -80 || areas[0].Lat1 > 80 { // every longitude: poles, antimeridian
				areas[0].Lng0, areas[0].Lng1 = -180, 180
			}
		}
		inside := 0
		for range 300 {
			a := areas[r.IntN(len(areas))]
			w, h := a.Lng1-a.Lng0, a.Lat1-a.Lat0
			lon := a.Lng0 - w/4 + r.Float64()*w*1.5
			lat := max(-90, min(90, a.Lat0-h/4+r.Float64()*h*1.5))
			lon = math.Mod(lon+540, 360) - 180
			if !s.Contains(geo.LatLng{Lat: lat, Lng: lon}) {
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
	if withInside < 200 {
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
		for _, c := range covering(s.Shape, maxQueryCovering) {
			b := cellRect(c.level, c.cx, c.cy)
			cellArea += (b.Lng1 - b.Lng0) * (b.Lat1 - b.Lat0)
		}
		var area float64 // in square degrees: the circle's, or the polygon's bounding box
		if s.Kind == geo.Circle {
			dLat := s.Radius / geo.EarthRadius * 180 / math.Pi
			area = math.Pi * dLat * dLat / math.Cos(s.Pos.Lat*math.Pi/180)
		} else {
			b := geo.NewCover(s.Shape).Bounds()[0]
			area = (b.Lng1 - b.Lng0) * (b.Lat1 - b.Lat0)
		}
		ratio := cellArea / area
		t.Logf("%s: %d query cells, %d stored cells, cell area / region area %.2f",
			tc.name, len(covering(s.Shape, maxQueryCovering)), len(covering(s.Shape, MaxCovering)), ratio)
		if ratio > tc.maxRatio {
			t.Errorf("%s: covering %.1f× the region", tc.name, ratio)
		}
	}
}

// PointInRegion, the test's reference, reports whether the GeoJSON point lies in the GeoJSON
// region (Polygon, MultiPolygon, AeroCircle). It is false, without error,
// when the first is not a point or the second not a region.
func PointInRegion(pointJSON, regionJSON []byte) (bool, error) {
	p, err := geo.Parse(pointJSON)
	if err != nil {
		return false, err
	}
	r, err := geo.Parse(regionJSON)
	if err != nil {
		return false, err
	}
	return p.Kind == geo.Point && r.Contains(p.Pos), nil
}

// RegionContainsPoint is PointInRegion with its arguments the other way
// round, as a regions-containing-point query has them (the record holds
// the region).
func RegionContainsPoint(regionJSON, pointJSON []byte) (bool, error) {
	return PointInRegion(pointJSON, regionJSON)
}
