package nvme

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/setting"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// Open creates a device backend from the settings of a namespace's
// storage-engine block, as the node passes them: numbers are plain bytes or
// milliseconds (the node's config parser has already turned 128K or 16G
// into bytes), lists are comma-separated. It is the backend's
// plugin.OpenFunc. The settings, with Aerospike's names:
//
//	devices                 raw devices, comma-separated
//	files                   data files, comma-separated
//	filesize                bytes of each file (required with files)
//	write-block-size        bytes, a power of two, 4096 to 8388608; default 1048576
//	direct-io               true (default) or false, for file systems without O_DIRECT
//	read-page-cache         true: reads go through the page cache; default false
//	post-write-queue        blocks kept in memory per device after writing; default 256
//	max-write-cache         bytes of full write buffers a device may have
//	                        waiting before writes fail; default 64 MiB
//	flush-max-ms            bound on a record's wait in a partial buffer; default 1000
//	defrag-lwm-pct          defragment blocks under this % live; default 50
//	defrag-sleep            microseconds of pause after each defragmented block; default 1000
//	commit-to-device        true: writes return once synced to the device; default false
//	tomb-raider-period      seconds between sweeps for unneeded tombstones; default 60
//	compression             none (default), lz4, snappy or zstd: the codec
//	                        of the bins of records written
//	compression-level       zstd's, 1 (fastest) to 9 (smallest); default 0,
//	                        zstd's default
//	cold-start-empty        true: a start that would read the devices
//	                        starts empty instead; default false
//	data-in-memory          true: a copy of the blocks in use in memory serves
//	                        every read; default false
//	index-type              dram (default) or flash
//	index-mount             directory of the index's file, with index-type flash
//	index-mount-size-limit  bytes the index's tables may take; default no limit
//	max-record-size         bytes; default the most a write block holds
//	write-buffer-file       absolute path of a file on a tmpfs holding the write
//	                        buffers, replayed at each start; default none
//	region-file             absolute path of a file on a tmpfs holding the
//	                        index and write buffers, taken over at each start;
//	                        default none
//	index-snapshot          absolute path of the file a clean stop writes the
//	                        index to, for a warm restart; default none
//
// An unknown setting, or a value it cannot use, is an error naming it.
func Open(namespace string, settings map[string]string) (storage.Backend, error) {
	opts, err := ParseSettings(namespace, settings)
	if err != nil {
		return nil, err
	}
	return New(opts)
}

// Resume is Open for a plugin process whose predecessor died, leaving
// region (plugin.WithResume): what the write buffers it lists held is
// written to the devices (journal.go), and the index it holds is taken
// over (resume.go), or else the devices are read; the region is then
// discarded. On error the caller still owns region.
func Resume(namespace string, settings map[string]string, region *sharedindex.Region) (storage.Backend, error) {
	if region.Kind() != sharedindex.KindDevice {
		return nil, fmt.Errorf("nvme: namespace %s: the region is not a device backend's (kind %d)", namespace, region.Kind())
	}
	opts, err := ParseSettings(namespace, settings)
	if err != nil {
		return nil, err
	}
	return newBackend(opts, region)
}

// ParseSettings turns a namespace's settings into Options; see Open.
func ParseSettings(namespace string, settings map[string]string) (Options, error) {
	opts := DefaultOptions()
	opts.Namespace = namespace
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if err := opts.set(k, strings.TrimSpace(settings[k])); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return opts, fmt.Errorf("nvme: namespace %s: %w", namespace, errors.Join(errs...))
	}
	return opts, nil
}

// set applies one setting.
func (o *Options) set(k, v string) error {
	var err error
	switch k {
	case "devices":
		o.Devices = setting.List(v)
	case "files":
		o.Files = setting.List(v)
	case "filesize":
		o.FileSize, err = setting.Bytes(k, v)
	case "write-block-size":
		var n int64
		n, err = setting.Bytes(k, v)
		o.WriteBlockSize = int(min(n, 1<<30))
	case "direct-io":
		o.DirectIO, err = setting.Bool(k, v)
	case "read-page-cache":
		o.ReadPageCache, err = setting.Bool(k, v)
	case "post-write-queue":
		o.PostWriteQueue, err = setting.Int(k, v, "a number of blocks")
	case "max-write-cache":
		o.MaxWriteCache, err = setting.Bytes(k, v)
	case "flush-max-ms":
		var n int
		n, err = setting.Int(k, v, "milliseconds")
		o.FlushMax = time.Duration(n) * time.Millisecond
	case "defrag-lwm-pct":
		o.DefragLWMPct, err = setting.Int(k, v, "a percentage")
	case "defrag-sleep":
		var n int
		n, err = setting.Int(k, v, "microseconds")
		o.DefragSleep = time.Duration(n) * time.Microsecond
	case "commit-to-device":
		o.CommitToDevice, err = setting.Bool(k, v)
	case "tomb-raider-period":
		var n int
		n, err = setting.Int(k, v, "seconds")
		o.TombRaiderPeriod = time.Duration(n) * time.Second
	case "compression":
		o.Compression, err = devrecord.ParseCodec(v)
	case "compression-level":
		o.CompressionLevel, err = setting.Int(k, v, "a level from 1 to 9")
	case "cold-start-empty":
		o.ColdStartEmpty, err = setting.Bool(k, v)
	case "data-in-memory":
		o.DataInMemory, err = setting.Bool(k, v)
	case "index-type":
		o.IndexType = IndexType(v)
	case "index-mount":
		o.IndexMount = v
	case "index-snapshot":
		o.Snapshot = v
	case "write-buffer-file":
		o.WriteBufferFile = v
	case "region-file":
		o.RegionFile = v
	case "index-mount-size-limit":
		o.IndexMountSizeLimit, err = setting.Bytes(k, v)
	case "max-record-size":
		var n int64
		n, err = setting.Bytes(k, v)
		o.MaxRecordSize = int(min(n, 1<<31))
	default:
		err = fmt.Errorf("unknown setting %q for the device backend", k)
	}
	return err
}
