package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notify tells systemd the daemon's state (READY=1, RELOADING=1,
// STOPPING=1) through $NOTIFY_SOCKET, as units of Type=notify expect.
// Without the socket, started by hand or by another supervisor, it does
// nothing.
func Notify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("cannot notify systemd", "state", state, "err", err)
	}
}

// Watchdog pings systemd's watchdog (WatchdogSec=) at half its interval
// while ctx lives, each time alive reports true: a daemon whose work
// loop is stuck stops pinging, and systemd restarts it. Without a
// watchdog it returns at once.
func Watchdog(ctx context.Context, log *slog.Logger, alive func() bool) {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog misconfigured, not pinging it", "err", err)
		return
	}
	if every <= 0 {
		return
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if alive() {
				Notify(log, daemon.SdNotifyWatchdog)
			} else {
				log.Error("work loop stuck: not pinging systemd's watchdog")
			}
		}
	}
}
