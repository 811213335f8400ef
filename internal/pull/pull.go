// Package pull is the loop of haproxystats-pull: on a drift-free cadence
// it finds the HAProxy stats sockets, sends `show info` and `show stat` to
// all of them at once under one deadline, and commits the replies as one
// snapshot directory into the spool, or nothing at all. It pauses while
// the spool holds queue-size snapshots or more.
package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/files"
	"github.com/haproxystats-go/haproxystats/internal/haproxy"
	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// Puller runs rounds. Run and Round must not be called concurrently; the
// counters may be read at any time.
type Puller struct {
	cfg    config.Pull
	log    *slog.Logger
	client haproxy.Client
	// pages fetches the http:// and https:// servers; pagesErr is why it
	// could not be made (a TLS file), reported for each of them.
	pages    *haproxy.PageClient
	pagesErr error

	// Counters since start.
	Committed atomic.Int64 // snapshots committed
	Failed    atomic.Int64 // rounds discarded because a request failed
	Skipped   atomic.Int64 // rounds not pulled because the spool was full

	reloads chan config.Pull // Reload's configurations, applied between rounds

	// Ready, when set, is called once the spool is locked and prepared,
	// just before the first round: the daemon is ready.
	Ready  func()
	loop   atomic.Int64 // UnixNano of the round loop's last turn: Alive
	within atomic.Int64 // how long Alive allows between turns, for the configuration in force

	suspended bool            // the spool is full; owned by the round loop
	diskErr   bool            // the last round failed to write; owned by the round loop
	typed     typedSeen       // typed dumps fetched, per unit (typed.go)
	noTables  sync.Map        // unit name → true: its refusal of show table was logged
	notSocket map[string]bool // socket-dir entries warned about as not sockets; owned by the round loop
	// missing is the message logged when sockets went missing (see
	// noteSockets), "" while they are found; missingRounds counts the
	// rounds since. Owned by the round loop.
	missing       string
	missingRounds int64

	logs          *logs // [logs]: nil without the section; set up by Run
	lastCommitted int64 // the epoch second of the last snapshot committed; owned by the round loop
}

// New returns a Puller for cfg that logs to log.
func New(cfg config.Pull, log *slog.Logger) *Puller {
	p := &Puller{cfg: cfg, log: log, client: haproxy.NewClient(cfg), reloads: make(chan config.Pull, 1)}
	p.pages, p.pagesErr = haproxy.NewPageClient(cfg)
	return p
}

// Prepare creates dst-dir and tmp-dst-dir, checks that a rename between
// them is atomic, and removes what a crash left in tmp-dst-dir.
func (p *Puller) Prepare() error {
	for _, d := range []string{p.cfg.DstDir, p.cfg.TmpDstDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("failed to make directory %s: %w", d, err)
		}
	}
	if err := files.SameFilesystem(p.cfg.TmpDstDir, p.cfg.DstDir); err != nil {
		return err
	}
	removed, err := spool.Clean(p.cfg.TmpDstDir)
	for _, r := range removed {
		p.log.Info("removed incomplete round left by a previous run", "dir", r)
	}
	return err
}

// Run prepares the directories, then pulls a round at start + k ×
// pull-interval for k = 0, 1, 2, ... until ctx is done. A round that
// overruns its slot makes the loop skip the missed slots; it never shifts
// later rounds. Run returns nil when ctx is done, with no partial round
// left anywhere.
//
// Run holds the lock of haproxystats-pull on dst-dir (spool.TakeLock)
// while it runs, before it cleans tmp-dst-dir: a second puller on the
// same spool fails at start, naming the first one's pid.
func (p *Puller) Run(ctx context.Context) error {
	if err := os.MkdirAll(p.cfg.DstDir, 0o755); err != nil {
		return fmt.Errorf("failed to make directory %s: %w", p.cfg.DstDir, err)
	}
	lock, err := spool.TakeLock(p.cfg.DstDir, "haproxystats-pull")
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := p.Prepare(); err != nil {
		return err
	}
	stopLogs, err := p.serveLogs()
	if err != nil {
		return err
	}
	defer stopLogs()
	p.setWithin()
	if p.Ready != nil {
		p.Ready()
	}
	interval := p.cfg.PullInterval
	start := time.Now()
	for k := int64(0); ; {
		p.loop.Store(time.Now().UnixNano())
		slot := start.Add(time.Duration(k) * interval)
		if d := time.Until(slot); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case cfg := <-p.reloads:
				t.Stop()
				if p.apply(cfg) {
					interval, start, k = p.cfg.PullInterval, time.Now(), 0 // the new cadence, from now
				}
				continue
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		began := time.Now()
		p.Round(ctx, began)
		k = int64(time.Since(start)/interval) + 1
		p.log.Debug("round done", "took", time.Since(began).Round(time.Millisecond), "next", start.Add(time.Duration(k)*interval).Format(time.RFC3339))
	}
}

// Alive reports whether the round loop turned within three
// pull-intervals and a pull-timeout of the configuration in force: a
// stuck loop is not alive. It is safe to call from any goroutine.
func (p *Puller) Alive() bool {
	last := p.loop.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < time.Duration(p.within.Load())
}

// setWithin sets Alive's bound for p.cfg. Called by the round loop.
func (p *Puller) setWithin() {
	p.within.Store(int64(3*p.cfg.PullInterval + p.cfg.PullTimeout))
}

// Reload makes cfg the configuration of the next rounds: Run applies it
// between rounds (apply). It never blocks; a configuration not applied
// yet is replaced.
func (p *Puller) Reload(cfg config.Pull) {
	for {
		select {
		case p.reloads <- cfg:
			return
		default:
			select {
			case <-p.reloads: // drop the older one
			default:
			}
		}
	}
}

// apply makes cfg the puller's configuration but for what cannot change
// while it runs (the spool directories, ship), which it logs as needing
// a restart and keeps. It logs every change and reports whether the
// pull-interval changed.
func (p *Puller) apply(cfg config.Pull) (intervalChanged bool) {
	old := p.cfg
	for _, k := range []struct {
		name       string
		was, asked string
	}{{"dst-dir", old.DstDir, cfg.DstDir}, {"tmp-dst-dir", old.TmpDstDir, cfg.TmpDstDir}, {"ship", old.Ship, cfg.Ship}, {"[logs]", logsString(old.Logs), logsString(cfg.Logs)}} {
		if k.was != k.asked {
			p.log.Warn("configuration reloaded: this option needs a restart, keeping its value", "option", k.name, "value", k.was, "asked", k.asked)
		}
	}
	cfg.DstDir, cfg.TmpDstDir, cfg.Ship, cfg.Logs = old.DstDir, old.TmpDstDir, old.Ship, old.Logs
	changed := config.PullChanges(old, cfg)
	p.cfg = cfg
	p.setWithin()
	p.client = haproxy.NewClient(cfg)
	if pages, err := haproxy.NewPageClient(cfg); err != nil {
		p.log.Error("configuration reloaded: the stats pages' TLS settings cannot be used, keeping the previous ones", "err", err)
	} else {
		p.pages, p.pagesErr = pages, nil
	}
	p.notSocket = nil // warn again about what the new socket-dir holds
	p.log.Info("configuration reloaded", "changed", changed)
	return old.PullInterval != cfg.PullInterval
}

// PagesError is why the stats pages of servers cannot be fetched (a TLS
// file of [pull] that cannot be used), nil when there is none or no page
// is configured.
func (p *Puller) PagesError() error {
	for _, s := range p.cfg.Servers {
		if s.Network == "http" {
			return p.pagesErr
		}
	}
	return nil
}

// Round pulls one round stamped with now, unless the spool is full.
func (p *Puller) Round(ctx context.Context, now time.Time) {
	if p.full() {
		return
	}
	targets := p.targets()
	if len(targets) == 0 {
		p.Failed.Add(1) // logged by targets, once for the whole streak
		p.commitLogs(now, "no socket to pull")
		return
	}
	name := spool.Name(now.Unix())
	tmp := filepath.Join(p.cfg.TmpDstDir, name)
	res, err := p.fetchAll(ctx, targets, tmp)
	var lines *latency.Set // the log lines that go with the round
	if err == nil && p.logs != nil {
		lines = p.logs.take()
		err = writeLatency(tmp, lines)
	}
	if err == nil {
		err = p.writeStats(tmp, now, res, lines)
	}
	if err == nil {
		var dst string
		if dst, err = spool.Commit(tmp, p.cfg.DstDir); err == nil {
			if lines != nil {
				p.logs.done(lines)
			}
			p.lastCommitted = now.Unix()
			p.typed.committed(res.typed, res.units)
			p.Committed.Add(1)
			p.noteDisk(nil)
			if len(res.missing) > 0 {
				p.log.Warn("partial round committed without some sockets", "dir", dst, "missing", res.missing)
			}
			p.log.Info("statistics are stored", "dir", dst, "sockets", len(targets), "took", time.Since(now).Round(time.Millisecond))
			return
		}
	}
	if lines != nil {
		p.logs.putBack(lines)
	}
	if rmErr := os.RemoveAll(tmp); rmErr != nil {
		p.log.Error("failed to remove temporary directory", "dir", tmp, "err", rmErr)
	}
	if ctx.Err() != nil {
		p.log.Info("round abandoned on shutdown", "dir", tmp)
		return
	}
	p.Failed.Add(1)
	defer p.commitLogs(now, "round discarded")
	var werr *writeError
	if errors.As(err, &werr) {
		p.noteDisk(err)
		return
	}
	p.noteDisk(nil)
	p.log.Error("failed to pull stats, round discarded", "round", name, "err", err)
}

// writeStats leaves the puller's counters in the snapshot (see
// spool.PullStatsFile); this round counts as committed.
func (p *Puller) writeStats(dir string, began time.Time, res roundResult, lines *latency.Set) error {
	counters := p.pullStats(p.Committed.Load()+1, lines)
	counters["PullWallClockTime"] = math.Round(time.Since(began).Seconds()*1e6) / 1e6
	if res.masters.masters > 0 {
		counters["MasterWorkers"] = float64(res.masters.workers)
		counters["MasterOldWorkers"] = float64(res.masters.oldWorkers)
		counters["MasterOldestWorkerAge"] = res.masters.oldestAge.Seconds()
		counters["MasterReloads"] = float64(res.masters.reloads)
	}
	err := spool.WritePullStats(dir, counters)
	if err != nil {
		return &writeError{fmt.Errorf("write pull stats: %w", err)}
	}
	return nil
}

// pullStats are the puller's counters every snapshot carries, committed
// being the rounds committed with the snapshot's, and those of the log
// lines, lines being the set the snapshot holds (nil: none).
func (p *Puller) pullStats(committed int64, lines *latency.Set) map[string]float64 {
	counters := map[string]float64{
		"PullRoundsCommitted": float64(committed),
		"PullRoundsFailed":    float64(p.Failed.Load()),
		"PullRoundsSkipped":   float64(p.Skipped.Load()),
	}
	if p.logs != nil {
		p.logs.counters(counters, lines)
	}
	return counters
}

// full reports whether the spool holds queue-size snapshots or more, and
// logs once when pulling is suspended and once when it resumes.
func (p *Puller) full() bool {
	n, err := spool.Count(p.cfg.DstDir)
	if err != nil {
		p.log.Warn("dst-dir disappeared, going to create it", "dir", p.cfg.DstDir, "err", err)
		if err := os.MkdirAll(p.cfg.DstDir, 0o755); err != nil {
			p.log.Error("failed to make directory", "dir", p.cfg.DstDir, "err", err)
		}
		return false
	}
	if n >= p.cfg.QueueSize {
		p.Skipped.Add(1)
		if !p.suspended {
			p.suspended = true
			p.log.Warn("queue reached max size, pulling statistics is suspended", "queued", n, "queue_size", p.cfg.QueueSize)
		}
		return true
	}
	if p.suspended {
		p.suspended = false
		p.log.Info("queue below max size, pulling statistics resumed", "queued", n, "rounds_skipped_total", p.Skipped.Load())
	}
	return false
}

// noteDisk logs a write failure once per streak of failures, and the
// recovery.
func (p *Puller) noteDisk(err error) {
	switch {
	case err != nil && !p.diskErr:
		p.log.Error("cannot write snapshot, rounds are discarded until this is fixed", "dir", p.cfg.TmpDstDir, "err", err)
	case err != nil:
		p.log.Debug("cannot write snapshot", "err", err)
	case p.diskErr:
		p.log.Info("writing snapshots works again", "dir", p.cfg.TmpDstDir)
	}
	p.diskErr = err != nil
}

// writeError is a failure of the local disk, as opposed to a socket.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// unit is one HAProxy process to query: a stats socket, or one worker
// reached through a master CLI.
type unit struct {
	target config.Server
	name   string // file name prefix in the snapshot
	pid    int    // the worker behind a master CLI; 0 for a plain socket
}

func (u unit) command(cmd string) string {
	if u.pid != 0 {
		return haproxy.WorkerCommand(u.pid, cmd)
	}
	return cmd
}

// roundResult is what a round found besides the reply files.
type roundResult struct {
	missing []string // "<name>: <reason>" of units left out (allow-partial)
	masters masterStats
	units   map[string]bool   // names of the units of the round
	typed   map[string]string // unit name → version whose typed dumps are settled
}

// fetchAll fetches both replies of every unit into dir, concurrently (at
// most workers requests at once), within pull-timeout. By default the
// first failure cancels the rest and fails the round. With allow-partial,
// a unit that fails is left out (its files removed, its name and the
// cause listed), and the round fails only if no unit answered.
func (p *Puller) fetchAll(ctx context.Context, targets []config.Server, dir string) (roundResult, error) {
	var res roundResult
	if err := os.RemoveAll(dir); err != nil {
		return res, &writeError{fmt.Errorf("clear %s: %w", dir, err)}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return res, &writeError{fmt.Errorf("failed to make directory: %w", err)}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, p.cfg.PullTimeout, fmt.Errorf("pull-timeout of %v reached", p.cfg.PullTimeout))
	defer cancel()
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)

	var mu sync.Mutex
	var firstErr error
	fail := func(name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
		res.missing = append(res.missing, name+": "+err.Error())
		if !p.cfg.AllowPartial {
			abort(err)
		}
	}

	units, masters := p.expand(ctx, targets, fail)
	res.masters = masters
	res.units, res.typed = map[string]bool{}, map[string]string{}
	for _, u := range units {
		res.units[u.name] = true
	}
	settled := func(name, version string) {
		mu.Lock()
		defer mu.Unlock()
		res.typed[name] = version
	}
	var g errgroup.Group
	g.SetLimit(p.cfg.Workers)
	var okUnits atomic.Int64
	for _, u := range units {
		g.Go(func() error {
			var inner errgroup.Group
			cmds := []string{haproxy.ShowInfo, haproxy.ShowStat}
			if u.target.Network == "http" {
				cmds = cmds[1:] // a stats page has the show stat dump only
			}
			for _, cmd := range cmds {
				inner.Go(func() error { return p.fetch(ctx, u, cmd, dir) })
			}
			if err := inner.Wait(); err != nil {
				os.Remove(filepath.Join(dir, spool.FileName(u.name, spool.Info)))
				os.Remove(filepath.Join(dir, spool.FileName(u.name, spool.Stat)))
				fail(u.name, err)
				return nil
			}
			if u.target.Network != "http" {
				p.fetchTyped(ctx, u, dir, settled)
				p.fetchTables(ctx, u, dir)
			}
			okUnits.Add(1)
			return nil
		})
	}
	g.Wait()
	var werr *writeError
	switch {
	case errors.As(firstErr, &werr):
		return res, firstErr // the disk, not a socket: never a partial round
	case firstErr != nil && !p.cfg.AllowPartial:
		return res, firstErr
	case okUnits.Load() == 0:
		if firstErr == nil {
			firstErr = errors.New("no socket to query")
		}
		return res, fmt.Errorf("no socket answered: %w", firstErr)
	}
	if p.cfg.AllowPartial {
		if err := spool.WriteManifest(dir, res.missing); err != nil {
			return res, &writeError{fmt.Errorf("write manifest: %w", err)}
		}
	}
	return res, nil
}

func (p *Puller) fetch(ctx context.Context, u unit, cmd, dir string) error {
	return p.fetchFile(ctx, u, cmd, filepath.Join(dir, spool.FileName(u.name, replyKind(cmd))))
}

// fetchFile stores the reply of u to cmd at path, synced.
func (p *Puller) fetchFile(ctx context.Context, u unit, cmd, path string) error {
	t := u.target
	if ctx.Err() != nil {
		return fmt.Errorf("%s socket %s: %w", t.Network, t.Address, context.Cause(ctx))
	}
	f, err := os.Create(path)
	if err != nil {
		return &writeError{err}
	}
	var w io.Writer = f
	var check *dump.StatChecker
	if cmd == haproxy.ShowStat {
		// The check process makes before it aggregates, as the reply
		// streams: a round is committed only with replies it accepts.
		check = &dump.StatChecker{W: f, FailFast: true}
		w = check
	}
	limit := p.cfg.MaxReplySize
	if limit <= 0 {
		limit = config.DefaultMaxReplySize
	}
	if cmd == haproxy.ShowTable {
		limit = min(limit, dump.MaxTableReply)
	}
	var n int64
	if t.Network == "http" {
		if p.pagesErr != nil {
			err = p.pagesErr
		} else {
			n, err = p.pages.Fetch(ctx, t, &limitWriter{w: w, left: limit, limit: limit})
		}
	} else {
		n, err = p.client.Fetch(ctx, t, u.command(cmd), &limitWriter{w: w, left: limit, limit: limit})
	}
	if check != nil {
		cerr := check.Failed() // found as the reply streamed: the fetch stopped there
		if cerr == nil && err == nil {
			cerr = check.Close()
		}
		if cerr != nil {
			err = fmt.Errorf("reply to %q is not a complete dump: %w", u.command(cmd), cerr)
		}
	}
	if err != nil {
		f.Close()
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Path == path {
			return &writeError{fmt.Errorf("failed to write data: %w", err)}
		}
		if u.pid != 0 {
			return fmt.Errorf("%s socket %s, worker %d: %w", t.Network, t.Address, u.pid, err)
		}
		return fmt.Errorf("%s socket %s: %w", t.Network, t.Address, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return &writeError{fmt.Errorf("sync %s: %w", path, err)}
	}
	if err := f.Close(); err != nil {
		return &writeError{fmt.Errorf("close %s: %w", path, err)}
	}
	p.log.Debug("reply stored", "socket", t.Address, "command", u.command(cmd), "bytes", n)
	return nil
}

// limitWriter passes writes on to w until more than limit bytes came:
// then it fails, which ends the fetch, so an endless reply stops at
// max-reply-size instead of filling tmp-dst-dir.
type limitWriter struct {
	w           io.Writer
	left, limit int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, fmt.Errorf("reply larger than max-reply-size (%d bytes): discarded", l.limit)
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

// replyKind is the kind of the spool file that holds the reply to cmd.
func replyKind(cmd string) spool.Kind {
	switch cmd {
	case haproxy.ShowInfo:
		return spool.Info
	case haproxy.ShowInfoTyped:
		return spool.InfoTyped
	case haproxy.ShowStatTyped:
		return spool.StatTyped
	case haproxy.ShowTable:
		return spool.Table
	}
	return spool.Stat
}

// fetchTables stores u's list of stick tables, after its show info and
// show stat replies. It is not needed for the round: a HAProxy that
// refuses it (or a round out of time) leaves the file out, logged once
// per socket.
func (p *Puller) fetchTables(ctx context.Context, u unit, dir string) {
	path := filepath.Join(dir, spool.FileName(u.name, spool.Table))
	if err := p.fetchFile(ctx, u, haproxy.ShowTable, path); err != nil {
		os.Remove(path)
		if _, logged := p.noTables.LoadOrStore(u.name, true); !logged && ctx.Err() == nil {
			p.log.Warn("cannot list the stick tables; the round goes on without them", "socket", u.target.Address, "name", u.name, "err", err)
		}
		return
	}
	p.noTables.Delete(u.name)
}
