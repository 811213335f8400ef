package haproxy

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// Typed replies have no CSV header and no "Name:" line: they are
// recognised by their own first bytes, and still need the final empty
// line. The checks hold through the master CLI prefix too.
func TestFetchTyped(t *testing.T) {
	infoTyped := []byte("0.Name.1:POS:str:HAProxy\n1.Version.1:POS:str:2.6.12\n\n")
	statTyped := []byte("F.2.0.0.pxname.1:KNS:str:web\nF.2.0.7.stot.1:MCP:u64:1\n\n")
	for _, c := range []struct {
		name, cmd string
		reply     []byte
		want      string // "" for success
	}{
		{"info typed", ShowInfoTyped, infoTyped, ""},
		{"stat typed", ShowStatTyped, statTyped, ""},
		{"stat typed through the master CLI", WorkerCommand(42, ShowStatTyped), statTyped, ""},
		{"info typed through the master CLI", WorkerCommand(42, ShowInfoTyped), infoTyped, ""},
		{"stat typed, backend first", ShowStatTyped, []byte("B.3.0.0.pxname.1:KNS:str:app\n\n"), ""},
		{"stat typed without any proxy", ShowStatTyped, []byte("\n"), ""},
		{"stat typed truncated", ShowStatTyped, statTyped[:20], "truncated"},
		{"info typed truncated", ShowInfoTyped, infoTyped[:30], "truncated"},
		{"old HAProxy: unknown command", ShowStatTyped, []byte("Unknown command. Please enter one of the following commands only :\n\n"), "not a typed show stat dump"},
		{"permission denied", ShowInfoTyped, []byte("Permission denied\n\n"), "not a typed show info dump"},
		{"plain info answer to a typed request", ShowInfoTyped, info, "not a typed show info dump"},
		{"CSV answer to a typed request", ShowStatTyped, stat, "not a typed show stat dump"},
		{"typed answer to a CSV request", ShowStat, statTyped, "no CSV header"},
		{"typed answer to a plain info request", ShowInfo, infoTyped, "not a show info dump"},
		{"one byte that is not an empty line", ShowStatTyped, []byte("F"), "not a typed show stat dump"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := haproxytest.UnixSocket(t, t.TempDir(), "a.sock", info, stat)
			s.SetReply(c.cmd, c.reply)
			var buf bytes.Buffer
			_, err := client().Fetch(context.Background(), target(s), c.cmd, &buf)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("err = %v, want success", err)
			case c.want == "" && !bytes.Equal(buf.Bytes(), c.reply):
				t.Fatalf("got %q, want %q", buf.Bytes(), c.reply)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}
