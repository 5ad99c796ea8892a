package sindex

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/skiffdb/skiff/core/internal/cdt"
	"github.com/skiffdb/skiff/core/proto"
)

// Sentinel errors. Every error this package returns wraps one of them;
// ResultCode maps them to the code of the info reply ("ERROR:<code>:<msg>").
var (
	// ErrParam reports a malformed command or definition: PARAMETER_ERROR (4).
	ErrParam = errors.New("bad parameter")
	// ErrIndexFound reports an index whose name or definition already
	// exists: INDEX_FOUND (200).
	ErrIndexFound = errors.New("index already exists")
	// ErrIndexNotFound reports an unknown index: INDEX_NOTFOUND (201).
	ErrIndexNotFound = errors.New("index not found")
	// ErrNameMaxLen reports an index name longer than MaxNameLen:
	// INDEX_NAME_MAXLEN (205).
	ErrNameMaxLen = errors.New("index name too long")
	// ErrMaxCount reports a namespace that already has MaxIndexes indexes:
	// INDEX_MAXCOUNT (206).
	ErrMaxCount = errors.New("too many indexes")
)

// ResultCode is the Aerospike result code for an error of this package;
// ServerError for anything else and OK for nil.
func ResultCode(err error) proto.ResultCode {
	switch {
	case err == nil:
		return proto.OK
	case errors.Is(err, ErrParam):
		return proto.ParameterError
	case errors.Is(err, ErrIndexFound):
		return proto.IndexFound
	case errors.Is(err, ErrIndexNotFound):
		return proto.IndexNotFound
	case errors.Is(err, ErrNameMaxLen):
		return proto.IndexNameMaxLen
	case errors.Is(err, ErrMaxCount):
		return proto.IndexMaxCount
	case errors.Is(err, ErrGeoJSON):
		return proto.GeoInvalidGeoJSON
	}
	return proto.ServerError
}

// Limits, as the server has them.
const (
	MaxNameLen    = 63  // bytes in an index name
	MaxBinNameLen = 15  // bytes in a bin name
	MaxSetNameLen = 63  // bytes in a set name
	MaxIndexes    = 256 // indexes per namespace
)

// Type is what an index keeps of the values it indexes.
type Type uint8

// Index types, named as the client's IndexType strings.
const (
	Numeric     Type = iota + 1 // integers: range and equality queries
	String                      // strings, by hash: equality queries
	Blob                        // byte arrays, by hash: equality queries
	Geo2DSphere                 // GeoJSON points and regions, by cell
)

var typeNames = [...]string{Numeric: "NUMERIC", String: "STRING", Blob: "BLOB", Geo2DSphere: "GEO2DSPHERE"}

// String returns the client's name of the type ("NUMERIC", ...).
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// ParseType parses a type name as the client sends it (case-insensitive).
func ParseType(s string) (Type, error) {
	for t, name := range typeNames {
		if name != "" && strings.EqualFold(s, name) {
			return Type(t), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown index type %q", ErrParam, s)
}

// ParticleType is the bin particle type an index of type t holds
// (proto.ParticleInteger, ...): the particle type a query filter on such an
// index carries.
func (t Type) ParticleType() uint8 {
	switch t {
	case Numeric:
		return proto.ParticleInteger
	case String:
		return proto.ParticleString
	case Blob:
		return proto.ParticleBlob
	case Geo2DSphere:
		return proto.ParticleGeoJSON
	}
	return proto.ParticleNull
}

// TypeOfParticle is the index type that holds values of particle type pt,
// as a query filter names it; ok is false for particle types no index holds.
func TypeOfParticle(pt uint8) (t Type, ok bool) {
	switch pt {
	case proto.ParticleInteger:
		return Numeric, true
	case proto.ParticleString:
		return String, true
	case proto.ParticleBlob:
		return Blob, true
	case proto.ParticleGeoJSON:
		return Geo2DSphere, true
	}
	return 0, false
}

// Collection says which values of a bin an index takes.
//
// The numbers are the client's IndexCollectionType, which is also the byte a
// query carries in its INDEX_TYPE field (26): Collection(b) converts it.
type Collection uint8

// Collections, named as the client's "indextype" strings.
const (
	Default   Collection = iota // the bin's value itself
	List                        // each element of a list bin
	MapKeys                     // each key of a map bin
	MapValues                   // each value of a map bin
)

var collectionNames = [...]string{Default: "DEFAULT", List: "LIST", MapKeys: "MAPKEYS", MapValues: "MAPVALUES"}

// String returns the client's name of the collection ("DEFAULT", ...).
func (c Collection) String() string {
	if int(c) < len(collectionNames) {
		return collectionNames[c]
	}
	return fmt.Sprintf("Collection(%d)", uint8(c))
}

// ParseCollection parses a collection name as the client sends it
// (case-insensitive); "NONE" is accepted for Default, as the server does.
func ParseCollection(s string) (Collection, error) {
	for c, name := range collectionNames {
		if strings.EqualFold(s, name) {
			return Collection(c), nil
		}
	}
	if strings.EqualFold(s, "NONE") {
		return Default, nil
	}
	return 0, fmt.Errorf("%w: unknown index collection type %q", ErrParam, s)
}

// Def is an index definition: which records (namespace, set), which bin,
// or which expression computed from the record, and which of its values
// (collection), kept as what (type).
type Def struct {
	Namespace string
	Name      string
	Set       string // "" indexes records of every set
	Bin       string // "" for an expression index
	// Exp is an expression index's expression, as the client's exp
	// package encodes it (msgpack); nil for a bin index. The index holds
	// the keys of the value it evaluates to on each record.
	Exp []byte
	// Ctx is the CDT context of an index on an element nested in its bin
	// (or in its expression's value): the msgpack array of context steps
	// the client sends, base64-decoded. nil indexes the value itself.
	Ctx        []byte
	Type       Type
	Collection Collection
}

// SameTarget reports whether d and o index the same values: the server
// refuses a second index on the same set, bin, type and collection, whatever
// its name.
func (d Def) SameTarget(o Def) bool {
	return d.Namespace == o.Namespace && d.Set == o.Set && d.Bin == o.Bin && bytes.Equal(d.Exp, o.Exp) &&
		bytes.Equal(d.Ctx, o.Ctx) && d.Type == o.Type && d.Collection == o.Collection
}

// Validate checks names and enums against the server's limits.
func (d Def) Validate() error {
	switch {
	case d.Namespace == "":
		return fmt.Errorf("%w: missing namespace", ErrParam)
	case d.Name == "":
		return fmt.Errorf("%w: missing indexname", ErrParam)
	case len(d.Name) > MaxNameLen:
		return fmt.Errorf("%w: index name %q is longer than %d bytes", ErrNameMaxLen, d.Name, MaxNameLen)
	case strings.ContainsAny(d.Name, ";:="):
		return fmt.Errorf("%w: index name %q contains one of ;:=", ErrParam, d.Name)
	case len(d.Set) > MaxSetNameLen:
		return fmt.Errorf("%w: set name %q is longer than %d bytes", ErrParam, d.Set, MaxSetNameLen)
	case d.Bin == "" && len(d.Exp) == 0:
		return fmt.Errorf("%w: missing bin name", ErrParam)
	case d.Bin != "" && len(d.Exp) > 0:
		return fmt.Errorf("%w: an index has a bin or an expression, not both", ErrParam)
	case len(d.Bin) > MaxBinNameLen:
		return fmt.Errorf("%w: bin name %q is longer than %d bytes", ErrParam, d.Bin, MaxBinNameLen)
	case d.Type < Numeric || d.Type > Geo2DSphere:
		return fmt.Errorf("%w: index type %d", ErrParam, d.Type)
	case d.Collection > MapValues:
		return fmt.Errorf("%w: collection type %d", ErrParam, d.Collection)
	case d.Ctx != nil && !cdt.ValidContext(d.Ctx):
		return fmt.Errorf("%w: context is not a list of CDT context steps", ErrParam)
	}
	return nil
}

// String is the definition in the form of the sindex-list info reply's
// fields: "ns=NS:indexname=N:set=S:bin=B:type=NUMERIC:indextype=DEFAULT:context=NULL",
// with the context in base64 when there is one, and bin=NULL and the
// expression in base64 (exp=...) for an expression index.
func (d Def) String() string {
	set, bin := d.Set, d.Bin
	if set == "" {
		set = "NULL"
	}
	if bin == "" {
		bin = "NULL"
	}
	s := "ns=" + d.Namespace + ":indexname=" + d.Name + ":set=" + set + ":bin=" + bin +
		":type=" + d.Type.String() + ":indextype=" + d.Collection.String() + ":context="
	if d.Ctx != nil {
		s += base64.StdEncoding.EncodeToString(d.Ctx)
	} else {
		s += "NULL"
	}
	if len(d.Exp) > 0 {
		s += ":exp=" + base64.StdEncoding.EncodeToString(d.Exp)
	}
	return s
}

// ParseCreate parses the parameters of a sindex-create info command. cmd is
// the whole command or its part after "sindex-create:". Both forms the
// client sends are accepted:
//
//	ns=NS;set=S;indexname=N;indextype=LIST;indexdata=BIN,NUMERIC        (server < 8.1)
//	namespace=NS;set=S;indexname=N;indextype=LIST;bin=BIN;type=NUMERIC  (server ≥ 8.1)
//
// set and indextype are optional; an expression index has exp=BASE64 (the
// expression's msgpack) instead of a bin, and an index on an element
// nested in the bin's list or map context=BASE64 (the context's msgpack).
// Legacy parameters
// older clients send (numbins, priority) are ignored; other unknown
// parameters are an ErrParam, as are missing or repeated ones.
func ParseCreate(cmd string) (Def, error) {
	var d Def
	var typeName, coll string
	var haveType, haveColl, haveBin bool
	err := parseParams(strings.TrimPrefix(cmd, "sindex-create:"), func(k, v string) error {
		switch k {
		case "ns", "namespace":
			return setOnce(&d.Namespace, k, v, d.Namespace != "")
		case "set":
			return setOnce(&d.Set, k, v, d.Set != "")
		case "indexname":
			return setOnce(&d.Name, k, v, d.Name != "")
		case "indextype":
			err := setOnce(&coll, k, v, haveColl)
			haveColl = true
			return err
		case "indexdata":
			bin, typ, ok := strings.Cut(v, ",")
			if !ok || strings.Contains(typ, ",") {
				return fmt.Errorf("%w: indexdata %q is not BIN,TYPE", ErrParam, v)
			}
			if err := setOnce(&d.Bin, "bin", bin, haveBin); err != nil {
				return err
			}
			haveBin = true
			err := setOnce(&typeName, "type", typ, haveType)
			haveType = true
			return err
		case "bin":
			err := setOnce(&d.Bin, k, v, haveBin)
			haveBin = true
			return err
		case "type":
			err := setOnce(&typeName, k, v, haveType)
			haveType = true
			return err
		case "exp":
			if d.Exp != nil {
				return fmt.Errorf("%w: exp given twice", ErrParam)
			}
			exp, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(exp) == 0 {
				return fmt.Errorf("%w: exp is not a base64 expression", ErrParam)
			}
			d.Exp = exp
			return nil
		case "context":
			if d.Ctx != nil {
				return fmt.Errorf("%w: context given twice", ErrParam)
			}
			ctx, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(ctx) == 0 {
				return fmt.Errorf("%w: context is not base64", ErrParam)
			}
			d.Ctx = ctx
			return nil
		case "numbins", "priority":
			return nil
		}
		return fmt.Errorf("%w: unknown parameter %q", ErrParam, k)
	})
	if err != nil {
		return Def{}, fmt.Errorf("sindex-create: %w", err)
	}
	if !haveType {
		return Def{}, fmt.Errorf("sindex-create: %w: missing type (indexdata=BIN,TYPE or type=TYPE)", ErrParam)
	}
	if d.Type, err = ParseType(typeName); err != nil {
		return Def{}, fmt.Errorf("sindex-create: %w", err)
	}
	if haveColl {
		if d.Collection, err = ParseCollection(coll); err != nil {
			return Def{}, fmt.Errorf("sindex-create: %w", err)
		}
	}
	if err := d.Validate(); err != nil {
		return Def{}, fmt.Errorf("sindex-create: %w", err)
	}
	return d, nil
}

// ParseDelete parses the parameters of a sindex-delete info command (the
// whole command or its part after "sindex-delete:"):
// "ns=NS;set=S;indexname=N" or "namespace=NS;...". The set is optional and
// not needed to find an index: names are unique in a namespace.
func ParseDelete(cmd string) (namespace, set, name string, err error) {
	err = parseParams(strings.TrimPrefix(cmd, "sindex-delete:"), func(k, v string) error {
		switch k {
		case "ns", "namespace":
			return setOnce(&namespace, k, v, namespace != "")
		case "set":
			return setOnce(&set, k, v, set != "")
		case "indexname":
			return setOnce(&name, k, v, name != "")
		}
		return fmt.Errorf("%w: unknown parameter %q", ErrParam, k)
	})
	switch {
	case err != nil:
	case namespace == "":
		err = fmt.Errorf("%w: missing namespace", ErrParam)
	case name == "":
		err = fmt.Errorf("%w: missing indexname", ErrParam)
	}
	if err != nil {
		return "", "", "", fmt.Errorf("sindex-delete: %w", err)
	}
	return namespace, set, name, nil
}

// parseParams calls fn for each "key=value" of a ';'-separated list. Empty
// items (a trailing ';') are skipped; an item without '=' is an ErrParam.
func parseParams(s string, fn func(k, v string) error) error {
	for item := range strings.SplitSeq(s, ";") {
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("%w: %q is not key=value", ErrParam, item)
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func setOnce(dst *string, k, v string, seen bool) error {
	if seen {
		return fmt.Errorf("%w: %s given twice", ErrParam, k)
	}
	if v == "" {
		return fmt.Errorf("%w: empty %s", ErrParam, k)
	}
	*dst = v
	return nil
}
