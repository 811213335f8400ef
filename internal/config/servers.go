package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// errInvalidIPv6 is urllib's text for unbalanced or bad brackets.
var errInvalidIPv6 = errors.New("Invalid IPv6 URL") // Python's text

// parseServers parses the [pull] servers option: a comma-separated list
// of unix://<path> and tcp://<host>:<port> URLs, read the way the
// original reads them with urllib.parse.urlsplit. Leading and trailing
// commas are dropped, as the original does; an empty element between two
// commas is an error. It returns the servers, or one message per bad
// element.
func parseServers(v string) ([]Server, []string) {
	list := strings.TrimFunc(v, func(r rune) bool { return r == ',' || pyIsSpace(r) })
	if list == "" {
		return nil, []string{"invalid configuration, no value for option 'servers' in the section 'pull'"}
	}
	var servers []Server
	var errs []string
	for _, elem := range strings.Split(list, ",") {
		elem = pyStrip(elem)
		if elem == "" {
			errs = append(errs, "invalid configuration, invalid value for 'servers' option of 'pull' section, value:"+pyRepr(Redact(v)))
			continue
		}
		s, msg := parseServer(elem)
		if msg != "" {
			errs = append(errs, "invalid configuration, "+Redact(msg)+", value:"+pyRepr(Redact(elem)))
			continue
		}
		servers = append(servers, s)
	}
	return servers, errs
}

// parseServer parses one element of servers. It returns the message
// without the "invalid configuration, " prefix on failure.
func parseServer(elem string) (Server, string) {
	const where = "'servers' option of 'pull' section"
	if lower := strings.ToLower(elem); strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return parseStatsPage(elem, where)
	}
	u, err := urlSplit(elem)
	if err != nil {
		return Server{}, fmt.Sprintf("failed to parse %s, error:%v", where, err)
	}
	// master:// and master+tcp:// name HAProxy's master CLI (HAProxy
	// >= 1.8 started with -W -S): pull asks it for the worker list and
	// reaches every worker, old ones included, through it.
	scheme, master := u.scheme, false
	switch scheme {
	case "master":
		scheme, master = "unix", true
	case "master+tcp":
		scheme, master = "tcp", true
	}
	s, msg := parseScheme(scheme, u, where)
	s.Master = master
	return s, msg
}

func parseScheme(scheme string, u pyURL, where string) (Server, string) {
	switch scheme {
	case "unix":
		if u.path == "" {
			return Server{}, "path is not set in " + where
		}
		name := u.path[strings.LastIndexByte(u.path, '/')+1:]
		if name == "" {
			return Server{}, "path ends with '/' in " + where
		}
		return Server{Network: "unix", Address: u.path, Name: name}, ""
	case "tcp":
		host, port, err := u.hostPort()
		switch {
		case err != nil:
			return Server{}, fmt.Sprintf("failed to parse %s, error:%v", where, err)
		case port == 0:
			return Server{}, "port is not set in " + where
		case host == "":
			return Server{}, "host is not set in " + where
		}
		p := strconv.Itoa(port)
		return Server{Network: "tcp", Address: net.JoinHostPort(host, p), Name: host + ":" + p}, ""
	}
	return Server{}, "only unix, tcp, master, master+tcp, http and https type of servers are supported set in " + where
}

// pyURL is the part of urllib's SplitResult the original uses.
type pyURL struct {
	scheme, netloc, path string
}

// urlSplit is Python's urllib.parse.urlsplit (3.11 and later), without
// the query and fragment, which it drops.
func urlSplit(url string) (pyURL, error) {
	url = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, url)
	url = strings.TrimLeftFunc(url, func(r rune) bool { return r <= ' ' })
	var u pyURL
	if i := strings.IndexByte(url, ':'); i > 0 && isSchemeStart(url[0]) && isScheme(url[:i]) {
		u.scheme, url = strings.ToLower(url[:i]), url[i+1:]
	}
	if strings.HasPrefix(url, "//") {
		end := len(url)
		if j := strings.IndexAny(url[2:], "/?#"); j >= 0 {
			end = 2 + j
		}
		u.netloc, url = url[2:end], url[end:]
		open, closed := strings.Contains(u.netloc, "["), strings.Contains(u.netloc, "]")
		if open != closed {
			return pyURL{}, errInvalidIPv6
		}
		if open {
			if err := checkBracketed(u.netloc); err != nil {
				return pyURL{}, err
			}
		}
	}
	url, _, _ = strings.Cut(url, "#")
	url, _, _ = strings.Cut(url, "?")
	u.path = url
	return u, nil
}

func isSchemeStart(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isSchemeStart(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// checkBracketed is urllib's _check_bracketed_netloc: nothing before the
// '[', only a port after the ']', and an IPv6 address inside.
func checkBracketed(netloc string) error {
	hostport := netloc[strings.LastIndexByte(netloc, '@')+1:]
	before, bracketed, found := strings.Cut(hostport, "[")
	if !found {
		return nil
	}
	if before != "" {
		return errInvalidIPv6
	}
	host, rest, _ := strings.Cut(bracketed, "]")
	if rest != "" && !strings.HasPrefix(rest, ":") {
		return errInvalidIPv6
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() {
		return errInvalidIPv6
	}
	return nil
}

// hostPort returns SplitResult.hostname (lower-cased, brackets removed)
// and SplitResult.port (0 when absent), with urllib's port errors.
func (u pyURL) hostPort() (string, int, error) {
	hostinfo := u.netloc[strings.LastIndexByte(u.netloc, '@')+1:]
	var host, port string
	if _, bracketed, found := strings.Cut(hostinfo, "["); found {
		var rest string
		host, rest, _ = strings.Cut(bracketed, "]")
		_, port, _ = strings.Cut(rest, ":")
	} else {
		host, port, _ = strings.Cut(hostinfo, ":")
	}
	name, zone, hasZone := strings.Cut(host, "%")
	host = strings.ToLower(name)
	if hasZone {
		host += "%" + zone
	}
	if port == "" {
		return host, 0, nil
	}
	n, err := parseInt(port)
	if err != nil {
		return "", 0, fmt.Errorf("Port could not be cast to integer value as %s", pyRepr(port)) // Python's text
	}
	if n < 0 || n > 65535 {
		return "", 0, errors.New("Port out of range 0-65535") // Python's text
	}
	return host, n, nil
}

// parseStatsPage parses the URL of a stats page (HAProxy's "stats uri"):
// http:// or https://, with an optional user:password@. The CSV export is
// the URL with ";csv" (added when missing) at the end of its query, or of
// its path when it has none. The file name prefix is
// "<host>:<port><path>[_<query>]", the path's slashes as "_".
func parseStatsPage(elem, where string) (Server, string) {
	u, err := url.Parse(elem)
	if err != nil {
		return Server{}, fmt.Sprintf("failed to parse %s, error:%v", where, err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return Server{}, "host is not set in " + where
	}
	if u.Fragment != "" {
		return Server{}, "a stats page URL takes no fragment in " + where
	}
	s := Server{Network: "http"}
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
		u.User = nil
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Server{}, fmt.Sprintf("port %q is not valid in %s", port, where)
	}
	// HAProxy's default stats uri is "/haproxy?stats": ";csv" ends
	// the query then, else the path.
	path := u.Path
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		u.RawQuery = strings.TrimSuffix(u.RawQuery, ";csv") + ";csv"
	} else {
		path = strings.TrimSuffix(path, ";csv") + ";csv"
	}
	u.Path, u.RawPath = path, ""
	s.URL = u.String()
	s.Address = s.URL
	name := strings.TrimSuffix(strings.TrimSuffix(path, ";csv"), "/")
	if u.RawQuery != "" {
		name += "?" + strings.TrimSuffix(u.RawQuery, ";csv")
	}
	s.Name = u.Hostname() + ":" + port + strings.NewReplacer("/", "_", "?", "_").Replace(name)
	return s, ""
}

// urlPassword is the password of a URL's user information: what follows
// "scheme://user:" up to '@'.
var urlPassword = regexp.MustCompile(`(://[^:@/\s,]*):[^@/\s,]*@`)

// Redact returns s with the password of every URL in it replaced by
// "xxxxx", as url.URL.Redacted does: configuration errors, a reload's
// log and -P never show one.
func Redact(s string) string { return urlPassword.ReplaceAllString(s, "$1:xxxxx@") }
