package config

import (
	"fmt"
	"strings"
)

// Change is one setting of a set-config info command: a name and a value,
// written as in a config file.
type Change struct{ Name, Value string }

// dynamic are the namespace settings that may change while the node runs,
// as Aerospike's set-config allows. The others shape the storage or the
// index the namespace was opened with.
var dynamic = map[string]bool{
	"default-ttl":              true,
	"nsup-period":              true,
	"allow-ttl-without-nsup":   true,
	"max-record-size":          true,
	"evict-used-pct":           true,
	"stop-writes-used-pct":     true,
	"background-query-max-rps": true,
}

// ChangeNamespace returns a copy of ns with changes applied, in order,
// each value read as the config file's would be and the result checked as
// a whole, so that two settings that must agree (evict-used-pct below
// stop-writes-used-pct) can change together. ns itself is not modified.
func (c *Config) ChangeNamespace(ns *Namespace, changes []Change) (*Namespace, error) {
	if len(changes) == 0 {
		return nil, fmt.Errorf("no setting to change in namespace %s", ns.Name)
	}
	next := *ns
	// The items come from no file: errorf leaves out the location.
	p := &parser{cfg: c}
	where := "namespace " + ns.Name
	for _, ch := range changes {
		if !dynamic[ch.Name] {
			if isStatic(ch.Name) {
				return nil, fmt.Errorf("%s%s cannot change while the node runs: change the config file and restart", ch.Name, in(where))
			}
			return nil, fmt.Errorf("unknown setting %q%s", ch.Name, in(where))
		}
		if err := p.namespaceSetting(&item{name: ch.Name, args: []string{ch.Value}}, where, &next); err != nil {
			return nil, err
		}
	}
	if err := next.conflicts(); err != nil {
		return nil, err
	}
	if next.MaxRecordSize > c.Service.ProtoMaxSize {
		return nil, fmt.Errorf("namespace %s: max-record-size %s exceeds service proto-max-size %s", ns.Name,
			formatScaled(next.MaxRecordSize, sizeUnits), formatScaled(c.Service.ProtoMaxSize, sizeUnits))
	}
	return &next, nil
}

// isStatic reports whether name is a namespace setting that exists but
// takes effect only at startup: the storage engine's and the index's, as
// get-config names them ("storage-engine.filesize").
func isStatic(name string) bool {
	switch name {
	case "replication-factor", "storage-engine", "index-type":
		return true
	}
	return strings.HasPrefix(name, "storage-engine.") || strings.HasPrefix(name, "index-type.")
}
