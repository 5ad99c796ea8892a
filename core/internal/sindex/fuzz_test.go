package sindex

import (
	"math"
	"slices"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/geo"
	"github.com/skiffdb/skiff/core/proto"
)

// FuzzKeys feeds arbitrary bytes to Keys (and so to the msgpack reader)
// for every type and collection: it must never panic, must return sorted
// unique keys, the same ones twice, and none for a value Scalars finds
// malformed.
func FuzzKeys(f *testing.F) {
	f.Add(byte(proto.ParticleList), clientPack(f, []any{1, 2, "a", []byte{1}, []any{3, map[any]any{"k": 4}}, 2.5, nil, true}))
	f.Add(byte(proto.ParticleMap), clientPack(f, map[any]any{"a": "b", 0: 1, 1: "a", "b": 2, "l": []any{1}}))
	f.Add(byte(proto.ParticleList), clientPack(f, []any{int64(-1 << 63), uint64(1 << 63), -33, 65536, "x"}))
	f.Add(byte(proto.ParticleList), clientPack(f, []any{as.NewGeoJSONValue(pointA), as.NewGeoJSONValue(square)}))
	f.Add(byte(proto.ParticleMap), []byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0xa2, 0x03, 'x'})
	f.Add(byte(proto.ParticleList), []byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add(byte(proto.ParticleGeoJSON), geoBin(square))
	f.Add(byte(proto.ParticleInteger), be8(5))
	indexes := []*Index{}
	for _, typ := range []Type{Numeric, String, Blob, Geo2DSphere} {
		for _, coll := range []Collection{Default, List, MapKeys, MapValues} {
			indexes = append(indexes, New(Def{Namespace: "t", Name: "i", Bin: "b", Type: typ, Collection: coll}))
		}
	}
	f.Fuzz(func(t *testing.T, pt byte, value []byte) {
		for _, x := range indexes {
			keys := x.Keys(nil, pt, value)
			if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
				t.Fatalf("%v %v: keys not sorted and unique: %v", x.def.Type, x.def.Collection, keys)
			}
			if again := x.Keys(nil, pt, value); !slices.Equal(keys, again) {
				t.Fatalf("%v %v: keys differ between calls", x.def.Type, x.def.Collection)
			}
			if !Scalars(x.def.Collection, pt, value, func(Scalar) bool { return true }) && len(keys) > 0 {
				t.Fatalf("%v %v: keys from a malformed value", x.def.Type, x.def.Collection)
			}
		}
	})
}

// FuzzParseCreate: the sindex-create parser never panics, and what it
// accepts is valid.
func FuzzParseCreate(f *testing.F) {
	f.Add("sindex-create:ns=test;set=demo;indexname=i;indextype=LIST;indexdata=b,NUMERIC")
	f.Add("sindex-create:namespace=test;indexname=i;bin=b;type=GEO2DSPHERE")
	f.Add("ns=test;indexname=i;context=kgGh;indexdata=b,STRING")
	f.Fuzz(func(t *testing.T, cmd string) {
		d, err := ParseCreate(cmd)
		if err == nil {
			if verr := d.Validate(); verr != nil {
				t.Fatalf("ParseCreate accepted an invalid definition: %v", verr)
			}
		} else if ResultCode(err) == proto.ServerError {
			t.Fatalf("error without a result code: %v", err)
		}
		ParseDelete(cmd)
	})
}

// FuzzGeo: GeoJSON parsing, coverings and predicates never panic,
// coverings stay within their size, and a point a region contains is
// under its covering and in its query ranges.
func FuzzGeo(f *testing.F) {
	f.Add([]byte(clientRegion), 1.5, 2.5)
	f.Add([]byte(clientCircle(179.9, 89.9, 3e6)), -179.0, 89.0)
	f.Add([]byte(`{"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[5, 5], [6, 5], [6, 6], [5, 5]]]]}`), 0.5, 0.2)
	f.Add([]byte(`{"type": "Polygon", "coordinates": [[[-120, 30], [-100, 30], [-100, 40], [-120, 40], [-120, 30]]]}`), -110.0, 40.3)
	f.Add([]byte(pointA), 0.0, 0.0)
	f.Fuzz(func(t *testing.T, text []byte, lon, lat float64) {
		s, err := ParseGeoJSON(text)
		if err != nil {
			return
		}
		if keys := appendCovering(nil, s.Shape, MaxCovering); len(keys) == 0 || len(keys) > MaxCovering {
			t.Fatalf("covering of %d cells", len(keys))
		}
		if rs := s.CellRanges(); s.IsRegion() && len(rs) == 0 {
			t.Fatal("no query ranges")
		}
		valid := math.Abs(lat) <= 90 && math.Abs(lon) <= 180 // and not NaN
		if valid && s.IsRegion() && s.Contains(geo.LatLng{Lat: lat, Lng: lon}) {
			// A contained point is found both ways.
			leaf := PointCell(lon, lat)
			if !slices.ContainsFunc(s.CellRanges(), func(r CellRange) bool { return leaf >= r.Lo && leaf <= r.Hi }) {
				t.Fatalf("contained point [%v, %v] outside the query ranges", lon, lat)
			}
			anc := PointAncestors(lon, lat)
			if !slices.ContainsFunc(appendCovering(nil, s.Shape, MaxCovering), func(k Key) bool { return slices.Contains(anc, k) }) {
				t.Fatalf("contained point [%v, %v] under no covering cell", lon, lat)
			}
		}
		PointCell(lon, lat)
	})
}
