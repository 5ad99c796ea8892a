;; Imports from a module the ABI does not grant.
(module
  (import "env" "open" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "skiff_abi_version") (result i32) (i32.const 1))
  (func (export "skiff_call") (param i32 i32) (result i32) (i32.const 2)))
