package promproto

import (
	"net/http"
	"strconv"
	"strings"
)

// ContentType is the Content-Type of the delimited protobuf format.
const ContentType = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

// Negotiated reports whether the Accept header of h prefers the delimited
// protobuf format to the text format 0.0.4. Prometheus started with
// --enable-feature=native-histograms asks for
//
//	application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1
//
// and without the flag it does not name protobuf at all.
//
// Protobuf is chosen only when named, with both parameters proto and
// encoding as above, and with a quality (q, 1 when absent) above zero and
// at least that of text: text/plain, else text/*, else */*. On a tie,
// text wins only when text/plain is named before protobuf. Ranges for
// other formats (OpenMetrics) are ignored, since we serve text for them.
func Negotiated(h http.Header) bool {
	var (
		protoQ, textQ        = -1.0, -1.0 // -1: not named
		textSpec             = 0          // 3 text/plain, 2 text/*, 1 */*, 0 none
		protoAt, textPlainAt = 0, 0       // where in the header, from 1
	)
	i := 0
	for _, v := range h.Values("Accept") {
		for _, r := range strings.Split(v, ",") {
			i++
			typ, params, _ := strings.Cut(r, ";")
			typ = strings.ToLower(strings.TrimSpace(typ))
			q, proto, enc := 1.0, "", ""
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(p, "=")
				k, val = strings.ToLower(strings.TrimSpace(k)), strings.Trim(strings.TrimSpace(val), `"`)
				switch k {
				case "q":
					f, err := strconv.ParseFloat(val, 64)
					if err != nil || f < 0 || f > 1 {
						f = 0 // an invalid quality accepts nothing
					}
					q = f
				case "proto":
					proto = val
				case "encoding":
					enc = val
				}
			}
			if typ == "application/vnd.google.protobuf" {
				if proto == "io.prometheus.client.MetricFamily" && enc == "delimited" && q > protoQ {
					protoQ, protoAt = q, i
				}
				continue
			}
			spec := 0 // how closely the range names text/plain
			switch typ {
			case "text/plain":
				spec = 3
			case "text/*":
				spec = 2
			case "*/*":
				spec = 1
			}
			if spec > 0 && (spec > textSpec || spec == textSpec && q > textQ) {
				textQ, textSpec = q, spec
				if spec == 3 {
					textPlainAt = i
				}
			}
		}
	}
	switch {
	case protoQ <= 0:
		return false
	case protoQ != textQ:
		return protoQ > textQ
	default:
		return textSpec < 3 || protoAt < textPlainAt
	}
}
