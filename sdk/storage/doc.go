/*
Package storage is the contract between the Skiff node and the storage of a
namespace: one Go interface, Backend, its types and its sentinel errors.
A backend owns its primary index (digest to record) and its media; the node
owns everything else about records, including their meaning.

# Basics

A namespace has Partitions (4096) partitions. A record is addressed by a
20-byte Digest, and Digest.Partition names the partition that owns it. Every
backend organises its index by partition, so that ScanPartition costs in
proportion to the partition's records.

A Record carries Meta (generation, void time, last-update time, set name,
whether a key is stored), the optional stored key and the core's encoding of
the bins. Key and
Bins are opaque: a backend stores and returns them byte for byte, including
empty ones. Put replaces the whole record; there are no partial updates.

The node calls a backend in one of two ways with identical behaviour: linked
into the node (in-process), or as a separate process through the plugin glue,
whose client implements the same Backend interface. Package storagetest is
the conformance suite every backend passes in both modes.

# Buffer ownership

Reads write into memory the caller owns; writes copy what they keep:

  - Get writes the record's Key and Bins into buf and returns slices of it.
    What counts is cap(buf); its length is ignored. When cap(buf) is too
    small, Get allocates a larger buffer, which the caller may keep and pass
    again. The returned slices stay valid until the caller reuses buf; a later
    Put or Delete of the same digest does not change them.
  - Put copies rec's Key, Bins and Set before it returns; the caller may
    overwrite or reuse them at once. A backend that keeps the set name must
    copy the string (strings.Clone), since the caller may have built it over
    a buffer it reuses.
  - ScanFunc receives d and a *Record whose Key and Bins are valid only until
    the function returns. Copy them to keep them. ScanPartition calls it one
    record at a time, from the goroutine that called ScanPartition.
  - Meta.Set as returned by Get, GetMeta and ScanPartition is an ordinary
    immutable string the caller may keep: backends intern set names so that
    returning one does not allocate.

# Concurrency

Every method may be called from many goroutines at once. The core holds a
per-record lock across a Get and the Put or Delete that follows, so two
writes to one digest never race in practice; a backend must nevertheless stay
consistent (no torn records, no corrupted index) under any concurrent calls,
including on one digest. ScanPartition holds no lock while its callback runs,
so the callback may call any method of the same backend, on the same
partition too.

# Caveats

Expiry is the core's job. A backend stores VoidTime and returns it, but never
hides or removes a record because it has expired: the core treats an expired
record as absent and deletes it, lazily on access and through metadata-only
scans (ScanPartition with metaOnly).

Records written or deleted while a partition is being scanned may or may not
be seen; records present for the whole scan are seen exactly once. The Meta
of a record seen by a metadata-only scan may be older than a concurrent
write.

Point operations (Get, GetMeta, Put, Delete) of an in-memory backend never
block on I/O and may ignore ctx; ScanPartition must stop when ctx is done and
return ctx's error.

Callers finish their calls, scans included, before they call Close; a
backend need not wait for calls in progress. After Close, every method, Close
included, returns ErrClosed rather than touching released resources.

# Errors

Backends return the sentinel errors of this package, possibly wrapped with
context; callers test them with errors.Is, never by message, because the
plugin glue carries them across the process boundary as status codes. On the
hot path (a Get of a missing record is common in a cache) backends return
ErrNotFound unwrapped so that a miss does not allocate.

  - ErrNotFound: Get, GetMeta or Delete of a digest that has no record.
  - ErrRecordTooBig: Put of a record the backend can never store, for example
    one larger than its largest record or its whole capacity.
  - ErrOutOfSpace: Put that does not fit now; nothing was written, and the
    previous record under the digest, if any, is intact.
  - ErrOverloaded: Put or durable Delete refused because writes come faster
    than the media take them (the device backend's max-write-cache); nothing
    was written, and the call may succeed later. Clients see DEVICE_OVERLOAD.
  - ErrClosed: any call after Close.
  - ErrUnavailable: the backend cannot serve now (its process is restarting);
    the call may succeed later.

# Building blocks

The first-party backends share small packages a backend author may use too:
sets (interned set names with small ids and per-set figures, for an index
entry without a Go pointer), indexhash (the slot a digest's lookup starts
at) and setting (parsers for the settings Open receives, with errors that
name the setting). The plugin package serves a backend as a process, and
storagetest checks it against this contract.
*/
package storage
