package pull

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

// targets lists the sockets of this round: every UNIX socket in
// socket-dir (looked at anew each round, so sockets that appear or vanish
// are picked up), then servers. A socket reached twice is queried once;
// two sockets whose file names would clash get distinct names. It notes
// (noteSockets) whether sockets are missing.
func (p *Puller) targets() []config.Server {
	var all []config.Server
	var dirErr error
	dirEmpty := false
	if p.cfg.SocketDir != "" {
		var found []config.Server
		found, dirErr = p.scanSocketDir()
		dirEmpty = len(found) == 0
		all = append(all, found...)
	}
	all = append(all, p.cfg.Servers...)
	p.noteSockets(len(all) == 0, dirEmpty, dirErr)

	seen := map[string]bool{}
	names := map[string]bool{}
	out := all[:0:0]
	for _, t := range all {
		key := t.Network + "://" + t.Address
		if t.Network == "unix" {
			key = "unix://" + filepath.Clean(t.Address)
		}
		if seen[key] {
			p.log.Warn("socket listed twice, querying it once", "socket", t.Address)
			continue
		}
		seen[key] = true
		if names[t.Name] {
			base := t.Name
			for i := 2; names[t.Name]; i++ {
				t.Name = base + "~" + strconv.Itoa(i)
			}
			p.log.Warn("two sockets share a file name, renamed one", "socket", t.Address, "name", t.Name)
		}
		names[t.Name] = true
		out = append(out, t)
	}
	return out
}

// scanSocketDir returns the sockets of socket-dir, or why it cannot be
// read (a missing directory: HAProxy stopped, say).
func (p *Puller) scanSocketDir() ([]config.Server, error) {
	entries, err := os.ReadDir(p.cfg.SocketDir)
	if err != nil {
		return nil, err
	}
	var out []config.Server
	for _, e := range entries {
		if e.Name()[0] == '.' {
			continue
		}
		path := filepath.Join(p.cfg.SocketDir, e.Name())
		fi, err := os.Stat(path) // follows symlinks
		switch {
		case err != nil && e.Type()&fs.ModeSymlink != 0:
			// A dangling link stands for a socket that should be
			// there: it is queried, fails, and discards the round
			// (logged with its name) rather than let the sums dip.
		case err != nil:
			continue // a socket removed during a reload
		case fi.Mode()&os.ModeSocket == 0:
			p.warnNotSocket(e.Name(), fi.Mode())
			continue
		}
		out = append(out, config.Server{Network: "unix", Address: path, Name: e.Name()})
	}
	return out, nil
}

// Messages of noteSockets. The first two are the original's wording,
// which operators grep for.
const (
	msgNoSockets    = "found zero UNIX and TCP sockets"
	msgNoDirSockets = "found zero UNIX sockets to connect to"
)

// noteSockets logs when sockets go missing and when they are back, once
// each, not every round: a stopped HAProxy is one ERROR line and, once it
// runs again, one INFO line, however long it stays down (the rounds it
// costs are still counted in PullRoundsFailed). none is a round with no
// socket at all; dirEmpty a socket-dir with no socket (dirErr: it could
// not be read), while servers may still give the round its sockets. Each
// round the state persists is logged at debug level. Called by the round
// loop.
func (p *Puller) noteSockets(none, dirEmpty bool, dirErr error) {
	msg := ""
	switch {
	case none:
		msg = msgNoSockets
	case dirEmpty:
		msg = msgNoDirSockets
	}
	switch {
	case msg == "" && p.missing == "":
		return
	case msg == "":
		p.log.Info("sockets found again", "socket_dir", p.cfg.SocketDir, "rounds", p.missingRounds)
	case msg == p.missing:
		p.missingRounds++
		p.log.Debug(msg, "socket_dir", p.cfg.SocketDir, "rounds", p.missingRounds)
		return
	default:
		attrs := []any{"socket_dir", p.cfg.SocketDir}
		if dirErr != nil {
			attrs = append(attrs, "err", dirErr)
		}
		p.log.Error(msg, attrs...)
	}
	p.missing = msg
	p.missingRounds = 0
	if msg != "" {
		p.missingRounds = 1
	}
}

// warnNotSocket logs, once per name, that a socket-dir entry is skipped
// because it is no socket (a regular file, a FIFO, a directory, or a
// link to one of them).
func (p *Puller) warnNotSocket(name string, mode fs.FileMode) {
	if p.notSocket == nil {
		p.notSocket = map[string]bool{}
	}
	if p.notSocket[name] {
		return
	}
	p.notSocket[name] = true
	kind := "regular file"
	if t := mode.Type(); t != 0 {
		kind = t.String()
	}
	p.log.Warn("socket-dir entry is not a socket, skipped", "socket_dir", p.cfg.SocketDir, "name", name, "type", kind)
}
