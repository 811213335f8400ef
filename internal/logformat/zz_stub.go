package logformat

import "github.com/haproxystats-go/haproxystats/internal/latency"

// STUB until lat-parse is merged.
type Parser struct{}

func New(format string) (*Parser, error)                      { return &Parser{}, nil }
func (p *Parser) Parse(msg []byte, l *latency.Line) bool      { return false }
