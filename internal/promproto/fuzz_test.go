package promproto_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/haproxystats-go/haproxystats/internal/promproto"
)

// FuzzText: Text never panics; what it accepts decodes as protobuf; and
// when expfmt's text parser accepts the same text, the families are
// expfmt's.
func FuzzText(f *testing.F) {
	// Parts of a real exposition: whole, it is too big for the fuzzer
	// to mutate well.
	if b, err := os.ReadFile("testdata/example13.prom"); err == nil {
		f.Add(b[:bytes.LastIndexByte(b[:2000], '\n')+1])
		if i := bytes.Index(b, []byte("# HELP go_gc_duration_seconds")); i >= 0 {
			f.Add(b[i : i+bytes.LastIndexByte(b[i:i+1000], '\n')+1])
		}
	}
	f.Add([]byte("# HELP a x\\ny\n# TYPE a counter\na{b=\"c\\\"\"} 1 2\n"))
	f.Add([]byte("# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"))
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		if err := promproto.NewWriter(&out).Text(bytes.NewReader(in)); err != nil {
			return
		}
		got := decode(t, out.Bytes())
		parser := expfmt.NewTextParser(model.LegacyValidation)
		want, err := parser.TextToMetricFamilies(bytes.NewReader(in))
		if err != nil {
			return // Text is more lenient in places; see TestTextLenient
		}
		if len(got) != len(want) {
			t.Fatalf("%d families, expfmt %d, of %q", len(got), len(want), in)
		}
		for _, mf := range got {
			if !proto.Equal(mf, want[mf.GetName()]) {
				t.Fatalf("family %s differs from expfmt's: %v, %v, of %q", mf.GetName(), mf, want[mf.GetName()], in)
			}
		}
	})
}
