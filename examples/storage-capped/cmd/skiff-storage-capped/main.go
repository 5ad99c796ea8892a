// Command skiff-storage-capped serves the capped example backend as a
// storage plugin process. Build it, put the binary where the node can run
// it, and give a namespace a plugin storage engine with its path; the other
// settings of the block are passed to capped.Open:
//
//	namespace sessions {
//		storage-engine plugin {
//			path /usr/local/lib/skiff/skiff-storage-capped
//			max-records 1000000
//			data-size 1073741824
//		}
//	}
package main

import (
	capped "github.com/skiffdb/skiff/examples/storage-capped"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

func main() { plugin.Serve("capped", capped.Open) }
