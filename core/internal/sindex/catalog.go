package sindex

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Catalog is the set of indexes of one namespace, by name. It is safe for
// concurrent use; lookups take a read lock only.
//
// The node keeps one Catalog per namespace. On every write it calls
// ForBin (or Indexes) to find the indexes a bin change concerns; a query
// finds its index with Get (by name) or Find (by set, bin and type).
type Catalog struct {
	mu      sync.RWMutex
	byName  map[string]*Index
	ordered []*Index // by name, for listings
	// expressions counts the expression indexes, so that writes to
	// namespaces without one skip looking for them.
	expressions int
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{byName: make(map[string]*Index)}
}

// Create validates def and adds an empty index for it. It fails with
// ErrIndexFound if an index has the same name, or indexes the same set, bin,
// type and collection under another name; with ErrMaxCount past MaxIndexes.
// The caller fills the new index (background build) after Create returns,
// so that writes racing with the build already maintain it (see Index).
func (c *Catalog) Create(def Def) (*Index, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byName[def.Name]; ok {
		return nil, fmt.Errorf("%w: index %q exists", ErrIndexFound, def.Name)
	}
	for _, x := range c.ordered {
		if x.def.SameTarget(def) {
			return nil, fmt.Errorf("%w: index %q has the same definition", ErrIndexFound, x.def.Name)
		}
	}
	if len(c.ordered) >= MaxIndexes {
		return nil, fmt.Errorf("%w: namespace %s has %d indexes", ErrMaxCount, def.Namespace, MaxIndexes)
	}
	x := New(def)
	c.byName[def.Name] = x
	if len(def.Exp) > 0 {
		c.expressions++
	}
	i, _ := slices.BinarySearchFunc(c.ordered, def.Name, func(x *Index, name string) int {
		return strings.Compare(x.def.Name, name)
	})
	c.ordered = slices.Insert(c.ordered, i, x)
	return x, nil
}

// Drop removes the index named name and returns it, so that the caller can
// stop its build; ErrIndexNotFound if there is none. Queries still walking
// the dropped index finish on it.
func (c *Catalog) Drop(name string) (*Index, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	delete(c.byName, name)
	if len(x.def.Exp) > 0 {
		c.expressions--
	}
	c.ordered = slices.DeleteFunc(c.ordered, func(y *Index) bool { return y == x })
	return x, nil
}

// Get returns the index named name, or nil.
func (c *Catalog) Get(name string) *Index {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byName[name]
}

// Find returns the index a query filter on set, bin, context (nil for
// none), type and collection uses: one defined on that set, else one
// defined on no set (the caller must then check the set of the records it
// finds). nil if there is none.
func (c *Catalog) Find(set, bin string, ctx []byte, t Type, coll Collection) *Index {
	return c.find(set, func(d *Def) bool {
		return d.Bin == bin && len(d.Exp) == 0 && bytes.Equal(d.Ctx, ctx) && d.Type == t && d.Collection == coll
	})
}

// find returns the index whose definition matches, preferring one on set
// to one on no set.
func (c *Catalog) find(set string, match func(d *Def) bool) *Index {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var anySet *Index
	for _, x := range c.ordered {
		d := &x.def
		if !match(d) {
			continue
		}
		if d.Set == set {
			return x
		}
		if d.Set == "" {
			anySet = x
		}
	}
	return anySet
}

// Indexes appends every index to dst, ordered by name.
func (c *Catalog) Indexes(dst []*Index) []*Index {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append(dst, c.ordered...)
}

// ForBin appends to dst the indexes that a change of bin in a record of set
// concerns: those on bin defined on set or on no set.
func (c *Catalog) ForBin(dst []*Index, set, bin []byte) []*Index {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, x := range c.ordered {
		if x.def.Bin == string(bin) && len(x.def.Exp) == 0 && (x.def.Set == "" || x.def.Set == string(set)) {
			dst = append(dst, x)
		}
	}
	return dst
}

// ForExpressions appends to dst the expression indexes a change of a
// record of set concerns: any change may change an expression's value.
func (c *Catalog) ForExpressions(dst []*Index, set []byte) []*Index {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.expressions == 0 {
		return dst
	}
	for _, x := range c.ordered {
		if len(x.def.Exp) > 0 && (x.def.Set == "" || x.def.Set == string(set)) {
			dst = append(dst, x)
		}
	}
	return dst
}

// FindExpression is Find for a query filter on an expression: the index
// on exactly that expression (as encoded), context, type and collection.
func (c *Catalog) FindExpression(set string, exp, ctx []byte, t Type, coll Collection) *Index {
	return c.find(set, func(d *Def) bool {
		return bytes.Equal(d.Exp, exp) && bytes.Equal(d.Ctx, ctx) && d.Type == t && d.Collection == coll
	})
}

// Len is the number of indexes.
func (c *Catalog) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.ordered)
}
