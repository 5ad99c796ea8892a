package server

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/proto"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
)

// FuzzMessage hands any bytes to a connection as the body of a message
// frame, on a node with a fresh memory namespace: whatever the message
// asks (single-record commands, operations, batches, scans, queries,
// background jobs), the node answers or drops the connection, and never
// panics. FuzzDecode checks the decoder alone; this runs what follows it.
func FuzzMessage(f *testing.F) {
	key := keyFields("test", 7)
	op := func(typ, particle uint8, name string, value []byte) proto.Op {
		return proto.Op{Type: typ, ParticleType: particle, Name: []byte(name), Value: value}
	}
	i64 := func(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
	for _, m := range [][]byte{
		msg(0, proto.Info2Write, key, []proto.Op{op(proto.OpWrite, proto.ParticleString, "b", []byte("v"))}),
		msg(proto.Info1Read|proto.Info1GetAll, 0, key, nil),
		msg(proto.Info1Read, proto.Info2Write|proto.Info2RespondAllOps, key, []proto.Op{
			op(proto.OpWrite, proto.ParticleInteger, "n", i64(1)),
			op(proto.OpAdd, proto.ParticleInteger, "n", i64(2)),
			op(proto.OpAppend, proto.ParticleString, "s", []byte("x")),
			op(proto.OpRead, 0, "n", nil),
		}),
		msg(0, proto.Info2Write|proto.Info2Delete, key, nil),
		// List, bit and HLL operations, [code, args...] in msgpack:
		// append items [1, 2], get by index -1, resize to 4 bytes, add 1
		// with 4 index bits.
		msg(proto.Info1Read, proto.Info2Write|proto.Info2RespondAllOps, key, []proto.Op{
			op(proto.OpCDTModify, proto.ParticleBlob, "l", []byte{0x93, 0x02, 0x92, 0x01, 0x02, 0x00}),
			op(proto.OpCDTRead, proto.ParticleBlob, "l", []byte{0x93, 0x13, 0x07, 0xff}),
			op(proto.OpBitModify, proto.ParticleBlob, "b", []byte{0x92, 0x00, 0x04}),
			op(proto.OpHLLModify, proto.ParticleBlob, "h", []byte{0x93, 0x01, 0x91, 0x01, 0x04}),
		}),
		// A map put of "k": 1 through a context step that creates a list
		// at the end of list l, [0xff, [index|create, 2], [put, "k", 1]]:
		// the put finds a list and fails.
		msg(0, proto.Info2Write, key, []proto.Op{
			op(proto.OpCDTModify, proto.ParticleBlob, "l", []byte{0x93, 0xcc, 0xff, 0x92, 0x50, 0x02, 0x93, 0x43, 0xa2, 0x03, 'k', 0x01}),
		}),
		// A scan of the namespace, and one of a set.
		msg(proto.Info1Read|proto.Info1GetAll, 0, []proto.Field{{Type: proto.FieldNamespace, Data: []byte("test")}}, nil),
		msg(proto.Info1Read|proto.Info1GetAll, 0, []proto.Field{{Type: proto.FieldNamespace, Data: []byte("test")}, {Type: proto.FieldSet, Data: []byte("set")}}, nil),
		batchRequest([]byte{7, 7, 8}, nil)[proto.FrameHeaderSize:],
	} {
		f.Add(m)
	}
	cfg := config.Default()
	nc := cfg.Namespaces[0]
	nc.Storage.DataSize = 16 << 20
	nc.MaxRecordSize = 1 << 20
	log := slog.New(slog.DiscardHandler)

	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := memory.New(memory.Options{DataSize: nc.Storage.DataSize})
		if err != nil {
			t.Fatal(err)
		}
		ns := record.New(nc, record.Options{Backend: b, Logger: log})
		ctx, cancel := context.WithCancel(context.Background())
		s := New(ctx, cfg, []*record.Namespace{ns}, nil, log)
		// As a node stops: background work ends, then the namespace closes.
		defer func() {
			cancel()
			s.WaitJobs()
			ns.Close()
		}()
		server, client := net.Pipe()
		defer server.Close()
		go io.Copy(io.Discard, client)
		defer client.Close()
		c := newConn(s, server)
		if c.handle(proto.TypeMsg, body) && !c.broken && len(c.w.B) > 0 {
			server.Write(c.w.B)
		}
	})
}
