package geo

import (
	"fmt"
	"testing"
)

func mustParse(tb testing.TB, text string) *Shape {
	tb.Helper()
	s, err := Parse([]byte(text))
	if err != nil {
		tb.Fatalf("%s: %v", text, err)
	}
	return s
}

func circle(lng, lat, radius float64) string {
	return fmt.Sprintf(`{"type":"AeroCircle","coordinates":[[%v,%v],%v]}`, lng, lat, radius)
}

func point(lng, lat float64) string {
	return fmt.Sprintf(`{"type":"Point","coordinates":[%v,%v]}`, lng, lat)
}

func TestContains(t *testing.T) {
	holed := `{"type": "Polygon", "coordinates": [
		[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
		[[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]]}`
	multi := `{"type": "MultiPolygon", "coordinates": [
		[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
		[[[20, 20], [21, 20], [21, 21], [20, 21], [20, 20]]]]}`
	concave := `{"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [5, 2], [0, 10], [0, 0]]]}`
	clockwise := `{"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}`
	for _, tc := range []struct {
		region   string
		lng, lat float64
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
		{clockwise, 0.5, 0.5, true}, // the smaller side, whatever the winding
		{clockwise, 2, 0.5, false},
		// London–Paris is about 343.5 km.
		{circle(-0.1276, 51.5072, 344000), 2.3522, 48.8566, true},
		{circle(-0.1276, 51.5072, 343000), 2.3522, 48.8566, false},
		// Across the antimeridian, and at the pole.
		{circle(179.9, 0, 50000), -179.9, 0, true},
		{circle(179.9, 0, 50000), -179.0, 0, false},
		{circle(0, 89.9, 50000), 180, 89.9, true},
		{circle(0, 89.9, 50000), 0, 89.0, false},
		{circle(10, 10, 0), 10, 10, true},
		{point(1, 1), 1, 1, false}, // a point contains nothing
	} {
		if got := mustParse(t, tc.region).Contains(LatLng{Lat: tc.lat, Lng: tc.lng}); got != tc.want {
			t.Errorf("[%v, %v] in %.60s: %v, want %v", tc.lng, tc.lat, tc.region, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	square := mustParse(t, `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`)
	in, out := mustParse(t, point(0.5, 0.5)), mustParse(t, point(2, 2))
	for _, tc := range []struct {
		name             string
		candidate, query *Shape
		want             bool
	}{
		{"point within region", in, square, true},
		{"point outside region", out, square, false},
		{"region containing point", square, in, true},
		{"region missing point", square, out, false},
		{"point vs point", in, in, false},
		{"region vs region", square, square, false},
	} {
		if got := Match(tc.candidate, tc.query); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestGeodesicEdges(t *testing.T) {
	// The top edge runs along a great circle from (-120, 40) to (-100,
	// 40), which bulges north to about 40.43°: (-110, 40.3) is inside, as
	// in S2, though a lat/lng rectangle would not hold it.
	poly := mustParse(t, `{"type":"Polygon","coordinates":[[[-120,30],[-100,30],[-100,40],[-120,40],[-120,30]]]}`)
	for _, tc := range []struct {
		p    LatLng
		want bool
	}{
		{LatLng{Lat: 40.3, Lng: -110}, true},
		{LatLng{Lat: 40.5, Lng: -110}, false},
		{LatLng{Lat: 35, Lng: -110}, true},
		{LatLng{Lat: 35, Lng: -99}, false},
		{LatLng{Lat: 29.9, Lng: -119.9}, false},
	} {
		if got := poly.Contains(tc.p); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.p, got, tc.want)
		}
	}
	// A loop across the antimeridian is the small one around 180°, seen
	// the same from every point: (0, 0), on the far side, is outside.
	across := mustParse(t, `{"type":"Polygon","coordinates":[[[-170,-10],[170,-10],[170,10],[-170,10],[-170,-10]]]}`)
	for _, tc := range []struct {
		p    LatLng
		want bool
	}{
		{LatLng{Lat: 0, Lng: 180}, true},
		{LatLng{Lat: 5, Lng: -175}, true},
		{LatLng{Lat: 5, Lng: 175}, true},
		{LatLng{Lat: 0, Lng: 0}, false},
		{LatLng{Lat: 0, Lng: 160}, false},
		{LatLng{Lat: 0, Lng: -90}, false},
	} {
		if got := across.Contains(tc.p); got != tc.want {
			t.Errorf("across the antimeridian, %v: %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	// A degree of a great circle, and half the world.
	for _, tc := range []struct {
		a, b LatLng
		want float64
	}{
		{LatLng{0, 0}, LatLng{0, 1}, EarthRadius * 3.141592653589793 / 180},
		{LatLng{0, 0}, LatLng{1, 0}, EarthRadius * 3.141592653589793 / 180},
		{LatLng{90, 0}, LatLng{-90, 0}, EarthRadius * 3.141592653589793},
		{LatLng{10, 170}, LatLng{10, -170}, Distance(LatLng{10, -10}, LatLng{10, 10})},
	} {
		if got := Distance(tc.a, tc.b); got < tc.want-1e-6 || got > tc.want+1e-6 {
			t.Errorf("%v to %v: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
