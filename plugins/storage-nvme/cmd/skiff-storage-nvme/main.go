// Command skiff-storage-nvme serves the device backend as a storage plugin
// process; a Skiff node starts it for namespaces with "storage-engine
// device".
package main

import (
	nvme "github.com/skiffdb/skiff/plugins/storage-nvme"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

func main() { plugin.Serve("device", nvme.Open, plugin.WithResume(nvme.Resume)) }
