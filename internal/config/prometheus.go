package config

import (
	"os"
	"strings"
)

// PrometheusSection is the name of the section whose presence enables the
// Prometheus scrape endpoint of haproxystats-process.
const PrometheusSection = "prometheus"

// Prometheus is the [prometheus] section, read by haproxystats-process.
// Config returns it only when the section exists.
type Prometheus struct {
	// Listen is the "host:port" the HTTP server listens on; an empty host
	// means every address of the machine.
	Listen string // listen
	// Path is the URL path of the metrics, starting with '/'.
	Path string // path
	// WebConfigFile is an exporter-toolkit web configuration file (TLS,
	// basic authentication); "" means plain HTTP without authentication.
	// Config only checks that it can be read; its content is checked when
	// the endpoint starts.
	WebConfigFile string // web-config-file
}

// DefaultPrometheusListen is the default of [prometheus] listen: the port
// of the retired haproxy_exporter, on the loopback address only, so that
// nothing is exposed to the network unless asked for.
const DefaultPrometheusListen = "127.0.0.1:8406"

// prometheusBuiltin holds the built-in defaults of [prometheus], added
// only when the section exists, as for [kafka].
var prometheusBuiltin = map[string]string{
	"listen": DefaultPrometheusListen,
	"path":   "/metrics",
}

var prometheusOptions = set("listen", "path", "web-config-file")

// DefaultPrometheus returns the built-in [prometheus] values, what Config
// returns for an empty [prometheus] section.
func DefaultPrometheus() Prometheus {
	return Prometheus{Listen: DefaultPrometheusListen, Path: "/metrics"}
}

// prometheus decodes and checks [prometheus]; it returns nil when the
// section does not exist or has problems, which are recorded.
func (d *decoder) prometheus() *Prometheus {
	const s = PrometheusSection
	if d.f.sections[s] == nil {
		return nil
	}
	before := len(d.errs)
	p := new(Prometheus)
	if v, from, ok := d.value(s, "listen"); ok {
		if why := checkListen(v); why != "" {
			d.failf(from, "listen", "%s", why)
		}
		p.Listen = v
	}
	if v, from, ok := d.value(s, "path"); ok {
		if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, " \t?#") {
			d.failf(from, "path", "must be a URL path starting with '/', without spaces, '?' or '#', got %s", pyRepr(v))
		}
		p.Path = v
	}
	if v, from, ok := d.value(s, "web-config-file"); ok && v != "" {
		if _, err := os.ReadFile(v); err != nil {
			d.failf(from, "web-config-file", "cannot read: %v", err)
		}
		p.WebConfigFile = v
	}
	if len(d.errs) > before {
		return nil
	}
	return p
}
