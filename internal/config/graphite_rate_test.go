package config

import (
	"strings"
	"testing"
)

func TestMaxLinesPerSecond(t *testing.T) {
	srcDir := t.TempDir()
	f := func(extra string, want int, wantErr string) {
		t.Helper()
		cfg, _, err := load(t, "[process]\nsrc-dir = "+srcDir+"\n[graphite]\n"+extra).Config(ProcessProgram)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%q: err = %v, want one containing %q", extra, err, wantErr)
			}
			return
		}
		if err != nil || cfg.Graphite.MaxLinesPerSecond != want {
			t.Errorf("%q: MaxLinesPerSecond = %v, %v; want %d", extra, cfg, err, want)
		}
	}
	f("", DefaultMaxLinesPerSecond, "")
	f("max-lines-per-second = 0\n", 0, "")
	f("max-lines-per-second = 1000\n", 1000, "")
	f("max-lines-per-second = -1\n", 0, "option:'max-lines-per-second'")
	f("max-lines-per-second = fast\n", 0, "invalid literal for int()")
}
