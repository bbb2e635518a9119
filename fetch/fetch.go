package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Sleeper waits between retries. Sleep returns how long the HTTP client
// must still wait for real: RealSleeper returns d, a test sleeper moves its
// clock and returns 0.
type Sleeper interface {
	Sleep(d time.Duration) time.Duration
}

// RealSleeper waits on the wall clock (retryablehttp's timer, which the
// request context cancels).
type RealSleeper struct{}

// Sleep returns d.
func (RealSleeper) Sleep(d time.Duration) time.Duration { return d }

// ClockSleeper advances a test clock instead of waiting, and records every
// wait.
type ClockSleeper struct {
	Clock *ww.FixedClock
	mu    sync.Mutex
	waits []time.Duration
}

// Sleep advances the clock by d and returns 0.
func (s *ClockSleeper) Sleep(d time.Duration) time.Duration {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	s.Clock.Advance(d)
	return 0
}

// Waits returns the waits so far.
func (s *ClockSleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// Authorizer adds credentials to a request (a static bearer token, or a
// SMART Backend Services token); Invalidate drops a cached token after a
// 401.
type Authorizer interface {
	Authorize(ctx context.Context, req *http.Request) error
	Invalidate()
}

// Options configure a Client. Zero values take the defaults in brackets.
type Options struct {
	// Source names the source in logs and errors.
	Source string
	// Transport sends the requests (cleanhttp's pooled transport).
	Transport http.RoundTripper
	// Timeout bounds one attempt, reading the body included [30s].
	Timeout time.Duration
	// Deadline bounds one call with all its retries [5m].
	Deadline time.Duration
	// RetryMax is the number of retries after the first attempt [6].
	RetryMax int
	// WaitMin and WaitMax bound the exponential backoff [500ms, 1m].
	WaitMin, WaitMax time.Duration
	// MaxRetryAfter caps a server's Retry-After [10m].
	MaxRetryAfter time.Duration
	// MaxBody limits a response body [64 MiB].
	MaxBody int64
	// Breaker configures the circuit breaker.
	Breaker BreakerOptions
	Clock   ww.Clock
	Sleeper Sleeper
	Logger  *slog.Logger
	Auth    Authorizer
	// Jitter returns a number in [0,1) (default math/rand).
	Jitter func() float64
	// UserAgent is sent on every request.
	UserAgent string
}

// Client fetches from one source.
type Client struct {
	o       Options
	http    *http.Client
	breaker *Breaker
}

// New builds a client.
func New(o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Deadline <= 0 {
		o.Deadline = 5 * time.Minute
	}
	if o.RetryMax == 0 {
		o.RetryMax = 6
	}
	if o.RetryMax < 0 {
		o.RetryMax = 0
	}
	if o.WaitMin <= 0 {
		o.WaitMin = 500 * time.Millisecond
	}
	if o.WaitMax <= 0 {
		o.WaitMax = time.Minute
	}
	if o.WaitMax < o.WaitMin {
		o.WaitMax = o.WaitMin
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 10 * time.Minute
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 20
	}
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.Sleeper == nil {
		o.Sleeper = RealSleeper{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.UserAgent == "" {
		o.UserAgent = "wachtwijzer"
	}
	tr := o.Transport
	if tr == nil {
		tr = cleanhttp.DefaultPooledTransport()
	}
	return &Client{o: o, http: &http.Client{Transport: tr, Timeout: o.Timeout}, breaker: NewBreaker(o.Breaker, o.Clock)}
}

// Source is the client's source name.
func (c *Client) Source() string { return c.o.Source }

// Breaker is the client's circuit breaker.
func (c *Client) Breaker() *Breaker { return c.breaker }

// Response is a fetched response with its body read.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int
}

// Error is a failed call.
type Error struct {
	Source   string
	Status   int // the last HTTP status (0: none)
	Attempts int
	// Permanent is set for refusals a retry cannot fix (4xx).
	Permanent bool
	Err       error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("source %s: ", e.Source)
	if e.Status != 0 {
		s += fmt.Sprintf("HTTP %d ", e.Status)
	}
	return s + fmt.Sprintf("after %d attempt(s): %v", e.Attempts, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors.
var (
	ErrCircuitOpen = errors.New("circuit open: the source failed repeatedly and is paused")
	ErrDeadline    = errors.New("overall deadline reached")
	ErrTooLarge    = errors.New("response body over the size limit")
)

// bodyError is a body the caller's check refused: retried.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "unusable response body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// Check inspects a 2xx response; an error makes the client retry.
type Check func(*Response) error

// Get fetches url with Accept set to accept.
func (c *Client) Get(ctx context.Context, url, accept string, check Check) (*Response, error) {
	h := http.Header{}
	if accept != "" {
		h.Set("Accept", accept)
	}
	return c.Do(ctx, http.MethodGet, url, nil, h, check)
}

// Do sends a request with retries, and reads the body of the final
// response. Any 2xx passes check (when given); other statuses are returned
// as an *Error carrying the status, after retries where they make sense.
func (c *Client) Do(ctx context.Context, method, url string, body []byte, header http.Header, check Check) (*Response, error) {
	if err := c.breaker.Allow(); err != nil {
		return nil, &Error{Source: c.o.Source, Err: err}
	}
	resp, err := c.do(ctx, method, url, body, header, check)
	var fe *Error
	switch {
	case err == nil:
		c.breaker.Success()
	case errors.As(err, &fe) && fe.Permanent, ctx.Err() != nil:
		// A 4xx is the source answering; a cancelled call says nothing
		// about the source.
	default:
		if opened := c.breaker.Failure(); opened {
			c.o.Logger.Warn("source paused: circuit open", "source", c.o.Source, "until", c.breaker.OpenUntil().UTC().Format(time.RFC3339))
		}
	}
	return resp, err
}

func (c *Client) do(ctx context.Context, method, url string, body []byte, header http.Header, check Check) (*Response, error) {
	deadline := c.o.Clock.Now().Add(c.o.Deadline)
	ctx, cancel := context.WithTimeout(ctx, c.o.Deadline+c.o.Timeout)
	defer cancel()
	var rb any
	if body != nil {
		rb = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, url, rb)
	if err != nil {
		return nil, &Error{Source: c.o.Source, Permanent: true, Err: fmt.Errorf("build request: %w", err)}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", c.o.UserAgent)
	if c.o.Auth != nil {
		if err := c.o.Auth.Authorize(ctx, req.Request); err != nil {
			return nil, &Error{Source: c.o.Source, Err: fmt.Errorf("authorise: %w", err)}
		}
	}
	var (
		out      *Response
		attempts int
		giveUp   error
		reauth   bool
		renewed  bool
	)
	req.SetResponseHandler(func(r *http.Response) error {
		b, err := io.ReadAll(io.LimitReader(r.Body, c.o.MaxBody+1))
		r.Body.Close()
		if err != nil {
			return &bodyError{fmt.Errorf("read: %w", err)}
		}
		if int64(len(b)) > c.o.MaxBody {
			return ErrTooLarge
		}
		out = &Response{Status: r.StatusCode, Header: r.Header, Body: b}
		if r.StatusCode >= 200 && r.StatusCode < 300 && check != nil {
			if err := check(out); err != nil {
				return &bodyError{err}
			}
		}
		return nil
	})
	rc := &retryablehttp.Client{
		HTTPClient:   c.http,
		Logger:       nil, // retryablehttp logs URLs; ours never does
		RetryWaitMin: c.o.WaitMin,
		RetryWaitMax: c.o.WaitMax,
		RetryMax:     c.o.RetryMax,
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, n int) {
			attempts = n + 1
		},
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if errors.Is(err, ErrTooLarge) {
				return false, err
			}
			var be *bodyError
			if errors.As(err, &be) {
				return true, err
			}
			if err != nil {
				ok, _ := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
				return ok, err
			}
			switch {
			case resp.StatusCode == http.StatusUnauthorized && c.o.Auth != nil && !renewed:
				renewed, reauth = true, true
				c.o.Auth.Invalidate()
				return true, nil
			case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusServiceUnavailable:
				return true, nil
			case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
				return true, nil
			}
			return false, nil
		},
		Backoff: func(min, max time.Duration, n int, resp *http.Response) time.Duration {
			d := c.backoff(n, resp)
			if reauth {
				d = 0
			}
			if c.o.Clock.Now().Add(d).After(deadline) {
				giveUp = ErrDeadline
				return 0
			}
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			c.o.Logger.Info("source request retried", "source", c.o.Source, "attempt", n+1, "status", status, "wait", d.String())
			return c.o.Sleeper.Sleep(d)
		},
		PrepareRetry: func(r *http.Request) error {
			if giveUp != nil {
				return giveUp
			}
			out = nil
			if reauth {
				reauth = false
				if err := c.o.Auth.Authorize(r.Context(), r); err != nil {
					return fmt.Errorf("authorise: %w", err)
				}
			}
			return nil
		},
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	resp, err := rc.Do(req)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if err != nil {
		c.o.Logger.Warn("source request failed", "source", c.o.Source, "attempts", attempts, "status", status, "err", errText(err))
		return nil, &Error{Source: c.o.Source, Status: status, Attempts: attempts, Err: redact(err)}
	}
	if out == nil {
		// Retries ran out on a retryable status (the body was never read).
		c.o.Logger.Warn("source request failed", "source", c.o.Source, "attempts", attempts, "status", status)
		return nil, &Error{Source: c.o.Source, Status: status, Attempts: attempts, Err: fmt.Errorf("%s, retries exhausted", http.StatusText(status))}
	}
	out.Attempts = attempts
	if out.Status < 200 || out.Status > 299 {
		perm := out.Status >= 400 && out.Status < 500 && out.Status != http.StatusTooManyRequests
		c.o.Logger.Warn("source refused the request", "source", c.o.Source, "status", out.Status, "attempts", attempts)
		return out, &Error{Source: c.o.Source, Status: out.Status, Attempts: attempts, Permanent: perm, Err: fmt.Errorf("%s", statusText(out))}
	}
	return out, nil
}

// redact removes the query from the URL net/http puts in its errors (a
// query can hold patient data).
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery, u.User, u.Fragment = "", nil, ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
		return &url.Error{Op: ue.Op, URL: "(url)", Err: ue.Err}
	}
	return err
}

// errText describes an error without the URL Go's net/http puts in it.
func errText(err error) string {
	var ue interface{ Unwrap() error }
	s := err.Error()
	for errors.As(err, &ue) {
		if u, ok := err.(interface{ Timeout() bool }); ok && u.Timeout() {
			return "timeout"
		}
		err = ue.Unwrap()
		if err == nil {
			break
		}
		s = err.Error()
	}
	return s
}

func statusText(r *Response) string {
	t := http.StatusText(r.Status)
	if t == "" {
		t = "status " + strconv.Itoa(r.Status)
	}
	return t
}

// backoff is the wait before retry n (0-based): the server's Retry-After on
// 429/503, else WaitMin·2ⁿ capped at WaitMax, with equal jitter (half fixed,
// half random).
func (c *Client) backoff(n int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := RetryAfter(resp.Header.Get("Retry-After"), c.o.Clock.Now()); ok {
			if d > c.o.MaxRetryAfter {
				d = c.o.MaxRetryAfter
			}
			return d
		}
	}
	base := float64(c.o.WaitMin) * math.Pow(2, float64(n))
	if base > float64(c.o.WaitMax) || math.IsInf(base, 0) {
		base = float64(c.o.WaitMax)
	}
	return time.Duration(base/2 + c.o.Jitter()*base/2)
}

// RetryAfter parses a Retry-After header (delay seconds or an HTTP date,
// measured from now).
func RetryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > 1<<31 {
			s = 1 << 31
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// Doer adapts the client to the http.Client-like interface token clients
// take (smart.Doer): the request body is buffered so it can be retried.
func (c *Client) Doer() interface {
	Do(*http.Request) (*http.Response, error)
} {
	return doer{c}
}

type doer struct{ c *Client }

func (d doer) Do(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	resp, err := d.c.Do(r.Context(), r.Method, r.URL.String(), body, r.Header, nil)
	if resp == nil {
		return nil, err
	}
	return &http.Response{StatusCode: resp.Status, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(resp.Body)), Request: r}, nil
}
