package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// stubServer is a handshake-only server: it answers the info commands a
// client needs to join a one-node cluster (node, build, partition map,
// peers, namespace settings) and fails every data, batch, scan, query and
// admin command with a server error.
//
// It exists to measure which specs are client-side only: a spec that passes
// against the stub tests the client's own logic (policies, values, config
// parsing...), not the server, so its pass must not be credited to Skiff.
// The stub shares no code with the node on purpose: it is the null server,
// and a bug in Skiff's wire codec must not move the line between client-only
// and server-dependent specs.
type stubServer struct {
	ln    net.Listener
	info  map[string]string
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Wire constants of the Aerospike protocol the stub needs.
const (
	protoVersion   = 2
	protoInfo      = 1
	protoAdmin     = 2
	protoMessage   = 3
	protoHeaderLen = 8
	msgHeaderLen   = 22
	info3Last      = 1 << 0

	resultServerError = 1  // AS_ERR_UNKNOWN: "server error"
	resultNotEnabled  = 52 // AS_SEC_ERR_NOT_ENABLED: security is off
	resultBadCommand  = 4  // AS_ERR_PARAMETER, for unknown info commands
	stubPartitions    = 4096
	stubMaxBody       = 128 << 20
)

// startStub listens on 127.0.0.1 (port 0 picks a free one) and serves the
// namespace ns, claiming server version build.
func startStub(port int, ns, build string) (*stubServer, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("stub: %w", err)
	}
	s := &stubServer{ln: ln, conns: map[net.Conn]struct{}{}}
	s.info = stubInfo(ln.Addr().(*net.TCPAddr).Port, ns, build)
	s.wg.Go(s.serve)
	return s, nil
}

func stubInfo(port int, ns, build string) map[string]string {
	bitmap := base64.StdEncoding.EncodeToString(fill(make([]byte, stubPartitions/8), 0xFF))
	peers := "1," + strconv.Itoa(port) + ",[]"
	service := "127.0.0.1:" + strconv.Itoa(port)
	m := map[string]string{
		"node":                 "5B1FF0000000001",
		"build":                build,
		"version":              "Aerospike Community Edition build " + build,
		"edition":              "Aerospike Community Edition",
		"release":              "ee=false;version=" + build,
		"features":             "batch-any;batch-index;float;peers;replicas;replicas-all;replicas-master",
		"partition-generation": "1",
		"peers-generation":     "1",
		"cluster-generation":   "1",
		"cluster-name":         "null",
		"status":               "ok",
		"partitions":           strconv.Itoa(stubPartitions),
		"replicas":             ns + ":0,1," + bitmap,
		"replicas-all":         ns + ":1," + bitmap,
		"replicas-master":      ns + ":" + bitmap,
		"rack-ids":             ns + ":0",
		"namespaces":           ns,
		"namespace/" + ns: "ns_cluster_size=1;effective_replication_factor=1;replication-factor=1;objects=0;" +
			"default-ttl=2592000;nsup-period=120;storage-engine=memory",
		"service":           service,
		"service-clear-std": service,
		"service-clear-alt": service,
		"services":          "",
		"services-alumni":   "",
		"statistics":        "cluster_size=1",
	}
	for _, k := range []string{"peers-clear-std", "peers-clear-alt", "peers-tls-std", "peers-tls-alt", "alumni-clear-std", "alumni-tls-std"} {
		m[k] = peers
	}
	return m
}

func fill(b []byte, v byte) []byte {
	for i := range b {
		b[i] = v
	}
	return b
}

// Port is the port the stub listens on.
func (s *stubServer) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the stub and waits for its connections to end.
func (s *stubServer) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *stubServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			s.handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		})
	}
}

// handle answers the requests of one connection until it closes.
func (s *stubServer) handle(c net.Conn) {
	var hdr [protoHeaderLen]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint64(hdr[:]) & (1<<48 - 1)
		if hdr[0] != protoVersion || size > stubMaxBody {
			return
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		var reply []byte
		switch hdr[1] {
		case protoInfo:
			reply = frame(protoInfo, s.answerInfo(body))
		case protoAdmin:
			// Admin replies carry the result code in the second byte of a
			// 16-byte header.
			a := make([]byte, 16)
			a[1] = resultNotEnabled
			reply = frame(protoAdmin, a)
		default:
			// AS_MSG (3) and compressed AS_MSG (4): one message saying
			// "server error", marked last so that multi-record commands
			// (batch, scan, query) end too.
			m := make([]byte, msgHeaderLen)
			m[0] = msgHeaderLen
			m[3] = info3Last
			m[5] = resultServerError
			reply = frame(protoMessage, m)
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}

// answerInfo answers each command of an info request on its own line,
// "name\tvalue\n"; unknown commands get an ERROR value, as a server does.
func (s *stubServer) answerInfo(body []byte) []byte {
	var b strings.Builder
	for name := range strings.SplitSeq(string(body), "\n") {
		if name == "" {
			continue
		}
		v, ok := s.info[name]
		if !ok {
			v = "ERROR:" + strconv.Itoa(resultBadCommand) + ":not implemented by the handshake-only stub"
		}
		b.WriteString(name + "\t" + v + "\n")
	}
	return []byte(b.String())
}

// frame prefixes body with the 8-byte protocol header.
func frame(typ byte, body []byte) []byte {
	out := make([]byte, protoHeaderLen, protoHeaderLen+len(body))
	binary.BigEndian.PutUint64(out, uint64(len(body)))
	out[0], out[1] = protoVersion, typ
	return append(out, body...)
}
