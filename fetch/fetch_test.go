package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// script serves a sequence of behaviours, one per request; the last one
// repeats.
type script struct {
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, r *http.Request)
	n     int
	auth  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := s.n
	if i >= len(s.steps) {
		i = len(s.steps) - 1
	}
	s.n++
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	s.steps[i](w, r)
}

func (s *script) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func status(code int, hdr ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		w.Write([]byte(`{"resourceType":"OperationOutcome"}`))
	}
}

func ok(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }
}

// truncated announces more bytes than it sends.
func truncated(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "100")
	w.Write([]byte(`{"resourceType":"Bun`))
}

func hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

var isJSON Check = func(r *Response) error {
	var v map[string]any
	return json.Unmarshal(r.Body, &v)
}

type fixture struct {
	clock   *ww.FixedClock
	sleeper *ClockSleeper
	logs    *bytes.Buffer
}

func newClient(t *testing.T, s *script, mod func(*Options)) (*Client, string, *fixture) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	f := &fixture{clock: &ww.FixedClock{T: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	f.sleeper = &ClockSleeper{Clock: f.clock}
	o := Options{Source: "zkh-noord", Clock: f.clock, Sleeper: f.sleeper, Timeout: 300 * time.Millisecond,
		WaitMin: time.Second, WaitMax: 30 * time.Second, Deadline: 10 * time.Minute, Jitter: func() float64 { return 0.5 },
		Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	if mod != nil {
		mod(&o)
	}
	return New(o), srv.URL + "/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911120", f
}

func TestRetriesTransientFailuresWithoutSleeping(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){
		status(429, "Retry-After", "7"), status(500), truncated, ok(`{not json`), hang, status(503, "Retry-After", "Wed, 25 Nov 2026 10:05:00 GMT"), ok(`{"resourceType":"Bundle"}`),
	}}
	c, u, f := newClient(t, s, nil)
	wall := time.Now()
	resp, err := c.Get(context.Background(), u, "application/fhir+json", isJSON)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != `{"resourceType":"Bundle"}` || resp.Attempts != 7 || s.calls() != 7 {
		t.Fatalf("body %s after %d attempts (%d calls)", resp.Body, resp.Attempts, s.calls())
	}
	waits := f.sleeper.Waits()
	// 429 → its Retry-After of 7 s; then exponential with equal jitter
	// (0.75 × 1 s·2ⁿ); the 503's HTTP date is 10:05 on the clock.
	if len(waits) != 6 || waits[0] != 7*time.Second || waits[1] != 1500*time.Millisecond || waits[2] != 3*time.Second || waits[3] != 6*time.Second || waits[4] != 12*time.Second {
		t.Fatalf("waits = %v", waits)
	}
	if at := f.clock.Now(); !at.Equal(time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)) {
		t.Fatalf("the 503's Retry-After date was not honoured: clock at %v, waits %v", at, waits)
	}
	if el := time.Since(wall); el > 3*time.Second {
		t.Fatalf("the retries took %v of real time: they slept", el)
	}
	if strings.Contains(f.logs.String(), "999911120") || strings.Contains(f.logs.String(), "identifier") {
		t.Fatalf("the log carries the URL or a BSN:\n%s", f.logs)
	}
	if !strings.Contains(f.logs.String(), "source=zkh-noord") {
		t.Fatalf("the log does not name the source:\n%s", f.logs)
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	for _, code := range []int{400, 403, 404, 410, 422} {
		s := &script{steps: []func(http.ResponseWriter, *http.Request){status(code), ok(`{}`)}}
		c, u, _ := newClient(t, s, nil)
		_, err := c.Get(context.Background(), u, "", isJSON)
		var fe *Error
		if !errors.As(err, &fe) || fe.Status != code || !fe.Permanent || s.calls() != 1 {
			t.Fatalf("%d: err %v after %d calls; want one permanent failure", code, err, s.calls())
		}
	}
}

func TestDeadlineStopsRetrying(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){status(429, "Retry-After", "3600"), ok(`{}`)}}
	c, u, f := newClient(t, s, func(o *Options) { o.Deadline = time.Minute; o.MaxRetryAfter = 2 * time.Hour })
	_, err := c.Get(context.Background(), u, "", isJSON)
	if !errors.Is(err, ErrDeadline) || s.calls() != 1 || len(f.sleeper.Waits()) != 0 {
		t.Fatalf("err %v, %d calls, waits %v; want a deadline error without waiting an hour", err, s.calls(), f.sleeper.Waits())
	}
}

func TestRetriesExhaustedOn5xx(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){status(502)}}
	c, u, _ := newClient(t, s, func(o *Options) { o.RetryMax = 3 })
	_, err := c.Get(context.Background(), u, "", isJSON)
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != 502 || fe.Permanent || s.calls() != 4 {
		t.Fatalf("err %v after %d calls", err, s.calls())
	}
}

func TestCircuitOpensPausesAndProbes(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){status(500)}}
	c, u, f := newClient(t, s, func(o *Options) {
		o.RetryMax = -1
		o.Breaker = BreakerOptions{Failures: 3, Cooldown: time.Minute, MaxCooldown: 10 * time.Minute}
	})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		c.Get(ctx, u, "", nil)
	}
	if !c.Breaker().Open() {
		t.Fatal("three failures did not open the circuit")
	}
	_, err := c.Get(ctx, u, "", nil)
	if !errors.Is(err, ErrCircuitOpen) || s.calls() != 3 {
		t.Fatalf("an open circuit let a call through: %v, %d calls", err, s.calls())
	}
	f.clock.Advance(61 * time.Second)
	c.Get(ctx, u, "", nil) // the probe fails: reopen for 2 min
	if s.calls() != 4 || !c.Breaker().Open() {
		t.Fatalf("probe: %d calls, open %v", s.calls(), c.Breaker().Open())
	}
	f.clock.Advance(61 * time.Second)
	if _, err := c.Get(ctx, u, "", nil); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("the cooldown did not double: %v", err)
	}
	s.mu.Lock()
	s.steps = []func(http.ResponseWriter, *http.Request){ok(`{}`)}
	s.mu.Unlock()
	f.clock.Advance(time.Minute)
	if _, err := c.Get(ctx, u, "", nil); err != nil || c.Breaker().Open() || c.Breaker().Failures() != 0 {
		t.Fatalf("a good probe did not close the circuit: %v", err)
	}
}

type bearer struct {
	mu          sync.Mutex
	n           int
	invalidated int
}

func (b *bearer) Authorize(_ context.Context, r *http.Request) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	r.Header.Set("Authorization", "Bearer t"+string(rune('0'+b.n)))
	return nil
}

func (b *bearer) Invalidate() { b.mu.Lock(); b.invalidated++; b.mu.Unlock() }

func TestExpiredTokenRenewedOnceOn401(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){status(401), ok(`{}`)}}
	a := &bearer{}
	c, u, _ := newClient(t, s, func(o *Options) { o.Auth = a })
	if _, err := c.Get(context.Background(), u, "", isJSON); err != nil {
		t.Fatal(err)
	}
	if a.invalidated != 1 || s.auth[0] != "Bearer t1" || s.auth[1] != "Bearer t2" {
		t.Fatalf("invalidated %d, auth headers %v", a.invalidated, s.auth)
	}
	s2 := &script{steps: []func(http.ResponseWriter, *http.Request){status(401)}}
	c2, u2, _ := newClient(t, s2, func(o *Options) { o.Auth = &bearer{} })
	var fe *Error
	if _, err := c2.Get(context.Background(), u2, "", nil); !errors.As(err, &fe) || fe.Status != 401 || s2.calls() != 2 {
		t.Fatalf("a persistent 401: %v after %d calls", err, s2.calls())
	}
}

func TestRetryAfterForms(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{"120": 2 * time.Minute, "0": 0, "Wed, 25 Nov 2026 10:00:30 GMT": 30 * time.Second, "Wed, 25 Nov 2026 09:00:00 GMT": 0} {
		if d, ok := RetryAfter(h, now); !ok || d != want {
			t.Errorf("%q → %v %v, want %v", h, d, ok, want)
		}
	}
	for _, h := range []string{"", "-5", "soon"} {
		if _, ok := RetryAfter(h, now); ok {
			t.Errorf("%q parsed", h)
		}
	}
}
