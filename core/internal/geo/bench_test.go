package geo

import "testing"

// The shapes of the benchmarks: the client test's polygon (a geo index's
// typical query region) and a 50 km circle.
const (
	benchPolygon = `{"type":"Polygon","coordinates":[[[-122.5,37],[-121,37],[-121,38.08],[-122.5,38.08],[-122.5,37]]]}`
	benchPoint   = `{"type":"Point","coordinates":[-122,37.5]}`
)

// BenchmarkParse measures parsing, which a filter over GeoJSON bins and
// the node's exact check of index candidates do for each record.
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"point", benchPoint}, {"polygon", benchPolygon}, {"circle", circle(-122, 37.5, 50000)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse([]byte(bc.text)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkContains(b *testing.B) {
	p := LatLng{Lat: 37.5, Lng: -122}
	for _, bc := range []struct{ name, text string }{
		{"polygon", benchPolygon}, {"circle", circle(-122, 37.5, 50000)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := mustParse(b, bc.text)
			b.ReportAllocs()
			for b.Loop() {
				if !s.Contains(p) {
					b.Fatal("not contained")
				}
			}
		})
	}
}

// BenchmarkCover measures what a covering asks of a region: its bounds,
// and whether it meets a cell about a twentieth of its size.
func BenchmarkCover(b *testing.B) {
	s := mustParse(b, benchPolygon)
	cell := Rect{Lng0: -122.0, Lat0: 37.9, Lng1: -121.95, Lat1: 37.95}
	b.ReportAllocs()
	for b.Loop() {
		c := NewCover(s)
		c.Bounds()
		c.MayIntersect(cell)
	}
}
