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

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

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
