package core

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/backends"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/internal/replication"
	"github.com/skiffdb/skiff/core/internal/server"
	xdrnats "github.com/skiffdb/skiff/plugins/xdr-nats"
	"github.com/skiffdb/skiff/sdk/xdr"
	xdrplugin "github.com/skiffdb/skiff/sdk/xdr/plugin"
)

// natsTransport is the first-party transport's plugin binary, found beside
// the node's like the storage plugins.
const natsTransport = "skiff-xdr-nats"

// startReplication starts the xdr links of cfg, if it has any, and serves
// their info commands: get-stats:context=xdr;dc=NAME[;namespace=NS] and
// xdr-rewind:dc=NAME;namespace=NS[;set=SET].
func startReplication(ctx context.Context, cfg *config.Config, opts Options, srv *server.Server, namespaces []*record.Namespace, log *slog.Logger) (*replication.Manager, error) {
	if len(cfg.XDR) == 0 {
		return nil, nil
	}
	byName := make(map[string]*record.Namespace, len(namespaces))
	for _, ns := range namespaces {
		byName[ns.Name()] = ns
	}
	open := func(ctx context.Context, dc *config.DC, tc xdr.Config) (xdr.Transport, error) {
		if dc.Mode == config.ModeInProcess {
			return xdrnats.Open(ctx, tc)
		}
		path := dc.Path
		if path == "" {
			dir, err := backends.PluginDir(opts.PluginDir)
			if err != nil {
				return nil, err
			}
			path = filepath.Join(dir, natsTransport)
		}
		return xdrplugin.Start(ctx, xdrplugin.Config{Path: path, Name: "xdr-" + dc.Name, Logger: log, Transport: tc})
	}
	m, err := replication.Start(ctx, cfg.XDR, srv.NodeID(), byName, open, log)
	if err != nil {
		return nil, err
	}
	srv.HandleInfo("get-stats", func(p map[string]string) (string, error) {
		if p["context"] != "xdr" {
			return "", errors.New("get-stats answers context=xdr only")
		}
		return m.Info(ctx, p["dc"], p["namespace"])
	})
	srv.HandleInfo("xdr-rewind", func(p map[string]string) (string, error) {
		return "ok", m.Rewind(p["dc"], p["namespace"], p["set"])
	})
	return m, nil
}
