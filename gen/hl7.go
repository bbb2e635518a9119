package gen

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"

	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
)

// WriteHL7 writes the world as an HL7 v2.5.1 message stream (the file form:
// segments end with CR, messages are separated by LF; an MLLP client frames
// them): ADT^A04 per Patient, then per referral a REF^I12 followed by one
// SIU per appointment (S12 new booking; S13 for some rescheduled booked
// ones, S15 for cancellations, S26 for no-shows). It returns the number of
// messages. The fields are documented in the package doc.
func WriteHL7(out io.Writer, cfg Config) (int, error) {
	w, err := New(cfg)
	if err != nil {
		return 0, err
	}
	return w.WriteHL7(out)
}

// hl7Esc escapes HL7 delimiters in text.
func hl7Esc(s string) string {
	if !strings.ContainsAny(s, "|^~\\&\r\n") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '|':
			b.WriteString(`\F\`)
		case '^':
			b.WriteString(`\S\`)
		case '~':
			b.WriteString(`\R\`)
		case '\\':
			b.WriteString(`\E\`)
		case '&':
			b.WriteString(`\T\`)
		case '\r':
			b.WriteString(`\X0D\`)
		case '\n':
			b.WriteString(`\X0A\`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hl7Status maps an appointment status to SCH-25 (table 0278 where it has
// the code; Proposed and Arrived are local), with the FHIR code as the
// alternate identifier.
var hl7Status = [numStatuses]string{
	stProposed:       "Proposed^Proposed^L^proposed^^FHIR",
	stPending:        "Pending^Pending^HL70278^pending^^FHIR",
	stBooked:         "Booked^Booked^HL70278^booked^^FHIR",
	stArrived:        "Arrived^Arrived^L^arrived^^FHIR",
	stFulfilled:      "Complete^Complete^HL70278^fulfilled^^FHIR",
	stCancelled:      "Cancelled^Cancelled^HL70278^cancelled^^FHIR",
	stNoshow:         "Noshow^Noshow^HL70278^noshow^^FHIR",
	stEnteredInError: "Deleted^Deleted^HL70278^entered-in-error^^FHIR",
	stCheckedIn:      "Started^Started^HL70278^checked-in^^FHIR",
	stWaitlist:       "Waitlist^Waitlist^HL70278^waitlist^^FHIR",
}

// hl7RefStatus maps a wait's status to RF1-1: A (table 0283) for active;
// table 0283 has no on-hold or completed (its P is "not yet accepted", E
// "expired"), so those are the local codes H and C; the FHIR code follows
// as the alternate identifier.
var hl7RefStatus = [3]string{
	srActive:    "A^Accepted^HL70283^active^^FHIR",
	srOnHold:    "H^Wenswachttijd^L^on-hold^^FHIR",
	srCompleted: "C^Afgerond^L^completed^^FHIR",
}

type hl7Writer struct {
	w   *World
	out *bufio.Writer
	b   []byte
	seq int
	err error
}

// seg appends a segment, leaving out trailing empty fields.
func (h *hl7Writer) seg(fields ...string) {
	for len(fields) > 1 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	for i, f := range fields {
		if i > 0 {
			h.b = append(h.b, '|')
		}
		h.b = append(h.b, f...)
	}
	h.b = append(h.b, '\r')
}

// msh starts a message.
func (h *hl7Writer) msh(o *org, ts, typ string) {
	h.seq++
	h.b = h.b[:0]
	h.seg("MSH", `^~\&`, o.app, o.agb, "WACHTWIJZER", "WACHTWIJZER", ts, "", typ,
		"WW"+pad(uint64(h.seq), 10), "P", "2.5.1", "", "", "AL", "NE", "NLD", "UNICODE UTF-8")
}

func (h *hl7Writer) end() {
	h.b = append(h.b, '\n')
	if h.err == nil {
		_, h.err = h.out.Write(h.b)
	}
}

func (h *hl7Writer) ts(d, m int) string { return string(h.w.days.hl7(nil, d, m)) }

func (h *hl7Writer) pid(rec *record, p *person) {
	sex := "M"
	if p.female {
		sex = "F"
	}
	c := cities[p.city]
	h.seg("PID", "1", "",
		h.w.bsn(p.n)+"^^^NLMINBIZA^NNNLD~"+rec.patnr+"^^^"+rec.org.agb+"^PI", "",
		hl7Esc(p.family)+"^"+hl7Esc(p.given)+"^^^^^L", "", p.birthCompact, sex, "", "",
		hl7Esc(p.street+" "+strconv.Itoa(p.number))+"^^"+hl7Esc(c.name)+"^^"+p.postal+"^NL^H")
}

func (h *hl7Writer) pv1(s *service) {
	h.seg("PV1", "1", "O", "^^^"+s.loc.agb, "", "", "", "", "", "", nlid.Specialisms[s.spec].Code)
}

// WriteHL7 writes the HL7 stream (see the package function).
func (w *World) WriteHL7(out io.Writer) (int, error) {
	h := &hl7Writer{w: w, out: bufio.NewWriterSize(out, 1<<20), b: make([]byte, 0, 4096)}
	for q := 0; q < w.nRec && h.err == nil; q++ {
		rec := w.record(q)
		p := w.person(rec.person)
		r := newRNG(w.seed, sHL7, uint64(q))
		ts := h.ts(-r.between(1, 1000), 8*60+r.intn(9*60))
		h.msh(rec.org, ts, "ADT^A04^ADT_A01")
		h.seg("EVN", "A04", ts)
		h.pid(&rec, &p)
		h.seg("PV1", "1", "O")
		ins := w.insurers[p.insurer]
		in1 := make([]string, 37)
		in1[0], in1[1], in1[2] = "IN1", "1", "BASIS^Basisverzekering^L"
		in1[3], in1[4] = ins.uzovi+"^^^VEKTIS^UZOVI", hl7Esc(ins.name)
		in1[12] = strconv.Itoa(p.since) + "0101"
		in1[36] = w.policyNumber(p.n, 0)
		h.seg(in1...)
		h.end()
	}
	bk := w.newBooker()
	for j := 0; j < w.nRef && h.err == nil; j++ {
		p := w.plan(j, bk)
		pers := w.person(p.rec.person)
		o, s := p.rec.org, p.svc
		spec := nlid.Specialisms[s.spec]
		kind := KindCodes[p.kind] + "^" + kindDisplay[p.kind] + "^WW-WAITKIND"
		order := w.orderNumber(&p) + "^" + o.agb
		r := newRNG(w.seed, sHL7, uint64(w.nRec+j))
		h.msh(o, h.ts(p.authored, 8*60+r.intn(9*60)), "REF^I12^REF_I12")
		complexity := ""
		if p.high {
			complexity = "high^Hoogcomplexe zorg^WW-COMPLEXITY"
		}
		h.seg("RF1", hl7RefStatus[p.status], "R^Routine^HL70280", spec.Code+"^"+hl7Esc(spec.Display)+"^COD016",
			"AM^Assume management^HL70282", kind, order, h.w.days.at(p.authored).compact, "", "", complexity)
		h.seg("PRD", "RT^Referred to provider^HL70286", hl7Esc(o.name),
			hl7Esc(s.loc.street+" "+s.loc.number)+"^^"+hl7Esc(cities[s.loc.city].name)+"^^"+s.loc.postal+"^NL",
			"^^^"+s.loc.agb, "", "", o.agb+"^AGB")
		h.pid(&p.rec, &pers)
		h.pv1(s)
		if p.status == srOnHold {
			h.seg("NTE", "1", "", "Patiënt wil de behandeling uitstellen (wenswachttijd).")
		}
		h.end()

		for i := 0; i < p.n && h.err == nil; i++ {
			a := &p.appts[i]
			event, reason := "S12", "NEW^Nieuwe afspraak^L"
			switch {
			case a.st == stCancelled:
				event, reason = "S15", "CAN^Afspraak geannuleerd^L"
			case a.st == stNoshow:
				event, reason = "S26", "NOS^Niet verschenen^L"
			case a.st == stBooked && r.float() < 0.12:
				event, reason = "S13", "RES^Afspraak verzet^L"
			}
			h.msh(o, h.ts(a.createdDay, a.createdMin), "SIU^"+event+"^SIU_S12")
			var start, end, dur, units, tq string
			if a.st != stWaitlist {
				start, end = h.ts(a.day, a.start), h.ts(a.day, a.start+a.dur)
				dur, units = strconv.Itoa(a.dur), "MIN"
				tq = "^^" + dur + "^" + start + "^" + end
			}
			slot := ""
			if a.slot >= 0 {
				slot = w.slotValue(a.sched, a.day, a.start) + "^^" + o.agb
			}
			status := hl7Status[a.st]
			code := status[:strings.IndexByte(status, '^')]
			sch := make([]string, 28)
			sch[0], sch[2], sch[5] = "SCH", w.apptNumber(&p, i)+"^"+o.agb, slot
			sch[6], sch[7], sch[8] = reason, "ROUTINE^Routine^HL70276", "Normal^Normal^HL70277"
			sch[9], sch[10], sch[11] = dur, units, tq
			sch[25], sch[27] = status, order
			h.seg(sch...)
			if a.st != stWaitlist {
				h.seg("TQ1", "1", "", "", "", "", "", start, end)
			}
			if a.st == stCancelled {
				h.seg("NTE", "1", "", hl7Esc(cancelReasons[a.reason]))
			}
			h.pid(&p.rec, &pers)
			h.pv1(s)
			h.seg("RGS", "1", "A")
			h.seg("AIS", "1", "A", kind, start, "", "", dur, units, "", code)
			h.seg("AIL", "1", "A", s.loc.agb+"^^^"+o.agb+"^^^^^"+hl7Esc(s.loc.name), "C^Clinic^HL70305", "",
				start, "", "", dur, units, "", code)
			h.seg("AIP", "1", "A", a.prac.agb+"^"+hl7Esc(a.prac.family)+"^"+hl7Esc(a.prac.given)+"^^^^^^VEKTIS",
				"ATND^Attending^HL70443", "", start, "", "", dur, units, "", code)
			high := ""
			if p.high {
				high = "high"
			}
			h.seg("ZWW", "1", w.days.at(p.authored).compact, spec.Code, KindCodes[p.kind], w.orderNumber(&p), high)
			h.end()
		}
	}
	if h.err == nil {
		h.err = h.out.Flush()
	}
	return h.seq, h.err
}

// HL7SenderConfig returns a sender configuration (the JSON that
// mappings/hl7v2.LoadConfig reads) for the HL7 stream of the world: one
// sender per provider ("<EHR>|<AGB>") with its AGB and name, and defaults
// stating the codes the stream uses beyond the HL7 tables: SCH-25 Proposed
// and Arrived, RF1-1 H (on-hold) and C (completed), the wait-kind codes in
// RF1-5 and AIS-3, and the Z-segment ZWW (ZWW-3 specialism, ZWW-4 wait
// kind). The stream also states its FHIR codes and AGB codes in the fields
// themselves (see the package doc), so a reader that understands those
// needs no configuration.
func HL7SenderConfig(cfg Config) ([]byte, error) {
	w, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return w.HL7SenderConfig(), nil
}

// HL7SenderConfig returns the sender configuration (see the package function).
func (w *World) HL7SenderConfig() []byte {
	b := []byte(`{"default":{"timeZone":"Europe/Amsterdam","processingIds":["P"],` +
		`"status":{"Proposed":"proposed","Arrived":"arrived"},` +
		`"referralStatus":{"A":"active","H":"on-hold","C":"completed"},"waitKind":{`)
	for i, k := range KindCodes {
		if i > 0 {
			b = append(b, ',')
		}
		b = str(b, k)
		b = append(b, ':')
		b = str(b, k)
	}
	b = append(b, `},"zsegments":{"ZWW-3":"specialism","ZWW-4":"waitKind"}},"senders":{`...)
	for i, o := range w.orgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = str(b, o.app+"|"+o.agb)
		b = append(b, `:{"agb":`...)
		b = str(b, o.agb)
		b = append(b, `,"name":`...)
		b = str(b, o.name)
		b = append(b, '}')
	}
	return append(b, "}}\n"...)
}

// WithControlID returns a message of WriteHL7 with its control id (MSH-10)
// replaced, so a benchmark can send it again without it being a duplicate;
// a message with fewer MSH fields is returned as it is.
func WithControlID(msg []byte, id string) []byte {
	f := bytes.SplitN(msg, []byte("|"), 11)
	if len(f) < 11 {
		return msg
	}
	f[9] = []byte(id)
	return bytes.Join(f, []byte("|"))
}
