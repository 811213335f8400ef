package record

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// openV1 is open for a version 1 record: its gzip stream is inflated
// once, and where each file starts in it noted, so that Reader.Open
// skips to it.
func (r *Reader) openV1(visit visitFunc) error {
	claimed := int64(-1)
	if r.size >= 1+4 {
		var trailer [4]byte
		if err := readAt(r.ra, trailer[:], r.size-4); err != nil {
			return fmt.Errorf("record: open: %w", err)
		}
		claimed = int64(binary.LittleEndian.Uint32(trailer[:]))
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(io.NewSectionReader(r.ra, 1, r.size-1), 64<<10))
	if err != nil {
		return fmt.Errorf("record: open: %w", err)
	}
	zr.Multistream(false)
	limit := int64(maxDecoded)
	if claimed >= 0 {
		// gzip checks the trailer only at the end: a stream that
		// inflates past it is refused when it does, not after.
		limit = min(limit, claimed)
	}
	lr := &io.LimitedReader{R: &counter{r: zr, n: &r.inflated}, N: limit + 1}
	br := bufio.NewReader(lr)
	consumed := func() int64 { return limit + 1 - lr.N - int64(br.Buffered()) }
	fail := func(what string, err error) error {
		if lr.N <= 0 {
			return fmt.Errorf("record: open: %s: more than %d bytes decompressed (at most %d, and what the gzip trailer says)", what, limit, maxDecoded)
		}
		return fmt.Errorf("record: open: %s: %w", what, noEOF(err))
	}
	name := func(what string) (string, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return "", err
		}
		if n > maxName {
			return "", fmt.Errorf("%s of %d bytes, at most %d", what, n, maxName)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return "", err
		}
		return string(p), checkName(what, string(p))
	}
	if r.host, err = name("host"); err != nil {
		return fail("host", err)
	}
	if r.cluster, err = name("cluster"); err != nil {
		return fail("cluster", err)
	}
	if r.epoch, err = binary.ReadVarint(br); err != nil {
		return fail("epoch", err)
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return fail("file count", err)
	}
	if n > maxFiles {
		return fail("file count", fmt.Errorf("%d files, at most %d", n, maxFiles))
	}
	type file struct {
		Entry
		offset int64
	}
	files := make([]file, 0, n)
	for range n {
		off := consumed()
		fn, err := name("file name")
		if err != nil {
			return fail("file name", err)
		}
		size, err := binary.ReadUvarint(br)
		if err != nil {
			return fail("file "+fn, err)
		}
		if most := fileLimit(fn); size > uint64(most) {
			return fail("file "+fn, fmt.Errorf("length %d above %d", size, most))
		}
		var w io.Writer = io.Discard
		if visit != nil {
			// A length field larger than the data, or than the
			// trailer says, has what it allocates bounded.
			if vw := visit(fn, min(int64(size), limit)); vw != nil {
				w = vw
			}
		}
		if _, err := io.CopyN(w, br, int64(size)); err != nil {
			return fail("file "+fn, err)
		}
		files = append(files, file{Entry{Name: fn, Size: int64(size)}, off})
	}
	if _, err := br.ReadByte(); err == nil {
		return fail("end", errors.New("trailing data"))
	} else if err != io.EOF {
		return fail("end", err)
	}
	if lr.N <= 0 {
		return fail("size", nil)
	}
	slices.SortStableFunc(files, func(a, b file) int { return strings.Compare(a.Name, b.Name) })
	r.files = make([]Entry, len(files))
	r.offsets = make([]int64, len(files))
	for i, f := range files {
		if i > 0 && files[i-1].Name == f.Name {
			return fmt.Errorf("record: open: two files named %q", f.Name)
		}
		r.files[i], r.offsets[i] = f.Entry, f.offset
	}
	return nil
}

// openV1File opens the file files[i] of a version 1 record: it inflates
// the stream from its start, skips to the file, and checks that its name
// and size are still those Open read.
func (r *Reader) openV1File(i int) (io.ReadCloser, error) {
	e := r.files[i]
	zr, err := gzip.NewReader(bufio.NewReaderSize(io.NewSectionReader(r.ra, 1, r.size-1), 64<<10))
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	br := bufio.NewReader(&counter{r: zr, n: &r.inflated})
	if _, err := io.CopyN(io.Discard, br, r.offsets[i]); err != nil {
		return nil, noEOF(err)
	}
	changed := func(err error) error {
		if err != nil {
			return fmt.Errorf("the record changed since it was opened: %w", noEOF(err))
		}
		return errors.New("the record changed since it was opened")
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n != uint64(len(e.Name)) {
		return nil, changed(err)
	}
	name := make([]byte, n)
	if _, err := io.ReadFull(br, name); err != nil || string(name) != e.Name {
		return nil, changed(err)
	}
	if n, err := binary.ReadUvarint(br); err != nil || n != uint64(e.Size) {
		return nil, changed(err)
	}
	return &v1File{r: br, zr: zr, left: e.Size}, nil
}

// v1File reads one file of a version 1 record: exactly its size, and
// not a byte past it.
type v1File struct {
	r    io.Reader
	zr   *gzip.Reader
	left int64
}

func (f *v1File) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, io.EOF
	}
	n, err := f.r.Read(p[:min(int64(len(p)), f.left)])
	f.left -= int64(n)
	switch {
	case err == io.EOF && f.left > 0:
		err = io.ErrUnexpectedEOF
	case err == io.EOF:
		err = nil // the next Read says io.EOF
	}
	return n, err
}

func (f *v1File) Close() error { return f.zr.Close() }
