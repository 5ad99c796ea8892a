;; Speaks an ABI version this host does not.
(module
  (memory (export "memory") 1)
  (func (export "skiff_abi_version") (result i32) (i32.const 2))
  (func (export "skiff_call") (param i32 i32) (result i32) (i32.const 2)))
