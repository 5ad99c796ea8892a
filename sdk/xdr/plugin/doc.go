// Package plugin runs an xdr transport (sdk/xdr) as a separate process,
// started and supervised by a Skiff node with hashicorp/go-plugin, and
// gives the node an xdr.Transport that talks to it: the same shape as
// sdk/storage/plugin for storage backends.
//
// # Writing a transport
//
// A transport is a package that implements xdr.Transport and an
// xdr.OpenFunc. Its plugin binary is one line of main:
//
//	func main() { plugin.Serve("nats", xdrnats.Open) }
//
// A test binary whose TestMain calls Serve when IsPluginProcess reports
// true (or calls TestMain) can start itself as the plugin with Start and
// Config.Path = os.Args[0].
//
// # Protocol
//
// The node starts the binary with the handshake's cookie in its
// environment; go-plugin checks the cookie and ProtocolVersion on both
// sides, so that a binary that is not a Skiff xdr transport plugin (a
// storage plugin has another cookie), or one built for another version, is
// refused with an error naming it. The service in pb/ runs over go-plugin's
// gRPC connection: Open, Stats and Close are plain calls; changes travel
// in batches, each change encoded by xdr.AppendChange, one message a
// batch:
//
//   - Ship is one stream, open while the process lives. The node sends each
//     Ship call's changes as a batch numbered by a sequence number (with
//     the call's deadline); the plugin ships the batches in the order they
//     arrive and answers each, by number, once its transport's Ship
//     returned. A call whose context ends returns at once, and a cancel
//     message cancels its batch in the plugin.
//   - Receive is a stream per Receive call, for which the plugin runs its
//     transport's Receive. Each batch the transport delivers goes to the
//     node with an id; the node applies it and answers with the id and
//     apply's error, and only that answer returns from the transport's
//     apply callback. A batch is thus acknowledged after the node applied
//     it, end to end, and redelivered when apply failed.
//
// Errors cross as a gRPC code and a message, both ways, so that
// context.Canceled, context.DeadlineExceeded, ErrUnavailable and
// ErrClosed survive errors.Is on the other side.
//
// # Failure
//
// A plugin's logs, written with slog (Serve installs a default logger that
// speaks go-plugin's format), reach the node's log with the plugin's name.
// When the process dies, every call in flight and after fails at once with
// ErrUnavailable and Process.Broken is closed; the node then starts a new
// process. A plugin exits within half a second of its node going away,
// even if the node was killed, and closes its transport before exiting on
// SIGTERM.
package plugin
