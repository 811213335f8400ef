package record

import (
	"fmt"
	"io"

	"github.com/haproxystats-go/haproxystats/internal/blob"
)

// Reply returns the record's file name as a blob.Reply that holds raw,
// the record's bytes the Reader reads (taking over the caller's
// reference), and inflates the file into a blob of spill each time it is
// opened: one inflation of that file alone, the bytes in a file with no
// name when they are big, and nothing held between reads.
func (r *Reader) Reply(name string, raw *blob.Blob, spill *blob.Spill) blob.Reply {
	return blob.Lazy(name, raw, func(*blob.Blob) (*blob.Blob, error) {
		f, err := r.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		b := spill.New()
		if _, err := io.Copy(b, f); err != nil {
			b.Release()
			return nil, fmt.Errorf("record: %s: %w", name, err)
		}
		b.Done()
		return b, nil
	})
}
