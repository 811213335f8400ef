// Package record is the format in which haproxystats-pull ships a
// snapshot to Kafka and haproxystats-process reads it back (fleet mode).
//
// A record is one snapshot of one host: its host, cluster and epoch, and
// the snapshot's files (<socket>_info, <socket>_stat, the typed dumps,
// and the hidden .pull-stats and .manifest), raw.
//
// Encode writes version 2, a ZIP archive (APPNOTE.TXT, as archive/zip,
// unzip and Python's zipfile read it) whose entries are:
//
//	.record   stored     {"host":…,"cluster":…,"epoch":…} in JSON, then a newline
//	<file>    deflated   the file's bytes, one entry per file, in name order
//
// Each file is its own compressed member, found through the archive's
// central directory, so that a consumer reads one show stat reply of a
// record of 15 MB without inflating the others. The entries carry a
// fixed modification time (1980-01-01 00:00 UTC), so that the same
// Record always encodes to the same bytes.
//
// Version 1, which EncodeV1 writes and Open still reads, is one byte 0x01
// followed by one gzip stream of:
//
//	string host
//	string cluster
//	varint epoch                  (seconds, zig-zag, encoding/binary)
//	uvarint n                     (number of files)
//	n × { string name; bytes data }
//
// where string and bytes are a uvarint length then that many bytes.
// Reading any one file of it inflates the stream up to that file.
//
// The first byte tells the versions apart: 0x01 is version 1, 'P' (from
// the ZIP signature "PK\x03\x04") version 2; Open refuses any other with
// ErrVersion. Consumers read both, so that in a rolling upgrade they are
// upgraded first and producers after.
package record

import (
	"errors"
	"fmt"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// Version is the version of the record format Encode writes.
const Version = 2

// Bounds checked by Open, so that a corrupt or hostile record cannot
// make the consumer allocate or inflate without limit.
const (
	maxFiles     = 4096      // files in one record
	maxName      = 1024      // bytes of a host, cluster or file name
	maxDecoded   = 256 << 20 // bytes of a decompressed record
	maxFileBytes = maxDecoded
	// maxSmallFile bounds every file but the show stat and show table
	// replies (a show info reply, typed or not, and the hidden files):
	// HAProxy's are a few KB. A show table reply has dump.MaxTableReply.
	maxSmallFile = 1 << 20
	// maxHeader bounds the .record entry of version 2: two names of
	// maxName bytes, each byte escaped as \u00XX at worst, and an epoch.
	maxHeader = 16 << 10
	// maxExtra bounds the extra field of a version 2 entry: Encode
	// writes a timestamp of 9 bytes; Info-ZIP's timestamps and owners fit.
	maxExtra = 256
)

// headerName is the name of the first entry of a version 2 record, the
// one that holds its host, cluster and epoch. No file may have it.
const headerName = ".record"

// fileLimit is the most bytes the file called name may hold.
func fileLimit(name string) int64 {
	switch k, _, _ := spool.KindOf(name); {
	case strings.HasPrefix(name, "."), k != spool.Stat && k != spool.StatTyped && k != spool.Table && k != spool.Latency:
		return maxSmallFile
	case k == spool.Latency:
		return spool.MaxLatencyFile
	case k == spool.Table:
		return dump.MaxTableReply // as pull and process bound it
	}
	return maxFileBytes
}

// ErrVersion is returned by Open, and the Decode functions, for a record
// whose first byte is not that of a version they read.
var ErrVersion = errors.New("record: unknown record version")

// Record is one snapshot of one host, as shipped to Kafka.
type Record struct {
	Host    string
	Cluster string
	Epoch   int64 // seconds since the Unix epoch
	Files   []spool.File
}

// checkName returns why what (a host, a cluster or a file name) called
// name cannot be in a record of either version, or nil.
func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty %s", what)
	case len(name) > maxName:
		return fmt.Errorf("%s of %d bytes, at most %d", what, len(name), maxName)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%s %q holds '/' or NUL", what, name)
	}
	return nil
}

// checkEntryName returns why name cannot name a file of a version 2
// record, or nil: on top of checkName, a ZIP entry name must not hold
// '\' (a separator to some unzip tools), nor be "." or "..", so that
// extracting a record writes its files and nothing else; and
// headerName is taken.
func checkEntryName(name string) error {
	if err := checkName("file name", name); err != nil {
		return err
	}
	switch {
	case strings.Contains(name, `\`):
		return fmt.Errorf("file name %q holds '\\'", name)
	case name == "." || name == "..":
		return fmt.Errorf("file name %q", name)
	case name == headerName:
		return fmt.Errorf("file name %q is the header's", name)
	}
	return nil
}
