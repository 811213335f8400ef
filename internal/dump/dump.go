// Package dump is what a complete HAProxy dump is: the contract that
// haproxystats-pull checks before it commits a round and that
// haproxystats-process relies on before it aggregates one. It is a leaf
// that both binaries link: the checker of show stat replies
// (StatChecker), the reasons a reply is refused, and the Version line of
// show info.
package dump

import (
	"bytes"
	"errors"
	"fmt"
)

// The reasons a show stat reply is rejected. They are wrapped in a
// *ParseError; test them with errors.Is.
var (
	ErrEmpty      = errors.New("empty reply")
	ErrNoHeader   = errors.New("missing header")
	ErrNoColumn   = errors.New("missing column")
	ErrFieldCount = errors.New("wrong number of fields")
	ErrQuote      = errors.New("bad quoted field")
	ErrNoName     = errors.New("empty name")
	// ErrSecondHeader is a reply with a header line among its records:
	// two dumps run together.
	ErrSecondHeader = errors.New("second header line")
	// ErrLongRecord is a record, the header included, longer than
	// MaxRecord: a header that never ends, or garbage.
	ErrLongRecord = fmt.Errorf("record longer than %d bytes", MaxRecord)
)

// MaxRecord bounds a record of a show stat reply, the header included,
// in bytes without its final newline. HAProxy's are under 3 KB (the
// header of HAProxy 3), so only a broken or hostile reply has a longer
// one: the checker and the parser then refuse the reply instead of
// holding the record whole, which a header that never ends would make
// as large as max-reply-size.
const MaxRecord = 1 << 20

// MaxTableReply bounds a show table reply, the list of the stick tables
// (a line of about 60 bytes each): pull stops reading one there, and
// process leaves a bigger file out, so that an endless reply costs
// neither every round's max-reply-size of writes nor its size in memory.
const MaxTableReply = 4 << 20

// ParseError is a show stat reply that cannot be used, and why.
type ParseError struct {
	Line int // 1-based line where the bad record starts; 0 for the whole reply
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// InfoVersion returns the value of the Version line of a show info
// reply, "" when there is none.
func InfoVersion(data []byte) string {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		if v, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte("\r")), []byte("Version:")); ok {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}
