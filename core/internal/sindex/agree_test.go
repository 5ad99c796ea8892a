package sindex

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/proto"
)

// agreeRegions are regions whose edge cases the index and the filter must
// see alike: geodesic edges bulging beyond their vertices, holes, several
// polygons, circles across the antimeridian and round a pole, a loop
// across the antimeridian (tested straight in longitude/latitude by
// points that do not see all of it), a loop round a pole, a small box.
var agreeRegions = []string{
	`{"type":"Polygon","coordinates":[[[-120,30],[-100,30],[-100,40],[-120,40],[-120,30]]]}`,
	`{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}`,
	`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[20,20],[21,20],[21,21],[20,21],[20,20]]]]}`,
	`{"type":"Polygon","coordinates":[[[170,-10],[-170,-10],[-170,10],[170,10],[170,-10]]]}`,
	`{"type":"Polygon","coordinates":[[[0,70],[120,70],[-120,70],[0,70]]]}`,
	`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[-122.5,37],[-121,37],[-121,38.08],[-122.5,38.08],[-122.5,37]]]}}`,
	clientCircle(179.9, 0, 500000),
	clientCircle(0, 89, 300000),
	clientCircle(-122, 37.5, 50000),
	clientCircle(13.4, 52.5, 10),
}

// agreePoints returns n points: some in a grid over the world, the rest
// near the regions' vertices and centres, where answers change.
func agreePoints(r *rand.Rand, n int) []string {
	near := [][2]float64{{-110, 40.3}, {-110, 29.8}, {5, 5}, {0.5, 0.5}, {20.5, 20.5}, {180, 0}, {0, 0},
		{-179, 9.9}, {0, 80}, {0, 89.99}, {-121.7, 37.8}, {-122, 37.5}, {13.4, 52.5}, {178, 1}}
	var pts []string
	for lon := -180.0; lon <= 180; lon += 30 {
		for lat := -90.0; lat <= 90; lat += 15 {
			pts = append(pts, pointJSON(lon, lat))
		}
	}
	for len(pts) < n {
		c := near[r.IntN(len(near))]
		d := math.Pow(10, -5+6*r.Float64())
		a := 2 * math.Pi * r.Float64()
		lon := math.Mod(c[0]+d*math.Cos(a)+540, 360) - 180
		lat := max(-90, min(90, c[1]+d*math.Sin(a)))
		pts = append(pts, pointJSON(lon, lat))
	}
	return pts
}

func pointJSON(lon, lat float64) string {
	return fmt.Sprintf(`{"type":"Point","coordinates":[%v,%v]}`, lon, lat)
}

// geoFilter compiles the filter expression geo_compare(bin loc, query).
func geoFilter(tb testing.TB, query string) *expr.Expr {
	tb.Helper()
	s, aerr := as.ExpGeoCompare(as.ExpGeoBin("loc"), as.ExpGeoVal(query)).Base64()
	if aerr != nil {
		tb.Fatal(aerr)
	}
	w, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := expr.CompileFilter(w)
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return e
}

// filterMatches returns the values a filter expression matches, as a scan
// with the expression would find them.
func filterMatches(tb testing.TB, values []string, query string) []int {
	tb.Helper()
	e := geoFilter(tb, query)
	var out []int
	for i, v := range values {
		rec := &expr.Record{Bins: []bins.Bin{{Name: []byte("loc"), Type: proto.ParticleGeoJSON, Value: geoBin(v)}}}
		if e.Filter(rec) {
			out = append(out, i)
		}
	}
	return out
}

// TestGeoIndexAgreesWithFilter asks the same geo predicates through a geo
// index (candidates, then the exact check, as the node runs a query) and
// as a filter expression over every record (as a scan with a filter
// does): both must find the same records, for points within regions and
// for regions containing points.
func TestGeoIndexAgreesWithFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	points := agreePoints(r, 3000)
	regions := slices.Clone(agreeRegions)
	for range 20 {
		// Random boxes up to 40° across, whose edges bulge.
		lon, lat, size := r.Float64()*300-150, r.Float64()*140-70, math.Pow(10, -3+r.Float64()*4.6)
		regions = append(regions, fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%[1]v,%[2]v],[%[3]v,%[2]v],[%[3]v,%[4]v],[%[1]v,%[4]v],[%[1]v,%[2]v]]]}`,
			lon, lat, lon+size, min(89, lat+size)))
		points = append(points, pointJSON(lon+size/2, min(89, lat+size)+size/100)) // in the bulge
	}

	t.Run("points-within-region", func(t *testing.T) {
		x := geoIndex(t, points)
		total := 0
		for _, region := range regions {
			_, byIndex := pointsWithin(t, x, points, region)
			byFilter := filterMatches(t, points, region)
			if !slices.Equal(byIndex, byFilter) {
				t.Errorf("points within %s: index %d, filter %d, differing: %v", region, len(byIndex), len(byFilter), symDiff(byIndex, byFilter))
			}
			total += len(byIndex)
		}
		if total < 500 {
			t.Errorf("only %d matches in all: the test proves little", total)
		}
	})

	t.Run("regions-containing-point", func(t *testing.T) {
		x := geoIndex(t, regions)
		total := 0
		for _, p := range points {
			byIndex := regionsContaining(t, x, regions, p)
			byFilter := filterMatches(t, regions, p)
			if !slices.Equal(byIndex, byFilter) {
				t.Errorf("regions containing %s: index %v, filter %v", p, byIndex, byFilter)
			}
			total += len(byIndex)
		}
		if total < 500 {
			t.Errorf("only %d matches in all: the test proves little", total)
		}
	})
}

// symDiff returns what one of two sorted slices has and the other lacks.
func symDiff(a, b []int) []int {
	var out []int
	for _, v := range a {
		if _, ok := slices.BinarySearch(b, v); !ok {
			out = append(out, v)
		}
	}
	for _, v := range b {
		if _, ok := slices.BinarySearch(a, v); !ok {
			out = append(out, v)
		}
	}
	return out
}
