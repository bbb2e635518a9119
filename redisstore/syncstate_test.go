package redisstore

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

func TestPullCursorNeverMovesBackAndHeldGrows(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if c, err := s.Cursor(ctx, "zkh-noord", "Slot"); err != nil || !c.IsZero() {
			t.Fatalf("fresh cursor = %v, %v; want zero", c, err)
		}
		t1 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		if err := s.Advance(ctx, "zkh-noord", "Slot", t1, []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		// An earlier cursor (an out-of-order page) never moves it back.
		if err := s.Advance(ctx, "zkh-noord", "Slot", t1.Add(-time.Hour), []string{"c"}); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Cursor(ctx, "zkh-noord", "Slot"); !c.Equal(t1) {
			t.Fatalf("cursor = %v, want %v", c, t1)
		}
		held, _ := s.Held(ctx, "zkh-noord", "Slot")
		sort.Strings(held)
		if len(held) != 3 || held[0] != "a" || held[2] != "c" {
			t.Fatalf("held = %v", held)
		}
		if err := s.Forget(ctx, "zkh-noord", "Slot", []string{"b"}); err != nil {
			t.Fatal(err)
		}
		if held, _ := s.Held(ctx, "zkh-noord", "Slot"); len(held) != 2 {
			t.Fatalf("held after forget = %v", held)
		}
		if err := s.ResetCursor(ctx, "zkh-noord", "Slot", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Cursor(ctx, "zkh-noord", "Slot"); !c.IsZero() {
			t.Fatalf("reset cursor = %v", c)
		}
		if err := s.Advance(ctx, "bad{name}", "Slot", t1, nil); !ww.IsKind(err, ww.KindInvalid) {
			t.Fatalf("a source name with braces: %v, want invalid", err)
		}
	})
}

func TestLeaseOneHolderRenewRelease(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ok, err := s.Lease(ctx, "pull-leader", "gw-a", time.Minute)
		if err != nil || !ok {
			t.Fatalf("gw-a acquires: %v %v", ok, err)
		}
		if ok, _ := s.Lease(ctx, "pull-leader", "gw-b", time.Minute); ok {
			t.Fatal("gw-b acquired a held lease")
		}
		if ok, _ := s.Lease(ctx, "pull-leader", "gw-a", time.Minute); !ok {
			t.Fatal("gw-a could not renew its lease")
		}
		if h, _ := s.LeaseHolder(ctx, "pull-leader"); h != "gw-a" {
			t.Fatalf("holder = %q", h)
		}
		if err := s.ReleaseLease(ctx, "pull-leader", "gw-b"); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.LeaseHolder(ctx, "pull-leader"); h != "gw-a" {
			t.Fatal("a release by a non-holder freed the lease")
		}
		s.ReleaseLease(ctx, "pull-leader", "gw-a")
		if ok, _ := s.Lease(ctx, "pull-leader", "gw-b", 50*time.Millisecond); !ok {
			t.Fatal("gw-b cannot take a released lease")
		}
	})
}

func TestStateDocumentsAndReadMany(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if b, err := s.GetState(ctx, "source", "x"); err != nil || b != nil {
			t.Fatalf("absent state = %q %v", b, err)
		}
		if err := s.PutState(ctx, "source", "x", []byte(`{"ok":true}`), 0); err != nil {
			t.Fatal(err)
		}
		if b, _ := s.GetState(ctx, "source", "x"); string(b) != `{"ok":true}` {
			t.Fatalf("state = %s", b)
		}
		write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: "rm1", JSON: patient("rm1", "999911120", "A"), Provenance: ww.Provenance{Channel: ww.ChannelPull, Source: "src:Patient/1/_history/3"}})
		got, err := s.ReadMany(ctx, "Patient", []string{"rm1", "rm-missing"})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] == nil || got[0].Provenance.Source != "src:Patient/1/_history/3" || got[1] != nil {
			t.Fatalf("ReadMany = %+v", got)
		}
	})
}

// TestClaimDeliveryAndCommitRelease: a delivery's lease comes with the
// receipt and the dead letter, a second holder waits, and the accepting
// commit gives the lease up with its receipt (a stale holder's release
// leaves the lease alone).
func TestClaimDeliveryAndCommitRelease(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		claim := func(holder string) Delivery {
			t.Helper()
			d, err := s.ClaimDelivery(ctx, "hl7.msg1", holder, time.Minute, "hl7", "M1|APP|FAC", "hl7", "dl-m1")
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		if d := claim("a"); !d.Held || d.Receipt != nil || d.DeadLetter {
			t.Fatalf("first claim = %+v; want held, no receipt, no dead letter", d)
		}
		if d := claim("b"); d.Held {
			t.Fatalf("second holder got a held lease: %+v", d)
		}
		if _, err := s.PutDeadLetter(ctx, "hl7", "dl-m1", time.Unix(1, 0), []byte("x")); err != nil {
			t.Fatal(err)
		}
		// A commit naming another holder leaves a's lease alone.
		if _, err := s.Commit(ctx, &ww.Commit{Release: &ww.LeaseRef{Name: "hl7.msg1", Holder: "b"}}); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.LeaseHolder(ctx, "hl7.msg1"); h != "a" {
			t.Fatalf("holder after a stale release = %q, want a", h)
		}
		if _, err := s.Commit(ctx, &ww.Commit{Receipt: &ww.Receipt{Kind: "hl7", Key: "M1|APP|FAC", Value: []byte("ack")},
			Release: &ww.LeaseRef{Name: "hl7.msg1", Holder: "a"}}); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.LeaseHolder(ctx, "hl7.msg1"); h != "" {
			t.Fatalf("holder after the commit = %q, want none", h)
		}
		if d := claim("b"); !d.Held || string(d.Receipt) != "ack" || !d.DeadLetter {
			t.Fatalf("claim after the commit = %+v; want held with receipt and dead letter", d)
		}
		if _, err := s.Commit(ctx, &ww.Commit{Release: &ww.LeaseRef{Name: "bad name", Holder: "b"}}); err == nil {
			t.Fatal("a release with an invalid lease name was accepted")
		}
	})
}

// TestClaimDeliveryReads: the current versions a claim reads along (one
// round trip on standalone) are what the delivery's commit plans with; one
// that changed between the claim and the commit makes the commit plan
// again with what is stored, and an absent one is created.
func TestClaimDeliveryReads(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{pat("rd1", "", "1011 AB", false), pat("rd2", "", "1011 AB", false)}}); err != nil {
			t.Fatal(err)
		}
		d, err := s.ClaimDelivery(ctx, "hl7.rd", "a", time.Minute, "hl7", "RD|APP|FAC", "hl7", "dl-rd",
			Read{"Patient", "rd1"}, Read{"Patient", "rd2"}, Read{"Patient", "rd3"})
		if err != nil || !d.Held {
			t.Fatalf("claim = %+v, %v", d, err)
		}
		if (d.Reads != nil) != (s.cluster == nil) {
			t.Fatalf("reads %v on cluster %v: want them on standalone only", d.Reads, s.cluster != nil)
		}
		// rd2 changes after the claim read it.
		if _, err := s.Commit(ctx, &ww.Commit{Writes: []ww.Write{pat("rd2", "", "2022 CD", false)}}); err != nil {
			t.Fatal(err)
		}
		res, err := s.Commit(WithReads(ctx, d.Reads), &ww.Commit{Writes: []ww.Write{
			pat("rd1", "", "3033 EF", false), pat("rd2", "", "3033 EF", false), pat("rd3", "", "3033 EF", false)},
			Receipt: &ww.Receipt{Kind: "hl7", Key: "RD|APP|FAC", Value: []byte("ack")}, Release: &ww.LeaseRef{Name: "hl7.rd", Holder: "a"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			outcome ww.Outcome
			vid     int64
		}{{ww.Updated, 2}, {ww.Updated, 3}, {ww.Created, 1}}
		for i, w := range want {
			if res[i].Outcome != w.outcome || res[i].Resource == nil || res[i].Resource.VersionID != w.vid {
				t.Fatalf("write %d: %+v; want %v at version %d", i, res[i], w.outcome, w.vid)
			}
		}
		for _, id := range []string{"rd1", "rd2", "rd3"} {
			got, err := s.Read(ctx, "Patient", id)
			if err != nil || !strings.Contains(string(got.JSON), "3033 EF") {
				t.Fatalf("Patient/%s after the commit: %v %s", id, err, got.JSON)
			}
		}
		if h, _ := s.LeaseHolder(ctx, "hl7.rd"); h != "" {
			t.Fatalf("holder after the commit = %q, want none", h)
		}
	})
}
