package blob

// A Reply is one named file of a snapshot, a reply of HAProxy's or a
// hidden file of the puller's, whose bytes are opened when read, as
// mime/multipart's FileHeader is: they are the Blob it holds (in memory,
// in the spool's file), or one made from that Blob at each Open (a reply
// of a fleet record, inflated from the record when read). Whoever reads
// a Reply does not know which.
type Reply struct {
	Name string
	b    *Blob
	open func(*Blob) (*Blob, error)
}

// NewReply returns a Reply of b, taking over the caller's reference.
func NewReply(name string, b *Blob) Reply { return Reply{Name: name, b: b} }

// Lazy returns a Reply whose bytes open makes from src at each Open. It
// takes over the caller's reference to src.
func Lazy(name string, src *Blob, open func(src *Blob) (*Blob, error)) Reply {
	return Reply{Name: name, b: src, open: open}
}

// Open returns the reply's bytes, with a reference the caller releases;
// after the Reply's last Release, ErrReleased.
func (r Reply) Open() (*Blob, error) {
	if r.b == nil {
		panic("BUG: blob: Open of a zero Reply")
	}
	if !r.b.retain() {
		return nil, ErrReleased
	}
	if r.open == nil {
		return r.b, nil
	}
	defer r.b.Release()
	return r.open(r.b)
}

// ReadAll returns the reply's bytes in memory (Blob.ReadAll).
func (r Reply) ReadAll() ([]byte, error) {
	b, err := r.Open()
	if err != nil {
		return nil, err
	}
	defer b.Release()
	return b.ReadAll()
}

// Retain adds a reference to what the Reply holds, for a second holder,
// and returns r.
func (r Reply) Retain() Reply {
	r.b.Retain()
	return r
}

// Release gives back the reference the Reply holds.
func (r Reply) Release() { r.b.Release() }
