// Package pluginproc is what Skiff's plugin kinds (storage backends in
// sdk/storage/plugin, xdr transports in sdk/xdr/plugin) share about
// running as go-plugin processes: the bridge between go-plugin's hclog
// logging and slog, and a plugin process's lifetime (exiting with its
// node, closing on SIGTERM).
package pluginproc
