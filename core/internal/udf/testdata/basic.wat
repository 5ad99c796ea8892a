;; A module for the host's tests, written against sdk/udf/abi.md by hand.
;; skiff_call dispatches on the first byte of the function name.
(module
  (import "skiff" "call_input" (func $call_input (param i32)))
  (import "skiff" "result" (func $result (param i32 i32)))
  (import "skiff" "fail" (func $fail (param i32 i32)))
  (import "skiff" "log" (func $log (param i32 i32 i32)))
  (import "skiff" "bin_get" (func $bin_get (param i32 i32 i32 i32) (result i32)))
  (import "skiff" "bin_set" (func $bin_set (param i32 i32 i32 i32) (result i32)))
  (import "skiff" "rec_delete" (func $rec_delete (result i32)))
  (memory (export "memory") 1)
  ;; 0: "boom"; 8: bin name "n"; 16: msgpack 7; 24: "hello from wat"
  (data (i32.const 0) "boom")
  (data (i32.const 8) "n")
  (data (i32.const 16) "\07")
  (data (i32.const 24) "hello from wat")
  (func (export "skiff_abi_version") (result i32) (i32.const 1))
  ;; Input lands at 1024: the name, then the arguments.
  (func (export "skiff_call") (param $name_len i32) (param $args_len i32) (result i32)
    (local $op i32) (local $n i32)
    (call $call_input (i32.const 1024))
    (local.set $op (i32.load8_u (i32.const 1024)))
    ;; echo: the arguments array is the result
    (if (i32.eq (local.get $op) (i32.const 0x65))
      (then (call $result (i32.add (i32.const 1024) (local.get $name_len)) (local.get $args_len))
            (return (i32.const 0))))
    ;; fail
    (if (i32.eq (local.get $op) (i32.const 0x66))
      (then (call $fail (i32.const 0) (i32.const 4)) (return (i32.const 1))))
    ;; loop forever
    (if (i32.eq (local.get $op) (i32.const 0x6c))
      (then (loop $forever (br $forever))))
    ;; trap
    (if (i32.eq (local.get $op) (i32.const 0x74))
      (then unreachable))
    ;; grow memory a page at a time until refused; fail with the page count
    (if (i32.eq (local.get $op) (i32.const 0x67))
      (then
        (block $done
          (loop $more
            (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (br $more)))
        (i32.store8 (i32.const 4096) (i32.const 0xce))
        (i32.store (i32.const 4097) (i32.shl (memory.size) (i32.const 24)))
        (call $result (i32.const 4096) (i32.const 5))
        (return (i32.const 0))))
    ;; set bin n to 7, then return it as read back
    (if (i32.eq (local.get $op) (i32.const 0x73))
      (then
        (drop (call $bin_set (i32.const 8) (i32.const 1) (i32.const 16) (i32.const 1)))
        (local.set $n (call $bin_get (i32.const 8) (i32.const 1) (i32.const 2048) (i32.const 64)))
        (call $result (i32.const 2048) (local.get $n))
        (return (i32.const 0))))
    ;; delete the record
    (if (i32.eq (local.get $op) (i32.const 0x64))
      (then (drop (call $rec_delete)) (return (i32.const 0))))
    ;; log
    (if (i32.eq (local.get $op) (i32.const 0x70))
      (then (call $log (i32.const 1) (i32.const 24) (i32.const 14)) (return (i32.const 0))))
    ;; a result outside memory
    (if (i32.eq (local.get $op) (i32.const 0x6f))
      (then (call $result (i32.const 0xfffff000) (i32.const 100)) (return (i32.const 0))))
    ;; a status the ABI does not have
    (if (i32.eq (local.get $op) (i32.const 0x78))
      (then (return (i32.const 7))))
    (i32.const 2))
)
