package udf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// Record is the record a call works on, as the record layer provides it.
// Names and values passed in are valid only during the method call: an
// implementation copies what it keeps. Values are particles (type and wire
// value); the host converts them to and from the ABI's msgpack.
type Record interface {
	// Exists reports whether the record, as changed so far, has bins.
	Exists() bool
	Bin(name []byte) (typ uint8, val []byte, ok bool)
	// AppendBinNames appends each bin's name, a length byte then the name.
	AppendBinNames(dst []byte) []byte
	// SetBin, RemoveBin, Delete and SetTTL change the record; they return
	// 0 or one of the Code constants.
	SetBin(name []byte, typ uint8, val []byte) int32
	RemoveBin(name []byte) int32
	Delete() int32
	SetTTL(ttl int32) int32
	Generation() uint32
	// TTL is the seconds until the record expires, -1 for never.
	TTL() int32
	// LastUpdate is nanoseconds since the Unix epoch.
	LastUpdate() int64
	// Key is the stored or sent user key: particle type and value.
	Key() (typ uint8, val []byte, ok bool)
	SetName() []byte
	Digest() [20]byte
}

// Codes a host call returns to the guest (abi.md); Record methods return
// them too.
const (
	CodeAbsent       int32 = -1
	CodeInvalid      int32 = -2
	CodeNotPermitted int32 = -3
	CodeLimit        int32 = -4
)

// CallError is a call that failed: the function's own failure, a trap, a
// timeout, or a missing module or function.
type CallError struct {
	Module, Function string
	Err              error
}

func (e *CallError) Error() string { return e.Module + "." + e.Function + ": " + e.Err.Error() }
func (e *CallError) Unwrap() error { return e.Err }

// callState is what the host functions see of the call an instance runs.
type callState struct {
	input            []byte // function name, then the arguments
	fn               []byte
	rec              Record
	readOnly         bool
	result           []byte
	haveResult       bool
	fail             []byte
	scratch, convert []byte
	// log names the module; calls add the function.
	log *slog.Logger
}

// Call runs function fn of module pkg with args (one msgpack array) on rec,
// which is nil for a call without a record, and appends its result (one
// msgpack value) to dst. A failure is a *CallError.
func (h *Host) Call(ctx context.Context, pkg, fn, args []byte, rec Record, dst []byte) ([]byte, error) {
	return h.call(ctx, pkg, fn, args, rec, false, dst)
}

// take looks up the module clients call pkg and takes one of its
// instances. A module replaced between the two is looked up once more: its
// replacement serves the call.
func (h *Host) take(ctx context.Context, pkg []byte) (*module, *instance, error) {
	for range 2 {
		m := h.lookup(string(pkg))
		if m == nil {
			return nil, nil, ErrNoModule
		}
		inst, err := m.get(ctx)
		if !errors.Is(err, errRetired) {
			return m, inst, err
		}
	}
	return nil, nil, errRetired
}

func (h *Host) call(ctx context.Context, pkg, fn, args []byte, rec Record, readOnly bool, dst []byte) ([]byte, error) {
	m, inst, err := h.take(ctx, pkg)
	if err != nil {
		return dst, &CallError{Module: string(pkg), Function: string(fn), Err: err}
	}
	defer m.put(ctx, inst)
	c := &inst.c
	c.input = append(append(c.input[:0], fn...), args...)
	c.fn = c.input[:len(fn)]
	c.rec, c.readOnly = rec, readOnly
	c.result, c.haveResult, c.fail = c.result[:0], false, c.fail[:0]
	inst.out.first = inst.out.first[:0]
	defer func() { c.rec = nil }()

	callCtx, cancel := context.WithTimeout(inst.base, h.cfg.MaxCallTime)
	res, err := inst.call.Call(callCtx, uint64(len(fn)), uint64(len(args)))
	cancel()
	if err != nil {
		if !inst.broken() {
			// A trap leaves the guest's runtime in no state to go on.
			inst.m.Close(ctx)
		}
		c.log.Warn("UDF call died", "function", string(fn), "err", err)
		return dst, &CallError{Module: string(pkg), Function: string(fn), Err: describeExit(err, &inst.out, h.cfg)}
	}
	switch status := int32(res[0]); status {
	case 0:
	case 1:
		msg := string(c.fail)
		if msg == "" {
			msg = "failed"
		}
		return dst, &CallError{Module: string(pkg), Function: string(fn), Err: errors.New(msg)}
	case 2:
		return dst, &CallError{Module: string(pkg), Function: string(fn), Err: ErrNoFunction}
	default:
		return dst, &CallError{Module: string(pkg), Function: string(fn), Err: fmt.Errorf("skiff_call returned status %d", status)}
	}
	if !c.haveResult {
		return append(dst, 0xc0), nil
	}
	if n, ok := msgpack.Skip(c.result); !ok || n != len(c.result) {
		return dst, &CallError{Module: string(pkg), Function: string(fn), Err: errors.New("result is not one msgpack value")}
	}
	return append(dst, c.result...), nil
}

const abiModule = "skiff"

// abiSignatures are the host functions' parameter and result types.
var abiSignatures = map[string][2][]api.ValueType{}

// hostFunc is one host function of the ABI.
type hostFunc struct {
	name            string
	params, results []api.ValueType
	fn              func(c *callState, mem api.Memory, stack []uint64)
}

// instantiateABI defines the host functions of the ABI's module.
func instantiateABI(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abiModule)
	for _, f := range hostFuncs {
		fn := f.fn
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				inst := ctx.Value(instanceKey{}).(*instance)
				fn(&inst.c, mod.Memory(), stack)
			}), f.params, f.results).
			Export(f.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func init() {
	for _, f := range hostFuncs {
		abiSignatures[f.name] = [2][]api.ValueType{f.params, f.results}
	}
}

// view returns guest memory [ptr, ptr+n). Out of range is the guest's bug:
// the panic fails the call, and the instance is dropped.
func view(mem api.Memory, ptr, n uint64, what string) []byte {
	b, ok := mem.Read(uint32(ptr), uint32(n))
	if !ok {
		panic(fmt.Errorf("%s: [%d, %d) is outside the module's memory", what, uint32(ptr), uint32(ptr)+uint32(n)))
	}
	return b
}

// copyOut gives the guest b when it fits its buffer, and b's length.
func copyOut(mem api.Memory, ptr, capacity uint64, b []byte, what string) uint64 {
	if uint64(len(b)) <= capacity {
		copy(view(mem, ptr, uint64(len(b)), what), b)
	}
	return uint64(len(b))
}

// giveParticle gives the guest a value (present: ok) in msgpack when it
// fits its buffer, and returns the host call's result.
func (c *callState) giveParticle(mem api.Memory, ptr, capacity uint64, typ uint8, val []byte, ok bool, what string) uint64 {
	if !ok {
		return code(CodeAbsent)
	}
	if c.scratch, ok = msgpack.AppendParticle(c.scratch[:0], typ, val); !ok {
		return code(CodeInvalid)
	}
	return copyOut(mem, ptr, capacity, c.scratch, what)
}

func code(c int32) uint64 { return uint64(uint32(c)) }

var logLevels = [...]slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

var hostFuncs = []hostFunc{
	{"call_input", []api.ValueType{i32}, nil, func(c *callState, mem api.Memory, s []uint64) {
		copy(view(mem, s[0], uint64(len(c.input)), "call_input"), c.input)
	}},
	{"result", []api.ValueType{i32, i32}, nil, func(c *callState, mem api.Memory, s []uint64) {
		c.result = append(c.result[:0], view(mem, s[0], s[1], "result")...)
		c.haveResult = true
	}},
	{"fail", []api.ValueType{i32, i32}, nil, func(c *callState, mem api.Memory, s []uint64) {
		c.fail = append(c.fail[:0], view(mem, s[0], s[1], "fail")...)
	}},
	{"log", []api.ValueType{i32, i32, i32}, nil, func(c *callState, mem api.Memory, s []uint64) {
		level := slog.LevelInfo
		if l := uint32(s[0]); l < uint32(len(logLevels)) {
			level = logLevels[l]
		}
		msg := string(view(mem, s[1], s[2], "log"))
		c.log.Log(context.Background(), level, msg, "function", string(c.fn))
	}},
	{"rec_exists", nil, []api.ValueType{i32}, func(c *callState, _ api.Memory, s []uint64) {
		s[0] = 0
		if c.rec != nil && c.rec.Exists() {
			s[0] = 1
		}
	}},
	{"bin_get", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, func(c *callState, mem api.Memory, s []uint64) {
		if c.rec == nil {
			s[0] = code(CodeNotPermitted)
			return
		}
		typ, val, ok := c.rec.Bin(view(mem, s[0], s[1], "bin_get"))
		s[0] = c.giveParticle(mem, s[2], s[3], typ, val, ok, "bin_get")
	}},
	{"bin_names", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(c *callState, mem api.Memory, s []uint64) {
		if c.rec == nil {
			s[0] = code(CodeNotPermitted)
			return
		}
		c.scratch = c.rec.AppendBinNames(c.scratch[:0])
		s[0] = copyOut(mem, s[0], s[1], c.scratch, "bin_names")
	}},
	{"bin_set", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, func(c *callState, mem api.Memory, s []uint64) {
		if c.rec == nil || c.readOnly {
			s[0] = code(CodeNotPermitted)
			return
		}
		name := view(mem, s[0], s[1], "bin_set")
		if len(name) == 0 || len(name) > proto.MaxBinNameLen {
			s[0] = code(CodeInvalid)
			return
		}
		typ, val, ok := msgpack.ToParticle(&c.convert, view(mem, s[2], s[3], "bin_set"))
		switch {
		case !ok:
			s[0] = code(CodeInvalid)
		case typ == proto.ParticleNull:
			s[0] = code(c.rec.RemoveBin(name))
		default:
			s[0] = code(c.rec.SetBin(name, typ, val))
		}
	}},
	{"bin_remove", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(c *callState, mem api.Memory, s []uint64) {
		if c.rec == nil || c.readOnly {
			s[0] = code(CodeNotPermitted)
			return
		}
		name := view(mem, s[0], s[1], "bin_remove")
		if len(name) == 0 || len(name) > proto.MaxBinNameLen {
			s[0] = code(CodeInvalid)
			return
		}
		s[0] = code(c.rec.RemoveBin(name))
	}},
	{"rec_delete", nil, []api.ValueType{i32}, func(c *callState, _ api.Memory, s []uint64) {
		if c.rec == nil || c.readOnly {
			s[0] = code(CodeNotPermitted)
			return
		}
		s[0] = code(c.rec.Delete())
	}},
	{"rec_generation", nil, []api.ValueType{i32}, func(c *callState, _ api.Memory, s []uint64) {
		s[0] = 0
		if c.rec != nil {
			s[0] = uint64(c.rec.Generation())
		}
	}},
	{"rec_ttl", nil, []api.ValueType{i32}, func(c *callState, _ api.Memory, s []uint64) {
		s[0] = 0
		if c.rec != nil {
			s[0] = code(c.rec.TTL())
		}
	}},
	{"rec_last_update", nil, []api.ValueType{i64}, func(c *callState, _ api.Memory, s []uint64) {
		s[0] = 0
		if c.rec != nil {
			s[0] = uint64(c.rec.LastUpdate())
		}
	}},
	{"rec_set_ttl", []api.ValueType{i32}, []api.ValueType{i32}, func(c *callState, _ api.Memory, s []uint64) {
		if c.rec == nil || c.readOnly {
			s[0] = code(CodeNotPermitted)
			return
		}
		s[0] = code(c.rec.SetTTL(int32(uint32(s[0]))))
	}},
	{"rec_key", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(c *callState, mem api.Memory, s []uint64) {
		if c.rec == nil {
			s[0] = code(CodeNotPermitted)
			return
		}
		typ, val, ok := c.rec.Key()
		s[0] = c.giveParticle(mem, s[0], s[1], typ, val, ok, "rec_key")
	}},
	{"rec_set_name", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(c *callState, mem api.Memory, s []uint64) {
		if c.rec == nil {
			s[0] = code(CodeNotPermitted)
			return
		}
		s[0] = copyOut(mem, s[0], s[1], c.rec.SetName(), "rec_set_name")
	}},
	{"rec_digest", []api.ValueType{i32}, nil, func(c *callState, mem api.Memory, s []uint64) {
		var d [20]byte
		if c.rec != nil {
			d = c.rec.Digest()
		}
		copy(view(mem, s[0], 20, "rec_digest"), d[:])
	}},
}
