package spool

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/files"
)

// PullStatsFile is the name of the file in which haproxystats-pull leaves
// its own counters in every snapshot, so that haproxystats-process can
// send them as self-statistics: the puller has no sink of its own. It is
// hidden, so the original Python processor, which reads only non-hidden
// *_info and *_stat files, ignores it.
const PullStatsFile = ".pull-stats"

// WritePullStats writes counters into dir/PullStatsFile, one
// "Name: value" line each, and fsyncs it.
func WritePullStats(dir string, counters map[string]float64) error {
	var b bytes.Buffer
	names := make([]string, 0, len(counters))
	for n := range counters {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s\n", n, strconv.FormatFloat(counters[n], 'f', -1, 64))
	}
	return files.WriteFileAtomic(filepath.Join(dir, PullStatsFile), b.Bytes(), 0o644)
}

// ReadPullStats reads the counters of dir/PullStatsFile. A snapshot
// without the file (written by another puller) has none: nil, nil.
// Malformed lines are skipped.
func ReadPullStats(dir string) (map[string]float64, error) {
	b, err := os.ReadFile(filepath.Join(dir, PullStatsFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pull stats: %w", err)
	}
	return ParsePullStats(b), nil
}

// ParsePullStats parses the contents of a PullStatsFile; malformed lines
// are skipped.
func ParsePullStats(b []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ": ")
		v, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil || name == "" || strings.ContainsAny(name, " .") {
			continue
		}
		out[name] = v
	}
	return out
}

// ManifestFile lists, in a snapshot committed by a partial round
// ([pull] allow-partial), the sockets that are missing from it, one
// "<name>: <reason>" line each. Hidden, like PullStatsFile.
const ManifestFile = ".manifest"

// WriteManifest writes missing into dir/ManifestFile and fsyncs it.
func WriteManifest(dir string, missing []string) error {
	var b bytes.Buffer
	for _, m := range missing {
		b.WriteString(strings.ReplaceAll(m, "\n", " "))
		b.WriteByte('\n')
	}
	return files.WriteFileAtomic(filepath.Join(dir, ManifestFile), b.Bytes(), 0o644)
}

// ReadManifest returns the missing sockets listed in dir/ManifestFile,
// and whether the snapshot has a manifest at all.
func ReadManifest(dir string) (missing []string, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read manifest: %w", err)
	}
	return ParseManifest(b), true, nil
}

// ParseManifest returns the missing sockets listed in the contents of a
// ManifestFile.
func ParseManifest(b []byte) (missing []string) {
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			missing = append(missing, l)
		}
	}
	return missing
}
