// Command skiff-storage-memory serves the memory backend as a storage
// plugin process; a Skiff node starts it for namespaces with
// "storage-engine memory" in process mode. When a process dies, the next
// one resumes its records from the region the node kept (memory.Resume).
package main

import (
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

func main() { plugin.Serve("memory", memory.Open, plugin.WithResume(memory.Resume)) }
