//go:build wasip1

package udf

import "unsafe"

// This file is the WebAssembly glue: the module's exports skiff_abi_version
// and skiff_call, and the imports of module skiff as a host. Everything
// else in the package is plain Go, tested natively.

func init() {
	active = wasmHost{}
}

// module dispatches the module's calls on the functions registered with
// Register and RegisterAggregate.
var module = dispatcher{funcs: functions}

//go:wasmexport skiff_abi_version
func skiffABIVersion() int32 {
	return ABIVersion
}

//go:wasmexport skiff_call
func skiffCall(nameLen, argsLen int32) int32 {
	return module.call(wasmHost{}, nameLen, argsLen)
}

// wasmHost is the host reached through the imports of module skiff. A
// string parameter of a //go:wasmimport function is passed as the two i32s
// (pointer, length), as the ABI's name_ptr, name_len pairs are.
type wasmHost struct{}

var _ host = wasmHost{}

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func (wasmHost) callInput(dst []byte)        { importCallInput(ptr(dst)) }
func (wasmHost) result(v []byte)             { importResult(ptr(v), int32(len(v))) }
func (wasmHost) fail(msg string)             { importFail(msg) }
func (wasmHost) log(level Level, msg string) { importLog(int32(level), msg) }
func (wasmHost) recExists() int32            { return importRecExists() }
func (wasmHost) binGet(name string, buf []byte) int32 {
	return importBinGet(name, ptr(buf), int32(len(buf)))
}
func (wasmHost) binNames(buf []byte) int32 { return importBinNames(ptr(buf), int32(len(buf))) }
func (wasmHost) binSet(name string, v []byte) int32 {
	return importBinSet(name, ptr(v), int32(len(v)))
}
func (wasmHost) binRemove(name string) int32 { return importBinRemove(name) }
func (wasmHost) recDelete() int32            { return importRecDelete() }
func (wasmHost) recGeneration() int32        { return importRecGeneration() }
func (wasmHost) recTTL() int32               { return importRecTTL() }
func (wasmHost) recLastUpdate() int64        { return importRecLastUpdate() }
func (wasmHost) recSetTTL(ttl int32) int32   { return importRecSetTTL(ttl) }
func (wasmHost) recKey(buf []byte) int32     { return importRecKey(ptr(buf), int32(len(buf))) }
func (wasmHost) recSetName(buf []byte) int32 { return importRecSetName(ptr(buf), int32(len(buf))) }
func (wasmHost) recDigest(dst *[20]byte)     { importRecDigest(dst) }

//go:wasmimport skiff call_input
//go:noescape
func importCallInput(ptr unsafe.Pointer)

//go:wasmimport skiff result
//go:noescape
func importResult(ptr unsafe.Pointer, n int32)

//go:wasmimport skiff fail
//go:noescape
func importFail(msg string)

//go:wasmimport skiff log
//go:noescape
func importLog(level int32, msg string)

//go:wasmimport skiff rec_exists
func importRecExists() int32

//go:wasmimport skiff bin_get
//go:noescape
func importBinGet(name string, buf unsafe.Pointer, bufCap int32) int32

//go:wasmimport skiff bin_names
//go:noescape
func importBinNames(buf unsafe.Pointer, bufCap int32) int32

//go:wasmimport skiff bin_set
//go:noescape
func importBinSet(name string, val unsafe.Pointer, valLen int32) int32

//go:wasmimport skiff bin_remove
//go:noescape
func importBinRemove(name string) int32

//go:wasmimport skiff rec_delete
func importRecDelete() int32

//go:wasmimport skiff rec_generation
func importRecGeneration() int32

//go:wasmimport skiff rec_ttl
func importRecTTL() int32

//go:wasmimport skiff rec_last_update
func importRecLastUpdate() int64

//go:wasmimport skiff rec_set_ttl
func importRecSetTTL(ttl int32) int32

//go:wasmimport skiff rec_key
//go:noescape
func importRecKey(buf unsafe.Pointer, bufCap int32) int32

//go:wasmimport skiff rec_set_name
//go:noescape
func importRecSetName(buf unsafe.Pointer, bufCap int32) int32

//go:wasmimport skiff rec_digest
//go:noescape
func importRecDigest(dst *[20]byte)
