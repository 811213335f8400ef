package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Every option the configuration knows has a row in a table of the
// README (the operator's reference): "| <option> | <default> | ...", or
// with the section first, "| <section> | <option> | ...".
func TestREADMEDocumentsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for section, opts := range knownOptions {
		var names []string
		for o := range opts {
			names = append(names, o)
		}
		slices.Sort(names)
		for _, o := range names {
			if !strings.Contains(readme, "\n| "+o+" |") && !strings.Contains(readme, "\n| "+section+" | "+o+" |") {
				t.Errorf("[%s] %s has no row in a README.md table", section, o)
			}
		}
	}
}
