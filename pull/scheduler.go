package pull

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fetch"
)

// leaseName is the leader lock of the pull scheduler.
const leaseName = "pull-leader"

// Options configure a Scheduler.
type Options struct {
	Sources []*Source
	Store   ww.Store
	State   ww.SyncState
	Key     []byte
	Clock   ww.Clock
	Overlap time.Duration
	Logger  *slog.Logger
	// Client is what every source's HTTP client shares (clock, sleeper,
	// transport).
	Client ClientOptions
	// Holder names this gateway instance in the leader lock (default
	// hostname-pid-random).
	Holder string
	// LeaseTTL is the leader lock's lifetime; the leader renews it every
	// third of it (default 30 s).
	LeaseTTL time.Duration
	// Tick is how often Run looks for due sources (default 1 s).
	Tick time.Duration
}

// Scheduler runs the sources' syncs on their intervals, on one gateway at a
// time: the holder of the leader lock in Redis.
type Scheduler struct {
	o       Options
	syncers map[string]*Syncer
	Board   *Board

	mu      sync.Mutex
	next    map[string]time.Time
	running map[string]bool
	wg      sync.WaitGroup
}

// New builds a scheduler (and each source's client).
func New(o Options) (*Scheduler, error) {
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		var r [4]byte
		rand.Read(r[:])
		o.Holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(r[:]))
	}
	if o.Client.Clock == nil {
		o.Client.Clock = o.Clock
	}
	if o.Client.Logger == nil {
		o.Client.Logger = o.Logger
	}
	s := &Scheduler{o: o, syncers: map[string]*Syncer{}, next: map[string]time.Time{}, running: map[string]bool{},
		Board: &Board{State: o.State, Clock: o.Clock, Sources: o.Sources}}
	for _, src := range o.Sources {
		c, err := NewClient(src, o.Client)
		if err != nil {
			return nil, err
		}
		s.syncers[src.ID] = &Syncer{Source: src, Client: c, Store: o.Store, State: o.State, Key: o.Key, Clock: o.Clock, Overlap: o.Overlap, Log: o.Logger}
	}
	return s, nil
}

// Syncer returns a source's syncer.
func (s *Scheduler) Syncer(id string) *Syncer { return s.syncers[id] }

// Holder is this instance's name in the leader lock.
func (s *Scheduler) Holder() string { return s.o.Holder }

// Lead acquires or renews the leader lock; it reports whether this
// instance leads.
func (s *Scheduler) Lead(ctx context.Context) (bool, error) {
	return s.o.State.Lease(ctx, leaseName, s.o.Holder, s.o.LeaseTTL)
}

// Step is one synchronous round: when this instance leads, every source
// that is due runs once, one after the other. Tests drive it with a fixed
// clock; Run does the same on a ticker, sources in parallel.
func (s *Scheduler) Step(ctx context.Context) error {
	lead, err := s.Lead(ctx)
	if err != nil || !lead {
		return err
	}
	var errs []error
	for _, src := range s.o.Sources {
		if !s.due(src) {
			continue
		}
		if _, err := s.RunSource(ctx, src.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) due(src *Source) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.running[src.ID] && !s.o.Clock.Now().Before(s.next[src.ID])
}

// Run schedules until ctx ends: it keeps the leader lock renewed, starts
// due sources in parallel while leading, and cancels running syncs when the
// lock is lost (another gateway then takes over from the durable cursors).
func (s *Scheduler) Run(ctx context.Context) error {
	tick := time.NewTicker(s.o.Tick)
	defer tick.Stop()
	var leadCtx context.Context
	var cancelLead context.CancelFunc = func() {}
	defer func() {
		cancelLead()
		s.wg.Wait()
		s.o.State.ReleaseLease(context.WithoutCancel(ctx), leaseName, s.o.Holder)
	}()
	lastRenew := time.Time{}
	leading := false
	for {
		if time.Since(lastRenew) >= s.o.LeaseTTL/3 || !leading {
			lead, err := s.Lead(ctx)
			if err != nil {
				s.o.Logger.Warn("pull leader lock: Redis", "err", err)
				lead = false
			}
			lastRenew = time.Now()
			switch {
			case lead && !leading:
				s.o.Logger.Info("pull scheduler: this gateway leads", "holder", s.o.Holder)
				leadCtx, cancelLead = withCancel(ctx)
			case !lead && leading:
				s.o.Logger.Warn("pull scheduler: lost the leader lock; stopping syncs", "holder", s.o.Holder)
				cancelLead()
			}
			leading = lead
		}
		if leading {
			for _, src := range s.o.Sources {
				if !s.due(src) {
					continue
				}
				s.mu.Lock()
				s.running[src.ID] = true
				s.mu.Unlock()
				s.wg.Add(1)
				go func(id string, ctx context.Context) {
					defer s.wg.Done()
					s.RunSource(ctx, id)
				}(src.ID, leadCtx)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// RunSource runs one sync of a source now (whether due or not) and records
// its status; the next run is due an interval after this one ends (or when
// the source's circuit closes).
func (s *Scheduler) RunSource(ctx context.Context, id string) (*Status, error) {
	sy := s.syncers[id]
	if sy == nil {
		return nil, fmt.Errorf("pull: no source %q", id)
	}
	src := sy.Source
	s.mu.Lock()
	s.running[id] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running[id] = false
		next := s.o.Clock.Now().Add(time.Duration(src.Interval))
		if until := sy.Client.Breaker().OpenUntil(); until.After(next) {
			next = until
		}
		s.next[id] = next
		s.mu.Unlock()
	}()
	st, err := s.Board.load(ctx, src)
	if err != nil {
		return nil, err
	}
	start := s.o.Clock.Now()
	st.Leader, st.LastRunStart, st.LastRun = s.o.Holder, start, nil
	reconcile := time.Duration(*src.ReconcileEvery) > 0 && !st.LastReconcile.IsZero() && start.Sub(st.LastReconcile) >= time.Duration(*src.ReconcileEvery)
	var runErr error
	if sy.Client.Breaker().Open() {
		runErr = fmt.Errorf("source %s: %w", id, fetch.ErrCircuitOpen)
	} else if src.Kind == KindBulkPublish {
		results, err := sy.SyncBulkPublish(ctx, reconcile || st.LastSuccess.IsZero())
		st.LastRun = append(st.LastRun, results...)
		runErr = err
	} else {
		for _, rc := range src.Resources {
			r, err := sy.SyncType(ctx, rc)
			st.LastRun = append(st.LastRun, r)
			if err != nil {
				runErr = err
				break
			}
			if reconcile && !rc.History {
				rr, err := sy.Reconcile(ctx, rc)
				st.LastRun = append(st.LastRun, rr)
				if err != nil {
					runErr = err
					break
				}
			}
		}
	}
	for _, r := range st.LastRun {
		st.Written += int64(r.Written)
		st.Deleted += int64(r.Deleted)
		st.Rejected += int64(r.Rejected)
	}
	st.Records = 0
	for _, rc := range src.Resources {
		n, err := s.o.State.HeldCount(ctx, id, rc.Type)
		if err == nil {
			st.Records += n
		}
	}
	st.LastRunEnd = s.o.Clock.Now()
	st.CircuitOpenUntil = sy.Client.Breaker().OpenUntil()
	if runErr != nil {
		st.ConsecutiveFailures++
		st.LastError, st.LastErrorAt = runErr.Error(), st.LastRunEnd
		s.o.Logger.Warn("pull run failed", "source", id, "failures", st.ConsecutiveFailures, "err", runErr.Error())
	} else {
		st.ConsecutiveFailures = 0
		st.LastSuccess = start
		if reconcile || st.LastReconcile.IsZero() {
			st.LastReconcile = start
		}
		s.o.Logger.Info("pull run finished", "source", id, "records", st.Records, "seconds", st.LastRunEnd.Sub(start).Seconds())
	}
	if err := s.Board.save(context.WithoutCancel(ctx), st); err != nil {
		return st, err
	}
	return st, runErr
}

// withCancel is context.WithCancel; the leader context is replaced each
// time the lock is won again and cancelled when it is lost or Run ends.
func withCancel(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(ctx)
}
