package memory

import (
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// conformanceDataSize is small enough for the suite's OutOfSpace test to
// fill quickly, and large enough for its other tests.
const conformanceDataSize = 64 << 20

func TestConformance(t *testing.T) {
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			b, err := New(Options{DataSize: conformanceDataSize})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		MaxRecordSize: MaxRecordSize,
	})
}
