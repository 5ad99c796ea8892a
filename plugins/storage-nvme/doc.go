// Package nvme is Skiff's device storage backend: records in log-structured
// write blocks on NVMe devices or files, written with direct I/O, with the
// primary index in DRAM (or in a memory-mapped file on a flash mount) at 48
// bytes an entry.
//
// A Backend implements storage.Backend. New takes typed Options (start
// from DefaultOptions); Open takes a namespace's settings as the node
// passes them, and is the OpenFunc of the plugin binary in
// cmd/skiff-storage-nvme.
//
// The pieces, one file each: the on-device layout (layout.go; records in
// sdk/storage/devrecord), device I/O
// behind a small interface (media.go, device_linux.go), block state and the
// release barrier (device.go), write buffers and the post-write queue
// (wbuf.go), the flusher and group commit (flush.go), the defragmenter
// (defrag.go), the index (index.go, slots.go), the index shared with the
// node (shared.go), cold start (coldstart.go), warm start from the
// snapshot of a clean stop (snapshot.go), reads (read.go), scans
// (scan.go) and figures (stats.go). README.md has
// the design with a diagram, the guarantees, and measured figures.
package nvme
