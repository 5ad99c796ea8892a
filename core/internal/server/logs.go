package server

import (
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/core/logs"
	"github.com/skiffdb/skiff/core/proto"
)

// SetLogs gives the logs, log/ID and log-set commands the node's log sinks;
// without them the node reports none. Call it before Serve.
func (s *Server) SetLogs(l *logs.Logs) { s.logs = l }

// logsInfo answers "logs": each sink as ID:NAME, NAME being stderr or the
// file's path.
func (s *Server) logsInfo(string) string {
	if s.logs == nil {
		return ""
	}
	var parts []string
	for _, sk := range s.logs.Sinks() {
		parts = append(parts, strconv.Itoa(sk.ID)+":"+sk.Name)
	}
	return strings.Join(parts, ";")
}

// logInfo answers "log/ID": the sink's level by context. Skiff has one
// context, any, where Aerospike lists its modules.
func (s *Server) logInfo(p string) string {
	sk, errReply := s.sink(p)
	if errReply != "" {
		return errReply
	}
	return "any:" + strings.ToUpper(sk.Level)
}

// logSet answers "log-set:id=ID;any=LEVEL": it sets a sink's level until
// the node restarts.
func (s *Server) logSet(p string) string {
	var id, level string
	for _, kv := range strings.Split(p, ";") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "":
		case "id":
			id = v
		case "any":
			level = v
		default:
			return infoError(proto.ParameterError, "no log context "+strconv.Quote(k)+": Skiff logs without Aerospike's per-module contexts; set any")
		}
	}
	sk, errReply := s.sink(id)
	if errReply != "" {
		return errReply
	}
	if level == "" {
		return infoError(proto.ParameterError, "no level: want any=LEVEL")
	}
	if err := s.logs.SetLevel(sk.ID, level); err != nil {
		return infoError(proto.ParameterError, err.Error())
	}
	s.log.Info("log level changed by log-set", "sink", sk.Name, "level", strings.ToLower(level))
	return "ok"
}

// sink finds the sink a command names by id, or returns the error reply.
func (s *Server) sink(id string) (logs.Sink, string) {
	n, err := strconv.Atoi(id)
	var sinks []logs.Sink
	if s.logs != nil {
		sinks = s.logs.Sinks()
	}
	if err != nil || n < 0 || n >= len(sinks) {
		return logs.Sink{}, infoError(proto.ParameterError, "no log sink "+strconv.Quote(id)+": the logs command lists them")
	}
	return sinks[n], ""
}
