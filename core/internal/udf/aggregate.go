package udf

import (
	"context"
	"errors"

	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// Aggregation runs an aggregation's filter, map and reduce functions over
// the records of a scan or query, one record at a time (abi.md,
// "Aggregations"). It is not safe for concurrent use.
type Aggregation struct {
	h             *Host
	pkg           []byte
	fns           [3][]byte // name:filter, name:map, name:reduce
	present       [3]int8   // 0 not known yet, 1 present, -1 absent
	args          []byte    // the caller's arguments, an array
	userArgs      []byte    // the same without the array header
	nUserArgs     int
	acc, out, buf []byte
	haveAcc       bool
}

const (
	stageFilter = iota
	stageMap
	stageReduce
)

// NewAggregation prepares aggregation name of module pkg with args, one
// msgpack array.
func (h *Host) NewAggregation(pkg, name string, args []byte) (*Aggregation, error) {
	if h.lookup(pkg) == nil {
		return nil, &CallError{Module: pkg, Function: name, Err: ErrNoModule}
	}
	var head msgpack.Head
	if !head.Parse(args) || head.Type != msgpack.List {
		return nil, &CallError{Module: pkg, Function: name, Err: errors.New("arguments are not a msgpack array")}
	}
	a := &Aggregation{h: h, pkg: []byte(pkg), args: args, userArgs: args[head.Size:], nUserArgs: head.N}
	for i, stage := range []string{":filter", ":map", ":reduce"} {
		a.fns[i] = []byte(name + stage)
	}
	return a, nil
}

// Add runs the filter and map on rec and folds the value into the running
// result with the reduce function. Values that leave the aggregation (all
// of them when the module has no reduce) go to emit, valid only during
// the call.
func (a *Aggregation) Add(ctx context.Context, rec Record, emit func(v []byte) error) error {
	var err error
	if a.present[stageFilter] >= 0 {
		if a.buf, err = a.stage(ctx, stageFilter, a.args, rec, a.buf[:0]); err != nil {
			return err
		}
		if a.present[stageFilter] > 0 && !truthy(a.buf) {
			return nil
		}
	}
	if a.out, err = a.stage(ctx, stageMap, a.args, rec, a.out[:0]); err != nil {
		return err
	}
	if a.present[stageMap] < 0 {
		if a.out, err = appendBinMap(a.out[:0], rec); err != nil {
			return err
		}
	}
	switch {
	case a.present[stageReduce] < 0:
		return emit(a.out)
	case !a.haveAcc:
		// Whether there is a reduce is learnt at the second value.
		a.acc = append(a.acc[:0], a.out...)
		a.haveAcc = true
		return nil
	}
	a.buf = msgpack.AppendArrayHeader(a.buf[:0], a.nUserArgs+2)
	a.buf = append(append(append(a.buf, a.acc...), a.out...), a.userArgs...)
	next, err := a.stage(ctx, stageReduce, a.buf, nil, nil)
	if err != nil {
		return err
	}
	if a.present[stageReduce] < 0 {
		a.haveAcc = false
		if err := emit(a.acc); err != nil {
			return err
		}
		return emit(a.out)
	}
	a.acc = append(a.acc[:0], next...)
	return nil
}

// Finish emits the reduced value, if there is one: none when no record
// was added.
func (a *Aggregation) Finish(emit func(v []byte) error) error {
	if !a.haveAcc {
		return nil
	}
	a.haveAcc = false
	return emit(a.acc)
}

// stage runs one stage function, learning on the first call whether the
// module has it. An absent stage returns dst unchanged and no error.
func (a *Aggregation) stage(ctx context.Context, i int, args []byte, rec Record, dst []byte) ([]byte, error) {
	if a.present[i] < 0 {
		return dst, nil
	}
	out, err := a.h.call(ctx, a.pkg, a.fns[i], args, rec, true, dst)
	if err != nil {
		if a.present[i] == 0 && errors.Is(err, ErrNoFunction) {
			a.present[i] = -1
			return dst, nil
		}
		return dst, err
	}
	a.present[i] = 1
	return out, nil
}

// appendBinMap appends a map of rec's bins, the value an aggregation
// without a map function passes on.
func appendBinMap(dst []byte, rec Record) ([]byte, error) {
	names := rec.AppendBinNames(nil)
	n := 0
	for i := 0; i < len(names); i += 1 + int(names[i]) {
		n++
	}
	dst = msgpack.AppendMapHeader(dst, n)
	for i := 0; i < len(names); i += 1 + int(names[i]) {
		name := names[i+1 : i+1+int(names[i])]
		typ, val, _ := rec.Bin(name)
		dst = msgpack.AppendTyped(dst, 3, name)
		var ok bool
		if dst, ok = msgpack.AppendParticle(dst, typ, val); !ok {
			return dst, errors.New("bin " + string(name) + " holds a value a UDF cannot read")
		}
	}
	return dst, nil
}
