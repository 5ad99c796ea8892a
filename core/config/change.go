package config

import (
	"fmt"
	"strings"
)

// Change is one setting of a set-config info command: a name and a value,
// written as in a config file.
type Change struct{ Name, Value string }

// The settings that may change while the node runs, as Aerospike's
// set-config allows, and those that exist but take effect only at start.
// A namespace's others shape the storage or the index it was opened with;
// the service's name the node, bound what it has parsed, or locate what it
// has opened.
var (
	dynamicNamespace = map[string]bool{
		"default-ttl":                true,
		"nsup-period":                true,
		"allow-ttl-without-nsup":     true,
		"max-record-size":            true,
		"evict-used-pct":             true,
		"evict-tenths-pct":           true,
		"stop-writes-used-pct":       true,
		"stop-writes-avail-pct":      true,
		"stop-writes-sys-memory-pct": true,
		"background-query-max-rps":   true,
		"disallow-null-setname":      true,
		"default-read-touch-ttl-pct": true,
	}
	dynamicService = map[string]bool{"proto-fd-max": true}
	dynamicSet     = map[string]bool{"disable-eviction": true, "stop-writes-count": true, "stop-writes-size": true, "default-read-touch-ttl-pct": true}
	staticService  = map[string]bool{"cluster-name": true, "node-id": true, "proto-max-size": true, "work-directory": true}
)

// ChangeNamespace returns a copy of ns with changes applied, in order,
// each value read as the config file's would be and the result checked as
// a whole, so that two settings that must agree (evict-used-pct below
// stop-writes-used-pct) can change together. ns itself is not modified.
func (c *Config) ChangeNamespace(ns *Namespace, changes []Change) (*Namespace, error) {
	where := "namespace " + ns.Name
	next := *ns
	err := c.change(where, changes, dynamicNamespace, isStaticNamespace, func(p *parser, it *item) error {
		return p.namespaceSetting(it, where, &next)
	})
	if err != nil {
		return nil, err
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

// ChangeSet returns a copy of ns whose set's settings (a set NAME { }
// block's) have changes applied, as ChangeNamespace applies a namespace's.
func (c *Config) ChangeSet(ns *Namespace, set string, changes []Change) (*Namespace, error) {
	if !validName(set, maxSetName) {
		return nil, fmt.Errorf("bad set name %q: want 1 to %d bytes, without ':' or ';'", set, maxSetName)
	}
	where := "namespace " + ns.Name + " set " + set
	st := ns.Sets[set]
	err := c.change(where, changes, dynamicSet, func(string) bool { return false }, func(p *parser, it *item) error {
		return p.setSetting(it, where, &st)
	})
	if err != nil {
		return nil, err
	}
	next := *ns
	next.Sets = withSet(ns.Sets, set, st)
	return &next, nil
}

// ChangeService returns a copy of sv, the service settings in effect, with
// changes applied as ChangeNamespace applies a namespace's.
func (c *Config) ChangeService(sv Service, changes []Change) (Service, error) {
	err := c.change("service", changes, dynamicService, func(name string) bool { return staticService[name] }, func(p *parser, it *item) error {
		return p.serviceSetting(it, "service", &sv)
	})
	return sv, err
}

// change reads each of changes with set, after refusing those that are
// not dynamic.
func (c *Config) change(where string, changes []Change, dynamic map[string]bool, static func(string) bool, set func(*parser, *item) error) error {
	if len(changes) == 0 {
		return fmt.Errorf("no setting to change in %s", where)
	}
	// The items come from no file: errorf leaves out the location.
	p := &parser{cfg: c}
	for _, ch := range changes {
		if !dynamic[ch.Name] {
			if static(ch.Name) {
				return fmt.Errorf("%s%s cannot change while the node runs: change the config file and restart", ch.Name, in(where))
			}
			return fmt.Errorf("unknown setting %q%s", ch.Name, in(where))
		}
		if err := set(p, &item{name: ch.Name, args: []string{ch.Value}}); err != nil {
			return err
		}
	}
	return nil
}

// isStaticNamespace reports whether name is a namespace setting that
// exists but takes effect only at startup: the storage engine's and the
// index's, as get-config names them ("storage-engine.filesize").
func isStaticNamespace(name string) bool {
	switch name {
	case "replication-factor", "storage-engine", "index-type", "tomb-raider-period",
		// The storage engine's, which Aerospike's set-config names bare.
		"max-write-cache", "post-write-queue", "post-write-cache", "flush-max-ms", "defrag-lwm-pct", "defrag-sleep":
		return true
	}
	return strings.HasPrefix(name, "storage-engine.") || strings.HasPrefix(name, "index-type.")
}
