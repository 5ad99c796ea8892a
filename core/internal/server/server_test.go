package server

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/proto"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
)

// These tests speak the wire protocol byte by byte, to check what the
// official client never sends: malformed, hostile and odd frames.

type testServer struct {
	*Server
	addr string
	done chan error
}

func startServer(t *testing.T, edit func(*config.Config)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.Network.Service = config.Endpoint{Address: "127.0.0.1", Port: 0}
	if edit != nil {
		edit(cfg)
	}
	var namespaces []*record.Namespace
	for _, nc := range cfg.Namespaces {
		b, err := memory.New(memory.Options{DataSize: nc.Storage.DataSize})
		if err != nil {
			t.Fatal(err)
		}
		namespaces = append(namespaces, record.New(nc, record.Options{Backend: b}))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	s := New(ctx, cfg, namespaces, nil, log)
	s.frameTimeout = 300 * time.Millisecond
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, addr: addr.String(), done: make(chan error, 1)}
	go func() { ts.done <- s.Serve() }()
	t.Cleanup(func() {
		sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		if err := s.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-ts.done; err != nil {
			t.Errorf("serve: %v", err)
		}
		cancel()
		for _, ns := range namespaces {
			ns.Close()
		}
	})
	return ts
}

func (ts *testServer) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func frame(typ uint8, body []byte) []byte {
	b := make([]byte, proto.FrameHeaderSize, proto.FrameHeaderSize+len(body))
	proto.PutFrameHeader(b, typ, len(body))
	return append(b, body...)
}

// msg builds an AS_MSG body.
func msg(info1, info2 uint8, fields []proto.Field, ops []proto.Op) []byte {
	w := proto.Writer{}
	w.Msg(proto.MsgHeader{NFields: uint16(len(fields)), NOps: uint16(len(ops))})
	w.B[1], w.B[2] = info1, info2
	for _, f := range fields {
		w.Field(f.Type, f.Data)
	}
	for _, op := range ops {
		w.Op(op.Type, op.ParticleType, op.Name, op.Value)
	}
	return w.B
}

func keyFields(ns string, digest byte) []proto.Field {
	return []proto.Field{
		{Type: proto.FieldNamespace, Data: []byte(ns)},
		{Type: proto.FieldSet, Data: []byte("set")},
		{Type: proto.FieldDigest, Data: bytes.Repeat([]byte{digest}, 20)},
	}
}

// readReply reads one frame and decodes it as a message.
func readReply(t *testing.T, c net.Conn) (proto.Msg, error) {
	t.Helper()
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return proto.Msg{}, err
	}
	h, err := proto.ParseFrameHeader(hdr[:])
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, h.Size)
	if _, err := io.ReadFull(c, body); err != nil {
		return proto.Msg{}, err
	}
	var m proto.Msg
	if _, err := m.Decode(body); err != nil {
		t.Fatalf("reply: %v", err)
	}
	return m, nil
}

func roundTrip(t *testing.T, c net.Conn, req []byte) proto.Msg {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	m, err := readReply(t, c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantClosed fails unless the server closes c without replying.
func wantClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if n, err := c.Read(b[:]); err == nil || n != 0 {
		t.Fatalf("connection still open (read %d bytes, %v)", n, err)
	} else if errors.Is(err, errTimeout) || strings.Contains(err.Error(), "timeout") {
		t.Fatal("server did not close the connection")
	}
}

var errTimeout = errors.New("i/o timeout")

func putRequest(digest byte) []byte {
	return frame(proto.TypeMsg, msg(0, proto.Info2Write, keyFields("test", digest),
		[]proto.Op{{Type: proto.OpWrite, ParticleType: proto.ParticleString, Name: []byte("b"), Value: []byte("v")}}))
}

func getRequest(digest byte) []byte {
	return frame(proto.TypeMsg, msg(proto.Info1Read|proto.Info1GetAll, 0, keyFields("test", digest), nil))
}

// checkServing proves the server still answers a fresh connection.
func (ts *testServer) checkServing(t *testing.T) {
	t.Helper()
	c := ts.dial(t)
	if m := roundTrip(t, c, putRequest(9)); m.ResultCode != uint8(proto.OK) {
		t.Fatalf("put after the hostile input: %d", m.ResultCode)
	}
}

func TestMalformedMessages(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial(t)
	good := msg(proto.Info1Read, 0, keyFields("test", 1), nil)
	for name, body := range map[string][]byte{
		"short header":       good[:10],
		"field overrun":      append(append([]byte(nil), good[:proto.MsgHeaderSize]...), 0xFF, 0xFF, 0xFF, 0xFF, 0),
		"no namespace":       msg(proto.Info1Read, 0, keyFields("test", 1)[1:], nil),
		"bad digest":         msg(proto.Info1Read, 0, []proto.Field{{Type: proto.FieldNamespace, Data: []byte("test")}, {Type: proto.FieldDigest, Data: []byte{1, 2}}}, nil),
		"no digest, no scan": msg(0, proto.Info2Write, keyFields("test", 1)[:2], []proto.Op{{Type: proto.OpWrite, ParticleType: proto.ParticleString, Name: []byte("b"), Value: []byte("v")}}),
	} {
		t.Run(name, func(t *testing.T) {
			m := roundTrip(t, c, frame(proto.TypeMsg, body))
			if m.ResultCode == uint8(proto.OK) {
				t.Fatal("malformed message answered OK")
			}
		})
	}
	if m := roundTrip(t, c, frame(proto.TypeMsg, msg(proto.Info1Read, 0, keyFields("nosuch", 1), nil))); m.ResultCode != uint8(proto.InvalidNamespace) {
		t.Fatalf("unknown namespace: %d", m.ResultCode)
	}
	// The same connection keeps working after errors.
	if m := roundTrip(t, c, putRequest(1)); m.ResultCode != uint8(proto.OK) {
		t.Fatalf("put: %d", m.ResultCode)
	}
}

func TestHostileFrames(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Service.ProtoMaxSize = 1 << 20 })
	cases := map[string][]byte{
		"bad version":          {9, 3, 0, 0, 0, 0, 0, 30},
		"unknown type":         {2, 77, 0, 0, 0, 0, 0, 1, 0},
		"short security frame": frame(proto.TypeAdmin, make([]byte, proto.AdminHeaderSize-1)),
		// A header claiming a petabyte: refused before any body is read.
		"oversized":           {2, 3, 0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
		"just over the limit": func() []byte { b := make([]byte, 8); proto.PutFrameHeader(b, proto.TypeMsg, 1<<20+1); return b }(),
		"compressed garbage":  frame(proto.TypeMsgCompressed, append(binary.BigEndian.AppendUint64(nil, 100), 1, 2, 3, 4)),
		"compressed bomb":     frame(proto.TypeMsgCompressed, binary.BigEndian.AppendUint64(nil, 1<<40)),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			c := ts.dial(t)
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
			wantClosed(t, c)
		})
	}
	ts.checkServing(t)
}

func TestStalledFrameIsDropped(t *testing.T) {
	ts := startServer(t, nil)
	for name, partial := range map[string][]byte{
		"half header": putRequest(1)[:4],
		"half body":   putRequest(1)[:20],
	} {
		t.Run(name, func(t *testing.T) {
			c := ts.dial(t)
			start := time.Now()
			c.Write(partial)
			wantClosed(t, c)
			if d := time.Since(start); d < ts.frameTimeout {
				t.Fatalf("closed after %v, before the frame timeout", d)
			}
		})
	}
	ts.checkServing(t)
}

func TestGarbageNeverCrashes(t *testing.T) {
	ts := startServer(t, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	valid := [][]byte{putRequest(3), getRequest(3), frame(proto.TypeInfo, []byte("node\n"))}
	for i := 0; i < 300; i++ {
		b := append([]byte(nil), valid[i%len(valid)]...)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		}
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(b)
		// Whatever the server makes of it, it answers and then, seeing the
		// end of the stream, closes.
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, io.LimitReader(c, 1<<16)); err != nil {
			t.Fatalf("input %x: %v", b, err)
		}
		c.Close()
	}
	ts.checkServing(t)
}

func TestCompressedRequest(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial(t)
	inner := putRequest(5)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(inner)
	zw.Close()
	body := append(binary.BigEndian.AppendUint64(nil, uint64(len(inner))), z.Bytes()...)
	if m := roundTrip(t, c, frame(proto.TypeMsgCompressed, body)); m.ResultCode != uint8(proto.OK) {
		t.Fatalf("compressed put: %d", m.ResultCode)
	}
	if m := roundTrip(t, c, getRequest(5)); m.ResultCode != uint8(proto.OK) || len(m.Ops) != 1 {
		t.Fatalf("get after compressed put: %d, %d bins", m.ResultCode, len(m.Ops))
	}
}

func TestInfoCommands(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial(t)
	cmds := "node\nbuild\nnamespaces\nnamespace/test\nnamespace/nosuch\nreplicas\npeers-clear-std\nnosuchcommand\nstatus\n"
	if _, err := c.Write(frame(proto.TypeInfo, []byte(cmds))); err != nil {
		t.Fatal(err)
	}
	var hdr [8]byte
	io.ReadFull(c, hdr[:])
	h, _ := proto.ParseFrameHeader(hdr[:])
	body := make([]byte, h.Size)
	io.ReadFull(c, body)
	got := proto.ParseInfoReply(body)
	want := map[string]func(string) bool{
		"node":       func(v string) bool { return v == ts.NodeID() && v != "" },
		"build":      func(v string) bool { return v == Build },
		"namespaces": func(v string) bool { return v == "test" },
		"namespace/test": func(v string) bool {
			return strings.Contains(v, "default-ttl=2592000") && strings.Contains(v, "storage-engine=memory")
		},
		"namespace/nosuch": func(v string) bool { return strings.HasPrefix(v, "ERROR:20:") },
		"replicas":         func(v string) bool { return strings.HasPrefix(v, "test:0,1,") && len(v) > 600 },
		"peers-clear-std":  func(v string) bool { return strings.HasSuffix(v, ",[]") },
		"nosuchcommand":    func(v string) bool { return strings.HasPrefix(v, "ERROR:") },
		"status":           func(v string) bool { return v == "ok" },
	}
	for cmd, ok := range want {
		if !ok(got[cmd]) {
			t.Errorf("%s: %q", cmd, got[cmd])
		}
	}
}

func TestConnectionLimit(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Service.ProtoFdMax = 2 })
	a, b := ts.dial(t), ts.dial(t)
	roundTrip(t, a, putRequest(1))
	roundTrip(t, b, putRequest(2))
	extra := ts.dial(t)
	extra.Write(putRequest(3))
	wantClosed(t, extra)
	roundTrip(t, a, getRequest(1))

	// set-config moves the limit for the connections that come next.
	if got := ts.runInfo("set-config:context=service;proto-fd-max=3"); got != "ok" {
		t.Fatalf("raise proto-fd-max: %q", got)
	}
	if got := ts.runInfo("get-config:context=service"); !strings.Contains(got, "proto-fd-max=3;") {
		t.Errorf("get-config after the change: %q", got)
	}
	third := ts.dial(t)
	roundTrip(t, third, putRequest(3))
	if got := ts.runInfo("set-config:context=service;proto-fd-max=1"); got != "ok" {
		t.Fatalf("lower proto-fd-max: %q", got)
	}
	extra = ts.dial(t)
	extra.Write(putRequest(4))
	wantClosed(t, extra)
	// Connections already open stay.
	roundTrip(t, b, getRequest(2))
	roundTrip(t, third, getRequest(3))
}

func TestShutdownFinishesRequests(t *testing.T) {
	ts := startServer(t, nil)
	idle := ts.dial(t)
	roundTrip(t, idle, putRequest(1))

	// A batch big enough to be in flight while the shutdown starts.
	busy := ts.dial(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		time.Sleep(20 * time.Millisecond)
		if err := ts.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	for range 50 {
		if _, err := busy.Write(getRequest(1)); err != nil {
			break
		}
		if _, err := readReply(t, busy); err != nil {
			break
		}
	}
	wg.Wait()
	wantClosed(t, idle)
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Fatal("accepting connections after shutdown")
	}
}

// batchRequest is a batch-index request reading whole records at the
// digests given, then, when tail is not nil, tail as one more entry.
func batchRequest(digests []byte, tail []byte) []byte {
	data := binary.BigEndian.AppendUint32(nil, uint32(len(digests)+min(len(tail), 1)))
	data = append(data, 0)
	for i, d := range digests {
		data = binary.BigEndian.AppendUint32(data, uint32(i))
		data = append(data, bytes.Repeat([]byte{d}, 20)...)
		if i > 0 {
			data = append(data, proto.BatchRepeat)
			continue
		}
		data = append(data, 0, proto.Info1Read|proto.Info1GetAll, 0, 1, 0, 0) // 1 field, no ops
		data = binary.BigEndian.AppendUint32(data, 1+4)
		data = append(data, proto.FieldNamespace, 't', 'e', 's', 't')
	}
	data = append(data, tail...)
	return frame(proto.TypeMsg, msg(proto.Info1Read|proto.Info1Batch, 0, []proto.Field{{Type: proto.FieldBatchIndex, Data: data}}, nil))
}

// readBatch reads a batch reply: the result code of each index, and the
// code of the last message.
func readBatch(t *testing.T, c net.Conn) (map[uint32]uint8, uint8) {
	t.Helper()
	codes := map[uint32]uint8{}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			t.Fatal(err)
		}
		h, err := proto.ParseFrameHeader(hdr[:])
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, h.Size)
		if _, err := io.ReadFull(c, body); err != nil {
			t.Fatal(err)
		}
		for len(body) > 0 {
			var m proto.Msg
			n, err := m.Decode(body)
			if err != nil {
				t.Fatalf("batch reply: %v", err)
			}
			body = body[n:]
			if m.Info3&proto.Info3Last != 0 {
				return codes, m.ResultCode
			}
			if _, dup := codes[m.Timeout]; dup {
				t.Fatalf("index %d answered twice", m.Timeout)
			}
			codes[m.Timeout] = m.ResultCode
		}
	}
}

// TestBatchReadsEndCleanly sends a batch whose last entry is malformed
// while its reads are in flight (the default namespace's reads run
// concurrently), then a good batch on the same connection: each gets the
// results of its own entries, once, and nothing of the other's.
func TestBatchReadsEndCleanly(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial(t)
	for d := byte(1); d <= 50; d++ {
		roundTrip(t, c, putRequest(d))
	}
	digests := make([]byte, 200)
	for i := range digests {
		digests[i] = byte(i%100 + 1) // 1..50 stored, 51..100 not
	}
	truncated := append(make([]byte, 24), 0) // index, digest, flags: no attributes
	for _, tc := range []struct {
		name     string
		req      []byte
		n        int
		wantLast proto.ResultCode
	}{
		{"malformed last entry", batchRequest(digests, truncated), 200, proto.ParameterError},
		{"good batch", batchRequest(digests[:30], nil), 30, proto.OK},
	} {
		if _, err := c.Write(tc.req); err != nil {
			t.Fatal(err)
		}
		codes, last := readBatch(t, c)
		if last != uint8(tc.wantLast) || len(codes) != tc.n {
			t.Fatalf("%s: %d results, last code %d; want %d, %d", tc.name, len(codes), last, tc.n, tc.wantLast)
		}
		for i := range tc.n {
			want := proto.OK
			if digests[i] > 50 {
				want = proto.KeyNotFound
			}
			if codes[uint32(i)] != uint8(want) {
				t.Fatalf("%s: index %d: code %d, want %d", tc.name, i, codes[uint32(i)], want)
			}
		}
	}
}
