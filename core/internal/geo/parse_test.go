package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		text  string
		kind  Kind
		polys int
	}{
		{`{"type":"Point","coordinates":[-122.5,37]}`, Point, 0},
		{` { "type" : "Point", "coordinates" : [ 1e1 , -9 ] } `, Point, 0},
		{`{"type":"AeroCircle","coordinates":[[-122,37.5],0]}`, Circle, 0},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`, Polygon, 1},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,0],[1,1],[0,1],[0,0]]]}`, Polygon, 1}, // a repeated vertex
		{`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}`, Polygon, 2},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{}}`, Point, 0},
	} {
		s, err := Parse([]byte(tc.text))
		if err != nil {
			t.Errorf("%s: %v", tc.text, err)
			continue
		}
		if s.Kind != tc.kind || len(s.polys) != tc.polys {
			t.Errorf("%s: kind %d with %d polygons", tc.text, s.Kind, len(s.polys))
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		``, `{`, `null`, `[]`, `{"type":1}`, `{"type":"point","coordinates":[0,0]}`,
		`{"type":"Point"}`, `{"type":"Point","coordinates":[1]}`,
		`{"type":"Point","coordinates":[1,"2"]}`, `{"type":"Point","coordinates":[1,null]}`,
		`{"type":"Point","coordinates":[181,0]}`, `{"type":"Point","coordinates":[0,91]}`, `{"type":"Point","coordinates":[0,-91]}`,
		`{"type":"Point","coordinates":[0,0]} x`,
		`{"type":"LineString","coordinates":[[0,0],[1,1]]}`,
		`{"type":"Polygon","coordinates":[]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0]]]}`,
		// Unclosed, and with an altitude: the server refuses both.
		`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0,5],[1,0,5],[1,1,5],[0,0,5]]]}`,
		`{"type":"MultiPolygon","coordinates":[]}`,
		`{"type":"MultiPolygon","coordinates":[[]]}`,
		`{"type":"AeroCircle","coordinates":[[0,0]]}`,
		`{"type":"AeroCircle","coordinates":[[0,0],"5"]}`,
		`{"type":"AeroCircle","coordinates":[[0,0],-1]}`,
		`{"type":"AeroCircle","coordinates":[[0,200],1]}`,
		`{"type":"Feature","geometry":{"type":"Feature","geometry":{}}}`,
		`{"type":"Feature"}`,
	} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q): %v", bad, err)
		}
	}
}

func TestParticleText(t *testing.T) {
	for _, tc := range []struct {
		value []byte
		text  string
		ok    bool
	}{
		{[]byte("\x00\x00\x00{}"), "{}", true},
		{append([]byte{0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}, "{}"...), "{}", true},
		{[]byte{0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8}, "", false},
		{[]byte{0, 0}, "", false},
	} {
		text, ok := ParticleText(tc.value)
		if ok != tc.ok || string(text) != tc.text {
			t.Errorf("% x: %q %v", tc.value, text, ok)
		}
	}
}

// refParse is the reference FuzzParse holds Parse to: the same rules,
// read through encoding/json's generic decoding, slow and simple.
func refParse(text []byte) (*Shape, bool) {
	obj, ok := refDecode[map[string]json.RawMessage](text, '{')
	if !ok {
		return nil, false
	}
	typ, ok := refDecode[string](obj["type"], '"')
	if ok && typ == "Feature" {
		if obj, ok = refDecode[map[string]json.RawMessage](obj["geometry"], '{'); ok {
			typ, ok = refDecode[string](obj["type"], '"')
		}
	}
	if !ok {
		return nil, false
	}
	s := &Shape{}
	coords := obj["coordinates"]
	switch typ {
	case "Point":
		s.Kind = Point
		s.Pos, ok = refPosition(coords)
	case "AeroCircle":
		s.Kind = Circle
		parts, _ := refDecode[[]json.RawMessage](coords, '[')
		if ok = len(parts) == 2; ok {
			s.Pos, ok = refPosition(parts[0])
			s.Radius, _ = refDecode[float64](parts[1], '-')
			ok = ok && s.Radius >= 0
		}
	case "Polygon":
		s.Kind = Polygon
		var poly [][]LatLng
		poly, ok = refPolygon(coords)
		s.polys = [][][]LatLng{poly}
	case "MultiPolygon":
		s.Kind = Polygon
		parts, _ := refDecode[[]json.RawMessage](coords, '[')
		ok = len(parts) > 0
		for _, part := range parts {
			poly, pok := refPolygon(part)
			s.polys, ok = append(s.polys, poly), ok && pok
		}
	default:
		ok = false
	}
	return s, ok
}

// refDecode decodes raw into a T if it starts as a T must (a digit also
// does for '-'): encoding/json accepts null for anything.
func refDecode[T any](raw json.RawMessage, start byte) (T, bool) {
	var v T
	c := first(raw)
	if c != start && !(start == '-' && c >= '0' && c <= '9') {
		return v, false
	}
	return v, json.Unmarshal(raw, &v) == nil
}

func refPosition(raw json.RawMessage) (LatLng, bool) {
	parts, _ := refDecode[[]json.RawMessage](raw, '[')
	if len(parts) != 2 {
		return LatLng{}, false
	}
	lng, okLng := refDecode[float64](parts[0], '-')
	lat, okLat := refDecode[float64](parts[1], '-')
	return LatLng{Lat: lat, Lng: lng}, okLng && okLat && math.Abs(lat) <= 90 && math.Abs(lng) <= 180
}

func refPolygon(raw json.RawMessage) ([][]LatLng, bool) {
	loops, _ := refDecode[[]json.RawMessage](raw, '[')
	var poly [][]LatLng
	for _, l := range loops {
		verts, ok := refDecode[[]json.RawMessage](l, '[')
		if !ok {
			return nil, false
		}
		var loop []LatLng
		for _, v := range verts {
			p, ok := refPosition(v)
			if !ok {
				return nil, false
			}
			if len(loop) == 0 || loop[len(loop)-1] != p {
				loop = append(loop, p)
			}
		}
		if len(loop) < 4 || loop[0] != loop[len(loop)-1] {
			return nil, false
		}
		poly = append(poly, loop[:len(loop)-1])
	}
	return poly, len(poly) > 0
}

func first(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// FuzzParse holds Parse, which reads JSON by hand, to refParse, which
// leaves it to encoding/json: both accept the same texts, as the same
// shapes.
func FuzzParse(f *testing.F) {
	for _, text := range []string{
		`{"type":"Point","coordinates":[-122.5,37]}`,
		` { "type" : "Point", "coordinates" : [ 1e1 , -9 ] , "x": [{"y": "a\"]}"}] } `,
		`{"type":"AeroCircle","coordinates":[[-122,37.5],5e4]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0.2,0.2],[0.4,0.2],[0.4,0.4],[0.2,0.2]]]}`,
		`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"n":1e400}}`,
		`{"typ\u0065":"Poi\u006et","coordinates":[0,-0.0],"type":"Point"}`,
		`{"type":"Point","coordinates":[0,null]}`,
	} {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		s, err := Parse(text)
		ref, ok := refParse(text)
		if (err == nil) != ok {
			t.Fatalf("Parse: %v, reference: %v", err, ok)
		}
		if ok && !reflect.DeepEqual(s, ref) {
			t.Fatalf("Parse: %+v, reference: %+v", s, ref)
		}
	})
}
