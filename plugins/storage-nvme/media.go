package nvme

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"time"
)

// devFile is what the backend needs of a device or data file: positioned
// reads and writes and a data sync. With direct I/O, buffers, offsets and
// lengths are multiples of pageSize. Tests wrap it to inject faults.
type devFile interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	// Sync makes the data written so far durable (fdatasync).
	Sync() error
	Close() error
}

// medium is a device or data file opened at startup, its header checked.
type medium struct {
	path   string
	kind   string // "device" or "file", for messages
	f      devFile
	blocks uint32
	header deviceHeader
	fresh  bool // no Skiff header: formatted by this start
	ring   bool // reads go through an io_uring
}

// openMedia opens the configured devices and files, checks their sizes and
// headers, and formats those that have none. Every device of a namespace
// shares one instance id; a device of another namespace, format version,
// write-block-size or instance is refused with an error naming it.
func openMedia(o *Options) (ms []*medium, instance uint64, err error) {
	defer func() {
		if err != nil {
			for _, m := range ms {
				m.f.Close()
			}
			ms = nil
		}
	}()
	paths := append(append([]string(nil), o.Devices...), o.Files...)
	for i, path := range paths {
		kind := "device"
		if i >= len(o.Devices) {
			kind = "file"
		}
		m, err := openMedium(o, i, kind, path)
		if err != nil {
			return ms, 0, fmt.Errorf("nvme: namespace %s: %s %s: %w", o.Namespace, kind, path, err)
		}
		// Checked as ours, and formatted anew: the blocks and records of
		// the old instance never verify again.
		m.fresh = m.fresh || o.emptyStart
		ms = append(ms, m)
	}
	var owner *medium
	for _, m := range ms {
		switch {
		case m.fresh:
		case owner == nil:
			owner, instance = m, m.header.instance
		case m.header.instance != instance:
			return ms, 0, fmt.Errorf("nvme: namespace %s: %s %s belongs to another device set than %s %s (instance %x, not %x): it was formatted separately; clear its header to reuse it",
				o.Namespace, m.kind, m.path, owner.kind, owner.path, m.header.instance, instance)
		}
	}
	if owner == nil {
		instance = rand.Uint64() | 1
	}
	for i, m := range ms {
		if !m.fresh {
			continue
		}
		m.header = deviceHeader{
			version:   formatVersion,
			wbs:       uint32(o.WriteBlockSize),
			index:     uint16(i),
			count:     uint16(len(ms)),
			instance:  instance,
			formatted: time.Now().UnixNano(),
			namespace: o.Namespace,
		}
		if err := formatMedium(m, o.WriteBlockSize); err != nil {
			return ms, 0, fmt.Errorf("nvme: namespace %s: format %s %s: %w", o.Namespace, m.kind, m.path, err)
		}
		o.Logger.Info("nvme: formatted", "namespace", o.Namespace, m.kind, m.path, "blocks", m.blocks, "write-block-size", o.WriteBlockSize)
	}
	return ms, instance, nil
}

// openMedium opens one device or file and reads its header.
func openMedium(o *Options, i int, kind, path string) (*medium, error) {
	if kind == "file" {
		if err := prepareFile(path, o.FileSize); err != nil {
			return nil, err
		}
	}
	f, size, blockDev, err := openFile(path, o.DirectIO, o.ReadPageCache, !o.noRing, o.Logger)
	if err != nil {
		return nil, err
	}
	if kind == "device" && !blockDev {
		// A regular file listed as a device is fine (tests, loop
		// setups), but its size is whatever it is.
		o.Logger.Warn("nvme: a device that is a regular file", "namespace", o.Namespace, "path", path)
	}
	ring := f.(*osFile).usesRing()
	if o.wrapFile != nil {
		f = o.wrapFile(i, f)
	}
	m := &medium{path: path, kind: kind, f: f, ring: ring}
	if err := m.check(o, size, blockDev); err != nil {
		f.Close()
		return nil, err
	}
	if o.DataInMemory {
		mr, err := newMirror(f, size)
		if err != nil {
			f.Close()
			return nil, err
		}
		m.f = mr
	}
	return m, nil
}

// prepareFile creates a data file of size bytes if it does not exist, or
// grows a smaller one.
func prepareFile(path string, size int64) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := createFile(path, size); err != nil {
			return fmt.Errorf("create with filesize %d: %w", size, err)
		}
		return nil
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("not a regular file (list devices under devices)")
	case st.Size() > size:
		return fmt.Errorf("is %d bytes, larger than filesize %d: shrinking it would lose data", st.Size(), size)
	case st.Size() < size:
		if err := growFile(path, size); err != nil {
			return fmt.Errorf("grow from %d to filesize %d: %w", st.Size(), size, err)
		}
	}
	return nil
}

// check checks the size of an opened medium and reads its header.
func (m *medium) check(o *Options, size int64, blockDev bool) error {
	wbs := int64(o.WriteBlockSize)
	if size < wbs*(minBlocks+1) {
		return fmt.Errorf("too small: %d bytes; need at least %d (a header and %d blocks of write-block-size %d)", size, wbs*(minBlocks+1), minBlocks, wbs)
	}
	if size%pageSize != 0 {
		return fmt.Errorf("size %d is not a multiple of %d bytes", size, pageSize)
	}
	if !blockDev && size%wbs != 0 {
		return fmt.Errorf("size %d is not a multiple of write-block-size %d", size, wbs)
	}
	// A device's tail after its last whole block is left unused.
	m.blocks = uint32(min(size/wbs-1, 1<<32-1))

	page, err := allocBuffer(pageSize)
	if err != nil {
		return err
	}
	defer freeBuffer(page)
	if _, err := m.f.ReadAt(page, 0); err != nil {
		if o.DirectIO && isDirectIOError(err) {
			return errDirectIO
		}
		return fmt.Errorf("read header: %w", err)
	}
	h, ok := decodeDeviceHeader(page)
	switch {
	case !ok:
		m.fresh = true
	case h.crcCorrupt:
		return fmt.Errorf("device header is corrupt (checksum mismatch): refusing to guess what it holds")
	case h.version != formatVersion:
		return fmt.Errorf("format version %d, this backend reads version %d", h.version, formatVersion)
	case h.namespace != o.Namespace:
		return fmt.Errorf("belongs to namespace %q, not %q", h.namespace, o.Namespace)
	case int(h.wbs) != o.WriteBlockSize:
		return fmt.Errorf("formatted with write-block-size %d, configured %d: the write-block-size of a device cannot change", h.wbs, o.WriteBlockSize)
	}
	m.header = h
	return nil
}

// formatMedium writes a fresh medium's header and syncs it: the whole
// header region, so that no old block header or record of a previous life
// of the device is left in it.
func formatMedium(m *medium, wbs int) error { return writeHeader(m.f, m.header, wbs) }

// writeHeader writes header h to the first n bytes of f (zeros after the
// header's page) and syncs it.
func writeHeader(f devFile, h deviceHeader, n int) error {
	buf, err := allocBuffer(n)
	if err != nil {
		return err
	}
	defer freeBuffer(buf)
	h.encode(buf)
	if _, err := f.WriteAt(buf, 0); err != nil {
		return err
	}
	return f.Sync()
}
