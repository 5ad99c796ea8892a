//go:build !linux

package main

import (
	"errors"
	"time"
)

// skiff device-test uses O_DIRECT, which only its Linux implementation
// (devicetest_linux.go) has.

var errDeviceTestLinux = errors.New("device-test needs Linux (it uses O_DIRECT)")

type target struct {
	path, kind string
	size       int64
	created    bool
}

func openTarget(*deviceTestOptions) (*target, error) { return nil, errDeviceTestLinux }
func createTarget(string, int64) error               { return errDeviceTestLinux }

func (t *target) close() error                { return nil }
func (t *target) readAt([]byte, int64) error  { return errDeviceTestLinux }
func (t *target) writeAt([]byte, int64) error { return errDeviceTestLinux }
func (t *target) holes() ([][2]int64, error)  { return nil, errDeviceTestLinux }
func (t *target) unwritten() (int64, error)   { return 0, errDeviceTestLinux }
func alignedBuffer(n int) ([]byte, error)     { return make([]byte, n), nil }
func freeAligned([]byte)                      {}

type sleeper struct{}

func (sleeper) sleep(d time.Duration) { time.Sleep(d) }
