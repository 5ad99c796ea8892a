// Command skiff-xdr-nats serves the NATS JetStream xdr transport as a
// plugin process; a Skiff node starts it for the xdr dc blocks that name
// nats-url.
package main

import (
	xdrnats "github.com/skiffdb/skiff/plugins/xdr-nats"
	"github.com/skiffdb/skiff/sdk/xdr/plugin"
)

func main() { plugin.Serve("nats", xdrnats.Open) }
