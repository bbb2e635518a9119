// Package fetch is the one way Wachtwijzer makes outbound HTTP requests
// (pull sources, bulk import URLs, SMART Scheduling Links publishers, SMART
// token endpoints): a Client per source on top of
// github.com/hashicorp/go-retryablehttp.
//
// What it adds to retryablehttp, through its CheckRetry, Backoff,
// PrepareRetry and response-handler hooks:
//
//   - Retries on connection errors, timeouts, 5xx (not 501), 429 and on a
//     body the caller's check refuses (truncated, not JSON); never on other
//     4xx. A 401 with an Authorizer renews the token once.
//   - Exponential backoff with equal jitter between WaitMin and WaitMax;
//     Retry-After (seconds or an HTTP date, read on the injected clock) on
//     429 and 503, capped at MaxRetryAfter.
//   - A per-attempt timeout and an overall deadline measured on the
//     injected clock: a retry that would wait past it gives up instead.
//   - A circuit breaker per client: after Failures consecutive failed calls
//     the source is paused for Cooldown (doubling up to MaxCooldown on each
//     failed probe); calls fail fast with ErrCircuitOpen meanwhile.
//   - Waiting goes through a Sleeper. RealSleeper lets retryablehttp's own
//     timer wait (cancellable by the context); tests pass a ClockSleeper
//     that moves a wachtwijzer.FixedClock forward and waits zero, so retry
//     and backoff tests never sleep.
//   - Logs name the source, the attempt, the status and the wait — never a
//     URL, query or body, which can hold patient data. retryablehttp's own
//     logger is switched off for that reason.
package fetch
