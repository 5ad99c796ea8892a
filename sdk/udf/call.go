package udf

import "fmt"

// ABIVersion is the version of the ABI (abi.md) this package implements,
// which the module's skiff_abi_version export returns.
const ABIVersion = 1

// Status codes skiff_call returns.
const (
	statusOK      = 0
	statusFailed  = 1
	statusUnknown = 2
)

// dispatcher runs skiff_call: it fetches the call's input, finds the
// function, decodes the arguments, runs the function and hands its result
// or failure to the host. Its buffers are reused from call to call, so a
// call allocates only for the decoded arguments and what the function
// itself does. An instance serves one call at a time; a dispatcher is not
// safe for concurrent use.
type dispatcher struct {
	funcs registry
	in    []byte  // call_input: name then arguments
	out   []byte  // the encoded result
	args  []Value // the decoded arguments
	rec   Record
}

// call runs the call of the function whose name and arguments are
// nameLen and argsLen bytes of call_input, and returns the status.
func (d *dispatcher) call(h host, nameLen, argsLen int32) int32 {
	if nameLen < 0 || argsLen < 0 {
		h.fail(fmt.Sprintf("udf: skiff_call(%d, %d): negative length", nameLen, argsLen))
		return statusFailed
	}
	n := int(nameLen) + int(argsLen)
	if cap(d.in) < n {
		d.in = make([]byte, n)
	}
	d.in = d.in[:n]
	h.callInput(d.in)
	name := d.in[:nameLen]

	fn := d.funcs[string(name)]
	if fn == nil {
		return statusUnknown
	}
	args, err := decodeArgs(d.in[nameLen:], d.args[:0])
	d.args = args
	defer clear(d.args) // the values are the function's; drop our references
	if err != nil {
		h.fail(fmt.Sprintf("udf: %s: arguments: %v", name, err))
		return statusFailed
	}

	prev := active
	active = h
	defer func() { active = prev }()
	d.rec.h = h
	v, err := d.run(fn, name, args)
	if err != nil {
		h.fail(err.Error())
		return statusFailed
	}
	if v == nil {
		return statusOK
	}
	if d.out, err = appendValue(d.out[:0], v); err != nil {
		h.fail(fmt.Sprintf("udf: %s: result: %v", name, err))
		return statusFailed
	}
	h.result(d.out)
	return statusOK
}

// run calls fn, turning a panic into an error naming the function.
func (d *dispatcher) run(fn Func, name []byte, args []Value) (v Value, err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		v = nil
		if f, ok := p.(hostFault); ok {
			err = fmt.Errorf("udf: %s: %w", name, f.err)
			return
		}
		err = fmt.Errorf("udf: %s: panic: %v", name, p)
	}()
	v, err = fn(&d.rec, args)
	if err == nil {
		return v, nil
	}
	if msg := err.Error(); msg == "" {
		return nil, fmt.Errorf("udf: %s: failed (an error with an empty message)", name)
	}
	return nil, err
}
