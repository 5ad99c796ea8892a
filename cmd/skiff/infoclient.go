package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/core/proto"
)

// maxInfoReply bounds the reply the tool accepts, so that a wrong port
// cannot make it allocate without limit.
const maxInfoReply = 64 << 20

// requestInfo sends info commands to a node in one request and returns the
// replies by command.
func requestInfo(host string, port int, timeout time.Duration, cmds []string) (map[string]string, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))

	body := strings.Join(cmds, "\n") + "\n"
	req := make([]byte, proto.FrameHeaderSize, proto.FrameHeaderSize+len(body))
	proto.PutFrameHeader(req, proto.TypeInfo, len(body))
	if _, err := conn.Write(append(req, body...)); err != nil {
		return nil, fmt.Errorf("send to %s: %w", addr, err)
	}
	var hdr [proto.FrameHeaderSize]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("read reply from %s: %w", addr, err)
	}
	h, err := proto.ParseFrameHeader(hdr[:])
	if err != nil {
		return nil, fmt.Errorf("reply from %s: %w", addr, err)
	}
	if h.Type != proto.TypeInfo || h.Size > maxInfoReply {
		return nil, fmt.Errorf("reply from %s is not an info reply (type %d, %d bytes)", addr, h.Type, h.Size)
	}
	reply := make([]byte, h.Size)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return nil, fmt.Errorf("read reply from %s: %w", addr, err)
	}
	return proto.ParseInfoReply(reply), nil
}
