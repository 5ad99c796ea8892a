package udf

import (
	"fmt"
	"strings"
)

// Func is a UDF: it runs on record r with the client's arguments and
// returns the call's result (nil for none). A non-nil error fails the call
// and writes nothing; its Error() is the message the client sees.
//
// r and args are valid only during the call; the values in args are the
// function's own.
type Func func(r *Record, args []Value) (Value, error)

// Aggregate is an aggregation: up to three stages run over the records
// of a scan or query (abi.md, "Aggregations"). Any stage may be nil.
type Aggregate struct {
	// Filter keeps a record when it returns true. The record is
	// read-only. Without a Filter every record is kept.
	Filter func(r *Record, args []Value) (bool, error)
	// Map turns a kept record into a value. The record is read-only.
	// Without a Map the value is a map of the record's bins.
	Map func(r *Record, args []Value) (Value, error)
	// Reduce combines two values into one; it has no record. Without a
	// Reduce the aggregation returns the list of mapped values.
	Reduce func(a, b Value, args []Value) (Value, error)
}

// functions is the module's registry, which skiff_call dispatches on.
var functions = registry{}

// Register makes fn callable by name, as client.Execute(policy, key,
// module, name, args...) calls it. Call it from an init function. It
// panics when name is empty, holds ':' (aggregation stages take their
// names from RegisterAggregate) or is registered already, or fn is nil.
func Register(name string, fn Func) {
	functions.register(name, fn)
}

// RegisterAggregate registers the stages of aggregation name as the
// functions name:filter, name:map and name:reduce, leaving out the nil
// ones. Call it from an init function. It panics as Register does, and
// when every stage is nil.
func RegisterAggregate(name string, a Aggregate) {
	functions.registerAggregate(name, a)
}

// registry maps function names to functions. Registration happens in init
// functions, before any call, so it needs no lock.
type registry map[string]Func

func (reg registry) register(name string, fn Func) {
	if strings.Contains(name, ":") {
		panic(fmt.Sprintf("udf: Register(%q): ':' is for aggregation stages; use RegisterAggregate", name))
	}
	reg.add(name, fn)
}

func (reg registry) add(name string, fn Func) {
	switch {
	case name == "":
		panic("udf: Register: empty function name")
	case fn == nil:
		panic(fmt.Sprintf("udf: Register(%q): nil function", name))
	case reg[name] != nil:
		panic(fmt.Sprintf("udf: Register(%q): registered twice", name))
	}
	reg[name] = fn
}

func (reg registry) registerAggregate(name string, a Aggregate) {
	if name == "" || strings.Contains(name, ":") {
		panic(fmt.Sprintf("udf: RegisterAggregate(%q): the name must be non-empty and without ':'", name))
	}
	if a.Filter == nil && a.Map == nil && a.Reduce == nil {
		panic(fmt.Sprintf("udf: RegisterAggregate(%q): no stage", name))
	}
	if f := a.Filter; f != nil {
		reg.add(name+":filter", func(r *Record, args []Value) (Value, error) {
			keep, err := f(r, args)
			if err != nil {
				return nil, err
			}
			return keep, nil
		})
	}
	if a.Map != nil {
		reg.add(name+":map", a.Map)
	}
	if f := a.Reduce; f != nil {
		reg.add(name+":reduce", func(_ *Record, args []Value) (Value, error) {
			if len(args) < 2 {
				return nil, fmt.Errorf("udf: %s:reduce: %d arguments, want the two values to combine first", name, len(args))
			}
			return f(args[0], args[1], args[2:])
		})
	}
}
