//go:build !linux

package nvme

import "errors"

type mirror struct{ devFile }

const mirrorSupported = false

func newMirror(devFile, int64) (*mirror, error) {
	return nil, errors.New("data-in-memory true needs Linux (memory files)")
}

func (m *mirror) ready()                  {}
func (m *mirror) fill(int64, int64) error { return nil }
func (m *mirror) drop(int64, int64) error { return nil }
func (m *mirror) resident() int64         { return 0 }
func (m *mirror) FD() int                 { return -1 }
