package record

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// The signatures and fixed lengths of the ZIP records a version 2 record
// is made of (APPNOTE.TXT, section 4.3).
const (
	localSig   = 0x04034b50 // local file header
	localLen   = 30
	dirSig     = 0x02014b50 // central directory file header
	dirLen     = 46
	endSig     = 0x06054b50 // end of central directory record
	endLen     = 22
	descSig    = 0x08074b50 // data descriptor, after the data of an entry whose flags have 0x8
	descLen    = 16
	zip64Extra = 0x0001 // the extra field that holds zip64 sizes
	// encrypted are the flags of an encrypted entry: traditional,
	// strong, and an encrypted central directory.
	encrypted = 0x1 | 0x40 | 0x2000
	// descriptor is the flag of an entry whose CRC and sizes follow its
	// data, as archive/zip's Writer writes them.
	descriptor = 0x8
)

// zipEntry is one entry of a version 2 record's central directory.
type zipEntry struct {
	name         string
	method       uint16
	flags        uint16
	crc          uint32
	csize, usize int64
	offset       int64 // of its local header
}

// zipDir is the central directory of a version 2 record, checked.
type zipDir struct {
	entries []zipEntry // .record, then the files in name order
	offset  int64      // of the directory: where the last entry ends
	total   int64      // bytes the entries declare, decompressed
}

// readDir reads the central directory of the version 2 record of size
// bytes in ra and checks it before anything is inflated: the entry
// count against maxFiles before a single entry is read (archive/zip's
// NewReader reads entries until one is not, whatever the count says, so
// it is only called on a directory checked here), every name, size,
// method and flag, and the total. It holds one entry at a time and
// their names.
func readDir(ra io.ReaderAt, size int64) (zipDir, error) {
	if size < endLen {
		return zipDir{}, fmt.Errorf("%d bytes, too short for a ZIP archive", size)
	}
	if size > math.MaxUint32 {
		return zipDir{}, fmt.Errorf("%d bytes, over 4 GiB", size)
	}
	var end [endLen]byte
	if err := readAt(ra, end[:], size-endLen); err != nil {
		return zipDir{}, fmt.Errorf("read the end of the central directory: %w", err)
	}
	le := binary.LittleEndian
	if le.Uint32(end[0:]) != endSig {
		return zipDir{}, errors.New("no end of central directory record in the last 22 bytes (truncated, trailing data or a ZIP comment)")
	}
	disk, dirDisk := le.Uint16(end[4:]), le.Uint16(end[6:])
	here, count := le.Uint16(end[8:]), le.Uint16(end[10:])
	dirSize, dirOff := le.Uint32(end[12:]), le.Uint32(end[16:])
	switch {
	case count == math.MaxUint16 || dirSize == math.MaxUint32 || dirOff == math.MaxUint32:
		return zipDir{}, errors.New("a zip64 archive: a record never needs one")
	case disk != 0 || dirDisk != 0 || here != count:
		return zipDir{}, errors.New("an archive split over several disks")
	case le.Uint16(end[20:]) != 0:
		return zipDir{}, errors.New("a ZIP comment")
	case count == 0:
		return zipDir{}, errors.New("no entries")
	case int(count) > 1+maxFiles:
		return zipDir{}, fmt.Errorf("%d entries, at most %d (.record and %d files)", count, 1+maxFiles, maxFiles)
	case int64(dirOff)+int64(dirSize) != size-endLen:
		return zipDir{}, fmt.Errorf("a central directory of %d bytes at %d that does not end where its end record starts (%d)", dirSize, dirOff, size-endLen)
	}
	d := zipDir{offset: int64(dirOff), entries: make([]zipEntry, 0, count)}
	br := bufio.NewReaderSize(io.NewSectionReader(ra, int64(dirOff), int64(dirSize)), int(min(dirSize, 64<<10)))
	var h [dirLen]byte
	var buf []byte
	for i := range int(count) {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return zipDir{}, fmt.Errorf("directory entry %d: %w", i, noEOF(err))
		}
		if le.Uint32(h[0:]) != dirSig {
			return zipDir{}, fmt.Errorf("directory entry %d: no central directory header", i)
		}
		nameLen, extraLen, commentLen := int(le.Uint16(h[28:])), int(le.Uint16(h[30:])), le.Uint16(h[32:])
		switch {
		case nameLen > maxName:
			return zipDir{}, fmt.Errorf("directory entry %d: name of %d bytes, at most %d", i, nameLen, maxName)
		case extraLen > maxExtra:
			return zipDir{}, fmt.Errorf("directory entry %d: extra field of %d bytes, at most %d", i, extraLen, maxExtra)
		case commentLen != 0:
			return zipDir{}, fmt.Errorf("directory entry %d: a comment", i)
		}
		buf = slices.Grow(buf[:0], nameLen+extraLen)[:nameLen+extraLen]
		if _, err := io.ReadFull(br, buf); err != nil {
			return zipDir{}, fmt.Errorf("directory entry %d: %w", i, noEOF(err))
		}
		csize, usize, offset := le.Uint32(h[20:]), le.Uint32(h[24:]), le.Uint32(h[42:])
		e := zipEntry{
			name:   string(buf[:nameLen]),
			flags:  le.Uint16(h[8:]),
			method: le.Uint16(h[10:]),
			crc:    le.Uint32(h[16:]),
			csize:  int64(csize),
			usize:  int64(usize),
			offset: int64(offset),
		}
		if csize == math.MaxUint32 || usize == math.MaxUint32 || offset == math.MaxUint32 || hasZip64(buf[nameLen:]) {
			return zipDir{}, fmt.Errorf("entry %q: zip64 sizes: a record never needs them", e.name)
		}
		if le.Uint16(h[34:]) != 0 {
			return zipDir{}, fmt.Errorf("entry %q: on disk %d", e.name, le.Uint16(h[34:]))
		}
		if err := d.add(e); err != nil {
			return zipDir{}, fmt.Errorf("entry %q: %w", e.name, err)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return zipDir{}, fmt.Errorf("the central directory holds more than its %d entries", count)
	}
	return d, nil
}

// add checks e, the next entry of d's directory, and appends it.
func (d *zipDir) add(e zipEntry) error {
	limit := int64(maxHeader)
	if len(d.entries) == 0 {
		if e.name != headerName {
			return fmt.Errorf("first entry, not %s", headerName)
		}
		if e.method != zip.Store {
			return fmt.Errorf("compressed (method %d), not stored", e.method)
		}
	} else {
		if err := checkEntryName(e.name); err != nil {
			return err
		}
		switch prev := d.entries[len(d.entries)-1].name; {
		case e.name == prev:
			return errors.New("a second entry of that name")
		case e.name < prev && len(d.entries) > 1:
			return fmt.Errorf("after %q: files out of name order", prev)
		}
		limit = fileLimit(e.name)
	}
	switch {
	case e.flags&encrypted != 0:
		return fmt.Errorf("encrypted (flags %#04x)", e.flags)
	case e.method != zip.Store && e.method != zip.Deflate:
		return fmt.Errorf("compression method %d: only store (0) and deflate (8)", e.method)
	case e.method == zip.Store && e.csize != e.usize:
		return fmt.Errorf("stored in %d bytes, declaring %d", e.csize, e.usize)
	case e.usize > limit:
		return fmt.Errorf("declares %d bytes, at most %d", e.usize, limit)
	}
	d.total += e.usize
	if d.total > maxDecoded {
		return fmt.Errorf("the entries declare more than %d bytes in all", maxDecoded)
	}
	d.entries = append(d.entries, e)
	return nil
}

// hasZip64 reports whether the extra field extra holds zip64 sizes, or
// is not a sequence of fields (which archive/zip skips, so it must be
// refused as it cannot be checked).
func hasZip64(extra []byte) bool {
	for len(extra) > 0 {
		if len(extra) < 4 {
			return true
		}
		tag, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if tag == zip64Extra || 4+n > len(extra) {
			return true
		}
		extra = extra[4+n:]
	}
	return false
}

// checkLayout checks that d's entries, each a local header, its data and
// its data descriptor when its flags say so, fill the record from its
// first byte to the central directory, in directory order, with nothing
// between them, and that each local header and descriptor says what the
// directory says: no hidden bytes, no overlapping members.
func checkLayout(ra io.ReaderAt, d zipDir) error {
	le := binary.LittleEndian
	var pos int64
	var h [localLen]byte
	var buf []byte
	for _, e := range d.entries {
		if e.offset != pos {
			return fmt.Errorf("entry %q at %d, where the one before it ends at %d", e.name, e.offset, pos)
		}
		if err := readAt(ra, h[:], pos); err != nil {
			return fmt.Errorf("entry %q: local header: %w", e.name, err)
		}
		nameLen, extraLen := int64(le.Uint16(h[26:])), int64(le.Uint16(h[28:]))
		switch {
		case le.Uint32(h[0:]) != localSig:
			return fmt.Errorf("entry %q: no local header at %d", e.name, pos)
		case le.Uint16(h[6:]) != e.flags || le.Uint16(h[8:]) != e.method:
			return fmt.Errorf("entry %q: local header's flags or method differ from the directory's", e.name)
		case nameLen != int64(len(e.name)) || extraLen > maxExtra:
			return fmt.Errorf("entry %q: local header's name or extra field of %d and %d bytes", e.name, nameLen, extraLen)
		}
		buf = slices.Grow(buf[:0], int(nameLen))[:nameLen]
		if err := readAt(ra, buf, pos+localLen); err != nil {
			return fmt.Errorf("entry %q: local header: %w", e.name, err)
		}
		if string(buf) != e.name {
			return fmt.Errorf("entry %q: local header names %q", e.name, buf)
		}
		if !sameSizes(h[14:26], e, e.flags&descriptor != 0) {
			return fmt.Errorf("entry %q: local header's CRC or sizes differ from the directory's", e.name)
		}
		end := pos + localLen + nameLen + extraLen + e.csize
		if e.flags&descriptor != 0 {
			var dd [descLen]byte
			if end+descLen <= d.offset {
				if err := readAt(ra, dd[:], end); err != nil {
					return fmt.Errorf("entry %q: data descriptor: %w", e.name, err)
				}
			}
			if le.Uint32(dd[0:]) != descSig || !sameSizes(dd[4:], e, false) {
				return fmt.Errorf("entry %q: no data descriptor after its data, or one that differs from the directory", e.name)
			}
			end += descLen
		}
		if end > d.offset {
			return fmt.Errorf("entry %q runs into the central directory", e.name)
		}
		pos = end
	}
	if pos != d.offset {
		return fmt.Errorf("%d bytes between the last entry and the central directory", d.offset-pos)
	}
	return nil
}

// sameSizes reports whether b, a CRC, a compressed and an uncompressed
// size, are e's; or, when zero may be true, all zero (as archive/zip's
// Writer writes them in a local header followed by a data descriptor).
func sameSizes(b []byte, e zipEntry, zero bool) bool {
	le := binary.LittleEndian
	crc, csize, usize := le.Uint32(b), int64(le.Uint32(b[4:])), int64(le.Uint32(b[8:]))
	return crc == e.crc && csize == e.csize && usize == e.usize || zero && crc == 0 && csize == 0 && usize == 0
}

// openV2 is open for a version 2 record: the directory and the layout
// are checked, then every member inflated once, through archive/zip.
func (r *Reader) openV2(visit visitFunc) error {
	d, err := readDir(r.ra, r.size)
	if err != nil {
		return fmt.Errorf("record: open: %w", err)
	}
	if err := checkLayout(r.ra, d); err != nil {
		return fmt.Errorf("record: open: %w", err)
	}
	zr, err := zip.NewReader(r.ra, r.size)
	if err != nil {
		return fmt.Errorf("record: open: %w", err)
	}
	zr.RegisterDecompressor(zip.Store, r.store)
	zr.RegisterDecompressor(zip.Deflate, r.inflate)
	if len(zr.File) != len(d.entries) {
		return fmt.Errorf("record: open: archive/zip reads %d entries, the directory holds %d", len(zr.File), len(d.entries))
	}
	for i, f := range zr.File {
		e := d.entries[i]
		if f.Name != e.name || f.Method != e.method || f.Flags != e.flags || f.CRC32 != e.crc || f.CompressedSize64 != uint64(e.csize) || f.UncompressedSize64 != uint64(e.usize) {
			return fmt.Errorf("record: open: archive/zip reads entry %d as %q, not as the directory says", i, f.Name)
		}
	}
	buf := make([]byte, 32<<10) // the most any member inflates past its size
	var hdr bytes.Buffer
	if err := r.copyEntry(&hdr, zr.File[0], buf); err != nil {
		return fmt.Errorf("record: open: %s: %w", headerName, err)
	}
	if err := r.parseHeader(hdr.Bytes()); err != nil {
		return fmt.Errorf("record: open: %s: %w", headerName, err)
	}
	r.zfiles = zr.File[1:]
	r.files = make([]Entry, len(r.zfiles))
	for i, f := range r.zfiles {
		e := d.entries[i+1]
		var w io.Writer = io.Discard
		if visit != nil {
			if vw := visit(e.name, e.usize); vw != nil {
				w = vw
			}
		}
		if err := r.copyEntry(w, f, buf); err != nil {
			return fmt.Errorf("record: open: file %s: %w", e.name, err)
		}
		r.files[i] = Entry{Name: e.name, Size: e.usize}
	}
	return nil
}

// parseHeader sets r's host, cluster and epoch from b, the .record
// entry: one JSON object with the three, and nothing else.
func (r *Reader) parseHeader(b []byte) error {
	var h struct {
		Host    *string `json:"host"`
		Cluster *string `json:"cluster"`
		Epoch   *int64  `json:"epoch"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the header's object")
	}
	if h.Host == nil || h.Cluster == nil || h.Epoch == nil {
		return errors.New("host, cluster or epoch missing")
	}
	if err := checkName("host", *h.Host); err != nil {
		return err
	}
	if err := checkName("cluster", *h.Cluster); err != nil {
		return err
	}
	r.host, r.cluster, r.epoch = *h.Host, *h.Cluster, *h.Epoch
	return nil
}

// copyEntry writes the decompressed bytes of f to w through buf.
func (r *Reader) copyEntry(w io.Writer, f *zip.File, buf []byte) error {
	rc, err := r.openEntry(f)
	if err != nil {
		return err
	}
	defer rc.Close()
	// Not io.CopyBuffer: it would let w or rc choose the size of each
	// read, and so how far past its size a member inflates.
	for {
		n, err := rc.Read(buf)
		if _, werr := w.Write(buf[:n]); werr != nil {
			return werr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// openEntry opens f, a member checked by readDir. archive/zip's reader
// ends with zip.ErrFormat as soon as a member inflates past the size its
// directory entry declares, with io.ErrUnexpectedEOF when it inflates to
// less, and checks the CRC at the end, with zip.ErrChecksum, unless the
// directory's CRC is 0 and the entry has no data descriptor: then the
// CRC is checked here. Its errors say which of these it is.
func (r *Reader) openEntry(f *zip.File) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	return &memberReader{rc: rc, f: f}, nil
}

// memberReader reads a member as archive/zip does, checks a CRC of 0
// (which archive/zip takes for "no CRC"), and says what its errors mean.
type memberReader struct {
	rc  io.ReadCloser
	f   *zip.File
	crc uint32
	err error // sticky, as archive/zip's
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	n, err := m.rc.Read(p)
	if m.f.CRC32 == 0 {
		m.crc = crc32.Update(m.crc, crc32.IEEETable, p[:n])
		if err == io.EOF && m.crc != 0 {
			err = zip.ErrChecksum
		}
	}
	switch {
	case err == nil, err == io.EOF:
	case errors.Is(err, zip.ErrFormat):
		err = fmt.Errorf("inflates past the %d bytes it declares: %w", m.f.UncompressedSize64, err)
	case errors.Is(err, zip.ErrChecksum):
		err = fmt.Errorf("a CRC other than the %#08x it declares: %w", m.f.CRC32, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("inflates to fewer than the %d bytes it declares: %w", m.f.UncompressedSize64, err)
	}
	m.err = err
	return n, err
}

func (m *memberReader) Close() error { return m.rc.Close() }

// store is the zip.Decompressor of stored members: it counts their bytes.
func (r *Reader) store(src io.Reader) io.ReadCloser {
	return io.NopCloser(&counter{r: src, n: &r.inflated})
}

// errDeflateEnd means a member's deflate stream ended before its
// compressed data did: bytes no reader of the record would see.
var errDeflateEnd = errors.New("deflate stream ends before the member's data")

// inflaters holds *inflateState for reuse: a flate reader is tens of KB,
// and Open makes one per member.
var inflaters sync.Pool

type inflateState struct {
	br *bufio.Reader // a flate.Reader reads a ByteReader without reading past its stream
	fr io.ReadCloser
}

// inflate is the zip.Decompressor of deflated members: it counts the
// bytes inflated, and refuses compressed bytes after the deflate stream.
func (r *Reader) inflate(src io.Reader) io.ReadCloser {
	st, _ := inflaters.Get().(*inflateState)
	if st == nil {
		st = &inflateState{br: bufio.NewReaderSize(src, 16<<10)}
		st.fr = flate.NewReader(st.br)
	} else {
		st.br.Reset(src)
		st.fr.(flate.Resetter).Reset(st.br, nil)
	}
	return &inflater{st: st, n: &r.inflated}
}

type inflater struct {
	st *inflateState // nil once closed
	n  *atomic.Int64
}

func (z *inflater) Read(p []byte) (int, error) {
	if z.st == nil {
		return 0, errors.New("read after close")
	}
	n, err := z.st.fr.Read(p)
	z.n.Add(int64(n))
	if err == io.EOF {
		if _, err2 := z.st.br.ReadByte(); err2 == nil {
			err = errDeflateEnd
		} else if err2 != io.EOF {
			err = err2
		}
	}
	return n, err
}

func (z *inflater) Close() error {
	if z.st != nil {
		inflaters.Put(z.st)
		z.st = nil
	}
	return nil
}

// noEOF turns io.EOF, a record that ends inside a structure, into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
