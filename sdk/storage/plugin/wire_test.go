package plugin

import (
	"errors"
	"fmt"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// TestErrorsCrossTheWire checks that each sentinel error of the storage
// contract, bare or wrapped with the backend's context, reaches the node
// as itself, with the backend's text.
func TestErrorsCrossTheWire(t *testing.T) {
	sentinels := []error{
		storage.ErrNotFound, storage.ErrRecordTooBig, storage.ErrOutOfSpace,
		storage.ErrOverloaded, storage.ErrClosed, storage.ErrUnavailable,
	}
	for _, sentinel := range sentinels {
		for _, sent := range []error{sentinel, fmt.Errorf("device a.dat: %w", sentinel)} {
			status := statusOf(sent)
			got := errorOf(status, []byte(sent.Error()))
			if !errors.Is(got, sentinel) {
				t.Errorf("%q: status %d comes back as %v", sent, status, got)
			}
			for _, other := range sentinels {
				if other != sentinel && errors.Is(got, other) {
					t.Errorf("%q comes back as %v too", sent, other)
				}
			}
		}
	}
	if got := errorOf(statusOf(errors.New("disk on fire")), []byte("disk on fire")); got.Error() != "storage plugin: disk on fire" {
		t.Errorf("an error of no sentinel comes back as %q", got)
	}
}
