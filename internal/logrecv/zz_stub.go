package logrecv

import (
	"context"
	"log/slog"
	"os"
)

// STUB until lat-recv is merged.
type Address struct{ Network, Addr string }

func ParseList(s string) ([]Address, error) { return nil, nil }

type Options struct {
	ReceiveBuffer int
	SocketMode    os.FileMode
	Batch         int
	Log           *slog.Logger
}
type Handler func(msg []byte)
type Listener struct{}

func Listen(addrs []Address, o Options) (*Listener, error)                      { return &Listener{}, nil }
func (l *Listener) Serve(ctx context.Context, handlers func(socket int) Handler) error { return nil }
func (l *Listener) Addrs() []string                                             { return nil }
func (l *Listener) Counters() Counters                                          { return Counters{} }

type Counters struct{ Received, Dropped, Truncated uint64 }
