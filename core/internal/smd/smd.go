// Package smd keeps the node's system metadata: what its namespaces must
// remember across restarts besides their records, as Aerospike's SMD does.
// That is each namespace's truncation points, so that truncated records
// stored on a device do not come back at the next cold start, and its
// secondary index definitions, so that indexes are rebuilt at startup.
//
// The metadata is one small JSON file under the service's work-directory,
// rewritten whole on each change (written aside, synced, renamed over the
// old one), so that a crash leaves either the old or the new file. Changes
// are rare: a truncate, an index created or dropped.
package smd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/internal/atomicfile"
)

// fileName is the metadata file in the work directory's smd directory.
const fileName = "metadata.json"

// formatVersion is the file's layout; a newer one is refused rather than
// misread.
const formatVersion = 1

// Store is the node's metadata. It is safe for concurrent use.
type Store struct {
	path string // the metadata file

	mu  sync.Mutex
	doc document
}

type document struct {
	Version    int                   `json:"version"`
	Namespaces map[string]*namespace `json:"namespaces"`
}

type namespace struct {
	// Truncates maps a set ("" for the whole namespace) to its truncation
	// point, ns since the Unix epoch: records last updated at or before it
	// are gone.
	Truncates map[string]uint64 `json:"truncate,omitempty"`
	Indexes   []index           `json:"sindex,omitempty"`
}

// index is a secondary index definition as stored: types by name, so that
// the file reads as the info commands do.
type index struct {
	Name       string `json:"name"`
	Set        string `json:"set,omitempty"`
	Bin        string `json:"bin,omitempty"`
	Exp        []byte `json:"exp,omitempty"`
	Ctx        []byte `json:"context,omitempty"`
	Type       string `json:"type"`
	Collection string `json:"collection"`
}

// Open reads the metadata kept in workDir. A missing file is empty
// metadata; the directory is made when the first change is saved, so a
// node that changes nothing writes nothing. A file that cannot be read or
// parsed is an error naming it.
func Open(workDir string) (*Store, error) {
	s := &Store{path: filepath.Join(workDir, "smd", fileName)}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.doc = document{Version: formatVersion}
	case err != nil:
		return nil, fmt.Errorf("system metadata: %w", err)
	default:
		if err := json.Unmarshal(b, &s.doc); err != nil {
			return nil, fmt.Errorf("system metadata %s: %w", s.path, err)
		}
		if s.doc.Version != formatVersion {
			return nil, fmt.Errorf("system metadata %s: format version %d, this node reads %d", s.path, s.doc.Version, formatVersion)
		}
	}
	if s.doc.Namespaces == nil {
		s.doc.Namespaces = map[string]*namespace{}
	}
	return s, nil
}

// Path returns the metadata file's path.
func (s *Store) Path() string { return s.path }

// Truncates returns the truncation points of namespace ns, by set ("" for
// the whole namespace).
func (s *Store) Truncates(ns string) map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]uint64{}
	if n := s.doc.Namespaces[ns]; n != nil {
		for set, lut := range n.Truncates {
			out[set] = lut
		}
	}
	return out
}

// Indexes returns the secondary index definitions of namespace ns, in the
// order they were created.
func (s *Store) Indexes(ns string) ([]sindex.Def, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.doc.Namespaces[ns]
	if n == nil {
		return nil, nil
	}
	out := make([]sindex.Def, 0, len(n.Indexes))
	for _, ix := range n.Indexes {
		typ, err := sindex.ParseType(ix.Type)
		if err != nil {
			return nil, fmt.Errorf("system metadata %s: index %s/%s: %w", s.path, ns, ix.Name, err)
		}
		coll, err := sindex.ParseCollection(ix.Collection)
		if err != nil {
			return nil, fmt.Errorf("system metadata %s: index %s/%s: %w", s.path, ns, ix.Name, err)
		}
		out = append(out, sindex.Def{Namespace: ns, Name: ix.Name, Set: ix.Set, Bin: ix.Bin, Exp: ix.Exp, Ctx: ix.Ctx, Type: typ, Collection: coll})
	}
	return out, nil
}

// SaveTruncate records that the records of set ("" for every set) of
// namespace ns last updated at or before before are gone. An earlier point
// than the one kept changes nothing.
func (s *Store) SaveTruncate(ns, set string, before uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.namespace(ns)
	if n.Truncates[set] >= before {
		return nil
	}
	old, had := n.Truncates[set]
	if n.Truncates == nil {
		n.Truncates = map[string]uint64{}
	}
	n.Truncates[set] = before
	if err := s.saveLocked(); err != nil {
		if had {
			n.Truncates[set] = old
		} else {
			delete(n.Truncates, set)
		}
		return err
	}
	return nil
}

// SaveIndex records a secondary index definition, replacing one of the
// same name.
func (s *Store) SaveIndex(def sindex.Def) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.namespace(def.Namespace)
	old := n.Indexes
	n.Indexes = append(without(n.Indexes, def.Name), index{
		Name: def.Name, Set: def.Set, Bin: def.Bin, Exp: def.Exp, Ctx: def.Ctx,
		Type: def.Type.String(), Collection: def.Collection.String(),
	})
	if err := s.saveLocked(); err != nil {
		n.Indexes = old
		return err
	}
	return nil
}

// DeleteIndex forgets the definition of index name of namespace ns.
func (s *Store) DeleteIndex(ns, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.namespace(ns)
	old := n.Indexes
	n.Indexes = without(n.Indexes, name)
	if len(n.Indexes) == len(old) {
		return nil
	}
	if err := s.saveLocked(); err != nil {
		n.Indexes = old
		return err
	}
	return nil
}

// without returns a copy of indexes without the one named name.
func without(indexes []index, name string) []index {
	out := make([]index, 0, len(indexes))
	for _, ix := range indexes {
		if ix.Name != name {
			out = append(out, ix)
		}
	}
	return out
}

func (s *Store) namespace(ns string) *namespace {
	n := s.doc.Namespaces[ns]
	if n == nil {
		n = &namespace{}
		s.doc.Namespaces[ns] = n
	}
	return n
}

// saveLocked replaces the metadata file, so that the change survives a
// crash once saveLocked returns.
func (s *Store) saveLocked() error {
	b, err := json.MarshalIndent(&s.doc, "", "\t")
	if err != nil {
		return fmt.Errorf("system metadata: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("system metadata: work-directory not usable: %w", err)
	}
	if err := atomicfile.Write(s.path, append(b, '\n')); err != nil {
		return fmt.Errorf("system metadata: %w", err)
	}
	return nil
}
