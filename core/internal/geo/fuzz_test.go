package geo

import (
	"math"
	"testing"
)

// FuzzGeo: parsing, predicates and covers never panic, and a point a
// region contains lies in its bounds and in every rectangle MayIntersect
// is asked about around it.
func FuzzGeo(f *testing.F) {
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[-122.5,37],[-121,37],[-121,38.08],[-122.5,38.08],[-122.5,37]]]}`), -122.0, 37.5, 0.01)
	f.Add([]byte(circle(179.9, 89.9, 3e6)), -179.0, 89.0, 1.0)
	f.Add([]byte(`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}`), 0.5, 0.2, 1e-6)
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[0,80],[120,80],[-120,80],[0,80]]]}`), 10.0, 89.0, 3.0)
	f.Add([]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]}}`), 0.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, text []byte, lng, lat, size float64) {
		s, err := Parse(text)
		if err != nil {
			return
		}
		c := NewCover(s)
		bounds := c.Bounds()
		if len(bounds) == 0 || len(bounds) > 2 {
			t.Fatalf("%d bounding rectangles", len(bounds))
		}
		p := LatLng{Lat: lat, Lng: lng}
		if math.IsNaN(lat) || math.IsNaN(lng) || math.Abs(lat) > 90 || math.Abs(lng) > 180 || !s.Contains(p) {
			return
		}
		found := false
		for _, b := range bounds {
			found = found || inRect(b, p)
		}
		if !found {
			t.Fatalf("contained point %v outside the bounds %v", p, bounds)
		}
		size = math.Abs(math.Mod(size, 360))
		if math.IsNaN(size) {
			size = 0
		}
		r := Rect{max(-180, lng-size), max(-90, lat-size), min(180, lng+size), min(90, lat+size)}
		if !c.MayIntersect(r) {
			t.Fatalf("contained point %v, but MayIntersect(%v) is false", p, r)
		}
	})
}
