package hl7ingest

import (
	"context"
	"strings"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
)

// FuzzProcess feeds arbitrary bytes through the whole handler path (parse,
// map, validate, deduplicate, commit to a real Redis, dead-letter, ACK):
// it must never panic, and every message gets an ACK that parses, answers
// with a valid code and never carries the BSN of PID. Found inputs are
// kept under testdata/fuzz/FuzzProcess.
func FuzzProcess(f *testing.F) {
	for _, s := range []string{
		string(siu("S12", "F1", "20261103141502+0100", "Booked")),
		string(siu("S15", "F2", "2026", "Cancelled", "EVN||2026110")),
		string(siu("S17", "F3", "20261103141502.1234+0100", "Deleted")),
		"MSH|^~\\&|HIX|ZKH-NOORD|WW|WW|20261103||ADT^A40^ADT_A39|F4|P|2.5.1\rEVN||20261103\r" + pidNoord + "\rMRG|7000001^^^ZKH-NOORD^MR\r",
		"MSH|^~\\&|HIX|ZKH-NOORD|WW|WW|20261103||REF^I12^REF_I12|F5|P|2.3|||AL|NE\rRF1|X|||||ZD-1\r" + pidNoord + "\r",
		"MSH|^~\\&#|HIX|ZKH-NOORD|||2026||SIU^S12|F6|P|2.7\rSCH||FL\\X0D\\-1\r",
		"MSH|",
		"",
		"\x0bMSH|^~\\&|\x1c\r",
	} {
		f.Add([]byte(s))
	}
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := fx.p.Process(context.Background(), raw, ProcessOptions{})
		switch r.Code {
		case "AA", "AE", "AR", "CA", "CE", "CR":
		default:
			t.Fatalf("code %q", r.Code)
		}
		if r.ACK == nil {
			return // enhanced mode NE/ER/SU
		}
		ack, err := hl7v2.Parse(r.ACK, hl7v2.ParseOptions{})
		if err != nil || ack.Field("MSA-1") != r.Code {
			t.Fatalf("ACK %q: %v", r.ACK, err)
		}
		// A BSN from PID never reaches the ACK; the ACK does echo the
		// routing fields of MSH (MSH-3 to MSH-6), whatever they hold.
		msh := string(raw)
		if i := strings.IndexAny(msh, "\r\n"); i >= 0 {
			msh = msh[:i]
		}
		if strings.Contains(string(r.ACK), "123456782") && !strings.Contains(msh, "123456782") {
			t.Fatalf("a BSN in the ACK: %q", r.ACK)
		}
	})
}
