package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/internal/latency"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/proto"
)

// conn is one client connection and the working memory of its requests.
type conn struct {
	srv *Server
	nc  net.Conn
	br  *bufio.Reader
	// idle is set while the connection waits for a request's first byte, so
	// that a shutdown can close it without cutting a request short.
	idle atomic.Bool
	// armed is set while a read deadline bounds the current frame.
	armed bool
	// broken is set when a reply could not be written.
	broken bool
	// start is when the current request arrived; lat, when set, receives
	// the time until its reply is written.
	start time.Time
	lat   *latency.Histogram

	hdr     [proto.FrameHeaderSize]byte
	body    []byte
	inflate []byte
	msg     proto.Msg
	batch   proto.BatchReader
	reads   *batchReads // made by the first batch that needs it
	req     record.Request
	scratch record.Scratch
	w       proto.Writer
	// filterSrc and filterExpr are the last filter expression compiled.
	filterSrc  []byte
	filterExpr *expr.Expr
	// batchFilterExpr is the filter of the batch being served.
	batchFilterExpr *expr.Expr
	// scanBuf and scanBins serve scans.
	scanBuf  record.ScanBuffer
	scanBins []bins.Bin
	scanRec  expr.Record
	// query serves queries' record reads and checks.
	query candidateScratch
	// udf is the UDF call of the current command.
	udf udfCall
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{srv: s, nc: nc, br: bufio.NewReaderSize(nc, readBufferSize)}
}

// wakeIfIdle makes an idle connection's pending read return, so that it
// notices the shutdown.
func (c *conn) wakeIfIdle() {
	if c.idle.Load() {
		c.nc.SetReadDeadline(time.Now())
	}
}

func (c *conn) serve() {
	defer c.srv.untrack(c)
	defer c.nc.Close()
	for {
		c.idle.Store(true)
		if c.srv.closing.Load() {
			return
		}
		if _, err := io.ReadFull(c.br, c.hdr[:1]); err != nil {
			return
		}
		c.idle.Store(false)
		c.start = time.Now()
		typ, body, err := c.readFrame()
		if err != nil {
			c.logFrameError(err)
			return
		}
		c.w.Reset()
		if !c.handle(typ, body) || c.broken {
			return
		}
		if len(c.w.B) > 0 {
			if _, err := c.nc.Write(c.w.B); err != nil {
				return
			}
		}
		if c.lat != nil {
			c.lat.Since(c.start)
			c.lat = nil
		}
	}
}

// readFrame reads the rest of a frame whose first byte is in c.hdr. Frames
// larger than proto-max-size are refused from their header alone.
func (c *conn) readFrame() (uint8, []byte, error) {
	defer c.disarm()
	if c.br.Buffered() < proto.FrameHeaderSize-1 {
		c.arm()
	}
	if _, err := io.ReadFull(c.br, c.hdr[1:]); err != nil {
		return 0, nil, err
	}
	h, err := proto.ParseFrameHeader(c.hdr[:])
	if err != nil {
		return 0, nil, err
	}
	if h.Size > uint64(c.srv.cfg.Service.ProtoMaxSize) {
		return 0, nil, frameTooBig{size: h.Size}
	}
	n := int(h.Size)
	if c.br.Buffered() < n {
		c.arm()
	}
	if cap(c.body) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	if _, err := io.ReadFull(c.br, c.body); err != nil {
		return 0, nil, err
	}
	return h.Type, c.body, nil
}

// arm bounds the time the rest of a frame may take to arrive. It is only
// needed when the frame is not already buffered, which spares most requests
// the timer work.
func (c *conn) arm() {
	if !c.armed {
		c.nc.SetReadDeadline(time.Now().Add(c.srv.frameTimeout))
		c.armed = true
	}
}

func (c *conn) disarm() {
	if c.armed {
		c.nc.SetReadDeadline(time.Time{})
		c.armed = false
	}
}

type frameTooBig struct{ size uint64 }

func (e frameTooBig) Error() string { return "frame too big" }

func (c *conn) logFrameError(err error) {
	var tooBig frameTooBig
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, os.ErrDeadlineExceeded):
		if !c.srv.closing.Load() {
			c.srv.log.Warn("closing connection: request not received in time", "remote", c.nc.RemoteAddr())
		}
	case errors.As(err, &tooBig):
		c.srv.log.Warn("closing connection: frame larger than proto-max-size",
			"remote", c.nc.RemoteAddr(), "size", tooBig.size, "proto-max-size", c.srv.cfg.Service.ProtoMaxSize)
	default:
		c.srv.log.Warn("closing connection: bad frame", "remote", c.nc.RemoteAddr(), "err", err)
	}
}

// handle serves one frame, leaving the reply in c.w. It returns false when
// the connection must be closed.
func (c *conn) handle(typ uint8, body []byte) bool {
	switch typ {
	case proto.TypeInfo:
		c.handleInfo(body)
		return true
	case proto.TypeMsg:
		c.handleMsg(body)
		return true
	case proto.TypeMsgCompressed:
		var err error
		c.inflate, err = proto.Decompress(c.inflate[:0], body, c.srv.cfg.Service.ProtoMaxSize)
		if err != nil {
			c.srv.log.Warn("closing connection: bad compressed frame", "remote", c.nc.RemoteAddr(), "err", err)
			return false
		}
		h, err := proto.ParseFrameHeader(c.inflate)
		if err != nil || h.Type != proto.TypeMsg || h.Size != uint64(len(c.inflate)-proto.FrameHeaderSize) {
			c.srv.log.Warn("closing connection: compressed frame holds no message", "remote", c.nc.RemoteAddr())
			return false
		}
		c.handleMsg(c.inflate[proto.FrameHeaderSize:])
		return true
	case proto.TypeAdmin:
		return c.handleAdmin(body)
	default:
		c.srv.log.Warn("closing connection: unknown frame type", "remote", c.nc.RemoteAddr(), "type", typ)
		return false
	}
}

// handleAdmin answers a security command (login, users, roles) as a server
// without security does: SECURITY_NOT_ENABLED, which clients configured
// with credentials take to mean that no login is needed.
func (c *conn) handleAdmin(body []byte) bool {
	if len(body) < proto.AdminHeaderSize {
		c.srv.log.Warn("closing connection: security command shorter than its header", "remote", c.nc.RemoteAddr())
		return false
	}
	if !c.srv.credentials.Swap(true) {
		c.srv.log.Warn("a client sent credentials: Skiff has no security, so every client may read and write; answered SECURITY_NOT_ENABLED",
			"remote", c.nc.RemoteAddr())
	}
	c.w.BeginFrame()
	var h [proto.AdminHeaderSize]byte
	h[1], h[2] = byte(proto.SecurityNotEnabled), body[2]
	c.w.B = append(c.w.B, h[:]...)
	c.w.EndFrame(proto.TypeAdmin)
	return true
}
