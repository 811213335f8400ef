package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Every option the configuration knows has a row in a table of
// docs/configuration.md (the operator's reference, which the man pages
// are made from): "| <option> | <default> | ...", or with the section
// first, "| <section> | <option> | ...".
func TestReferenceDocumentsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	ref := string(b)
	for section, opts := range knownOptions {
		var names []string
		for o := range opts {
			names = append(names, o)
		}
		slices.Sort(names)
		for _, o := range names {
			if !strings.Contains(ref, "\n| "+o+" |") && !strings.Contains(ref, "\n| "+section+" | "+o+" |") {
				t.Errorf("[%s] %s has no row in a table of docs/configuration.md", section, o)
			}
		}
	}
}
