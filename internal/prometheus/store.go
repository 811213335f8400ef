package prometheus

import "github.com/haproxystats-go/haproxystats/internal/blob"

// A store holds the compressed bytes of one exposition, as one stream the
// members put their pieces in, one after the other: a blob.Blob, in a
// file with no name beside the spool from its first slab, so that the
// gzip of a big configuration is in the page cache and not on the heap,
// where the GC's headroom came on top of it through the parsing of the
// next snapshot.
type store = blob.Blob

// put appends p to the stream and returns where it starts.
func put(s *store, p []byte) int64 {
	off := s.Size()
	s.Write(p)
	return off
}
