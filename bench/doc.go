// Package bench holds Skiff's side-by-side benchmarks: run.sh (what
// `make bench` runs) compares a node's memory namespace with Redis, and
// BenchmarkNodeMixed drives a node started in-process with the official
// client, so that a CPU profile covers the server's side. See README.md.
package bench
