package stats

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addFrom gives data to b.AddFrom through a window of win bytes, so that
// records cross the window's edges.
func addFrom(b *Builder, name string, data []byte, win int) error {
	b.win = make([]byte, 0, win)
	return b.Add(name, bytes.NewReader(data), int64(len(data)))
}

// streamInputs are replies of every shape: real dumps, generated ones,
// quoted records, and replies rejected for each reason.
func streamInputs(t *testing.T) map[string][]byte {
	t.Helper()
	in := map[string][]byte{
		"generated":           GenerateStat(1, 3, 4, 5, 7)[0],
		"quoted":              []byte("# pxname,svname,type,stot\n\"a\"\"b\",\"c\nd\",2,1\r\nweb,FRONTEND,0,4\n"),
		"quoted late":         []byte("# pxname,svname,type,stot\nweb,FRONTEND,0,4\nb,s,2,1\n\"a,b\",s,2,3\n"),
		"crlf blank lines":    []byte("\r\n\n# pxname,svname,type,stot\r\n\r\nweb,FRONTEND,0,4\r\n\nb,s,2,1\r\nb,BACKEND,1,1"),
		"no final newline":    []byte("# pxname,svname,type,stot\nweb,FRONTEND,0,4"),
		"header only":         []byte("# pxname,svname,type\n"),
		"empty":               {},
		"garbage":             []byte("garbage\n"),
		"blank only":          []byte("\n\r\n\n"),
		"no svname":           []byte("# pxname,type\nweb,0\n"),
		"field count":         []byte("# pxname,svname,type,stot\nweb,FRONTEND,0,4\nb,s,2\n"),
		"second header":       []byte("# pxname,svname,type,stot\nweb,FRONTEND,0,4\n# pxname,svname,type,stot\n"),
		"no name":             []byte("# pxname,svname,type,stot\nweb,FRONTEND,0,4\n,s,2,1\n"),
		"unclosed quote":      []byte("# pxname,svname,type,stot\nweb,FRONTEND,0,4\n\"b,s,2,1\n"),
		"text after quote":    []byte("# pxname,svname,type,stot\n\"b\"x,s,2,1\n"),
		"long line":           []byte("# pxname,svname,type,stot\nweb,FRONTEND,0," + strings.Repeat("9", 3000) + "\n"),
		"quoted second heads": []byte("# pxname,svname,type,stot\nweb,FRONTEND,0,4\n# a,\"b\",c,d\n"),
	}
	paths, err := filepath.Glob("testdata/*/*_stat")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no replies in testdata: %v", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		in[p] = data
	}
	return in
}

// TestAddFromMatchesAdd: a reply read through a window, whatever its
// size, gives what the reply all in memory gives: the same rows, all
// metrics included, or the same rejection, line included.
func TestAddFromMatchesAdd(t *testing.T) {
	render := func(s *Sites) string {
		if s == nil {
			return ""
		}
		return string(renderSites(s))
	}
	rejected := map[string]error{
		"empty": ErrEmpty, "garbage": ErrNoHeader, "blank only": ErrNoHeader, "no svname": ErrNoColumn,
		"field count": ErrFieldCount, "second header": ErrSecondHeader, "no name": ErrNoName,
		"unclosed quote": ErrQuote, "text after quote": ErrQuote, "quoted second heads": ErrSecondHeader,
	}
	for name, data := range streamInputs(t) {
		for _, all := range []bool{false, true} {
			want := Builder{All: all}
			wantErr := want.addFile(File{Name: "r", Data: data})
			if !errors.Is(wantErr, rejected[name]) || (wantErr != nil) != (rejected[name] != nil) {
				t.Errorf("%s: Add = %v, want %v", name, wantErr, rejected[name])
			}
			wantSites, wantSitesErr := want.Sites()
			for _, win := range []int{1, 2, 7, 100, 4096, window} {
				got := Builder{All: all}
				err := addFrom(&got, "r", data, win)
				if fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Errorf("%s, window %d: AddFrom = %v, Add = %v", name, win, err, wantErr)
				}
				var perr *ParseError
				if err != nil && !errors.As(err, &perr) {
					t.Errorf("%s, window %d: the rejection %v is not a *ParseError", name, win, err)
				}
				sites, err := got.Sites()
				if fmt.Sprint(err) != fmt.Sprint(wantSitesErr) {
					t.Errorf("%s, window %d: Sites = %v, want %v", name, win, err, wantSitesErr)
				}
				if render(sites) != render(wantSites) {
					t.Errorf("%s, all %v, window %d: the rows differ from the reply in memory", name, all, win)
				}
				if wantSitesErr == nil && render(sites) == "" && name == "generated" {
					t.Errorf("%s: no rows", name)
				}
			}
		}
	}
}

// failingAt is a reply whose bytes from off on cannot be read, after
// reads reads have succeeded.
type failingAt struct {
	data  []byte
	off   int64
	reads int
}

var errDisk = errors.New("input/output error")

func (f *failingAt) ReadAt(p []byte, off int64) (int, error) {
	if f.reads--; f.reads < 0 && off+int64(len(p)) > f.off {
		n := copy(p, f.data[off:max(off, f.off)])
		return n, errDisk
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

// TestAddFromReadError: a reply that cannot be read, while it is checked
// or while it is aggregated, is an error of its own, not a rejection,
// and the Builder gives no Sites with part of it.
func TestAddFromReadError(t *testing.T) {
	data := GenerateStat(1, 3, 40, 5, 7)[0]
	first := GenerateStat(1, 3, 40, 5, 8)[0]
	checkReads := len(data)/4096 + 1 // the reads that check the whole reply
	for _, c := range []struct {
		what  string
		reads int
	}{{"while checked", 2}, {"while aggregated", checkReads + 2}} {
		var b Builder
		if err := addFrom(&b, "good", first, 4096); err != nil {
			t.Fatal(err)
		}
		src := &failingAt{data: data, off: int64(len(data) / 2), reads: c.reads}
		b.win = make([]byte, 0, 4096)
		err := b.Add("bad", src, int64(len(data)))
		var perr *ParseError
		if !errors.Is(err, errDisk) || errors.As(err, &perr) || !strings.Contains(err.Error(), "bad") {
			t.Errorf("%s: AddFrom = %v, want the read error, naming the reply, not a rejection", c.what, err)
		}
		if err := b.addFile(File{Name: "after", Data: first}); !errors.Is(err, errDisk) {
			t.Errorf("%s: Add after a read error = %v, want that error", c.what, err)
		}
		s, err := b.Sites()
		if !errors.Is(err, errDisk) || s != nil {
			t.Errorf("%s: Sites = %v, %v; want no Sites and the read error", c.what, s != nil, err)
		}
	}
}

// changing is a reply whose records change after they are checked:
// once a read goes back (the second pass), it reads other bytes.
type changing struct {
	before, after []byte
	last          int64
	changed       bool
}

func (c *changing) ReadAt(p []byte, off int64) (int, error) {
	c.changed = c.changed || off < c.last
	c.last = off
	data := c.before
	if c.changed {
		data = c.after
	}
	return bytes.NewReader(data).ReadAt(p, off)
}

// TestAddFromChanged: a reply whose records are not those that were
// checked when they are read again is an error, not half a reply.
func TestAddFromChanged(t *testing.T) {
	head := "# pxname,svname,type,stot\n"
	before := head + "web,FRONTEND,0,4444\n"
	for _, after := range []string{"web,FRONTEND\n", "\"web,FRONTEND,0,4\n"} {
		after = head + after + strings.Repeat("\n", len(before)-len(head)-len(after))
		var b Builder
		b.win = make([]byte, 0, 8)
		src := &changing{before: []byte(before), after: []byte(after)}
		err := b.Add("r", src, int64(len(before)))
		var perr *ParseError
		if !errors.Is(err, errChanged) || errors.As(err, &perr) {
			t.Errorf("records changed to %q: AddFrom = %v, want errChanged", after, err)
		}
		if _, err := b.Sites(); !errors.Is(err, errChanged) {
			t.Errorf("Sites = %v, want errChanged", err)
		}
	}
}

// TestAddFromReadsAWindow: a large reply is read through a window of
// 64 KiB, not into a buffer of its size.
func TestAddFromReadsAWindow(t *testing.T) {
	data := GenerateStat(1, 10, 200, 20, 1)[0]
	if len(data) < 20*window {
		t.Fatalf("the reply is only %d bytes", len(data))
	}
	src := &largestRead{r: bytes.NewReader(data)}
	var b Builder
	if err := b.Add("r", src, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if src.largest > window || cap(b.win) > window {
		t.Errorf("largest read %d bytes, window %d bytes, want at most %d", src.largest, cap(b.win), window)
	}
	if want := 2 * len(data) / window; src.reads < want {
		t.Errorf("%d reads of a %d-byte reply, want at least %d (read twice)", src.reads, len(data), want)
	}
}

type largestRead struct {
	r       io.ReaderAt
	largest int
	reads   int
}

func (l *largestRead) ReadAt(p []byte, off int64) (int, error) {
	l.largest = max(l.largest, len(p))
	l.reads++
	return l.r.ReadAt(p, off)
}
