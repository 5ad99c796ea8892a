package nvme

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/skiffdb/skiff/sdk/storage/devrecord"
)

// Limits of the settings.
const (
	MinWriteBlockSize = 4 << 10
	MaxWriteBlockSize = 8 << 20
	// maxDevices is the most devices and files of one namespace.
	maxDevices = 128
	// minBlocks is the fewest blocks a device or file may have.
	minBlocks = 16
	// maxWriteQueue is the most blocks max-write-cache may hold.
	maxWriteQueue = 1 << 16
)

// Options configures a Backend. Start from DefaultOptions: the zero value
// is not valid (New reports what is missing).
type Options struct {
	// Namespace is the namespace's name, written in each device's header
	// so that a device of another namespace is refused.
	Namespace string
	// Devices are raw block devices, used whole.
	Devices []string
	// Files are data files. A file that does not exist is created with
	// FileSize bytes; one that is smaller is grown to FileSize.
	Files []string
	// FileSize is the size of each data file, a multiple of WriteBlockSize.
	FileSize int64
	// WriteBlockSize is the unit of writes and of defragmentation: a power
	// of two from 4 KiB to 8 MiB. A device keeps the write-block-size it
	// was formatted with; changing it needs new devices.
	WriteBlockSize int
	// DirectIO opens devices and files with O_DIRECT. Turn it off only
	// for file systems that refuse O_DIRECT, such as tmpfs.
	DirectIO bool
	// ReadPageCache reads through the page cache, with DirectIO too (whose
	// writes go around it): records read often are then served from memory
	// the kernel can take back.
	ReadPageCache bool
	// PostWriteQueue is how many written blocks per device stay in memory
	// to serve reads of recent writes; 0 keeps none.
	PostWriteQueue int
	// MaxWriteCache is how many bytes of full write buffers a device may
	// have waiting for the flusher: past it, writes fail with
	// storage.ErrOverloaded (Aerospike's DEVICE_OVERLOAD) until the device
	// catches up, rather than wait on it. At least one write block; it
	// counts in whole blocks.
	MaxWriteCache int64
	// FlushMax bounds how long a record may wait in a partly filled write
	// buffer before it is written to the device.
	FlushMax time.Duration
	// DefragLWMPct: a block whose live bytes fall under this percentage of
	// the block is defragmented. 1 to 99.
	DefragLWMPct int
	// DefragSleep is the pause after each block the defragmenter handles,
	// bounding the device bandwidth it takes from foreground requests. It
	// does not pause while free blocks are scarce.
	DefragSleep time.Duration
	// TombRaiderPeriod is how often the index is swept for tombstones no
	// longer needed (tombraid.go).
	TombRaiderPeriod time.Duration
	// CommitToDevice makes Put and a durable Delete return only once the
	// record is on the device (written and synced); writes waiting at once
	// share one write and one sync (group commit).
	CommitToDevice bool
	// Compression compresses the bins of each record written (of
	// devrecord.MinCompress bytes or more, where it saves space) with
	// this codec; CompressionLevel is zstd's, 1 (fastest) to 9 (smallest),
	// 0 for the default. Records are read back whatever the setting.
	Compression      devrecord.Codec
	CompressionLevel int
	// ColdStartEmpty makes a start that would read the devices to rebuild
	// the index (a cold start) start empty instead: the devices are
	// formatted anew, and their records never come back. A start that
	// takes over a region or loads a snapshot keeps its records.
	ColdStartEmpty bool
	// DataInMemory keeps a copy of every block in use in memory, which all
	// reads are served from (mirror_linux.go); the devices still take every
	// write and rebuild the index and the copy at start. Linux only.
	DataInMemory bool
	// IndexType is IndexDRAM or IndexFlash.
	IndexType IndexType
	// IndexMount is the directory of the index's file with IndexFlash, on
	// a flash file system: the region (regionFile), which outlives the
	// node, as a region file does, and may be larger than memory.
	// IndexMountSizeLimit bounds its tables (0: no limit).
	IndexMount          string
	IndexMountSizeLimit int64
	// Snapshot is the file a clean Close writes the index to, and the next
	// start loads it from rather than reading every block (snapshot.go);
	// empty means every start reads the devices.
	Snapshot string
	// WriteBufferFile is a file on a tmpfs that holds the write buffers
	// and their journal (journal.go), so that a crash of the node loses no
	// acknowledged write; each start replays it. Empty: the buffers are
	// in the shared index's memory file, which outlives the plugin process
	// only.
	WriteBufferFile string
	// RegionFile is a file on a tmpfs that holds the shared index, with
	// the write buffers, in place of a memory file (index-type dram only):
	// the next start after the node stopped or died takes the index over
	// from it, rather than read the devices (resume.go), and writes what
	// the buffers held first.
	RegionFile string
	// MaxRecordSize is the largest storage.Record.Size accepted; 0 means
	// the largest that fits a write block (see MaxRecordSizeFor).
	MaxRecordSize int
	// Logger receives the backend's log lines; nil means slog.Default().
	Logger *slog.Logger

	// wrapFile, set by tests, wraps each opened device to inject faults.
	wrapFile func(dev int, f devFile) devFile
	// emptyStart, set by open for ColdStartEmpty, formats every medium.
	emptyStart bool
	// noRing, set by tests, reads with pread as where io_uring is refused.
	noRing bool
	// loaded, set by tests, sees the backend once its index is built,
	// before its goroutines start.
	loaded func(b *Backend)
}

// writeQueue is how many full write buffers a device may have waiting
// for the flusher before writes fail (MaxWriteCache in blocks).
func (o *Options) writeQueue() int32 { return int32(o.MaxWriteCache / int64(o.WriteBlockSize)) }

// regionFile returns the file that holds the backend's region, and the
// setting that names it: the region-file, or with the index on flash a
// file of the namespace's on the mount; "" for a memory file.
func (o *Options) regionFile() (path, setting string) {
	switch {
	case o.IndexType == IndexFlash:
		return filepath.Join(o.IndexMount, o.Namespace+".skiff-index"), "index-mount"
	case o.RegionFile != "":
		return o.RegionFile, "region-file"
	}
	return "", ""
}

// IndexType is where the primary index lives.
type IndexType string

const (
	IndexDRAM  IndexType = "dram"
	IndexFlash IndexType = "flash"
)

// DefaultOptions returns the defaults, Aerospike's where it has one: 1 MiB
// write blocks, direct I/O, 256 blocks of post-write queue and a 64 MiB
// write cache per device, a one-second flush bound, defragmentation under
// 50% live, index in DRAM.
func DefaultOptions() Options {
	return Options{
		WriteBlockSize:   1 << 20,
		DirectIO:         true,
		PostWriteQueue:   256,
		MaxWriteCache:    64 << 20,
		FlushMax:         time.Second,
		DefragLWMPct:     50,
		DefragSleep:      time.Millisecond,
		IndexType:        IndexDRAM,
		TombRaiderPeriod: time.Minute,
	}
}

// MaxRecordSizeFor is the largest record (storage.Record.Size) that fits a
// write block of wbs bytes: the block less its header and one record
// header, with room for padding.
func MaxRecordSizeFor(wbs int) int {
	return wbs - blockHeaderSize - devrecord.HeaderSize - devrecord.Align
}

// validate checks the options and fills in the derived ones.
func (o *Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Namespace == "" || len(o.Namespace) > maxNamespaceLen {
		bad("namespace name %q: want 1 to %d bytes", o.Namespace, maxNamespaceLen)
	}
	n := len(o.Devices) + len(o.Files)
	switch {
	case n == 0:
		bad("no devices or files: set devices or files")
	case n > maxDevices:
		bad("%d devices and files: at most %d", n, maxDevices)
	}
	seen := map[string]bool{}
	for _, p := range append(append([]string(nil), o.Devices...), o.Files...) {
		if p == "" {
			bad("empty device or file path")
		}
		if seen[p] {
			bad("%s is listed twice", p)
		}
		seen[p] = true
	}
	wbs := o.WriteBlockSize
	if wbs < MinWriteBlockSize || wbs > MaxWriteBlockSize || wbs&(wbs-1) != 0 {
		bad("write-block-size %d: want a power of two from %d to %d", wbs, MinWriteBlockSize, MaxWriteBlockSize)
	} else if len(o.Files) > 0 {
		switch min := int64(wbs) * (minBlocks + 1); {
		case o.FileSize <= 0:
			bad("filesize: required with files")
		case o.FileSize%int64(wbs) != 0:
			bad("filesize %d is not a multiple of write-block-size %d", o.FileSize, wbs)
		case o.FileSize < min:
			bad("filesize %d is too small: at least %d (%d blocks of write-block-size %d and a header)", o.FileSize, min, minBlocks, wbs)
		}
	}
	if o.PostWriteQueue < 0 || o.PostWriteQueue > 1<<16 {
		bad("post-write-queue %d: want 0 to %d blocks", o.PostWriteQueue, 1<<16)
	}
	if wbs >= MinWriteBlockSize && (o.MaxWriteCache < int64(wbs) || o.MaxWriteCache/int64(wbs) > maxWriteQueue) {
		bad("max-write-cache %d: want 1 to %d blocks of write-block-size %d", o.MaxWriteCache, maxWriteQueue, wbs)
	}
	if o.Compression > devrecord.CodecZstd {
		bad("compression %d: want none, lz4, snappy or zstd", o.Compression)
	}
	if o.CompressionLevel < 0 || o.CompressionLevel > 9 {
		bad("compression-level %d: want 1 to 9, or 0 for the default", o.CompressionLevel)
	}
	if o.FlushMax < time.Millisecond {
		bad("flush-max-ms %v: want at least 1 ms", o.FlushMax)
	}
	if o.DefragLWMPct < 1 || o.DefragLWMPct > 99 {
		bad("defrag-lwm-pct %d: want 1 to 99", o.DefragLWMPct)
	}
	if o.DefragSleep < 0 {
		bad("defrag-sleep %v is negative", o.DefragSleep)
	}
	if o.TombRaiderPeriod <= 0 {
		bad("tomb-raider-period %v: want at least 1 s", o.TombRaiderPeriod)
	}
	switch o.IndexType {
	case IndexDRAM:
		if o.IndexMount != "" {
			bad("index-mount is set but index-type is dram")
		}
	case IndexFlash:
		if o.IndexMount == "" {
			bad("index-type flash needs index-mount")
		}
	default:
		bad("index-type %q: want dram or flash", o.IndexType)
	}
	if o.DataInMemory && !mirrorSupported {
		bad("data-in-memory true needs Linux (memory files)")
	}
	if o.Snapshot != "" && !filepath.IsAbs(o.Snapshot) {
		bad("index-snapshot %q: want an absolute path", o.Snapshot)
	}
	if o.WriteBufferFile != "" && !filepath.IsAbs(o.WriteBufferFile) {
		bad("write-buffer-file %q: want an absolute path on a tmpfs", o.WriteBufferFile)
	}
	switch {
	case o.RegionFile == "":
	case !filepath.IsAbs(o.RegionFile):
		bad("region-file %q: want an absolute path on a tmpfs", o.RegionFile)
	case o.IndexType == IndexFlash:
		bad("region-file holds an index in DRAM: not with index-type flash, whose mount holds it")
	case o.WriteBufferFile != "":
		bad("region-file holds the write buffers too: not with write-buffer-file")
	}
	if o.IndexMountSizeLimit < 0 {
		bad("index-mount-size-limit %d is negative", o.IndexMountSizeLimit)
	}
	if wbs >= MinWriteBlockSize {
		if largest := MaxRecordSizeFor(wbs); o.MaxRecordSize < 0 || o.MaxRecordSize > largest {
			bad("max-record-size %d: want at most %d for write-block-size %d", o.MaxRecordSize, largest, wbs)
		} else if o.MaxRecordSize == 0 {
			o.MaxRecordSize = largest
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(errs) > 0 {
		return fmt.Errorf("nvme: namespace %s: %w", o.Namespace, errors.Join(errs...))
	}
	return nil
}
