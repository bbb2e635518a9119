package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

// Backend stores the chain (redisstore.Store).
type Backend interface {
	AuditHead(ctx context.Context) (string, error)
	AppendAudit(ctx context.Context, head string, entries []redisstore.AuditAppend) (ids []string, stale bool, cur string, err error)
	AuditRange(ctx context.Context, start, end string, count int64, reverse bool) ([]redisstore.AuditEntry, error)
}

// Log appends Events to the chain and reads them back.
//
// Concurrent Records are group-committed: each request queues its event; one
// request at a time leads, appending everything queued so far in one script
// call, while the others wait on their own event's outcome (no convoy on a
// lock: a waiter wakes once, when its batch is stored or when it is handed
// the lead). Every request still returns only after its own entry is in
// Redis.
type Log struct {
	b     Backend
	clock ww.Clock
	// head and known are the leader's: only the request leading touches them.
	head  string // last known head; "" unknown or empty chain
	known bool

	qmu     sync.Mutex
	queue   []*pendingEvent
	leading bool // a request is appending; the queue waits for it
}

// pendingEvent is a queued Record waiting for its batch.
type pendingEvent struct {
	body []byte
	// done receives the batch's outcome, or errLead when this request is
	// to lead the next batch (buffered: 1).
	done chan error
}

// errLead tells a waiting request that it leads the next batch.
var errLead = errors.New("audit: lead the next batch")

// maxBatch bounds the entries of one append (the script's arguments).
const maxBatch = 256

// New returns a Log over b.
func New(b Backend, clock ww.Clock) *Log {
	if clock == nil {
		clock = ww.SystemClock{}
	}
	return &Log{b: b, clock: clock}
}

// Hash is the chain hash of an entry: hex(SHA-256(prev "\n" event)).
func Hash(prev string, event []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(event)
	return hex.EncodeToString(h.Sum(nil))
}

// hashOf returns the hash part of a head "<id> <hash>".
func hashOf(head string) string {
	_, h, _ := strings.Cut(head, " ")
	return h
}

// maxRetries bounds appends that lose the race to other gateways.
const maxRetries = 50

// Record appends e (Recorded set from the clock when zero). An error means
// the access was not logged; the caller must fail the request.
func (l *Log) Record(ctx context.Context, e *Event) error {
	if e.Recorded.IsZero() {
		e.Recorded = l.clock.Now().UTC()
	}
	if y := e.Recorded.Year(); y < 0 || y > 9999 {
		return ww.Errorf(ww.KindInternal, "exception", "the access cannot be logged: its time %s is outside years 0-9999", e.Recorded)
	}
	p := &pendingEvent{body: e.appendJSON(make([]byte, 0, 384)), done: make(chan error, 1)}
	l.qmu.Lock()
	l.queue = append(l.queue, p)
	lead := !l.leading
	l.leading = true
	l.qmu.Unlock()
	if !lead {
		if err := <-p.done; err != errLead {
			return err
		}
	}
	// The batch carries other requests' events: a cancelled request must
	// not fail them.
	l.lead(context.WithoutCancel(ctx))
	return <-p.done
}

// lead appends what is queued (this request's event among it), then hands
// the lead to the oldest request queued meanwhile, or gives it up.
func (l *Log) lead(ctx context.Context) {
	// Let the requests that are about to record (runnable now) queue first:
	// a bigger batch costs one round trip all the same.
	runtime.Gosched()
	l.qmu.Lock()
	batch := l.queue
	l.queue = nil
	l.qmu.Unlock()
	defer l.handOff()
	defer func() {
		// A panic must not leave the batch waiting, nor the lead taken.
		if v := recover(); v != nil {
			l.known = false
			for _, q := range batch {
				q.done <- errAborted
			}
			panic(v)
		}
	}()
	for len(batch) > 0 {
		n := min(len(batch), maxBatch)
		err := l.append(ctx, batch[:n])
		for _, q := range batch[:n] {
			q.done <- err
		}
		batch = batch[n:]
	}
}

// errAborted answers the events of a batch whose append panicked.
var errAborted = ww.Errorf(ww.KindInternal, "exception", "the access log write was aborted")

// handOff passes the lead to the oldest request queued meanwhile, or gives
// it up.
func (l *Log) handOff() {
	l.qmu.Lock()
	if len(l.queue) > 0 {
		l.queue[0].done <- errLead
	} else {
		l.leading = false
	}
	l.qmu.Unlock()
}

// payload is what one stream entry of a batch holds: the event's JSON for a
// batch of one, else a JSON array of the batch's events in the order they
// were recorded (a group commit: one entry, one hash, one XADD).
func payload(batch []*pendingEvent) []byte {
	if len(batch) == 1 {
		return batch[0].body
	}
	n := 2
	for _, q := range batch {
		n += len(q.body) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, q := range batch {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, q.body...)
	}
	return append(out, ']')
}

// append writes one batch on the known head, retrying on the head another
// gateway moved. Only the leading request calls it.
func (l *Log) append(ctx context.Context, batch []*pendingEvent) error {
	var err error
	if !l.known {
		if l.head, err = l.b.AuditHead(ctx); err != nil {
			return err
		}
		l.known = true
	}
	body := payload(batch)
	entries := make([]redisstore.AuditAppend, 1)
	for i := 0; i < maxRetries; i++ {
		prev := hashOf(l.head)
		h := Hash(prev, body)
		entries[0] = redisstore.AuditAppend{Prev: prev, Hash: h, Event: body}
		ids, stale, cur, err := l.b.AppendAudit(ctx, l.head, entries)
		if err != nil {
			l.known = false
			return err
		}
		if stale {
			// Another gateway appended first. Gateways that keep losing to
			// each other back off a little, at random, so one of them wins
			// (through the clock: a test's FixedClock moves instead).
			l.head = cur
			if i > 1 {
				ww.Sleep(l.clock, time.Duration(1+rand.Int64N(int64(i)*int64(50*time.Microsecond))))
			}
			continue
		}
		l.head = ids[len(ids)-1] + " " + h
		return nil
	}
	return ww.Errorf(ww.KindUnavailable, "transient", "the audit log is too busy; try again")
}

// Entry is a stored entry with its event decoded.
type Entry struct {
	ID    string          `json:"id"`
	Prev  string          `json:"prev"`
	Hash  string          `json:"hash"`
	Event json.RawMessage `json:"event"`
}

// Events returns the events an entry holds, in the order they were
// recorded: its one event, or a group commit's (an entry whose event is a
// JSON array).
func (e Entry) Events() ([]json.RawMessage, error) {
	b := bytes.TrimLeft(e.Event, " \t\r\n")
	if len(b) == 0 || b[0] != '[' {
		return []json.RawMessage{e.Event}, nil
	}
	var evs []json.RawMessage
	if err := json.Unmarshal(b, &evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// Each calls fn for every entry, oldest first, reading in batches.
func (l *Log) Each(ctx context.Context, fn func(Entry) error) error {
	start := "-"
	for {
		batch, err := l.b.AuditRange(ctx, start, "+", 500, false)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(Entry{ID: e.ID, Prev: e.Prev, Hash: e.Hash, Event: e.Event}); err != nil {
				return err
			}
		}
		if len(batch) < 500 {
			return nil
		}
		start = "(" + batch[len(batch)-1].ID
	}
}

// Head returns the stored chain head.
func (l *Log) Head(ctx context.Context) (string, error) { return l.b.AuditHead(ctx) }

// Verifier checks a chain entry by entry.
type Verifier struct {
	n      int // entries
	events int
	prev   string
	last   string
}

// Add checks the next entry: it must point at the previous entry's hash and
// its own hash must match its content.
func (v *Verifier) Add(e Entry) error {
	v.n++
	if e.Prev != v.prev {
		return fmt.Errorf("entry %d (%s): its prev %.12s… is not the hash %.12s… of the entry before it: an entry was removed or inserted", v.n, e.ID, e.Prev, v.prev)
	}
	if h := Hash(e.Prev, e.Event); h != e.Hash {
		return fmt.Errorf("entry %d (%s): its content does not match its hash: the entry was changed", v.n, e.ID)
	}
	evs, err := e.Events()
	if err != nil {
		return fmt.Errorf("entry %d (%s): its events are unreadable: %v", v.n, e.ID, err)
	}
	v.events += len(evs)
	v.prev, v.last = e.Hash, e.ID
	return nil
}

// Finish checks the chain's end against the stored head ("" skips the
// check, for an export without it) and returns the number of events the
// verified entries hold.
func (v *Verifier) Finish(head string) (int, error) {
	if head == "" {
		return v.events, nil
	}
	if want := v.last + " " + v.prev; head != want {
		return v.events, fmt.Errorf("the chain head %.40s… is not the last entry (%s): entries at the end were removed", head, v.last)
	}
	return v.events, nil
}

// Verify checks the stored chain and returns the number of events it holds.
func (l *Log) Verify(ctx context.Context) (int, error) {
	head, err := l.b.AuditHead(ctx)
	if err != nil {
		return 0, err
	}
	var v Verifier
	if err := l.Each(ctx, v.Add); err != nil {
		return v.events, err
	}
	return v.Finish(head)
}
