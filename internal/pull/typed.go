package pull

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/haproxy"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// Typed dumps: `show info typed` and `show stat typed` tell, field by
// field, how HAProxy's numbers are aggregated (their nature), which
// haproxystats-process needs for [process] all-metrics. The natures only
// change with the HAProxy version, so they are fetched on first contact
// with a process (per unit name, for the life of the puller) and again
// when the Version line of its show info changes, into
// "<name>_infotyped" and "<name>_stattyped". Process ignores them unless
// it learns from them. A failure to fetch them is logged and never fails
// the round.

// typedSeen remembers, per unit name, the HAProxy version whose typed
// dumps were fetched (or tried: a HAProxy that refuses the commands is
// not asked again until its version changes).
type typedSeen struct {
	mu      sync.Mutex
	version map[string]string // unit name → version; guarded by mu
}

// due reports whether the typed dumps of unit name, now at version, are
// to be fetched.
func (s *typedSeen) due(name, version string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.version[name]
	return !ok || v != version
}

// committed records, once a round is committed, the versions whose typed
// dumps the round settled (settled: unit name → version), and forgets the
// units that were not in the round (units), sockets gone or workers
// exited, so that the map stays as small as the set of live processes.
// What a discarded round fetched is fetched again.
func (s *typedSeen) committed(settled map[string]string, units map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version == nil {
		s.version = map[string]string{}
	}
	for n := range s.version {
		if !units[n] {
			delete(s.version, n)
		}
	}
	for n, v := range settled {
		s.version[n] = v
	}
}

// fetchTyped fetches the typed dumps of u into dir when they are due,
// after its show info reply was stored there, and calls settled with the
// version when they were stored or HAProxy refused them (not when the
// round ran out of time or the disk failed: they are due again).
func (p *Puller) fetchTyped(ctx context.Context, u unit, dir string, settled func(name, version string)) {
	info, err := os.ReadFile(filepath.Join(dir, spool.FileName(u.name, spool.Info)))
	if err != nil {
		return // cannot happen for a unit whose replies were stored
	}
	version := dump.InfoVersion(info)
	if !p.typed.due(u.name, version) {
		return
	}
	for _, cmd := range []string{haproxy.ShowInfoTyped, haproxy.ShowStatTyped} {
		if err := p.fetchFile(ctx, u, cmd, filepath.Join(dir, spool.FileName(u.name, replyKind(cmd)))); err != nil {
			for _, c := range []string{haproxy.ShowInfoTyped, haproxy.ShowStatTyped} {
				os.Remove(filepath.Join(dir, spool.FileName(u.name, replyKind(c))))
			}
			var werr *writeError
			if ctx.Err() == nil && !errors.As(err, &werr) {
				settled(u.name, version) // HAProxy refused: do not insist
			}
			p.log.Warn("cannot fetch the typed dumps; all-metrics uses what it already knows", "socket", u.target.Address, "name", u.name, "err", err)
			return
		}
	}
	settled(u.name, version)
	p.log.Debug("typed dumps stored", "socket", u.target.Address, "name", u.name, "version", version)
}
