package shmtest

import "golang.org/x/sys/unix"

// Tmpfs reports the size and free bytes of the tmpfs dir is on; ok is
// false when dir is on another file system.
func Tmpfs(dir string) (size, free int64, ok bool) {
	var fs unix.Statfs_t
	if unix.Statfs(dir, &fs) != nil || fs.Type != unix.TMPFS_MAGIC {
		return 0, 0, false
	}
	return int64(fs.Blocks) * fs.Bsize, int64(fs.Bavail) * fs.Bsize, true
}
