package app

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progress reports a long job: a progress bar (count, rate, ETA) on a
// terminal, plain log lines every few seconds otherwise (CI, files).
type progress struct {
	bar     *progressbar.ProgressBar
	log     *slog.Logger
	what    string
	total   int64
	done    atomic.Int64
	start   time.Time
	stop    chan struct{}
	stopped chan struct{}
}

func newProgress(w io.Writer, log *slog.Logger, what string, total int64) *progress {
	p := &progress{log: log, what: what, total: total, start: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("res"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
		close(p.stopped)
		return p
	}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.logLine()
			}
		}
	}()
	return p
}

func (p *progress) logLine() {
	n := p.done.Load()
	el := time.Since(p.start).Seconds()
	rate := float64(n) / el
	eta := "?"
	if rate > 0 && p.total > 0 {
		eta = (time.Duration(float64(p.total-n)/rate) * time.Second).Truncate(time.Second).String()
	}
	p.log.Info(p.what, "done", n, "total", p.total, "per_second", int(rate), "eta", eta)
}

func (p *progress) add(n int) {
	p.done.Add(int64(n))
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		return
	}
	close(p.stop)
	<-p.stopped
	p.logLine()
}
