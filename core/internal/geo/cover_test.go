package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomShape returns a random region and the centre and size (degrees)
// of the area around it worth sampling: circles from 10 m to 3000 km,
// some around a pole or across the antimeridian; star-shaped polygons
// from 10 m to 60° across (a few up to 130°), some with a hole, some across the antimeridian,
// some MultiPolygons; longitude/latitude boxes, whose east-west edges
// bulge towards the pole; rings round a pole.
func randomShape(r *rand.Rand) (text string, centre LatLng, size float64) {
	centre = LatLng{Lat: r.Float64()*178 - 89, Lng: r.Float64()*360 - 180}
	if r.IntN(8) == 0 {
		centre.Lat = math.Copysign(80+r.Float64()*9, centre.Lat)
	}
	if r.IntN(8) == 0 {
		centre.Lng = math.Copysign(179+r.Float64(), centre.Lng)
	}
	if r.IntN(3) == 0 {
		radius := math.Pow(10, 1+r.Float64()*5.5)
		return circle(centre.Lng, centre.Lat, radius), centre, 2 * degrees(radius/EarthRadius)
	}
	size = math.Pow(10, -4+r.Float64()*5.8)
	if r.IntN(10) == 0 { // beyond a hemisphere, now and then
		size = 60 + 70*r.Float64()
	}
	star := func(c LatLng, size float64) string {
		n := 3 + r.IntN(8)
		var b strings.Builder
		b.WriteString("[")
		var first string
		for i := range n {
			a := 2 * math.Pi * float64(i) / float64(n)
			d := size * (0.3 + r.Float64())
			lat := max(-89.9, min(89.9, c.Lat+d*math.Sin(a)))
			lng := math.Mod(c.Lng+d*math.Cos(a)+540, 360) - 180
			v := fmt.Sprintf("[%v,%v]", lng, lat)
			if i == 0 {
				first = v
			}
			fmt.Fprintf(&b, "%s,", v)
		}
		b.WriteString(first + "]")
		return b.String()
	}
	switch r.IntN(6) {
	case 4: // a box
		lat0 := max(-89, min(89-size, centre.Lat))
		lng0, lng1 := centre.Lng, centre.Lng+size
		if lng1 > 180 {
			lng1 -= 360
		}
		return fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%[1]v,%[2]v],[%[3]v,%[2]v],[%[3]v,%[4]v],[%[1]v,%[4]v],[%[1]v,%[2]v]]]}`,
			lng0, lat0, lng1, lat0+size), LatLng{Lat: lat0 + size/2, Lng: centre.Lng + size/2}, size
	case 5: // a ring of vertices round a pole
		lat := math.Copysign(60+r.Float64()*29, centre.Lat)
		n := 3 + r.IntN(8)
		var b strings.Builder
		for i := range n + 1 {
			lng := math.Mod(centre.Lng+360*float64(i%n)/float64(n)+540, 360) - 180
			fmt.Fprintf(&b, "[%v,%v],", lng, lat+r.Float64()*float64(i%n))
		}
		ring := strings.TrimSuffix(b.String(), ",")
		return fmt.Sprintf(`{"type":"Polygon","coordinates":[[%s]]}`, ring), LatLng{Lat: math.Copysign(90, lat)}, 90 - math.Abs(lat) + 5
	case 0: // with a hole
		return fmt.Sprintf(`{"type":"Polygon","coordinates":[%s,%s]}`, star(centre, size), star(centre, size/5)), centre, size
	case 1: // two polygons, the second nearby
		other := LatLng{Lat: max(-89, min(89, centre.Lat+3*size)), Lng: centre.Lng}
		return fmt.Sprintf(`{"type":"MultiPolygon","coordinates":[[%s],[%s]]}`, star(centre, size), star(other, size)),
			centre, 4 * size
	}
	return fmt.Sprintf(`{"type":"Polygon","coordinates":[%s]}`, star(centre, size)), centre, size
}

// samplePoint returns a point within about size degrees of c.
func samplePoint(r *rand.Rand, c LatLng, size float64) LatLng {
	d, a := 2*size*r.Float64(), 2*math.Pi*r.Float64()
	lat := c.Lat + d*math.Sin(a)
	lng := c.Lng + d*math.Cos(a)/max(0.01, math.Cos(radians(c.Lat)))
	if r.IntN(10) == 0 { // anywhere
		lat, lng = r.Float64()*180-90, r.Float64()*360-180
	}
	return LatLng{Lat: max(-90, min(90, lat)), Lng: math.Mod(math.Mod(lng+180, 360)+360, 360) - 180}
}

// rectAround returns a rectangle holding p of a random size, as a cell
// of any level might.
func rectAround(r *rand.Rand, p LatLng) Rect {
	w := math.Pow(10, -8+r.Float64()*10)
	h := w / 2
	x, y := r.Float64()*w, r.Float64()*h
	return Rect{
		Lng0: max(-180, p.Lng-x), Lng1: min(180, p.Lng-x+w),
		Lat0: max(-90, p.Lat-y), Lat1: min(90, p.Lat-y+h),
	}
}

func inRect(r Rect, p LatLng) bool {
	return p.Lng >= r.Lng0 && p.Lng <= r.Lng1 && p.Lat >= r.Lat0 && p.Lat <= r.Lat1
}

// TestCoverProperty checks, for random regions and points, that every
// point a region contains lies in its bounds, and that MayIntersect is
// true for rectangles around it.
func TestCoverProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	withInside := 0
	for i := range 2000 {
		text, centre, size := randomShape(r)
		s, err := Parse([]byte(text))
		if err != nil {
			continue // a loop squeezed at a pole
		}
		c := NewCover(s)
		bounds := c.Bounds()
		inside := 0
		for range 300 {
			p := samplePoint(r, centre, size)
			if !s.Contains(p) {
				continue
			}
			inside++
			found := false
			for _, b := range bounds {
				found = found || inRect(b, p)
			}
			if !found {
				t.Fatalf("shape %d: contained point %v outside the bounds %v\n%s", i, p, bounds, text)
			}
			if rect := rectAround(r, p); !c.MayIntersect(rect) {
				t.Fatalf("shape %d: contained point %v, but MayIntersect(%v) is false\n%s", i, p, rect, text)
			}
		}
		if inside > 0 {
			withInside++
		}
	}
	if withInside < 1000 {
		t.Fatalf("only %d shapes had sampled points inside", withInside)
	}
}

func TestCoverBounds(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []Rect
	}{
		{"point", point(1, 2), []Rect{{1, 2, 1, 2}}},
		// The top edge bulges north beyond the vertices' 40°.
		{"geodesic edges", `{"type":"Polygon","coordinates":[[[-120,30],[-100,30],[-100,40],[-120,40],[-120,30]]]}`,
			[]Rect{{-120, 30, -100, 40.43}}},
		// A loop across the antimeridian: points that do not see all its
		// vertices test it drawn straight in longitude/latitude, the other
		// way round (see TestGeodesicEdges), so its bounds go round the
		// world.
		{"across the antimeridian", `{"type":"Polygon","coordinates":[[[-170,-10],[170,-10],[170,10],[-170,10],[-170,-10]]]}`,
			[]Rect{{-180, -10.15, 180, 10.15}}},
		// A loop its centroid does not see whole may contain any point.
		{"beyond a hemisphere", `{"type":"Polygon","coordinates":[[[0,0],[150,0],[1,1],[0,1],[0,0]]]}`,
			[]Rect{{-180, -90, 180, 90}}},
		{"around a pole", `{"type":"Polygon","coordinates":[[[0,80],[120,80],[-120,80],[0,80]]]}`,
			[]Rect{{-180, 80, 180, 90}}},
		{"circle across the antimeridian", circle(179.9, 0, 50000),
			[]Rect{{179.45, -0.45, 180, 0.45}, {-180, -0.45, -179.65, 0.45}}},
		{"circle around a pole", circle(0, 89.9, 50000), []Rect{{-180, 89.45, 180, 90}}},
	} {
		got := NewCover(mustParse(t, tc.text)).Bounds()
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want about %v", tc.name, got, tc.want)
			continue
		}
		for i, g := range got {
			w := tc.want[i]
			if math.Abs(g.Lng0-w.Lng0) > 0.01 || math.Abs(g.Lng1-w.Lng1) > 0.01 ||
				math.Abs(g.Lat0-w.Lat0) > 0.01 || math.Abs(g.Lat1-w.Lat1) > 0.01 {
				t.Errorf("%s: %v, want about %v", tc.name, got, tc.want)
			}
		}
	}
}
