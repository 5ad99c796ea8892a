package geo

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrInvalid reports GeoJSON that does not parse or is not a supported
// shape: the server's GEO_INVALID_GEOJSON (160).
var ErrInvalid = errors.New("invalid GeoJSON")

// Parse parses the GeoJSON the server accepts: a Point, Polygon,
// MultiPolygon or AeroCircle geometry, or a Feature holding one. Errors
// wrap ErrInvalid.
//
// A filter expression parses a record's GeoJSON on each evaluation, and a
// query each candidate's, so Parse reads the text itself, once checked by
// json.Valid, rather than through encoding/json's reflection: it allocates
// the Shape and a polygon's loops, nothing else.
func Parse(text []byte) (*Shape, error) {
	if !json.Valid(text) {
		return nil, fmt.Errorf("%w: not JSON", ErrInvalid)
	}
	s, typ, err := parseGeometry(text, true)
	if err != nil {
		if typ != "" {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, typ, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s, nil
}

// parseGeometry parses a geometry object, or a Feature if feature is set;
// typ is the geometry type, once known. text is valid JSON.
func parseGeometry(text []byte, feature bool) (s *Shape, typ string, err error) {
	obj, err := members(text)
	if err != nil {
		return nil, "", err
	}
	if typ, err = jsonString(obj.typ); err != nil {
		return nil, "", fmt.Errorf("type: %w", err)
	}
	if typ == "Feature" && feature {
		s, typ, err = parseGeometry(obj.geometry, false)
		if err != nil && typ == "" {
			err = fmt.Errorf("geometry: %w", err)
		}
		return s, typ, err
	}
	sc := scanner{b: obj.coordinates} // empty if missing: not an array
	s = &Shape{}
	switch typ {
	case "Point":
		s.Kind = Point
		s.Pos, err = sc.position()
	case "AeroCircle":
		s.Kind = Circle
		s.Pos, s.Radius, err = sc.circle()
	case "Polygon":
		s.Kind = Polygon
		var poly [][]LatLng
		if poly, err = sc.polygon(); err == nil {
			s.polys = [][][]LatLng{poly}
		}
	case "MultiPolygon":
		s.Kind = Polygon
		err = sc.array(func() error {
			poly, err := sc.polygon()
			s.polys = append(s.polys, poly)
			return err
		})
		if err == nil && len(s.polys) == 0 {
			err = errors.New("no polygons")
		}
	default:
		return nil, "", fmt.Errorf("unknown geometry type %q", typ)
	}
	if err != nil {
		return nil, typ, err
	}
	return s, typ, nil
}

// object holds the members of a GeoJSON object that matter: the raw JSON
// of each, nil when absent.
type object struct{ typ, coordinates, geometry []byte }

// members reads the members of the object text. As in encoding/json and in
// the server's parser, names match exactly and the last of a repeated name
// wins.
func members(text []byte) (object, error) {
	var o object
	sc := scanner{b: text}
	if sc.peek() != '{' {
		return o, errors.New("not an object")
	}
	sc.off++
	if sc.next('}') {
		return o, nil
	}
	for {
		name := memberName(sc.value())
		sc.next(':')
		v := sc.value()
		switch string(name) {
		case "type":
			o.typ = v
		case "coordinates":
			o.coordinates = v
		case "geometry":
			o.geometry = v
		}
		if !sc.next(',') {
			return o, nil
		}
	}
}

// memberName returns the name a member's raw JSON string holds.
func memberName(raw []byte) []byte {
	name := raw[1 : len(raw)-1]
	if bytes.IndexByte(name, '\\') >= 0 { // escaped, which is rare: unescape it the slow way
		var s string
		if json.Unmarshal(raw, &s) == nil {
			name = []byte(s)
		}
	}
	return name
}

// jsonString returns the string raw holds.
func jsonString(raw []byte) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", errors.New("not a string")
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	return s, json.Unmarshal(raw, &s)
}

// scanner reads JSON that json.Valid accepted, so it checks the kinds of
// values, never their syntax.
type scanner struct {
	b   []byte
	off int
}

// peek returns the next byte that is not whitespace, or 0 at the end.
func (sc *scanner) peek() byte {
	for sc.off < len(sc.b) {
		switch c := sc.b[sc.off]; c {
		case ' ', '\t', '\r', '\n':
			sc.off++
		default:
			return c
		}
	}
	return 0
}

// next reads c if it comes next.
func (sc *scanner) next(c byte) bool {
	if sc.peek() != c {
		return false
	}
	sc.off++
	return true
}

// value reads one value whole and returns it.
func (sc *scanner) value() []byte {
	sc.peek()
	start, depth := sc.off, 0
	for sc.off < len(sc.b) {
		c := sc.b[sc.off]
		sc.off++
		switch c {
		case '"':
			for sc.b[sc.off] != '"' {
				if sc.b[sc.off] == '\\' {
					sc.off++
				}
				sc.off++
			}
			sc.off++
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',', ':', ' ', '\t', '\r', '\n': // between the members or elements of one
		default: // a number, true, false or null
			for sc.off < len(sc.b) && !ends(sc.b[sc.off]) {
				sc.off++
			}
		}
		if depth == 0 {
			break
		}
	}
	return sc.b[start:sc.off]
}

// ends reports whether c ends a number or literal.
func ends(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', ']', '}':
		return true
	}
	return false
}

// array reads an array, calling each to read every element.
func (sc *scanner) array(each func() error) error {
	if !sc.next('[') {
		return errors.New("not an array")
	}
	if sc.next(']') {
		return nil
	}
	for {
		if err := each(); err != nil {
			return err
		}
		if !sc.next(',') {
			sc.next(']')
			return nil
		}
	}
}

// number reads a number.
func (sc *scanner) number() (float64, error) {
	if c := sc.peek(); c != '-' && (c < '0' || c > '9') {
		return 0, errors.New("not a number")
	}
	v := sc.value()
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return 0, fmt.Errorf("number %s out of range", v)
	}
	return f, nil
}

// position reads [longitude, latitude].
func (sc *scanner) position() (LatLng, error) {
	var c [2]float64
	n := 0
	err := sc.array(func() error {
		if n == len(c) {
			return errors.New("position of more than 2 coordinates")
		}
		var err error
		c[n], err = sc.number()
		n++
		return err
	})
	switch {
	case err != nil:
		return LatLng{}, err
	case n != len(c):
		return LatLng{}, fmt.Errorf("position of %d coordinates", n)
	}
	lng, lat := c[0], c[1]
	if math.Abs(lat) > 90 || math.Abs(lng) > 180 {
		return LatLng{}, fmt.Errorf("invalid position [%g, %g]", lng, lat)
	}
	return LatLng{Lat: lat, Lng: lng}, nil
}

// circle reads [[longitude, latitude], radius].
func (sc *scanner) circle() (centre LatLng, radius float64, err error) {
	n := 0
	err = sc.array(func() error {
		var err error
		switch n {
		case 0:
			centre, err = sc.position()
		case 1:
			radius, err = sc.number()
		default:
			err = errors.New("circle is not [center, radius]")
		}
		n++
		return err
	})
	switch {
	case err != nil:
		return centre, 0, err
	case n != 2:
		return centre, 0, errors.New("circle is not [center, radius]")
	case !(radius >= 0):
		return centre, 0, fmt.Errorf("radius %g", radius)
	}
	return centre, radius, nil
}

// polygon reads a polygon's loops and returns them open.
func (sc *scanner) polygon() ([][]LatLng, error) {
	var poly [][]LatLng
	err := sc.array(func() error {
		loop, err := sc.loop()
		poly = append(poly, loop)
		return err
	})
	if err == nil && len(poly) == 0 {
		err = errors.New("polygon without loops")
	}
	return poly, err
}

// loop reads a closed ring of at least four distinct consecutive
// positions and returns it without the closing one.
func (sc *scanner) loop() ([]LatLng, error) {
	var loop []LatLng
	err := sc.array(func() error {
		p, err := sc.position()
		if err == nil && (len(loop) == 0 || loop[len(loop)-1] != p) {
			loop = append(loop, p)
		}
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case len(loop) < 4:
		return nil, errors.New("loop of less than 4 points")
	case loop[0] != loop[len(loop)-1]:
		return nil, errors.New("loop not closed")
	}
	return loop[:len(loop)-1], nil
}

// ParticleText returns the JSON text of a GeoJSON bin value (particle):
// the value after its header, flags(1) ncells(2, big-endian)
// cells(8×ncells). ok is false when the header does not fit.
func ParticleText(value []byte) (text []byte, ok bool) {
	if len(value) < 3 {
		return nil, false
	}
	hdr := 3 + 8*int(binary.BigEndian.Uint16(value[1:3]))
	if hdr > len(value) {
		return nil, false
	}
	return value[hdr:], true
}
