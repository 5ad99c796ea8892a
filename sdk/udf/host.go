package udf

// host is the node's side of the ABI as the SDK calls it: one method per
// import of module skiff (abi.md, "Imports"), with buffers as slices. The
// WebAssembly glue (abi_wasip1.go) implements it with //go:wasmimport
// functions; unit tests implement it in Go.
//
// Methods that fill a buffer write into buf only when the value fits
// (length <= len(buf)) and return the value's length either way, or a
// negative code. Every method copies what it reads before returning: the
// SDK may reuse any buffer at once.
type host interface {
	callInput(dst []byte)
	result(v []byte)
	fail(msg string)
	log(level Level, msg string)

	recExists() int32
	binGet(name string, buf []byte) int32
	binNames(buf []byte) int32
	binSet(name string, v []byte) int32
	binRemove(name string) int32
	recDelete() int32
	recGeneration() int32
	recTTL() int32
	recLastUpdate() int64
	recSetTTL(ttl int32) int32
	recKey(buf []byte) int32
	recSetName(buf []byte) int32
	recDigest(dst *[20]byte)
}

// active is the host Log writes to: the WebAssembly glue's, or during a
// call the host the call came from. Nil in a native build outside a test
// call.
var active host
