package hl7ingest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const sendersFile = "../mappings/hl7v2/testdata/senders.json"

func hl7(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

const (
	pidNoord = "PID|1||123456782^^^NLMINBIZA^NNNLD~7654321^^^ZKH-NOORD^MR||de Vries-van Dijk^Johanna^^^^^L||19580214|F|||Kerkstraat 12^^Groningen^^9711AB^NL^H"
	tq1Dec1  = "TQ1|1||||||202612011040+0100|202612011100+0100"
)

// siu is an SIU of Ziekenhuis Noord for appointment FL-1 with control id
// ctrl, sent at msh7, status sch25.
func siu(trig, ctrl, msh7, sch25 string, extra ...string) []byte {
	segs := []string{
		"MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|" + msh7 + "||SIU^" + trig + "^SIU_S12|" + ctrl + "|P|2.5.1",
		"SCH|PL-1|FL-1|||||CONSULT^Eerste polikliniekbezoek^L||||||||||||||||||" + sch25 + "|ORD-1",
		tq1Dec1, pidNoord, "RGS|1", "AIS|1|A|0305^Orthopedie eerste consult^L|202612011040+0100|||20|min",
	}
	return hl7(append(segs, extra...)...)
}

type fixture struct {
	p     *Processor
	store *redisstore.Store
	clock *ww.FixedClock
}

func newFixture(t testing.TB, senders *Senders) *fixture {
	t.Helper()
	clock := &ww.FixedClock{T: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	st, err := redisstore.Open(context.Background(), redisstore.Options{Client: redistest.Shared(t).Client(t), Prefix: redistest.Prefix(t), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if senders == nil {
		senders, err = NewSenders(sendersFile, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(Options{Store: st, DeploymentKey: st.DeploymentKey(), Senders: senders, Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{p: p, store: st, clock: clock}
}

func parseACK(t *testing.T, ack []byte) *hl7v2.Message {
	t.Helper()
	m, err := hl7v2.Parse(ack, hl7v2.ParseOptions{})
	if err != nil {
		t.Fatalf("ACK does not parse: %v\n%q", err, ack)
	}
	return m
}

func (f *fixture) appointment(t *testing.T, r *Result) *ww.Resource {
	t.Helper()
	for _, w := range r.Written {
		if w.Type == "Appointment" {
			got, err := f.store.Read(context.Background(), "Appointment", w.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
	}
	t.Fatalf("no Appointment in %+v", r.Written)
	return nil
}

func TestAcceptedMessageIsStoredThenAcknowledged(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	r := f.p.Process(ctx, siu("S12", "C1", "20261103141502+0100", "Booked"), ProcessOptions{})
	ack := parseACK(t, r.ACK)
	if r.Code != "AA" || ack.Field("MSA-1") != "AA" || ack.Field("MSA-2") != "C1" || ack.Field("MSH-9") != "ACK" {
		t.Fatalf("ACK %q (%v)", r.ACK, r.Problems)
	}
	a := f.appointment(t, r)
	if a.VersionID != 1 || a.Provenance.Channel != ww.ChannelHL7 || a.Provenance.Owner != "06011234" ||
		a.Provenance.Source != "urn:hl7v2:HIX|ZKH-NOORD#C1" || !strings.Contains(string(a.JSON), `"source":"urn:hl7v2:HIX|ZKH-NOORD#C1"`) {
		t.Fatalf("appointment %+v %s", a.Provenance, a.JSON)
	}
	if !a.SourceTime.Equal(time.Date(2026, 11, 3, 13, 15, 2, 0, time.UTC)) {
		t.Fatalf("source time %v", a.SourceTime)
	}
	kinds := map[string]bool{}
	for _, w := range r.Written {
		kinds[w.Type] = true
		if w.Outcome != ww.Created {
			t.Errorf("%s/%s: %v", w.Type, w.ID, w.Outcome)
		}
	}
	for _, k := range []string{"Organization", "Patient", "ServiceRequest", "Appointment"} {
		if !kinds[k] {
			t.Errorf("no %s written: %+v", k, r.Written)
		}
	}
}

func TestDeduplication(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	msg := siu("S12", "D1", "20261103141502+0100", "Booked")
	first := f.p.Process(ctx, msg, ProcessOptions{})
	f.clock.Advance(time.Minute)
	again := f.p.Process(ctx, msg, ProcessOptions{})
	if !again.Duplicate || string(again.ACK) != string(first.ACK) || len(again.Written) != 0 {
		t.Fatalf("a resent message must get the stored ACK and write nothing: %+v", again)
	}
	if a := f.appointment(t, first); a.VersionID != 1 {
		t.Fatalf("second write happened: version %d", a.VersionID)
	}
	// Same control id, other content: processed (a sender reusing ids).
	other := siu("S12", "D1", "20261103141600+0100", "Arrived")
	r := f.p.Process(ctx, other, ProcessOptions{})
	if r.Duplicate || r.Code != "AA" {
		t.Fatalf("reused control id: %+v", r)
	}
	if a := f.appointment(t, r); a.VersionID != 2 || !strings.Contains(string(a.JSON), `"status":"arrived"`) {
		t.Fatalf("reused control id not processed: %s", a.JSON)
	}
	// The receipt expires with the TTL.
	ttl, _ := f.store.Client().PTTL(ctx, f.store.Prefix()+":rc:hl7:D1|HIX|ZKH-NOORD").Result()
	if ttl < 6*24*time.Hour || ttl > 7*24*time.Hour {
		t.Fatalf("dedup TTL %v", ttl)
	}
}

// A sender that stops waiting resends on another connection while the first
// delivery may still be committing: the deliveries take turns, so the
// message is written once and every delivery gets the same ACK.
func TestConcurrentDeliveriesOfOneMessageWriteOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	msg := siu("S12", "RACE1", "20261103141502+0100", "Booked")
	const deliveries = 8
	results := make([]*Result, deliveries)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = f.p.Process(ctx, msg, ProcessOptions{})
		}(i)
	}
	wg.Wait()
	written, duplicates := 0, 0
	var first *Result
	for _, r := range results {
		if r.Code != "AA" {
			t.Fatalf("delivery answered %s: %v", r.Code, r.Problems)
		}
		if r.Duplicate {
			duplicates++
			continue
		}
		written++
		first = r
	}
	if written != 1 || duplicates != deliveries-1 {
		t.Fatalf("%d deliveries wrote, %d were answered as duplicates; want 1 and %d", written, duplicates, deliveries-1)
	}
	if a := f.appointment(t, first); a.VersionID != 1 {
		t.Fatalf("the message was written %d times", a.VersionID)
	}
	for _, r := range results {
		if string(r.ACK) != string(first.ACK) {
			t.Fatalf("deliveries got different ACKs:\n%q\n%q", r.ACK, first.ACK)
		}
	}
}

func TestOlderMessageDoesNotOverwriteANewerOne(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	newer := f.p.Process(ctx, siu("S13", "O2", "20261103150000+0100", "Booked"), ProcessOptions{})
	older := f.p.Process(ctx, siu("S15", "O1", "20261103140000+0100", "Cancelled"), ProcessOptions{})
	if older.Code != "AA" || older.Superseded == 0 {
		t.Fatalf("older message: %+v", older)
	}
	a := f.appointment(t, newer)
	if a.VersionID != 1 || strings.Contains(string(a.JSON), "cancelled") {
		t.Fatalf("the older cancellation overwrote the newer booking: %s", a.JSON)
	}
	// EVN-2 wins over MSH-7: an event recorded later overwrites.
	evn := f.p.Process(ctx, siu("S15", "O3", "20261103140000+0100", "Cancelled", "EVN||20261103160000+0100"), ProcessOptions{})
	if evn.Superseded != 0 {
		t.Fatalf("EVN-2 not used as source time: %+v", evn)
	}
	if a := f.appointment(t, evn); !strings.Contains(string(a.JSON), "cancelled") {
		t.Fatalf("not written: %s", a.JSON)
	}
}

func TestRejectionsGoToTheDeadLetterStoreAndReplay(t *testing.T) {
	// Ziekenhuis West is not configured yet: AR 207 (no AGB for its ids).
	dir := t.TempDir()
	cfgPath := dir + "/senders.json"
	if err := os.WriteFile(cfgPath, []byte(`{"default":{},"senders":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	senders, err := NewSenders(cfgPath, quiet)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, senders)
	ctx := context.Background()
	msg := []byte(strings.ReplaceAll(string(siu("S12", "R1", "20261103141502+0100", "Booked")), "ZKH-NOORD", "ZKH-WEST"))
	r := f.p.Process(ctx, msg, ProcessOptions{})
	if r.Code != "AR" || r.DeadLetter == "" {
		t.Fatalf("unknown sender: %+v", r)
	}
	ack := parseACK(t, r.ACK)
	if ack.Field("ERR-3") != "207" {
		t.Fatalf("ACK %q", r.ACK)
	}
	// Sent again: the same dead letter, two attempts.
	f.p.Process(ctx, msg, ProcessOptions{})
	page, err := f.p.DeadLetters(ctx, "", 10)
	if err != nil || len(page.DeadLetters) != 1 || page.DeadLetters[0].Attempts != 2 || page.DeadLetters[0].ControlID != "R1" ||
		page.DeadLetters[0].Sender != "HIX|ZKH-WEST" || page.DeadLetters[0].Issues[0].Code != "207" {
		t.Fatalf("dead letters %v %+v", err, page)
	}
	tr, err := f.p.Trace(ctx, "R1", "")
	if err != nil || len(tr) != 1 || tr[0].Status != "rejected" || tr[0].DeadLetter != r.DeadLetter {
		t.Fatalf("trace %v %+v", err, tr)
	}
	// Replay before the fix: still rejected.
	rr, err := f.p.Replay(ctx, r.DeadLetter, false)
	if err != nil || rr.Status != "rejected" {
		t.Fatalf("replay %v %+v", err, rr)
	}
	// Fix the configuration, reload, replay: accepted, the dead letter gone.
	if err := os.WriteFile(cfgPath, []byte(`{"default":{},"senders":{"HIX|ZKH-WEST":{"agb":"06015678"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := senders.Reload(); err != nil {
		t.Fatal(err)
	}
	rr, err = f.p.Replay(ctx, r.DeadLetter, false)
	if err != nil || rr.Status != "accepted" || len(rr.Wrote) == 0 {
		t.Fatalf("replay after the fix %v %+v", err, rr)
	}
	if _, err := f.p.DeadLetter(ctx, r.DeadLetter); !ww.IsKind(err, ww.KindNotFound) {
		t.Fatalf("dead letter still there: %v", err)
	}
	tr, _ = f.p.Trace(ctx, "R1", "HIX|ZKH-WEST")
	var accepted *TraceEntry
	for i := range tr {
		if tr[i].Status == "accepted" {
			accepted = &tr[i]
		}
	}
	if accepted == nil || accepted.Code != "AA" || len(accepted.Resources) == 0 {
		t.Fatalf("trace after replay %+v", tr)
	}
	wrote := false
	for _, res := range accepted.Resources {
		if strings.HasPrefix(res.Reference, "Appointment/") && len(res.Versions) == 1 && res.Versions[0] == 1 {
			wrote = true
		}
	}
	if !wrote {
		t.Fatalf("trace does not show the Appointment version: %+v", accepted.Resources)
	}
	// A bad configuration file keeps the old one.
	if err := os.WriteFile(cfgPath, []byte(`{"default":{},"senders":{"broken`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := senders.Reload(); err == nil {
		t.Fatal("a broken file was accepted")
	}
	if senders.Config().For("HIX", "ZKH-WEST").AGB != "06015678" {
		t.Fatal("the configuration in force was lost")
	}
}

func TestReplaySupersededAndForce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// An old cancellation rejected for a data error (bad TQ1 date) …
	bad := []byte(strings.Replace(string(siu("S15", "F1", "20261103140000+0100", "Cancelled")), tq1Dec1, "TQ1|1||||||2026130110", 1))
	r := f.p.Process(ctx, bad, ProcessOptions{})
	if r.Code != "AE" || r.DeadLetter == "" {
		t.Fatalf("bad date: %+v %v", r.Code, r.Problems)
	}
	// … a newer booking arrives and is stored …
	newer := f.p.Process(ctx, siu("S13", "F2", "20261103150000+0100", "Booked"), ProcessOptions{})
	// … then the dead letter is fixed by hand in the store (an operator's
	// edit stands in for it here) and replayed: superseded.
	dl, _ := f.p.DeadLetter(ctx, r.DeadLetter)
	dl.Message = siu("S15", "F1", "20261103140000+0100", "Cancelled")
	if _, err := f.store.PutDeadLetter(ctx, kindDead, dl.ID, dl.Received, mustJSON(dl)); err != nil {
		t.Fatal(err)
	}
	rr, err := f.p.Replay(ctx, dl.ID, false)
	if err != nil || rr.Status != "superseded" {
		t.Fatalf("replay %v %+v", err, rr)
	}
	if a := f.appointment(t, newer); strings.Contains(string(a.JSON), "cancelled") {
		t.Fatal("superseded replay overwrote the newer booking")
	}
	rr, err = f.p.Replay(ctx, dl.ID, true)
	if err != nil || rr.Status != "accepted" {
		t.Fatalf("replay --force %v %+v", err, rr)
	}
	if a := f.appointment(t, newer); !strings.Contains(string(a.JSON), "cancelled") {
		t.Fatalf("--force did not write: %s", a.JSON)
	}
}

func TestEnhancedModeAndAcceptAckTypes(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	withMSH15 := func(ctrl, v15 string) []byte {
		return []byte(strings.Replace(string(siu("S12", ctrl, "20261103141502+0100", "Booked")), "|P|2.5.1", "|P|2.5.1|||"+v15+"|AL", 1))
	}
	r := f.p.Process(ctx, withMSH15("E1", "AL"), ProcessOptions{})
	if r.Code != "CA" || parseACK(t, r.ACK).Field("MSA-1") != "CA" {
		t.Fatalf("enhanced AL: %+v %q", r.Code, r.ACK)
	}
	if r := f.p.Process(ctx, withMSH15("E2", "NE"), ProcessOptions{}); r.Code != "CA" || r.ACK != nil {
		t.Fatalf("NE must get no ACK: %+v", r)
	}
	if r := f.p.Process(ctx, withMSH15("E3", "ER"), ProcessOptions{}); r.ACK != nil {
		t.Fatalf("ER on success: %q", r.ACK)
	}
	bad := []byte(strings.Replace(string(withMSH15("E4", "ER")), pidNoord, "PID|1||123456782^^^NLMINBIZA^NNNLD", 1))
	if r := f.p.Process(ctx, bad, ProcessOptions{}); r.Code != "CE" || r.ACK == nil || parseACK(t, r.ACK).Field("MSA-1") != "CE" {
		t.Fatalf("ER on error: %+v", r)
	}
	// REF in enhanced mode: a plain ACK, not RRI.
	ref := hl7("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103140000+0100||REF^I12^REF_I12|REF-E|P|2.5.1|||AL|NE",
		"RF1|A^Accepted^HL70283|R^Routine^HL70280|0305^Orthopedie^COD016||O^Outpatient^HL70284|ZD-2026-0001^ZORGDOMEIN|20260915", pidNoord)
	r = f.p.Process(ctx, ref, ProcessOptions{})
	if ack := parseACK(t, r.ACK); r.Code != "CA" || ack.Type != "ACK" || ack.Segment("RF1") != nil {
		t.Fatalf("REF commit ACK %q", r.ACK)
	}
	// Original mode REF: RRI without PID.
	ref = hl7("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103140000+0100||REF^I12^REF_I12|REF-O|P|2.5.1",
		"RF1|A^Accepted^HL70283|R^Routine^HL70280|0305^Orthopedie^COD016||O^Outpatient^HL70284|ZD-2026-0002^ZORGDOMEIN|20260915", pidNoord)
	r = f.p.Process(ctx, ref, ProcessOptions{})
	if ack := parseACK(t, r.ACK); r.Code != "AA" || ack.Type != "RRI" || ack.Segment("RF1") == nil || ack.Segment("PID") != nil || strings.Contains(string(r.ACK), "123456782") {
		t.Fatalf("REF original ACK %q", r.ACK)
	}
}

func TestStoreFailureIsAR207NeverAE(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	clock := &ww.FixedClock{T: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	st, err := redisstore.Open(context.Background(), redisstore.Options{Client: srv.Client(t), Prefix: "fail", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	senders, _ := NewSenders(sendersFile, nil)
	p, _ := New(Options{Store: st, DeploymentKey: st.DeploymentKey(), Senders: senders, Clock: clock, WriteTimeout: time.Second, Logger: quiet})
	srv.Kill(t)
	r := p.Process(context.Background(), siu("S12", "X1", "20261103141502+0100", "Booked"), ProcessOptions{})
	ack := parseACK(t, r.ACK)
	if r.Code != "AR" || !r.StoreFailed || ack.Field("ERR-3") != "207" {
		t.Fatalf("store down: %+v %q", r, r.ACK)
	}
}

func TestUnmappedCodeIsAcceptedWithAWarning(t *testing.T) {
	f := newFixture(t, nil)
	r := f.p.Process(context.Background(), siu("S12", "U1", "20261103141502+0100", "Wachtkamer^Wachtkamer^L"), ProcessOptions{})
	ack := parseACK(t, r.ACK)
	if r.Code != "AA" || ack.Field("ERR-4") != "W" || ack.Field("ERR-3") != "103" {
		t.Fatalf("ACK %q", r.ACK)
	}
	a := f.appointment(t, r)
	if !strings.Contains(string(a.JSON), `"code":"unmapped"`) || !strings.Contains(string(a.JSON), `"code":"Wachtkamer"`) {
		t.Fatalf("appointment %s", a.JSON)
	}
}

func TestMergeMovesReferences(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// Patient 7000001 has an appointment and a wait; then A40 merges it into 7654321.
	old := strings.Replace(pidNoord, "7654321", "7000001", 1)
	old = strings.Replace(old, "123456782", "999911120", 1)
	r := f.p.Process(ctx, []byte(strings.Replace(string(siu("S12", "M1", "20261103141502+0100", "Booked")), pidNoord, old, 1)), ProcessOptions{})
	if r.Code != "AA" {
		t.Fatalf("%+v", r.Problems)
	}
	var srID string
	for _, w := range r.Written {
		if w.Type == "ServiceRequest" {
			srID = w.ID
		}
	}
	merge := hl7("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261104140000+0100||ADT^A40^ADT_A39|M2|P|2.5.1", "EVN||20261104135900+0100",
		pidNoord, "MRG|7000001^^^ZKH-NOORD^MR")
	mr := f.p.Process(ctx, merge, ProcessOptions{})
	if mr.Code != "AA" {
		t.Fatalf("merge: %+v", mr.Problems)
	}
	var survivor, retired string
	for _, w := range mr.Written {
		if w.Type == "Patient" && survivor == "" {
			survivor = w.ID
		} else if w.Type == "Patient" {
			retired = w.ID
		}
	}
	a := f.appointment(t, r)
	sr, _ := f.store.Read(ctx, "ServiceRequest", srID)
	for _, res := range []*ww.Resource{a, sr} {
		if !strings.Contains(string(res.JSON), "Patient/"+survivor) || strings.Contains(string(res.JSON), "Patient/"+retired) {
			t.Fatalf("%s still points at the retired Patient: %s", res.Type, res.JSON)
		}
	}
	rp, _ := f.store.Read(ctx, "Patient", retired)
	if strings.Contains(string(rp.JSON), "999911120") || !strings.Contains(string(rp.JSON), `"active":false`) {
		t.Fatalf("retired Patient %s", rp.JSON)
	}
}

func TestOversizeAndUnparseable(t *testing.T) {
	f := newFixture(t, nil)
	msg := siu("S12", "Z1", "20261103141502+0100", "Booked")
	ack := parseACK(t, f.p.OversizeACK(msg[:200], 5<<20))
	if ack.Field("MSA-1") != "AR" || ack.Field("MSA-2") != "Z1" || !strings.Contains(ack.Field("ERR-8"), "exceeds") {
		t.Fatalf("oversize ACK %q", f.p.OversizeACK(msg[:200], 5<<20))
	}
	r := f.p.Process(context.Background(), []byte("this is not HL7"), ProcessOptions{})
	if r.Code != "AE" || r.ACK == nil || r.DeadLetter == "" {
		t.Fatalf("garbage: %+v", r)
	}
	noCtrl := []byte(strings.Replace(string(msg), "|Z1|", "||", 1))
	if r := f.p.Process(context.Background(), noCtrl, ProcessOptions{}); r.Code != "AE" || !strings.Contains(string(r.ACK), "|MSH^1^10|101^") {
		t.Fatalf("no control id: %+v %q", r.Code, r.ACK)
	}
}

func TestTranslateStoresNothing(t *testing.T) {
	f := newFixture(t, nil)
	b, code := f.p.Translate(context.Background(), siu("S12", "T1", "20261103141502+0100", "Booked"))
	if code != "AA" || !strings.Contains(string(b), `"resourceType":"Bundle"`) || !strings.Contains(string(b), `"resourceType":"Appointment"`) {
		t.Fatalf("%s %s", code, b)
	}
	if _, err := f.p.Trace(context.Background(), "T1", ""); !ww.IsKind(err, ww.KindNotFound) {
		t.Fatalf("translate left a trace: %v", err)
	}
}
