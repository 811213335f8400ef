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
// two sockets whose file names would clash get distinct names.
func (p *Puller) targets() []config.Server {
	var all []config.Server
	if p.cfg.SocketDir != "" {
		found := p.scanSocketDir()
		if len(found) == 0 {
			p.log.Error("found zero UNIX sockets to connect to", "socket_dir", p.cfg.SocketDir)
		}
		all = append(all, found...)
	}
	all = append(all, p.cfg.Servers...)

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

func (p *Puller) scanSocketDir() []config.Server {
	entries, err := os.ReadDir(p.cfg.SocketDir)
	if err != nil {
		p.log.Error("cannot read socket-dir", "socket_dir", p.cfg.SocketDir, "err", err)
		return nil
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
	return out
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
