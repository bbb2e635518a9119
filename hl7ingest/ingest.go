package hl7ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

// Store is what ingest needs of the store: commits with receipts, receipts
// and dead letters (redisstore.Store).
type Store interface {
	ww.Store
	Receipt(ctx context.Context, kind, key string) ([]byte, error)
	FindReceipts(ctx context.Context, kind, keyPrefix string, limit int) (map[string][]byte, error)
	PutDeadLetter(ctx context.Context, kind, id string, received time.Time, value []byte) (bool, error)
	DeleteDeadLetter(ctx context.Context, kind, id string) (bool, error)
	GetDeadLetter(ctx context.Context, kind, id string) (*redisstore.DeadLetter, error)
	DeadLetters(ctx context.Context, kind string, before int64, count int) ([]*redisstore.DeadLetter, int64, error)
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	ClaimDelivery(ctx context.Context, lease, holder string, ttl time.Duration, receiptKind, receiptKey, dlKind, dlID string, reads ...redisstore.Read) (redisstore.Delivery, error)
}

var _ Store = (*redisstore.Store)(nil)

// Defaults of Options.
const (
	DefaultDedupTTL     = 7 * 24 * time.Hour
	DefaultWriteTimeout = 10 * time.Second
)

// Options configure a Processor.
type Options struct {
	Store         Store
	DeploymentKey []byte
	Senders       *Senders
	Clock         ww.Clock
	Logger        *slog.Logger
	// DedupTTL is how long a message's deduplication record lives
	// (default 7 days).
	DedupTTL time.Duration
	// WriteTimeout bounds the store work of one message (default 10 s);
	// past it the message gets AR 207 and the sender resends.
	WriteTimeout time.Duration
	// Metrics (nil: unregistered counters).
	Metrics *Metrics
	// ACK configures the acknowledgments (clock and zone default to the
	// Processor's).
	ACK hl7v2.ACKOptions
}

// Processor turns HL7 v2 messages into stored FHIR resources and
// acknowledgments. It is safe for concurrent use.
type Processor struct {
	o   Options
	log *slog.Logger
	m   *Metrics
	// after tracks the clean-up that runs once a message's ACK is decided
	// (releasing its lease, clearing a resolved dead letter), off the
	// path to the ACK; Wait waits for it.
	after sync.WaitGroup
}

// later runs fn after the ACK is decided, without holding the ACK back.
func (p *Processor) later(fn func()) {
	p.after.Add(1)
	go func() {
		defer p.after.Done()
		fn()
	}()
}

// Wait waits for the clean-up of every processed message (call it when the
// listener has drained, before the store closes).
func (p *Processor) Wait() { p.after.Wait() }

// New builds a Processor.
func New(o Options) (*Processor, error) {
	if o.Store == nil {
		return nil, errors.New("hl7ingest: no store")
	}
	if len(o.DeploymentKey) == 0 {
		return nil, errors.New("hl7ingest: no deployment key")
	}
	if o.Senders == nil {
		o.Senders = StaticSenders(nil)
	}
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DedupTTL <= 0 {
		o.DedupTTL = DefaultDedupTTL
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.ACK.Clock == nil {
		o.ACK.Clock = o.Clock
	}
	return &Processor{o: o, log: o.Logger, m: o.Metrics}, nil
}

// Senders returns the reloadable sender configuration.
func (p *Processor) Senders() *Senders { return p.o.Senders }

// Written is one resource write of a message.
type Written struct {
	Type, ID string
	Version  int64      // 0 when nothing was written
	Outcome  ww.Outcome // Created, Updated, Unchanged (IfAbsent kept the stored one), Superseded
}

// Result is what became of one message.
type Result struct {
	// ACK is the reply to send; nil when the sender asked for none
	// (enhanced mode MSH-15 NE, or ER/SU not matching the outcome).
	ACK []byte
	// Code is MSA-1 of the acknowledgment (also when ACK is nil).
	Code     string
	Problems []hl7v2.Problem
	// Duplicate: the same message was accepted before; ACK is the stored
	// one and nothing was written.
	Duplicate bool
	// Written lists the resource writes (accepted messages).
	Written []Written
	// Superseded counts writes an ordering check skipped.
	Superseded int
	// DeadLetter is the id of the dead letter a rejected message went to.
	DeadLetter string
	// StoreFailed: the store could not be reached or timed out (AR 207).
	StoreFailed bool
}

// ProcessOptions change how one message is processed.
type ProcessOptions struct {
	// Force (replay --force) skips the deduplication look-up and the
	// ordering check: the message's resources are written even when the
	// store holds versions from newer messages.
	Force bool
	// Replay marks a replay from the dead-letter store (for logs).
	Replay bool
}

var (
	errNoControlID = &hl7v2.MappingError{Problems: []hl7v2.Problem{{Severity: hl7v2.SeverityError, Code: hl7v2.CodeRequiredField,
		Segment: "MSH", Seq: 1, Field: 10, Text: "MSH-10 (message control id) is empty: the message can be neither acknowledged nor deduplicated"}}}
)

// Process handles one message: parse, map, validate, deduplicate, commit
// (one atomic commit with the deduplication record), and build the ACK,
// which is sent only after the durable write. Rejected messages go to the
// dead-letter store.
func (p *Processor) Process(ctx context.Context, raw []byte, po ProcessOptions) *Result {
	start := p.o.Clock.Now()
	cfg := p.o.Senders.Config()
	m, err := hl7v2.Parse(raw, hl7v2.ParseOptions{Senders: cfg})
	sum := hashOf(raw)
	st := &state{p: p, raw: raw, m: m, sum: sum, received: start, po: po, cfg: cfg}
	if m != nil {
		st.sender = cfg.SenderKey(m.SendingApplication, m.SendingFacility)
		st.key = dedupKey(m.ControlID, m.SendingApplication, m.SendingFacility)
		st.typ = m.Type + "^" + m.Trigger
	}
	r := st.run(ctx, err)
	label := st.sender
	if label == "" {
		label = "other"
	}
	p.m.messages.WithLabelValues(label, metricType(st.typ), r.Code).Inc()
	p.m.seconds.Observe(p.o.Clock.Now().Sub(start).Seconds())
	return r
}

// state is one message in processing.
type state struct {
	p        *Processor
	raw      []byte
	m        *hl7v2.Message
	cfg      *hl7v2.Config
	sum      string
	key      string // dedup key ("" when the message has no control id)
	sender   string // configured sender key, "" for the default
	typ      string
	received time.Time
	po       ProcessOptions
}

func (st *state) senderLabel() string {
	if st.sender == "" {
		return "other"
	}
	return st.sender
}

func (st *state) run(ctx context.Context, parseErr error) *Result {
	p := st.p
	if parseErr != nil {
		return st.reject(ctx, parseErr, nil)
	}
	if strings.TrimSpace(st.m.ControlID) == "" {
		return st.reject(ctx, errNoControlID, nil)
	}
	sctx, cancel := context.WithTimeout(ctx, p.o.WriteTimeout)
	defer cancel()
	// One delivery of a message at a time: a sender that gave up waiting
	// resends on another connection (or to another gateway) while the first
	// delivery may still be committing; the second waits here, then finds
	// the first one's receipt. The lease comes with the receipt and whether
	// a dead letter of these bytes exists (one round trip).
	//
	// The message is mapped and validated (which need no store) before
	// the claim, so that the claim's round trip also reads the current
	// versions of the resources it writes, for the commit to plan with.
	// Nothing is decided from the mapping before the claim is back: a
	// duplicate is still answered with its stored ACK, and nothing is
	// written or rejected before the lease is held.
	senderCfg := st.cfg.For(st.m.SendingApplication, st.m.SendingFacility)
	res, mapErr := hl7v2.Map(st.m, senderCfg, p.o.DeploymentKey)
	var trees []*fhirjson.Value
	var invalid []hl7v2.Problem
	var reads []redisstore.Read
	if mapErr == nil {
		if trees, invalid = validate(ctx, res); len(invalid) == 0 {
			reads = make([]redisstore.Read, len(res.Resources))
			for i, r := range res.Resources {
				reads[i] = redisstore.Read{Type: r.Type, ID: r.ID}
			}
		}
	}
	dlID := deadLetterID(st.key, st.sum)
	lease, dv, err := st.hold(sctx, dlID, reads)
	if err != nil {
		return st.storeFailed(ctx, err)
	}
	// The accepting commit releases the lease itself; every other way out
	// releases it after the ACK is decided.
	released := false
	defer func() {
		if released {
			return
		}
		release := func() {
			if err := p.o.Store.ReleaseLease(context.WithoutCancel(sctx), lease.Name, lease.Holder); err != nil {
				p.log.Warn("hl7 could not release a delivery lease; it lapses by itself", "err", err)
			}
		}
		if st.po.Replay {
			release() // a replay (often a short-lived CLI) finishes its work itself
		} else {
			p.later(release)
		}
	}()
	if !st.po.Force {
		if prev := dv.Receipt; prev != nil {
			var rc receipt
			if jerr := jsonUnmarshal(prev, &rc); jerr == nil && rc.SHA256 == st.sum {
				p.m.duplicates.WithLabelValues(st.senderLabel()).Inc()
				p.log.Info("hl7 duplicate message answered with the stored ACK", "sender", st.senderLabel(), "type", st.typ, "ack", rc.Code)
				return &Result{ACK: st.wanted(rc.Code, rc.ACK), Code: rc.Code, Duplicate: true}
			}
			p.m.conflicts.WithLabelValues(st.senderLabel()).Inc()
			p.log.Warn("hl7 control id reused with other content; processing the new message", "sender", st.senderLabel(), "type", st.typ)
		}
	}
	if mapErr != nil {
		return st.reject(ctx, mapErr, nil)
	}
	for _, u := range res.Unmapped {
		field, _, _ := strings.Cut(u, "=")
		p.m.unmapped.WithLabelValues(st.senderLabel(), field).Inc()
	}
	if len(invalid) > 0 {
		return st.reject(ctx, &hl7v2.MappingError{Problems: invalid}, res.Warnings)
	}
	writes := st.writes(res, trees)
	extra, err := st.mergeWrites(sctx, res)
	if err != nil {
		return st.storeFailed(ctx, err)
	}
	writes = append(writes, extra...)
	code, problems := hl7v2.Outcome(res.Warnings, nil)
	if hl7v2.Mode(st.m) {
		code = hl7v2.Enhanced(code)
	}
	ack := hl7v2.BuildACK(st.m, code, problems, p.o.ACK)
	rc := receipt{SHA256: st.sum, Received: st.received.UTC(), Sender: st.m.SendingApplication + "|" + st.m.SendingFacility,
		ControlID: st.m.ControlID, Type: st.typ, Code: code, ACK: ack, Source: res.Source,
		Warnings: problemStrings(res.Warnings), Unmapped: res.Unmapped, Forced: st.po.Force}
	for _, w := range writes {
		rc.Resources = append(rc.Resources, w.Type+"/"+w.ID)
	}
	results, err := p.o.Store.Commit(redisstore.WithReads(sctx, dv.Reads), &ww.Commit{Writes: writes,
		Receipt: &ww.Receipt{Kind: kindAccepted, Key: st.key, Value: mustJSON(rc), TTL: p.o.DedupTTL}, Release: &lease})
	if err != nil {
		return st.storeFailed(ctx, err)
	}
	released = true
	out := &Result{ACK: st.wanted(code, ack), Code: code, Problems: problems}
	for i, wr := range results {
		w := Written{Type: writes[i].Type, ID: writes[i].ID, Outcome: wr.Outcome}
		if wr.Resource != nil {
			w.Version = wr.Resource.VersionID
		}
		if wr.Outcome == ww.Superseded {
			out.Superseded++
		}
		out.Written = append(out.Written, w)
	}
	if out.Superseded > 0 {
		p.m.superseded.WithLabelValues(st.senderLabel()).Add(float64(out.Superseded))
	}
	// A message accepted now has no business in the dead-letter store any
	// more (an earlier rejection of the same bytes, since fixed by a
	// configuration change). A replay always clears (its dead letter may
	// have been read before the lease).
	if !dv.DeadLetter && !st.po.Replay {
		return out
	}
	dctx, id := context.WithoutCancel(sctx), dlID
	clear := func() {
		if _, err := p.o.Store.DeleteDeadLetter(dctx, kindDead, id); err != nil {
			p.log.Warn("hl7 could not clear a resolved dead letter", "err", err)
		}
	}
	if st.po.Replay {
		clear() // a replay reports on the dead letter it resolves
	} else {
		p.later(clear)
	}
	return out
}

// writes turns the mapping's resources into store writes: one atomic
// commit, the sender's AGB as owner, the source message as provenance and
// the message's source time for the ordering check. trees are the
// resources as validate parsed them (the store need not parse them again).
func (st *state) writes(res *hl7v2.Result, trees []*fhirjson.Value) []ww.Write {
	var stime ww.SourceTime
	if !st.po.Force {
		stime = sourceTime(res.SourceTime)
	}
	prov := ww.Provenance{Owner: res.AGB, Channel: ww.ChannelHL7, Source: res.Source}
	writes := make([]ww.Write, 0, len(res.Resources))
	for i, r := range res.Resources {
		w := ww.Write{Op: ww.OpUpdate, Type: r.Type, ID: r.ID, JSON: r.JSON, IfAbsent: r.IfAbsent,
			SourceTime: stime, Provenance: prov}
		if i < len(trees) {
			w.Tree = trees[i]
		}
		writes = append(writes, w)
	}
	return writes
}

// sourceTime is the interval an HL7 time spans at its precision, in Unix
// milliseconds: the store's ordering check compares Hi of the new message
// with Lo of the stored version.
func sourceTime(t hl7v2.Time) ww.SourceTime {
	if t.IsZero() {
		return ww.SourceTime{}
	}
	lo, hi := t.Range()
	return ww.SourceTime{Lo: lo.UnixMilli(), Hi: hi.UnixMilli()}
}

// validate runs every mapped resource through conformance.Validate; a
// failure is a data error (AE 102) naming the resource and element. It
// returns the parsed resources (trees[i] of res.Resources[i]) for the
// writes.
func validate(ctx context.Context, res *hl7v2.Result) (trees []*fhirjson.Value, out []hl7v2.Problem) {
	trees = make([]*fhirjson.Value, len(res.Resources))
	for i, r := range res.Resources {
		tree, err := fhirjson.Parse(r.JSON, fhirjson.Limits{MaxDepth: 100})
		if err == nil {
			err = conformance.Validate(ctx, r.Type, tree)
		}
		if err == nil {
			trees[i] = tree
			continue
		}
		var we *ww.Error
		if errors.As(err, &we) {
			for _, is := range we.Issues {
				if is.Severity != ww.SeverityError && is.Severity != ww.SeverityFatal && is.Severity != "" {
					continue
				}
				out = append(out, hl7v2.Problem{Severity: hl7v2.SeverityError, Code: hl7v2.CodeDataType,
					Text: fmt.Sprintf("the mapped %s is not valid FHIR: %s %s", r.Type, strings.Join(is.Expression, ","), maskDigits(is.Diagnostics))})
			}
			continue
		}
		out = append(out, hl7v2.Problem{Severity: hl7v2.SeverityError, Code: hl7v2.CodeDataType, Text: fmt.Sprintf("the mapped %s is not valid FHIR", r.Type)})
	}
	return trees, out
}

var longDigits = regexp.MustCompile(`[0-9]{7,}`)

// maskDigits hides runs of digits in texts that go into ACKs and logs (a
// BSN must never travel there).
func maskDigits(s string) string { return longDigits.ReplaceAllString(s, "…") }

// wanted applies MSH-15 in enhanced mode: AL (or empty) always answers, NE
// never, ER only on an error, SU only on success. Original mode always
// answers.
func (st *state) wanted(code string, ack []byte) []byte {
	if st.m == nil || !hl7v2.Mode(st.m) {
		return ack
	}
	switch strings.ToUpper(st.m.AcceptAckType) {
	case "NE":
		return nil
	case "ER":
		if code == "CA" || code == "AA" {
			return nil
		}
	case "SU":
		if code != "CA" && code != "AA" {
			return nil
		}
	}
	return ack
}

// reject answers AE/AR (CE/CR) and keeps the message in the dead-letter
// store with the reason.
func (st *state) reject(ctx context.Context, err error, warnings []hl7v2.Problem) *Result {
	p := st.p
	code, problems := hl7v2.Outcome(warnings, err)
	if st.m != nil && hl7v2.Mode(st.m) {
		code = hl7v2.Enhanced(code)
	}
	ack := hl7v2.BuildACK(st.m, code, problems, p.o.ACK)
	r := &Result{ACK: st.wanted(code, ack), Code: code, Problems: problems}
	r.DeadLetter = st.deadLetter(ctx, code, problems)
	p.log.Info("hl7 message rejected", "sender", st.senderLabel(), "type", st.typ, "ack", code, "dead_letter", r.DeadLetter,
		"reason", firstErrorText(problems))
	return r
}

// storeFailed answers AR with ERR 207 (never AE: the message is fine, the
// sender should resend it) and tries to keep it as a dead letter.
// leaseMargin is how much longer than the write timeout a delivery's lease
// lives, so a delivery still committing keeps it, and a dead one's lapses.
const leaseMargin = 5 * time.Second

// leasePoll is how often a delivery waiting for another one's lease asks.
const leasePoll = 10 * time.Millisecond

// hold takes the lease on the message's dedup key, waiting while another
// delivery of the same message holds it (until ctx ends), and returns it
// with the message's receipt, whether the dead letter dlID exists and the
// current versions of reads, all read once the lease is held.
func (st *state) hold(ctx context.Context, dlID string, reads []redisstore.Read) (ww.LeaseRef, redisstore.Delivery, error) {
	p := st.p
	lease := ww.LeaseRef{Name: leaseName(st.key), Holder: ww.NewID()}
	for {
		d, err := p.o.Store.ClaimDelivery(ctx, lease.Name, lease.Holder, p.o.WriteTimeout+leaseMargin, kindAccepted, st.key, kindDead, dlID, reads...)
		if err != nil {
			return lease, d, err
		}
		if d.Held {
			return lease, d, nil
		}
		t := time.NewTimer(leasePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return lease, redisstore.Delivery{}, fmt.Errorf("another delivery of this message is still being processed: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// leaseName is the lease of one message's deliveries: the dedup key hashed
// (control ids may hold any character; lease names sit in key names).
func leaseName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return kindLease + "." + hex.EncodeToString(sum[:12])
}

func (st *state) storeFailed(ctx context.Context, err error) *Result {
	p := st.p
	code, problems := hl7v2.Outcome(nil, err)
	if hl7v2.Mode(st.m) {
		code = hl7v2.Enhanced(code)
	}
	ack := hl7v2.BuildACK(st.m, code, problems, p.o.ACK)
	p.log.Error("hl7 message not stored; answered "+code+" 207 so the sender resends", "sender", st.senderLabel(), "type", st.typ, "err", err)
	r := &Result{ACK: st.wanted(code, ack), Code: code, Problems: problems, StoreFailed: true}
	r.DeadLetter = st.deadLetter(ctx, code, problems)
	return r
}

// deadLetter stores the rejected message and its trace record; failures
// are logged (the store may be the reason the message was rejected).
func (st *state) deadLetter(ctx context.Context, code string, problems []hl7v2.Problem) string {
	p := st.p
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	key := st.key
	if key == "" {
		key = "|unparsed|"
	}
	id := deadLetterID(key, st.sum)
	d := DeadLetter{ID: id, Received: st.received.UTC(), SHA256: st.sum, Code: code, Issues: issuesOf(problems),
		Attempts: 1, Status: "rejected", Message: st.raw, Type: st.typ}
	if st.m != nil {
		d.Sender = st.m.SendingApplication + "|" + st.m.SendingFacility
		d.ControlID = st.m.ControlID
	}
	if prev, err := p.o.Store.GetDeadLetter(ctx, kindDead, id); err == nil {
		var old DeadLetter
		if jsonUnmarshal(prev.Value, &old) == nil {
			d.Attempts = old.Attempts + 1
			d.Received = old.Received
		}
	}
	if _, err := p.o.Store.PutDeadLetter(ctx, kindDead, id, d.Received, mustJSON(d)); err != nil {
		p.log.Error("hl7 rejected message could not be kept in the dead-letter store", "sender", st.senderLabel(), "err", err)
		return ""
	}
	p.m.dead.WithLabelValues(st.senderLabel(), code).Inc()
	if st.key != "" {
		rj := rejection{SHA256: st.sum, Received: st.received.UTC(), Sender: d.Sender, ControlID: d.ControlID, Code: code,
			Reason: problemStrings(problems), DeadLetter: id}
		if _, err := p.o.Store.Commit(ctx, &ww.Commit{Receipt: &ww.Receipt{Kind: kindRejected, Key: st.key, Value: mustJSON(rj), TTL: p.o.DedupTTL}}); err != nil {
			p.log.Warn("hl7 rejection trace not written", "err", err)
		}
	}
	return id
}

func firstErrorText(ps []hl7v2.Problem) string {
	for _, p := range ps {
		if p.Severity == hl7v2.SeverityError {
			return p.Code + " " + p.Location()
		}
	}
	return ""
}

// metricType keeps the message type label bounded: supported types and
// events as they are, anything else "other".
func metricType(t string) string {
	typ, ev, _ := strings.Cut(strings.ToUpper(t), "^")
	switch typ {
	case "SIU", "ADT", "REF":
		if len(ev) == 3 && ev[0] >= 'A' && ev[0] <= 'Z' {
			return typ + "^" + ev
		}
	}
	return "other"
}
