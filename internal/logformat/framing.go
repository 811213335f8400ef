package logformat

// messageOf returns the message of a datagram: msg without its trailing
// '\n', '\r' and NULs, and without the header of whichever format of the
// log directive HAProxy used (src/log.c):
//
//	rfc3164 (legacy) <134>Dec  8 01:02:03 [host ]haproxy[123]: MSG
//	rfc5424          <134>1 2026-12-08T01:02:03.456789+00:00 host haproxy 123 - SD MSG
//	priority         <134>MSG
//	short            <6>MSG
//	timed            <6>2026-12-08T01:02:03.456789+00:00 MSG
//	iso              2026-12-08T01:02:03.456789+00:00 MSG
//	raw              MSG
//
// and RFC 3164 without <PRI>, as a relay may forward it. A header
// recognised but malformed is not a message: ok is false.
func messageOf(msg []byte) (body []byte, ok bool) {
	for len(msg) > 0 {
		if c := msg[len(msg)-1]; c != '\n' && c != '\r' && c != 0 {
			break
		}
		msg = msg[:len(msg)-1]
	}
	if len(msg) == 0 {
		return nil, false
	}
	if msg[0] != '<' {
		if n := isoStamp(msg); n > 0 {
			return msg[n:], true // iso
		}
		if len(msg) >= 16 && isMonth(msg[:3]) && msg[3] == ' ' {
			return rfc3164(msg) // relayed without <PRI>
		}
		return msg, true // raw
	}
	// <PRI>: 1 to 3 digits, at most 191 (RFC 5424 §6.2.1).
	pri, i := 0, 1
	for ; i < len(msg) && i <= 3 && isDigit(msg[i]); i++ {
		pri = pri*10 + int(msg[i]-'0')
	}
	if i == 1 || i >= len(msg) || msg[i] != '>' || pri > 191 {
		return msg, true // raw, starting with '<'
	}
	rest := msg[i+1:]
	switch {
	case len(rest) >= 2 && rest[0] == '1' && rest[1] == ' ':
		if b, ok := rfc5424(rest[2:]); ok {
			return b, true
		}
		return rest, true // priority or short, a message starting "1 "
	case len(rest) >= 16 && isMonth(rest[:3]):
		return rfc3164(rest)
	}
	if n := isoStamp(rest); n > 0 {
		return rest[n:], true // timed
	}
	return rest, true // priority or short
}

// rfc3164 returns the message of "Mmm dd hh:mm:ss [host ]tag[pid]: MSG".
// HAProxy writes the host only with log-send-hostname.
func rfc3164(b []byte) ([]byte, bool) {
	// "Dec  8 01:02:03 ": the day is padded with a space.
	if b[3] != ' ' || (b[4] != ' ' && !isDigit(b[4])) || !isDigit(b[5]) || b[6] != ' ' ||
		!isDigit(b[7]) || !isDigit(b[8]) || b[9] != ':' || !isDigit(b[10]) || !isDigit(b[11]) || b[12] != ':' ||
		!isDigit(b[13]) || !isDigit(b[14]) || b[15] != ' ' {
		return nil, false
	}
	b = b[16:]
	for range 2 { // [host ]tag:
		j := 0
		for j < len(b) && b[j] != ' ' {
			j++
		}
		if j > 0 && b[j-1] == ':' {
			if j == len(b) {
				return b[j:], true
			}
			return b[j+1:], true
		}
		if j == len(b) {
			return nil, false
		}
		b = b[j+1:]
	}
	return nil, false
}

// rfc5424 returns the message of
// "TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA[ MSG]", what
// follows "<PRI>1 ".
func rfc5424(b []byte) ([]byte, bool) {
	for range 5 { // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
		j := 0
		for j < len(b) && b[j] != ' ' {
			j++
		}
		if j == 0 || j == len(b) {
			return nil, false
		}
		b = b[j+1:]
	}
	switch {
	case len(b) > 0 && b[0] == '-':
		b = b[1:]
	case len(b) > 0 && b[0] == '[':
		for len(b) > 0 && b[0] == '[' {
			n := sdEnd(b)
			if n < 0 {
				return nil, false
			}
			b = b[n:]
		}
	default:
		return nil, false
	}
	if len(b) == 0 {
		return b, true
	}
	if b[0] != ' ' {
		return nil, false
	}
	b = b[1:]
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { // BOM
		b = b[3:]
	}
	return b, true
}

// sdEnd returns the length of the SD-ELEMENT "[...]" at the start of b,
// in whose quoted values '\' escapes '"', '\' and ']'; -1 if it does not
// end.
func sdEnd(b []byte) int {
	quoted := false
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ']' && !quoted:
			return i + 1
		}
	}
	return -1
}

// isoStamp returns the length of "2026-12-08T01:02:03.456789+00:00 " at
// the start of b, or 0.
func isoStamp(b []byte) int {
	if len(b) < 20 || !isDigit(b[0]) || !isDigit(b[1]) || !isDigit(b[2]) || !isDigit(b[3]) || b[4] != '-' ||
		!isDigit(b[5]) || !isDigit(b[6]) || b[7] != '-' || !isDigit(b[8]) || !isDigit(b[9]) || b[10] != 'T' {
		return 0
	}
	for i := 11; i < len(b); i++ {
		if b[i] == ' ' {
			return i + 1
		}
	}
	return 0
}

func isMonth(b []byte) bool {
	switch string(b) {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec":
		return true
	}
	return false
}
