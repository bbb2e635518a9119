package wachtwijzer

import (
	"sync"
	"time"
)

// Clock tells the time. Everything that stamps, expires, retries or backs off
// takes a Clock, so tests never sleep.
type Clock interface {
	Now() time.Time
}

// Sleeper is a Clock that can wait. A back-off waits through Sleep on its
// clock, so under a FixedClock it moves the clock instead of sleeping.
type Sleeper interface {
	Sleep(d time.Duration)
}

// Sleep waits d on c when c is a Sleeper, else on the wall clock.
func Sleep(c Clock, d time.Duration) {
	if s, ok := c.(Sleeper); ok {
		s.Sleep(d)
		return
	}
	time.Sleep(d)
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d.
func (SystemClock) Sleep(d time.Duration) { time.Sleep(d) }

// FixedClock is a Clock for tests: it returns T until moved.
type FixedClock struct {
	mu sync.Mutex
	T  time.Time
}

// Now returns the clock's time.
func (c *FixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.T
}

// Sleep moves the clock forward by d at once.
func (c *FixedClock) Sleep(d time.Duration) { c.Advance(d) }

// Advance moves the clock forward by d.
func (c *FixedClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.T = c.T.Add(d)
	c.mu.Unlock()
}

// Amsterdam is the Europe/Amsterdam location: all Dutch care happens there,
// and zone-less times are read in it. It falls back to a fixed CET offset only
// if the zone database is missing (the binary embeds it via time/tzdata).
var Amsterdam = loadAmsterdam()

func loadAmsterdam() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}
