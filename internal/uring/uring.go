// Package uring reads files through a Linux io_uring, so that a goroutine
// waiting for a device read parks like one waiting for a socket instead of
// blocking its thread.
//
// A read that blocks in pread holds its thread and, once the CPUs' Ps are
// all busy, makes the Go runtime hand the P to another thread: several
// context switches per read, which on a small machine cost more CPU than the
// read itself (bench/RESULTS.md, "Device backend"). Here a read is queued
// on the ring and submitted with a system call that does not wait; the
// kernel signals completions on an eventfd that the runtime's netpoller
// watches, and one goroutine hands each result to the goroutine waiting for
// it.
package uring

import "errors"

// ErrClosed is returned for reads on a closed ring.
var ErrClosed = errors.New("uring: ring closed")
