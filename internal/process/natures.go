package process

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/files"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// maxVersions bounds the HAProxy versions natureStore remembers; the one
// learned longest ago is dropped first.
const maxVersions = 16

// natureStore keeps what typed dumps taught about the natures of the
// fields, per HAProxy version, in a file, so that a restart keeps them:
// pull sends the typed commands only on first contact with a socket and
// when its version changes. It is safe for concurrent use; the Natures
// it hands out are never modified.
type natureStore struct {
	path string // "" keeps the state in memory only

	mu       sync.Mutex
	versions []*stats.Natures // oldest learned first; guarded by mu
}

// openNatures loads the state file at path, or starts empty when it does
// not exist. A corrupt file is an error: the caller decides.
func openNatures(path string) (*natureStore, error) {
	s := &natureStore{path: path}
	if _, err := files.ReadState(path, &s.versions); err != nil {
		return nil, fmt.Errorf("field natures: %w", err)
	}
	s.versions = slices.DeleteFunc(s.versions, func(n *stats.Natures) bool { return n == nil })
	return s, nil
}

// learn merges n into what is known of n.Version and persists the state
// when that changed.
func (s *natureStore) learn(n *stats.Natures) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.versions, func(v *stats.Natures) bool { return v.Version == n.Version })
	var old *stats.Natures
	if i >= 0 {
		old = s.versions[i]
	}
	merged := stats.Merge(old, n)
	if merged.Equal(old) {
		return nil
	}
	if i >= 0 {
		s.versions = slices.Delete(s.versions, i, i+1)
	}
	s.versions = append(s.versions, merged)
	if len(s.versions) > maxVersions {
		s.versions = slices.Delete(s.versions, 0, len(s.versions)-maxVersions)
	}
	return s.save()
}

// forVersions returns what is known of the given HAProxy versions, merged
// (a snapshot taken during an upgrade holds two), or nil when nothing is:
// the built-in table then applies.
func (s *natureStore) forVersions(versions []string) *stats.Natures {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out *stats.Natures
	found := 0
	for _, n := range s.versions {
		if slices.Contains(versions, n.Version) {
			found++
			if found == 1 {
				out = n // shared, never modified
			} else {
				out = stats.Merge(out, n)
			}
		}
	}
	return out
}

// save writes the state atomically; s.mu is held.
func (s *natureStore) save() error {
	return files.WriteState(s.path, s.versions)
}

// natures learns from the typed dumps of the snapshot at path, if any,
// and returns the natures of the HAProxy versions its show info replies
// report. A typed dump that cannot be read or parsed is logged and
// skipped: it never fails a snapshot.
func (p *Processor) natures(snap Snapshot, infos []stats.File, log *slog.Logger) *stats.Natures {
	version := map[string]string{} // reply prefix → HAProxy version
	var versions []string
	for _, f := range infos {
		v := dump.InfoVersion(f.Data)
		version[strings.TrimSuffix(f.Name, spool.InfoSuffix)] = v
		if !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	typedInfo, err := snap.inMemory(spool.InfoTyped)
	if err != nil {
		log.Warn("typed dumps skipped", "err", err)
		typedInfo = nil
	}
	learned := map[string]*stats.Natures{} // reply prefix → what its dumps say
	for _, f := range typedInfo {
		n, err := stats.ParseTypedInfo(f.Data)
		if err != nil {
			log.Warn("typed dump skipped", "file", f.Name, "err", err)
			continue
		}
		prefix := strings.TrimSuffix(f.Name, spool.InfoTypedSuffix)
		learned[prefix] = n
		if n.Version != "" {
			version[prefix] = n.Version
		}
	}
	for _, f := range snap.replies(spool.StatTyped) {
		n, err := typedStat(f)
		if err != nil {
			log.Warn("typed dump skipped", "file", f.Name, "err", err)
			continue
		}
		prefix := strings.TrimSuffix(f.Name, spool.StatTypedSuffix)
		learned[prefix] = stats.Merge(learned[prefix], n)
	}
	for _, prefix := range slices.Sorted(maps.Keys(learned)) {
		n := learned[prefix]
		n.Version = version[prefix]
		if err := p.natureStore.learn(n); err != nil {
			log.Warn("cannot persist field natures", "err", err)
		}
		log.Debug("field natures learned from typed dumps", "socket", prefix, "version", n.Version, "fields", n.Len())
	}
	return p.natureStore.forVersions(versions)
}

// typedStat parses the typed show stat dump r, line by line: a dump of
// 10 000 servers is 30 MB, read only to learn field natures.
func typedStat(r blob.Reply) (*stats.Natures, error) {
	b, err := r.Open()
	if err != nil {
		return nil, err
	}
	defer b.Release()
	return stats.ReadTypedStat(io.NewSectionReader(b, 0, b.Size()))
}
