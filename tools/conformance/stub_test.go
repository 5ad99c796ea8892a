package main

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStub(t *testing.T) {
	s, err := startStub(0, "test", "7.2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))

	roundTrip := func(typ byte, body []byte) (byte, []byte) {
		t.Helper()
		if _, err := c.Write(frame(typ, body)); err != nil {
			t.Fatal(err)
		}
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			t.Fatal(err)
		}
		reply := make([]byte, binary.BigEndian.Uint64(hdr[:])&(1<<48-1))
		if _, err := io.ReadFull(c, reply); err != nil {
			t.Fatal(err)
		}
		if hdr[0] != protoVersion {
			t.Fatalf("reply version %d", hdr[0])
		}
		return hdr[1], reply
	}

	typ, reply := roundTrip(protoInfo, []byte("build\nnamespace/test\nudf-put:filename=x\n"))
	if typ != protoInfo {
		t.Fatalf("info reply type %d", typ)
	}
	lines := strings.Split(strings.TrimSuffix(string(reply), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "build\t7.2.0.0" ||
		!strings.Contains(lines[1], "nsup-period=120") ||
		!strings.HasPrefix(lines[2], "udf-put:filename=x\tERROR:") {
		t.Errorf("info reply %q", reply)
	}

	msg := make([]byte, msgHeaderLen)
	msg[0] = msgHeaderLen
	typ, reply = roundTrip(protoMessage, msg)
	if typ != protoMessage || len(reply) != msgHeaderLen || reply[5] != resultServerError || reply[3]&info3Last == 0 {
		t.Errorf("message reply type %d % x", typ, reply)
	}
}
