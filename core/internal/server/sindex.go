package server

import (
	"fmt"
	"strings"

	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/core/proto"
)

// The secondary index info commands, in both forms clients send: before
// server 8.1 (ns=...) and after (namespace=...).

func sindexError(err error) string {
	return infoError(sindex.ResultCode(err), err.Error())
}

// sindexCreate answers sindex-create: the index is defined at once and
// built in the background; sindex/NS/NAME reports the build's load_pct.
func (s *Server) sindexCreate(p string) string {
	def, err := sindex.ParseCreate(p)
	if err != nil {
		return sindexError(err)
	}
	ns := s.namespaces[def.Namespace]
	if ns == nil {
		return infoError(proto.InvalidNamespace, "namespace not found")
	}
	if _, err := ns.CreateIndex(s.ctx, def); err != nil {
		return sindexError(err)
	}
	s.log.Info("secondary index created", "namespace", def.Namespace, "index", def.Name, "set", def.Set, "bin", def.Bin,
		"type", def.Type.String(), "collection", def.Collection.String())
	return "OK"
}

// sindexDelete answers sindex-delete.
func (s *Server) sindexDelete(p string) string {
	nsName, _, name, err := sindex.ParseDelete(p)
	if err != nil {
		return sindexError(err)
	}
	ns := s.namespaces[nsName]
	if ns == nil {
		return infoError(proto.InvalidNamespace, "namespace not found")
	}
	if err := ns.DropIndex(name); err != nil {
		return sindexError(err)
	}
	s.log.Info("secondary index dropped", "namespace", nsName, "index", name)
	return "OK"
}

// sindexExists answers sindex-exists:ns=NS;indexname=N with true or false.
func (s *Server) sindexExists(p string) string {
	args := params(p)
	ns := s.namespaces[firstOf(args, "ns", "namespace")]
	if ns == nil {
		return infoError(proto.InvalidNamespace, "namespace not found")
	}
	return fmt.Sprint(ns.Indexes().Get(args["indexname"]) != nil)
}

func firstOf(args map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := args[k]; v != "" {
			return v
		}
	}
	return ""
}

// sindexList answers sindex-list[:ns=NS]: one entry per index.
func (s *Server) sindexList(p string) string {
	want := firstOf(params(p), "ns", "namespace")
	var b strings.Builder
	for _, ns := range s.nsOrder {
		if want != "" && ns.Name() != want {
			continue
		}
		for _, ix := range ns.Indexes().Indexes(nil) {
			b.WriteString(indexLine(ns, ix))
			b.WriteByte(';')
		}
	}
	return b.String()
}

func indexLine(ns *record.Namespace, ix *sindex.Index) string {
	state := "RW"
	if ns.IndexLoadPct(ix.Def().Name) < 100 {
		state = "WO"
	}
	return ix.Def().String() + ":state=" + state
}

// sindexInfo answers sindex/NS (the namespace's indexes) and sindex/NS/NAME
// (one index's figures, load_pct included, which index tasks wait on).
func (s *Server) sindexInfo(p string) string {
	nsName, name, _ := strings.Cut(p, "/")
	return s.sindexStats(nsName, name)
}

// sindexStat answers sindex-stat:namespace=NS;indexname=N.
func (s *Server) sindexStat(p string) string {
	args := params(p)
	return s.sindexStats(firstOf(args, "namespace", "ns"), args["indexname"])
}

func (s *Server) sindexStats(nsName, name string) string {
	ns := s.namespaces[nsName]
	if ns == nil {
		return infoError(proto.InvalidNamespace, "namespace not found")
	}
	if name == "" {
		var parts []string
		for _, ix := range ns.Indexes().Indexes(nil) {
			parts = append(parts, indexLine(ns, ix))
		}
		return strings.Join(parts, ";")
	}
	ix := ns.Indexes().Get(name)
	if ix == nil {
		return infoError(proto.IndexNotFound, "index not found")
	}
	entries, mem := ix.Stats()
	k := kv{sep: ';'}
	k.add("entries", entries)
	k.add("used_bytes", mem)
	if entries > 0 {
		k.add("entries_per_rec", 1)
		k.add("bytes_per_entry", mem/entries)
	}
	k.add("load_pct", ns.IndexLoadPct(name))
	k.add("loadtime", 0)
	return k.b.String()
}
