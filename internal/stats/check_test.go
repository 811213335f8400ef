package stats

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/dump"
)

// check runs a dump.StatChecker over data written in pieces of size n (0:
// whole) and returns its verdict, checking it passed data through.
func check(t *testing.T, data []byte, n int) error {
	t.Helper()
	var out bytes.Buffer
	c := &dump.StatChecker{W: &out}
	for p := data; len(p) > 0; {
		k := len(p)
		if n > 0 {
			k = min(n, len(p))
		}
		c.Write(p[:k])
		p = p[k:]
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("dump.StatChecker did not pass the reply through")
	}
	return c.Close()
}

// reason is the sentinel an error wraps, for comparing verdicts.
func reason(err error) error {
	for _, e := range []error{ErrEmpty, ErrNoHeader, ErrNoColumn, ErrFieldCount, ErrQuote, ErrNoName, ErrSecondHeader} {
		if errors.Is(err, e) {
			return e
		}
	}
	return err
}

// One validation: what pull checks while a reply streams is what
// process checks before it aggregates, for real replies, generated
// ones, and every kind of broken one, cut into pieces of every size.
func TestStatCheckerAgreesWithParseStat(t *testing.T) {
	inputs := map[string][]byte{}
	for _, dir := range []string{"testdata/example13", "testdata/hap26"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*_stat"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			inputs[p] = b
		}
	}
	if len(inputs) < 3 {
		t.Fatalf("only %d captured replies", len(inputs))
	}
	inputs["generated"] = GenerateStat(1, 3, 4, 5, 1)[0]
	good := "# pxname,svname,stot,bin,\nweb,FRONTEND,1,2,\napp,s1,3,4,\n\n"
	for name, in := range map[string]string{
		"good":              good,
		"crlf":              strings.ReplaceAll(good, "\n", "\r\n"),
		"blank lines":       "\n\n# pxname,svname,stot,\n\nweb,FRONTEND,1,\n\n\n",
		"quoted":            "# pxname,svname,stot,\n\"w,e\"\"b\",\"s\n1\",2,\n\n",
		"wrong field count": "# pxname,svname,stot,bin,\nweb,FRONTEND,1,2,\napp,s1,3,\n\n",
		"too many fields":   "# pxname,svname,stot,\nweb,FRONTEND,1,2,3,\n\n",
		"doubled header":    good + "# pxname,svname,stot,bin,\nweb,FRONTEND,5,6,\n\n",
		"doubled, no blank": "# pxname,svname,stot,\nweb,FRONTEND,1,\n# pxname,svname,stot,\n\n",
		"no header":         "web,FRONTEND,1,2,\n\n",
		"no svname":         "# pxname,stot,\nweb,1,\n\n",
		"svname later":      "# stot,pxname,x,svname,\n1,web,2,FRONTEND,\n3,app,,s1,\n\n",
		"empty pxname":      "# pxname,svname,stot,\n,FRONTEND,1,\n\n",
		"empty svname":      "# pxname,svname,stot,\nweb,,1,\n\n",
		"empty quoted name": "# pxname,svname,stot,\n\"\",FRONTEND,1,\n\n",
		"open quote":        "# pxname,svname,stot,\n\"web,FRONTEND,1,\n\n",
		"header only":       "# pxname,svname,stot,\n\n",
		"names only":        "# pxname,svname\nweb,FRONTEND\napp\n\n",
		"garbage":           "\x00\x01garbage\n\n",
	} {
		inputs[name] = []byte(in)
	}
	for name, data := range inputs {
		_, perr := ParseStat(data)
		for _, n := range []int{0, 1, 2, 3, 7, 64, 4096} {
			cerr := check(t, data, n)
			if reason(cerr) != reason(perr) {
				t.Errorf("%s in pieces of %d: dump.StatChecker says %v, ParseStat %v", name, n, cerr, perr)
			}
			if cerr != nil && perr != nil && cerr.(*ParseError).Line != perr.(*ParseError).Line {
				t.Errorf("%s in pieces of %d: line %d, ParseStat line %d", name, n, cerr.(*ParseError).Line, perr.(*ParseError).Line)
			}
		}
	}
	for _, name := range []string{"good", "crlf", "quoted", "svname later", "generated"} {
		if err := check(t, inputs[name], 5); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, want := range map[string]error{"wrong field count": ErrFieldCount, "doubled header": ErrSecondHeader, "empty svname": ErrNoName} {
		if err := check(t, inputs[name], 0); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
}

func BenchmarkStatChecker(b *testing.B) {
	data := GenerateStat(1, 50, 500, 20, 1)[0]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c := dump.StatChecker{W: discardWriter{}}
		for p := data; len(p) > 0; p = p[min(len(p), 32<<10):] {
			c.Write(p[:min(len(p), 32<<10)])
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
