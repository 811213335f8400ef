package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "counters.state")
	for _, data := range []string{"first", "second, longer than the first"} {
		if err := WriteFileAtomic(path, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != data {
			t.Errorf("read back %q, %v; want %q", b, err, data)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	// A target that cannot be replaced: the old contents stay, no
	// temporary file is left.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(blocked, []byte("x"), 0o644); err == nil || !strings.Contains(err.Error(), blocked) {
		t.Errorf("WriteFileAtomic over a non-empty directory = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("after a failed write: %v", entries)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o644); err == nil {
		t.Error("WriteFileAtomic into a missing directory: no error")
	}
}

func TestState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counters.state")
	var v map[string]float64
	if found, err := ReadState(path, &v); found || err != nil || v != nil {
		t.Errorf("ReadState of a missing file = %v, %v, %v", found, err, v)
	}
	if err := WriteState(path, map[string]float64{"a.stot": 3}); err != nil {
		t.Fatal(err)
	}
	if found, err := ReadState(path, &v); !found || err != nil || v["a.stot"] != 3 {
		t.Errorf("ReadState = %v, %v, %v", found, err, v)
	}
	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := ReadState(path, &v); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadState of a corrupt file = %v, want an error naming it", err)
	}
	if err := WriteState(path, func() {}); err == nil {
		t.Error("WriteState of a value JSON cannot hold: no error")
	}
	if found, err := ReadState("", &v); found || err != nil {
		t.Errorf("ReadState(\"\") = %v, %v", found, err)
	}
	if err := WriteState("", v); err != nil {
		t.Errorf("WriteState(\"\") = %v", err)
	}
}
