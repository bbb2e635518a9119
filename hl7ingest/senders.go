package hl7ingest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
)

// Senders holds the per-sender configuration and swaps it atomically when
// the file changes: Reload (on SIGHUP) or Watch (polling the file). A file
// that does not load keeps the configuration in force and logs why.
type Senders struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[hl7v2.Config]

	mu       sync.Mutex
	modTime  time.Time
	size     int64
	sum      []byte
	failures atomic.Int64
	loads    atomic.Int64
}

// NewSenders loads the configuration file at path (empty: no file, the
// empty configuration). The first load must succeed.
func NewSenders(path string, log *slog.Logger) (*Senders, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Senders{path: path, log: log}
	if path == "" {
		c, _ := hl7v2.NewConfig(hl7v2.SenderConfig{}, nil)
		s.cur.Store(c)
		return s, nil
	}
	if _, err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// StaticSenders wraps a configuration built in code (tests, tools).
func StaticSenders(c *hl7v2.Config) *Senders {
	s := &Senders{log: slog.Default()}
	if c == nil {
		c, _ = hl7v2.NewConfig(hl7v2.SenderConfig{}, nil)
	}
	s.cur.Store(c)
	return s
}

// Config returns the configuration in force.
func (s *Senders) Config() *hl7v2.Config { return s.cur.Load() }

// Path is the configuration file ("" when none).
func (s *Senders) Path() string { return s.path }

// Reload reads the file again and swaps the configuration when it loads;
// otherwise the old one stays and the error is returned (and logged).
func (s *Senders) Reload() error {
	if s.path == "" {
		return nil
	}
	changed, err := s.load()
	if err != nil {
		s.failures.Add(1)
		s.log.Error("hl7 sender configuration not reloaded; the previous one stays in force", "file", s.path, "err", err)
		return err
	}
	if changed {
		s.log.Info("hl7 sender configuration reloaded", "file", s.path, "senders", len(s.Config().Senders))
	}
	return nil
}

// load reads and swaps; it reports whether the content changed.
func (s *Senders) load() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(s.path)
	if err != nil {
		return false, fmt.Errorf("hl7 sender configuration: %w", err)
	}
	st, err := os.Stat(s.path)
	if err == nil {
		s.modTime, s.size = st.ModTime(), st.Size()
	}
	if s.cur.Load() != nil && bytes.Equal(b, s.sum) {
		return false, nil
	}
	c, err := hl7v2.LoadConfig(bytes.NewReader(b))
	if err != nil {
		return false, fmt.Errorf("%s: %w", s.path, err)
	}
	s.cur.Store(c)
	s.sum = b
	s.loads.Add(1)
	return true, nil
}

// Watch polls the file every interval and reloads it when its modification
// time or size changed, until ctx ends.
func (s *Senders) Watch(ctx context.Context, interval time.Duration) {
	if s.path == "" || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(s.path)
		if err != nil {
			continue
		}
		s.mu.Lock()
		changed := !st.ModTime().Equal(s.modTime) || st.Size() != s.size
		s.mu.Unlock()
		if changed {
			_ = s.Reload()
		}
	}
}
