package memory

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/skiffdb/skiff/sdk/storage"
)

// Open creates a memory backend from the settings the node passes a
// storage plugin: "data-size", the capacity in bytes (0 or absent for
// unbounded). It is the backend's plugin.OpenFunc.
func Open(namespace string, settings map[string]string) (storage.Backend, error) {
	var opts Options
	for _, k := range sortedKeys(settings) {
		v := settings[k]
		switch k {
		case "data-size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("namespace %s: data-size %q: want a number of bytes", namespace, v)
			}
			opts.DataSize = n
		default:
			return nil, fmt.Errorf("namespace %s: unknown setting %q for the memory backend", namespace, k)
		}
	}
	return New(opts)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
