package pluginproc

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// CloseOnSIGTERM calls close (which closes what the plugin serves, so that
// it finishes what it holds) before the process exits on SIGTERM: the
// signal a service manager sends every process of the node's group when
// it stops them all. what names it in the log ("the backend").
func CloseOnSIGTERM(what string, close func() error, log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		log.Info("SIGTERM: closing " + what + " and exiting")
		if err := close(); err != nil {
			log.Error("closing "+what+" failed", "err", err)
			os.Exit(1)
		}
		os.Exit(0)
	}()
}

// ExitWithParent ends the plugin within half a second of the node that
// started it going away, even if the node was killed and could not stop its
// plugins: the plugin is then reparented, and its parent id changes.
// (Linux's parent-death signal is not used: it fires when the parent's
// thread that forked exits, which in a Go node can happen while the node
// lives.)
func ExitWithParent(log *slog.Logger) {
	parent := os.Getppid()
	go func() {
		for {
			if os.Getppid() != parent {
				log.Warn("the node that started this plugin is gone; exiting")
				os.Exit(1)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
}
