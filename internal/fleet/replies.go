package fleet

import (
	"fmt"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// DefaultSpillSize is the size from which a record, or a reply inflated
// from one, is kept in a file with no name rather than in memory.
const DefaultSpillSize = 1 << 20

// A hostRecord is one record as read from the topic, checked whole
// (record.Open), and the replies of its snapshot: the small ones (show
// info, show table, the puller's hidden files) read into memory, the
// show stat replies, typed or not (4 and 30 MB each for 10 000 servers),
// inflated from the record each time they are read (record.Reader.Reply)
// into a blob that spills to a file when big. The record's bytes are
// held by those replies, and let go with the last of them.
type hostRecord struct {
	host, cluster string
	epoch         int64
	files         []blob.Reply
	rd            *record.Reader
}

// open checks value, a record as read, and returns it as a hostRecord.
// The record's bytes are copied (value holds on to the client's whole
// fetch) into a blob of c's Spill: a big one in a file.
func (c *Consumer) open(value []byte) (*hostRecord, error) {
	raw := c.Spill.Copy(value)
	defer raw.Release() // each reply read from it holds its own reference
	rd, err := record.Open(raw, raw.Size())
	if err != nil {
		return nil, err
	}
	h := &hostRecord{host: rd.Host(), cluster: rd.Cluster(), epoch: rd.Epoch(), rd: rd}
	if c.opened != nil {
		c.opened(h)
	}
	for _, e := range rd.Files() {
		if inflatedWhenRead(e.Name) {
			h.files = append(h.files, rd.Reply(e.Name, raw.Retain(), &c.Spill))
			continue
		}
		data, err := rd.ReadFile(e.Name)
		if err != nil {
			h.release()
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		h.files = append(h.files, blob.NewReply(e.Name, blob.Bytes(data)))
	}
	return h, nil
}

// inflatedWhenRead reports whether the file called name is read from
// the record each time it is needed: the show stat replies, typed or
// not, which are big.
func inflatedWhenRead(name string) bool {
	k, _, ok := spool.KindOf(name)
	return ok && (k == spool.Stat || k == spool.StatTyped)
}

// release lets go of the replies.
func (h *hostRecord) release() {
	for _, f := range h.files {
		f.Release()
	}
}
