package fetch

import (
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// BreakerOptions configure a circuit breaker. Zero values take the defaults
// in brackets.
type BreakerOptions struct {
	// Failures opens the circuit after this many consecutive failed calls [5].
	Failures int
	// Cooldown is the first pause [1m]; each failed probe doubles it up to
	// MaxCooldown [30m].
	Cooldown, MaxCooldown time.Duration
}

// Breaker pauses a failing source: closed (calls pass), open (calls fail
// fast until the cooldown ends), then half-open (one probe call; success
// closes, failure reopens for twice as long).
type Breaker struct {
	o     BreakerOptions
	clock ww.Clock

	mu       sync.Mutex
	failures int
	until    time.Time
	cooldown time.Duration
	probing  bool
}

// NewBreaker builds a breaker on clock.
func NewBreaker(o BreakerOptions, clock ww.Clock) *Breaker {
	if o.Failures <= 0 {
		o.Failures = 5
	}
	if o.Cooldown <= 0 {
		o.Cooldown = time.Minute
	}
	if o.MaxCooldown < o.Cooldown {
		o.MaxCooldown = 30 * time.Minute
		if o.MaxCooldown < o.Cooldown {
			o.MaxCooldown = o.Cooldown
		}
	}
	return &Breaker{o: o, clock: clock}
}

// Allow reports ErrCircuitOpen while the circuit is open; after the
// cooldown it lets one probe through.
func (b *Breaker) Allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.until.IsZero() {
		return nil
	}
	if b.clock.Now().Before(b.until) || b.probing {
		return ErrCircuitOpen
	}
	b.probing = true
	return nil
}

// Success closes the circuit.
func (b *Breaker) Success() {
	b.mu.Lock()
	b.failures, b.until, b.cooldown, b.probing = 0, time.Time{}, 0, false
	b.mu.Unlock()
}

// Failure counts a failed call; it reports whether the circuit opened now.
func (b *Breaker) Failure() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.probing {
		b.probing = false
		b.cooldown *= 2
		if b.cooldown > b.o.MaxCooldown {
			b.cooldown = b.o.MaxCooldown
		}
		b.until = b.clock.Now().Add(b.cooldown)
		return true
	}
	if b.until.IsZero() && b.failures >= b.o.Failures {
		b.cooldown = b.o.Cooldown
		b.until = b.clock.Now().Add(b.cooldown)
		return true
	}
	return false
}

// Open reports whether calls fail fast now.
func (b *Breaker) Open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.until.IsZero() && b.clock.Now().Before(b.until)
}

// OpenUntil is the end of the current pause (zero when closed).
func (b *Breaker) OpenUntil() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.until
}

// Failures is the count of consecutive failed calls.
func (b *Breaker) Failures() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures
}
