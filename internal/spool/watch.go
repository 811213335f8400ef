package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Watch follows dir and sends on the returned channel the path of every
// snapshot directory that is there or arrives: it installs an inotify
// watch first (IN_MOVED_TO for the puller's rename, IN_CREATE for a
// mkdir), then scans what is already there, oldest first, so that nothing
// slips between the scan and the watch. A path may be sent more than once
// (after a rescan); the receiver de-duplicates. On an inotify queue
// overflow it rescans; if dir is removed or replaced it re-installs the
// watch when dir is back and rescans. The channel is closed when ctx is
// done.
func Watch(ctx context.Context, dir string, log *slog.Logger) (<-chan string, error) {
	w, err := newInotify(dir)
	if err != nil {
		return nil, err
	}
	out := make(chan string)
	go func() {
		defer close(out)
		stop := context.AfterFunc(ctx, w.close)
		defer func() {
			stop()
			w.close()
		}()
		if !sendAll(ctx, dir, out, log) {
			return
		}
		for ctx.Err() == nil {
			names, rescan, gone, err := w.read()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				log.Error("reading inotify events", "dir", dir, "err", err)
				gone = true
			}
			for _, n := range names {
				if _, ok := ParseName(n); !ok {
					continue
				}
				p := filepath.Join(dir, n)
				if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
					log.Info("ignore entry as it isn't a directory", "path", p)
					continue
				}
				select {
				case out <- p:
				case <-ctx.Done():
					return
				}
			}
			if gone {
				log.Warn("watched directory disappeared; waiting for it to come back", "dir", dir)
				w.close()
				stop()
				if w, err = rewatch(ctx, dir, log); err != nil {
					return
				}
				stop = context.AfterFunc(ctx, w.close)
				rescan = true
			}
			if rescan && !sendAll(ctx, dir, out, log) {
				return
			}
		}
	}()
	return out, nil
}

// rewatch retries installing the watch every second until it works or
// ctx is done.
func rewatch(ctx context.Context, dir string, log *slog.Logger) (*inotify, error) {
	for {
		w, err := newInotify(dir)
		if err == nil {
			log.Info("watching directory again", "dir", dir)
			return w, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func sendAll(ctx context.Context, dir string, out chan<- string, log *slog.Logger) bool {
	paths, err := Scan(dir)
	if err != nil {
		log.Error("scanning spool", "dir", dir, "err", err)
	}
	for _, p := range paths {
		select {
		case out <- p:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

type inotify struct {
	f   *os.File
	buf []byte
}

func newInotify(dir string) (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify init: %w", err)
	}
	const mask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	// A non-blocking fd in an *os.File uses the runtime poller, so Close
	// interrupts a pending Read.
	return &inotify{f: os.NewFile(uintptr(fd), "inotify:"+dir), buf: make([]byte, 64*1024)}, nil
}

func (w *inotify) close() {
	if w != nil {
		w.f.Close()
	}
}

// read blocks for the next events and returns the names created or moved
// in, whether the kernel's queue overflowed, and whether the watched
// directory itself went away.
func (w *inotify) read() (names []string, overflow, gone bool, err error) {
	n, err := w.f.Read(w.buf)
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return nil, false, false, err
		}
		return nil, false, false, fmt.Errorf("read inotify: %w", err)
	}
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&w.buf[off]))
		end := off + unix.SizeofInotifyEvent + int(ev.Len)
		switch {
		case ev.Mask&unix.IN_Q_OVERFLOW != 0:
			overflow = true
		case ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0:
			gone = true
		case ev.Len > 0 && end <= n:
			raw := w.buf[off+unix.SizeofInotifyEvent : end]
			for i, c := range raw {
				if c == 0 {
					raw = raw[:i]
					break
				}
			}
			names = append(names, string(raw))
		}
		off = end
	}
	return names, overflow, gone, nil
}
