package record

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/internal/udf"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/udftest"
)

// udfRun is a record UDF call of a test: function fn of module pkg.
type udfRun struct {
	h         *udf.Host
	pkg, fn   []byte
	args, out []byte
}

func (u *udfRun) RunUDF(rec *UDFRecord) error {
	var err error
	u.out, err = u.h.Call(context.Background(), u.pkg, u.fn, u.args, rec, u.out[:0])
	return err
}

// benchHost registers a module built from path: a Go package with the Go
// toolchain, a .wat file with wat2wasm.
func benchHost(b *testing.B, name, path string) *udf.Host {
	content := udftest.Module(b, path)
	h, err := udf.New(context.Background(), udf.Config{Dir: b.TempDir(), MaxModuleSize: 16 << 20, MaxMemory: 64 << 20,
		MaxCallTime: time.Second, MaxInstances: 4}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(context.Background()) })
	if err := h.Put(context.Background(), name+".wasm", udf.Language, content); err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkUDFServerTime is the node's own time for a record UDF, without
// the network and the client: the time the call adds over the operation
// it stands for (Operate: an add of 1 to a bin), for the counter example
// (Go) and the hand-written module's touch_count (WebAssembly text). Each
// call reads the record, runs the function and writes the record back.
//
// go test ./core/internal/record -run '^$' -bench UDFServerTime
func BenchmarkUDFServerTime(b *testing.B) {
	ns, _ := newTestNamespace(b, nil)
	var s Scratch
	const records = 1000
	for i := range records {
		exec(b, ns, write(digest(i), intOp(proto.OpWrite, "n", 0)))
	}
	b.Run("Operate", func(b *testing.B) {
		req := write(digest(0), intOp(proto.OpAdd, "n", 1))
		i := 0
		for b.Loop() {
			req.Digest = digest(i % records)
			if res := ns.Execute(context.Background(), &s, req); res.Code != proto.OK {
				b.Fatal(res.Code)
			}
			i++
		}
	})
	for _, tc := range []struct{ name, module, path, fn string }{
		{"ExecuteGo", "counter", "../../../examples/udf/counter", "incr"},
		{"ExecuteWAT", "wat", "../../../examples/udf/wat/touch.wat", "touch_count"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			u := &udfRun{h: benchHost(b, tc.module, tc.path), pkg: []byte(tc.module), fn: []byte(tc.fn),
				// ["n", 1, 1<<62]: incr's bin, step and cap; touch_count takes none.
				args: []byte{0x93, 0xa2, 3, 'n', 1, 0xcf, 0x40, 0, 0, 0, 0, 0, 0, 0}}
			req := &Request{Info2: proto.Info2Write}
			i := 0
			for b.Loop() {
				req.Digest = digest(i % records)
				if res, err := ns.ExecuteUDF(context.Background(), &s, req, u); err != nil || res.Code != proto.OK {
					b.Fatal(res.Code, err)
				}
				i++
			}
		})
	}
}
