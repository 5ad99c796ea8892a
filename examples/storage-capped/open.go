package capped

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/skiffdb/skiff/sdk/storage"
)

// Open creates a capped backend from the settings of a namespace's
// "storage-engine plugin" block, as the node passes them: "max-records",
// the cap (required, a positive integer), and "data-size", the capacity
// for record data in bytes (optional; absent or 0 for unbounded). It is the
// backend's plugin.OpenFunc.
func Open(namespace string, settings map[string]string) (storage.Backend, error) {
	var opts Options
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		v := settings[k]
		switch k {
		case "max-records":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("namespace %s: max-records %q: want a positive number of records", namespace, v)
			}
			opts.MaxRecords = n
		case "data-size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("namespace %s: data-size %q: want a number of bytes", namespace, v)
			}
			opts.DataSize = n
		default:
			return nil, fmt.Errorf("namespace %s: unknown setting %q for the capped backend (want max-records, data-size)", namespace, k)
		}
	}
	if opts.MaxRecords == 0 {
		return nil, fmt.Errorf("namespace %s: the capped backend needs a max-records setting", namespace)
	}
	return New(opts)
}
