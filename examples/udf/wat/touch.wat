;; A Skiff UDF module written by hand in WebAssembly text, without sdk/udf:
;; it implements the ABI (sdk/udf/abi.md) directly, to show what any
;; language needs to provide. Build it with wabt's wat2wasm:
;;
;;   skiff udf build examples/udf/wat        (or: wat2wasm touch.wat -o wat.wasm)
;;
;; and register it as wat.wasm:
;;
;;   client.RegisterUDFFromFile(nil, "examples/udf/wat/wat.wasm", "wat.wasm", as.Language("WASM"))
;;
;; Functions, called with the official Go client
;; (github.com/aerospike/aerospike-client-go/v8):
;;
;;   touch_count()  adds 1 to the integer bin "n" (a missing bin counts as 0)
;;                  and returns the new value:
;;                    n, err := client.Execute(nil, key, "wat", "touch_count")
;;   echo(v)        returns its one argument unchanged:
;;                    v, err := client.Execute(nil, key, "wat", "echo", as.StringValue("hi"))
;;
;; Memory layout (one 64 KiB page):
;;
;;   0     "n", "touch_count", "echo": names compared against
;;   64    failure messages
;;   512   bin_get buffer (16 bytes: any msgpack integer fits in 9)
;;   768   the encoded result and bin value
;;   1024  call_input: the function name, then the arguments (up to 63 KiB)
(module
  ;; Imports come only from module "skiff".
  (import "skiff" "call_input" (func $call_input (param i32)))
  (import "skiff" "result" (func $result (param i32 i32)))
  (import "skiff" "fail" (func $fail (param i32 i32)))
  (import "skiff" "bin_get" (func $bin_get (param i32 i32 i32 i32) (result i32)))
  (import "skiff" "bin_set" (func $bin_set (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  (data (i32.const 0) "n")
  (data (i32.const 1) "touch_count")
  (data (i32.const 12) "echo")
  (data (i32.const 64) "touch_count: bin n is not an integer")     ;; 36 bytes
  (data (i32.const 100) "touch_count: writing bin n failed")       ;; 33 bytes
  (data (i32.const 133) "echo: takes exactly one argument")        ;; 32 bytes
  (data (i32.const 165) "call input over 63 KiB")                  ;; 22 bytes

  (global $in i32 (i32.const 1024))
  (global $out i32 (i32.const 768))
  (global $buf i32 (i32.const 512))

  (func (export "skiff_abi_version") (result i32)
    (i32.const 1))

  ;; skiff_call returns 0 success, 1 failure (after $fail), 2 no such function.
  (func (export "skiff_call") (param $name_len i32) (param $args_len i32) (result i32)
    (if (i32.gt_u (i32.add (local.get $name_len) (local.get $args_len)) (i32.const 64512))
      (then
        (call $fail (i32.const 165) (i32.const 22))
        (return (i32.const 1))))
    (call $call_input (global.get $in))
    (if (call $name_is (local.get $name_len) (i32.const 1) (i32.const 11))
      (then (return (call $touch_count))))
    (if (call $name_is (local.get $name_len) (i32.const 12) (i32.const 4))
      (then (return (call $echo
        (i32.add (global.get $in) (local.get $name_len))
        (local.get $args_len)))))
    (i32.const 2))

  ;; name_is reports whether the called name (at $in, $len bytes) equals the
  ;; $lit_len bytes at $lit.
  (func $name_is (param $len i32) (param $lit i32) (param $lit_len i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $len) (local.get $lit_len))
      (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.eq (local.get $i) (local.get $len)))
        (if (i32.ne
              (i32.load8_u (i32.add (global.get $in) (local.get $i)))
              (i32.load8_u (i32.add (local.get $lit) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; touch_count: n = bin "n" (0 if absent) + 1, stored and returned as a
  ;; msgpack int64 (0xd3 and 8 bytes big-endian; any int form is valid).
  (func $touch_count (result i32)
    (local $len i32) (local $n i64)
    (local.set $len (call $bin_get (i32.const 0) (i32.const 1) (global.get $buf) (i32.const 16)))
    (if (i32.ne (local.get $len) (i32.const -1))          ;; -1: no bin n, count from 0
      (then
        (local.set $n (call $read_int (local.get $len)))
        (if (i32.eqz (global.get $int_ok))
          (then
            (call $fail (i32.const 64) (i32.const 36))
            (return (i32.const 1))))))
    (local.set $n (i64.add (local.get $n) (i64.const 1)))
    (i32.store8 (global.get $out) (i32.const 0xd3))
    (call $store_be64 (i32.add (global.get $out) (i32.const 1)) (local.get $n))
    (if (i32.ne (call $bin_set (i32.const 0) (i32.const 1) (global.get $out) (i32.const 9)) (i32.const 0))
      (then
        (call $fail (i32.const 100) (i32.const 33))
        (return (i32.const 1))))
    (call $result (global.get $out) (i32.const 9))
    (i32.const 0))

  ;; echo: the arguments must be an array of one element (fixarray 0x91);
  ;; the bytes after that header are the element, returned as they are.
  (func $echo (param $args i32) (param $len i32) (result i32)
    (if (i32.or
          (i32.lt_u (local.get $len) (i32.const 2))
          (i32.ne (i32.load8_u (local.get $args)) (i32.const 0x91)))
      (then
        (call $fail (i32.const 133) (i32.const 32))
        (return (i32.const 1))))
    (call $result
      (i32.add (local.get $args) (i32.const 1))
      (i32.sub (local.get $len) (i32.const 1)))
    (i32.const 0))

  ;; read_int decodes the $len-byte msgpack integer at $buf: positive and
  ;; negative fixint, uint 8/16/32/64 (0xcc-0xcf), int 8/16/32/64
  ;; (0xd0-0xd3). It sets $int_ok to 0 for anything else.
  (global $int_ok (mut i32) (i32.const 0))
  (func $read_int (param $len i32) (result i64)
    (local $c i32) (local $size i32) (local $v i64)
    (global.set $int_ok (i32.const 0))
    (if (i32.lt_s (local.get $len) (i32.const 1))
      (then (return (i64.const 0))))
    (local.set $c (i32.load8_u (global.get $buf)))
    ;; fixints: the byte is the value
    (if (i32.and (i32.eq (local.get $len) (i32.const 1))
                 (i32.or (i32.le_u (local.get $c) (i32.const 0x7f))
                         (i32.ge_u (local.get $c) (i32.const 0xe0))))
      (then
        (global.set $int_ok (i32.const 1))
        (return (i64.extend8_s (i64.extend_i32_u (local.get $c))))))
    (if (i32.or (i32.lt_u (local.get $c) (i32.const 0xcc))
                (i32.gt_u (local.get $c) (i32.const 0xd3)))
      (then (return (i64.const 0))))
    ;; 0xcc..0xcf and 0xd0..0xd3: 1, 2, 4, 8 payload bytes
    (local.set $size (i32.shl (i32.const 1) (i32.and (i32.sub (local.get $c) (i32.const 0xcc)) (i32.const 3))))
    (if (i32.ne (local.get $len) (i32.add (local.get $size) (i32.const 1)))
      (then (return (i64.const 0))))
    (local.set $v (call $load_be (i32.add (global.get $buf) (i32.const 1)) (local.get $size)))
    (if (i32.ge_u (local.get $c) (i32.const 0xd0))           ;; signed: extend from its size
      (then
        (if (i32.eq (local.get $size) (i32.const 1)) (then (local.set $v (i64.extend8_s (local.get $v)))))
        (if (i32.eq (local.get $size) (i32.const 2)) (then (local.set $v (i64.extend16_s (local.get $v)))))
        (if (i32.eq (local.get $size) (i32.const 4)) (then (local.set $v (i64.extend32_s (local.get $v)))))))
    (global.set $int_ok (i32.const 1))
    (local.get $v))

  ;; load_be reads $size bytes at $p as a big-endian unsigned integer.
  (func $load_be (param $p i32) (param $size i32) (result i64)
    (local $v i64) (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.eq (local.get $i) (local.get $size)))
        (local.set $v (i64.or
          (i64.shl (local.get $v) (i64.const 8))
          (i64.load8_u (i32.add (local.get $p) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $v))

  ;; store_be64 writes $v at $p as 8 bytes, big-endian.
  (func $store_be64 (param $p i32) (param $v i64)
    (local $i i32)
    (local.set $i (i32.const 7))
    (block $done
      (loop $next
        (i64.store8 (i32.add (local.get $p) (local.get $i)) (local.get $v))
        (local.set $v (i64.shr_u (local.get $v) (i64.const 8)))
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $next))))
)
