package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/files"
)

// A Kind is the kind of a reply file in a snapshot: which command's reply
// it holds. The file of socket S holding a reply of kind K is named
// S + K.Suffix().
type Kind uint8

// The kinds of reply files, and their suffixes.
const (
	Info      Kind = iota // show info
	Stat                  // show stat
	InfoTyped             // show info typed
	StatTyped             // show stat typed
	Table                 // show table: the stick tables, one line each
	Latency               // the histograms of HAProxy's request logs of the round (package latency)
	nkinds
)

// The suffixes of the reply files. A name ending in "_infotyped" is not
// one ending in "_info": the suffix must end the name.
const (
	InfoSuffix      = "_info"
	StatSuffix      = "_stat"
	InfoTypedSuffix = "_infotyped"
	StatTypedSuffix = "_stattyped"
	TableSuffix     = "_table"
	LatencySuffix   = "_latency"
)

// LatencyFile is the name of the file of a snapshot that holds the
// latency histograms of the round: one per snapshot, whatever the
// sockets ("logs" is not a socket: its other kinds never exist).
const LatencyFile = "logs" + LatencySuffix

// MaxLatencyFile bounds a latency file: 100 000 histograms of a few
// hundred bytes.
const MaxLatencyFile = 64 << 20

var suffixes = [nkinds]string{InfoSuffix, StatSuffix, InfoTypedSuffix, StatTypedSuffix, TableSuffix, LatencySuffix}

// File is one file of a snapshot directory: its base name (for example
// "admin1.sock_stat") and its raw content.
type File struct {
	Name string
	Data []byte
}

// Suffix returns the suffix of the reply files of kind k.
func (k Kind) Suffix() string { return suffixes[k] }

// FileName returns the name of the file that holds the reply of kind k
// of the stats socket called socket.
func FileName(socket string, k Kind) string { return socket + k.Suffix() }

// KindOf returns the kind of the reply file called name, and the socket
// it came from. Hidden files and names of no kind give false.
func KindOf(name string) (k Kind, socket string, ok bool) {
	if name == "" || name[0] == '.' {
		return 0, "", false
	}
	for k, suffix := range suffixes {
		if len(name) > len(suffix) && strings.HasSuffix(name, suffix) {
			return Kind(k), name[:len(name)-len(suffix)], true
		}
	}
	return 0, "", false
}

// Layout is where haproxystats-process keeps its own files beside the
// spool directory it reads (src-dir), in its parent directory, so that
// they are on the same filesystem and a snapshot moves there with one
// rename.
type Layout struct {
	Failed        string // snapshots that cannot be processed, kept for inspection
	Sent          string // delivered snapshots a sink may still write again
	CountersState string // the offsets that keep counters monotonic across reloads
	NaturesState  string // the field natures learned from typed dumps
	Scratch       string // where files with no name are made (UnnamedFile): the Prometheus exposition, fleet records
}

// LayoutOf returns the Layout beside the spool directory srcDir.
func LayoutOf(srcDir string) Layout {
	parent := filepath.Dir(filepath.Clean(srcDir))
	return Layout{
		Failed:        filepath.Join(parent, "failed"),
		Sent:          filepath.Join(parent, "sent"),
		CountersState: filepath.Join(parent, "counters.state"),
		NaturesState:  filepath.Join(parent, "natures.state"),
		Scratch:       parent,
	}
}

// ErrVanished means a snapshot directory was no longer there when it was
// to be read: another process, or a retry of this one, already finished
// it.
var ErrVanished = errors.New("snapshot vanished")

// Listing is what a snapshot directory holds: the names of its reply
// files by kind, and its hidden files.
type Listing struct {
	Dir       string
	Time      int64 // the Unix second the directory is named after
	names     [nkinds][]string
	PullStats []byte // contents of PullStatsFile; nil without one
	Manifest  []byte // contents of ManifestFile
	Partial   bool   // the snapshot has a ManifestFile: a partial round
}

// Load lists the snapshot directory dir and reads its hidden files. The
// reply files are listed, not read: their names are in Names. A dir that
// does not exist gives an error that is ErrVanished; one that holds a
// reply file or hidden file that is not a regular file (a symlink, a
// FIFO, a device, a directory), which pull never writes, gives one that
// is files.ErrNotRegular, naming it.
func Load(dir string) (Listing, error) {
	ts, ok := ParseName(filepath.Base(dir))
	if !ok {
		return Listing{}, fmt.Errorf("%s is not a snapshot name", dir)
	}
	if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
		return Listing{}, fmt.Errorf("snapshot %s is a %v, not a directory: %w", dir, fi.Mode().Type(), files.ErrNotRegular)
	}
	names, irregular, err := list(dir)
	if err != nil {
		return Listing{}, err
	}
	if len(irregular) > 0 {
		return Listing{}, fmt.Errorf("snapshot %s holds %q: %w", dir, irregular, files.ErrNotRegular)
	}
	l := Listing{Dir: dir, Time: ts, names: names}
	for _, h := range []struct {
		name string
		dst  *[]byte
	}{{PullStatsFile, &l.PullStats}, {ManifestFile, &l.Manifest}} {
		b, err := files.ReadFile(filepath.Join(dir, h.name), maxHiddenSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Listing{}, fmt.Errorf("read %s of snapshot: %w", h.name, err)
		}
		*h.dst = b
	}
	l.Partial = l.Manifest != nil
	return l, nil
}

// list returns the names of the reply files in dir by kind, sorted, and
// those of the entries that would be reply or hidden files but are not
// regular files.
func list(dir string) (names [nkinds][]string, irregular []string, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return names, nil, fmt.Errorf("read snapshot %s: %w", dir, ErrVanished)
	}
	if err != nil {
		return names, nil, fmt.Errorf("read snapshot: %w", err)
	}
	for _, e := range entries { // sorted by name
		k, _, ok := KindOf(e.Name())
		hidden := e.Name() == PullStatsFile || e.Name() == ManifestFile
		switch {
		case !ok && !hidden:
		case !e.Type().IsRegular():
			irregular = append(irregular, e.Name())
		case ok:
			names[k] = append(names[k], e.Name())
		}
	}
	return names, irregular, nil
}

// maxHiddenSize bounds the hidden files of a snapshot Load reads
// (.pull-stats, .manifest): pull writes a few hundred bytes there.
const maxHiddenSize = 1 << 20

// Names returns the names of the reply files of kind k, sorted.
func (l Listing) Names(k Kind) []string { return l.names[k] }

// Files returns the paths of the reply files of kind k in dir, a
// snapshot or any directory laid out like one, sorted by name.
func Files(dir string, k Kind) ([]string, error) {
	names, _, err := list(dir)
	if err != nil {
		return nil, err
	}
	paths := names[k]
	for i, n := range paths {
		paths[i] = filepath.Join(dir, n)
	}
	return paths, nil
}

// ReadSnapshot reads every file of the snapshot at dir, as fleet mode
// ships it: the reply files of every kind and the hidden .pull-stats and
// .manifest, raw, in name order, with the snapshot's time. A reply over
// maxSize bytes is refused.
func ReadSnapshot(dir string, maxSize int64) (int64, []File, error) {
	l, err := Load(dir)
	if err != nil {
		return 0, nil, err
	}
	var out []File
	for k := range Kind(nkinds) {
		for _, name := range l.Names(k) {
			data, err := files.ReadFile(filepath.Join(dir, name), maxSize)
			if err != nil {
				return 0, nil, err
			}
			out = append(out, File{Name: name, Data: data})
		}
	}
	if l.PullStats != nil {
		out = append(out, File{Name: PullStatsFile, Data: l.PullStats})
	}
	if l.Partial {
		out = append(out, File{Name: ManifestFile, Data: l.Manifest})
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return l.Time, out, nil
}
