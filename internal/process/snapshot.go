package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Snapshot is one snapshot in memory: what a snapshot directory holds,
// or what a fleet record carries. Rendering works on it, so a snapshot
// read from the local spool and one received over Kafka go through the
// same code.
type Snapshot struct {
	Name  string       // for logs: the directory path, or host/epoch
	Time  int64        // the epoch of the round, in seconds
	Files []stats.File // every file, hidden ones included, sorted by name
}

// LoadSnapshot reads the snapshot directory dir: its reply files (_info,
// _stat, the typed dumps) and the hidden .pull-stats and .manifest. If
// dir does not exist the error is an *os.PathError for dir.
func LoadSnapshot(dir string) (Snapshot, error) {
	ts, ok := spool.ParseName(filepath.Base(dir))
	if !ok {
		return Snapshot{}, fmt.Errorf("%s is not a snapshot name", dir)
	}
	snap := Snapshot{Name: dir, Time: ts}
	for _, suffix := range []string{"_info", "_stat", spool.InfoTypedSuffix, spool.StatTypedSuffix} {
		files, err := readFiles(dir, suffix)
		if err != nil {
			return Snapshot{}, err
		}
		snap.Files = append(snap.Files, files...)
	}
	for _, name := range []string{spool.PullStatsFile, spool.ManifestFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return Snapshot{}, fmt.Errorf("read %s of snapshot: %w", name, err)
		}
		snap.Files = append(snap.Files, stats.File{Name: name, Data: b})
	}
	slices.SortFunc(snap.Files, func(a, b stats.File) int { return strings.Compare(a.Name, b.Name) })
	return snap, nil
}

// files returns the visible files whose names end in suffix, in name
// order. "_info" does not match "_infotyped".
func (s Snapshot) files(suffix string) []stats.File {
	var out []stats.File
	for _, f := range s.Files {
		if f.Name != "" && f.Name[0] != '.' && len(f.Name) > len(suffix) && strings.HasSuffix(f.Name, suffix) {
			out = append(out, f)
		}
	}
	return out
}

// file returns the contents of the file called name.
func (s Snapshot) file(name string) ([]byte, bool) {
	for _, f := range s.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}
