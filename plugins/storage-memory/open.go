package memory

import (
	"fmt"
	"maps"
	"slices"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/setting"
)

// Open creates a memory backend from the settings the node passes a
// storage plugin: "data-size", the capacity in bytes (0 or absent for
// unbounded), "region-file" (Options.RegionFile) and "snapshot-file"
// (Options.SnapshotFile). It is the backend's
// plugin.OpenFunc.
func Open(namespace string, settings map[string]string) (storage.Backend, error) {
	opts, err := options(namespace, settings)
	if err != nil {
		return nil, err
	}
	return New(opts)
}

// options reads the settings Open takes.
func options(namespace string, settings map[string]string) (Options, error) {
	var opts Options
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		switch k {
		case "data-size":
			n, err := setting.Bytes(k, settings[k])
			if err != nil {
				return opts, fmt.Errorf("namespace %s: %w", namespace, err)
			}
			opts.DataSize = n
		case "region-file":
			opts.RegionFile = settings[k]
		case "snapshot-file":
			opts.SnapshotFile = settings[k]
		default:
			return opts, fmt.Errorf("namespace %s: unknown setting %q for the memory backend", namespace, k)
		}
	}
	return opts, nil
}
