package sindex

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/core/proto"
)

func TestParseCreate(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
		want Def
		err  error
	}{
		{
			name: "pre-8.1 default",
			cmd:  "sindex-create:ns=test;set=demo;indexname=idx_age;indexdata=age,NUMERIC",
			want: Def{Namespace: "test", Set: "demo", Name: "idx_age", Bin: "age", Type: Numeric},
		},
		{
			name: "pre-8.1 list",
			cmd:  "sindex-create:ns=test;set=demo;indexname=idx_tags;indextype=LIST;indexdata=tags,STRING",
			want: Def{Namespace: "test", Set: "demo", Name: "idx_tags", Bin: "tags", Type: String, Collection: List},
		},
		{
			name: "8.1 map keys, no set",
			cmd:  "sindex-create:namespace=test;indexname=mk;indextype=MAPKEYS;bin=m;type=BLOB",
			want: Def{Namespace: "test", Name: "mk", Bin: "m", Type: Blob, Collection: MapKeys},
		},
		{
			name: "8.1 map values geo, without the command prefix",
			cmd:  "namespace=test;set=s;indexname=g;indextype=MAPVALUES;bin=loc;type=GEO2DSPHERE",
			want: Def{Namespace: "test", Set: "s", Name: "g", Bin: "loc", Type: Geo2DSphere, Collection: MapValues},
		},
		{
			name: "legacy parameters ignored, lower case names",
			cmd:  "sindex-create:ns=test;indexname=i;numbins=1;indexdata=b,numeric;priority=normal;indextype=default",
			want: Def{Namespace: "test", Name: "i", Bin: "b", Type: Numeric},
		},
		{
			name: "context",
			cmd:  "sindex-create:ns=test;set=s;indexname=i;context=khH/;indextype=LIST;indexdata=b,NUMERIC",
			want: Def{Namespace: "test", Name: "i", Set: "s", Bin: "b", Ctx: []byte{0x92, 0x11, 0xff}, Type: Numeric, Collection: List},
		},
		{"not a context", "sindex-create:ns=test;set=s;indexname=i;context=kgGh;indexdata=b,NUMERIC", Def{}, ErrParam},
		{"context not base64", "sindex-create:ns=test;indexname=i;context=!!;indexdata=b,NUMERIC", Def{}, ErrParam},
		{"context twice", "sindex-create:ns=test;indexname=i;context=khH/;context=khH/;indexdata=b,NUMERIC", Def{}, ErrParam},
		{
			name: "expression",
			cmd:  "sindex-create:namespace=test;set=s;indexname=i;exp=kwFRAqNhZ2U=;type=NUMERIC",
			want: Def{Namespace: "test", Name: "i", Set: "s", Exp: []byte{0x93, 0x01, 0x51, 0x02, 0xa3, 'a', 'g', 'e'}, Type: Numeric},
		},
		{"expression and bin", "sindex-create:ns=test;indexname=i;exp=kwFRAqNhZ2U=;indexdata=b,NUMERIC", Def{}, ErrParam},
		{"expression not base64", "sindex-create:ns=test;indexname=i;exp=!!;type=NUMERIC", Def{}, ErrParam},
		{"expression twice", "sindex-create:ns=test;indexname=i;exp=kwFRAqNhZ2U=;exp=kwFRAqNhZ2U=;type=NUMERIC", Def{}, ErrParam},
		{"no type", "sindex-create:ns=test;indexname=i;bin=b", Def{}, ErrParam},
		{"no bin", "sindex-create:ns=test;indexname=i;type=NUMERIC", Def{}, ErrParam},
		{"no name", "sindex-create:ns=test;indexdata=b,NUMERIC", Def{}, ErrParam},
		{"no namespace", "sindex-create:indexname=i;indexdata=b,NUMERIC", Def{}, ErrParam},
		{"bad type", "sindex-create:ns=test;indexname=i;indexdata=b,FLOAT", Def{}, ErrParam},
		{"bad collection", "sindex-create:ns=test;indexname=i;indextype=SET;indexdata=b,NUMERIC", Def{}, ErrParam},
		{"bad indexdata", "sindex-create:ns=test;indexname=i;indexdata=b", Def{}, ErrParam},
		{"two bins", "sindex-create:ns=test;indexname=i;indexdata=b,NUMERIC;bin=c", Def{}, ErrParam},
		{"repeated name", "sindex-create:ns=test;indexname=i;indexname=j;indexdata=b,NUMERIC", Def{}, ErrParam},
		{"unknown parameter", "sindex-create:ns=test;indexname=i;indexdata=b,NUMERIC;colour=red", Def{}, ErrParam},
		{"not key=value", "sindex-create:ns=test;indexname=i;indexdata=b,NUMERIC;oops", Def{}, ErrParam},
		{"name too long", "sindex-create:ns=test;indexname=" + strings.Repeat("n", 64) + ";indexdata=b,NUMERIC", Def{}, ErrNameMaxLen},
		{"bin too long", "sindex-create:ns=test;indexname=i;indexdata=" + strings.Repeat("b", 16) + ",NUMERIC", Def{}, ErrParam},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCreate(tc.cmd)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ParseCreate: err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCreate: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseCreate:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestParseCreateClientForms builds the command the way the official
// client's createIndex does for every type and collection, in both forms.
func TestParseCreateClientForms(t *testing.T) {
	for _, typ := range []Type{Numeric, String, Blob, Geo2DSphere} {
		for _, coll := range []Collection{Default, List, MapKeys, MapValues} {
			for _, v81 := range []bool{false, true} {
				var b strings.Builder
				if v81 {
					b.WriteString("sindex-create:namespace=test")
				} else {
					b.WriteString("sindex-create:ns=test")
				}
				b.WriteString(";set=demo;indexname=idx")
				if coll != Default {
					b.WriteString(";indextype=" + coll.String())
				}
				if v81 {
					b.WriteString(";bin=bin;type=")
				} else {
					b.WriteString(";indexdata=bin,")
				}
				b.WriteString(typ.String())
				got, err := ParseCreate(b.String())
				want := Def{Namespace: "test", Set: "demo", Name: "idx", Bin: "bin", Type: typ, Collection: coll}
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("ParseCreate(%q) = %+v, %v; want %+v", b.String(), got, err, want)
				}
			}
		}
	}
}

func TestParseDelete(t *testing.T) {
	for _, tc := range []struct {
		cmd           string
		ns, set, name string
		ok            bool
	}{
		{"sindex-delete:ns=test;set=demo;indexname=i", "test", "demo", "i", true},
		{"sindex-delete:namespace=test;indexname=i", "test", "", "i", true},
		{"sindex-delete:namespace=test", "", "", "", false},
		{"sindex-delete:indexname=i", "", "", "", false},
		{"sindex-delete:ns=test;indexname=i;bin=b", "", "", "", false},
	} {
		ns, set, name, err := ParseDelete(tc.cmd)
		if tc.ok != (err == nil) || ns != tc.ns || set != tc.set || name != tc.name {
			t.Errorf("ParseDelete(%q) = %q, %q, %q, %v", tc.cmd, ns, set, name, err)
		}
		if err != nil && ResultCode(err) != proto.ParameterError {
			t.Errorf("ParseDelete(%q): code %v", tc.cmd, ResultCode(err))
		}
	}
}

func TestResultCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code proto.ResultCode
	}{
		{nil, proto.OK},
		{fmt.Errorf("x: %w", ErrParam), proto.ParameterError},
		{fmt.Errorf("x: %w", ErrIndexFound), proto.IndexFound},
		{fmt.Errorf("x: %w", ErrIndexNotFound), proto.IndexNotFound},
		{fmt.Errorf("x: %w", ErrNameMaxLen), proto.IndexNameMaxLen},
		{fmt.Errorf("x: %w", ErrMaxCount), proto.IndexMaxCount},
		{fmt.Errorf("x: %w", ErrGeoJSON), proto.GeoInvalidGeoJSON},
		{errors.New("other"), proto.ServerError},
	} {
		if got := ResultCode(tc.err); got != tc.code {
			t.Errorf("ResultCode(%v) = %v, want %v", tc.err, got, tc.code)
		}
	}
}

func TestCatalog(t *testing.T) {
	c := NewCatalog()
	def := Def{Namespace: "test", Set: "demo", Name: "b_idx", Bin: "b", Type: Numeric}
	x, err := c.Create(def)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(def); !errors.Is(err, ErrIndexFound) {
		t.Fatalf("same name: %v", err)
	}
	other := def
	other.Name = "other"
	if _, err := c.Create(other); !errors.Is(err, ErrIndexFound) {
		t.Fatalf("same definition, other name: %v", err)
	}
	other.Collection = List
	y, err := c.Create(other)
	if err != nil {
		t.Fatalf("other collection: %v", err)
	}
	noSet := Def{Namespace: "test", Name: "a_idx", Bin: "b", Type: Numeric}
	z, err := c.Create(noSet)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("b_idx"); got != x {
		t.Fatal("Get")
	}
	if got := c.Find("demo", "b", nil, Numeric, Default); got != x {
		t.Fatal("Find prefers the set's own index")
	}
	if got := c.Find("elsewhere", "b", nil, Numeric, Default); got != z {
		t.Fatal("Find falls back to the set-less index")
	}
	if got := c.Find("demo", "b", nil, String, Default); got != nil {
		t.Fatal("Find by the wrong type")
	}
	last := []byte{0x92, 0x11, 0xff} // the list's largest item
	if got := c.Find("demo", "b", last, Numeric, Default); got != nil {
		t.Fatal("Find by a context no index has")
	}
	inner, err := c.Create(Def{Namespace: "test", Name: "ctx_idx", Set: "demo", Bin: "b", Ctx: last, Type: Numeric})
	if err != nil {
		t.Fatalf("same bin, with a context: %v", err)
	}
	if got := c.Find("demo", "b", last, Numeric, Default); got != inner {
		t.Fatal("Find by context")
	}
	if got := c.Find("demo", "b", nil, Numeric, Default); got != x {
		t.Fatal("Find without a context took the context's index")
	}
	if _, err := c.Drop("ctx_idx"); err != nil {
		t.Fatal(err)
	}
	names := ""
	for _, x := range c.Indexes(nil) {
		names += x.Def().Name + ","
	}
	if names != "a_idx,b_idx,other," {
		t.Fatalf("Indexes: %s", names)
	}
	if got := c.ForBin(nil, []byte("demo"), []byte("b")); len(got) != 3 {
		t.Fatalf("ForBin(demo, b): %d indexes", len(got))
	}
	if got := c.ForBin(nil, []byte("x"), []byte("b")); len(got) != 1 || got[0] != z {
		t.Fatalf("ForBin(x, b): %v", got)
	}
	if d, err := c.Drop("other"); err != nil || d != y {
		t.Fatalf("Drop: %v", err)
	}
	if _, err := c.Drop("other"); !errors.Is(err, ErrIndexNotFound) {
		t.Fatalf("Drop twice: %v", err)
	}
	if c.Len() != 2 {
		t.Fatalf("Len %d", c.Len())
	}
	if _, err := c.Create(Def{Namespace: "test", Name: "i"}); !errors.Is(err, ErrParam) {
		t.Fatalf("invalid definition: %v", err)
	}
	for i := c.Len(); i < MaxIndexes; i++ {
		if _, err := c.Create(Def{Namespace: "test", Name: fmt.Sprint("n", i), Bin: fmt.Sprint("b", i), Type: String}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create(Def{Namespace: "test", Name: "last", Bin: "z", Type: String}); !errors.Is(err, ErrMaxCount) {
		t.Fatalf("past MaxIndexes: %v", err)
	}
}

func TestDefString(t *testing.T) {
	d := Def{Namespace: "test", Name: "i", Bin: "b", Type: Geo2DSphere, Collection: MapValues}
	if got, want := d.String(), "ns=test:indexname=i:set=NULL:bin=b:type=GEO2DSPHERE:indextype=MAPVALUES:context=NULL"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
