package hl7v2

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleDir holds the shared HL7 v2 and FHIR samples (never copied into the
// repository); the tests skip when it is absent.
const sampleDir = "../../../shared/data/standards"

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir, name))
	if os.IsNotExist(err) {
		t.Skipf("sample %s not present", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every sample file, parsed and mapped with testdata/senders.json, and the
// acknowledgment it must get.
//
//	file                                      MSA-1  why
//	msfc-ADT-A04-01.hl7                       AA     v2.8 ADT^A04: Patient PATID1234 (PID-3 type MR; the US SSN repetition is not a BSN and is ignored); IN1 has no UZOVI, so no Coverage; EVN-2 (+0115) is the source time
//	msfc-ADT-A08-01.hl7                       AA     the same patient, A08 replaces the Patient
//	msfc-SIU-S12-01.hl7                       AA     LF line ends; booked; TQ1 wins over the withdrawn SCH-11 (2020 vs 2021); +0215 kept; SCH-9/10 "60 s" not used (TQ1 gives 50 min)
//	msfc-SIU-S12-02.hl7                       AA     three RGS groups (one without AIS), SCH-10 "Min"; five Locations and Practitioners
//	msfc-SIU-S12_1.hl7                        AA     AIL-3 in sub-components (11&X-Ray Room&L) read as point of care + name; MSH-3 ADTApp matched by "*|GHHSFacility"
//	msfc-SIU-S13-0{1,2}.hl7                   AA     booked, the rescheduled times; S13-01 has its note in NTE-2
//	msfc-SIU-S14-0{1,2}.hl7                   AA     booked, the new room; S14-01 note in NTE-2
//	msfc-SIU-S15-0{1,2}.hl7                   AA     cancelled; cancelationReason from SCH-6 ("Add", as sent)
//	msfc-SIU-S16-0{1,2}.hl7                   AA     SCH-25 "Dc" (mixed case, a ConceptMap gap) → cancelled, "Dc" kept in the filler-status extension
//	msfc-SIU-S17-0{1,2}.hl7                   AA     SCH-25 Deleted → entered-in-error
//	msfc-SIU-S26-0{1,2}.hl7                   AA     SCH-25 Noshow → noshow
//	msfc-SIU_12.hl7                           AR     named SIU, but MSH-9 is ADT^A60 → 201 unsupported event (routing goes by MSH-9, never the file name)
//	synthetic-ADT-A04-lf-terminated.hl7       AA+W   5 encoding characters ^~\&#, LF ends, UTF-8, BSN valid; IN1-3 is UZOVI 3311 but the policy number NL-POLIS-42 sits in IN1-46, not IN1-36: warning 101 at IN1-36, no Coverage
//	synthetic-SIU-S12-v23-zseg-cr.hl7         AA     v2.3, CR ends, 8859/1, \T\ \F\ in NTE, times only in SCH-11 (Amsterdam, +01:00); ZWL-2/3/5 configured → a wait (authoredOn 2026-09-15, 0305, WACHTLIJST-REF-991); AIP-3 authority VEKTIS → Practitioner by AGB
//	synthetic-SIU-S12-waitlist-date-only.hl7  AE     PID-3 holds only a BSN: 101 at PID-3 (a Patient is never identified by its BSN alone); with a patient number it maps (see TestSampleVariants)
//	synthetic-SIU-S15-v251-tz-seconds.hl7     AE     the same: PID-3 is a BSN only → 101 at PID-3; with a patient number it maps
//
// Without a configuration, msfc-* get AR 207 (MSH-4 GHHSFacility is no AGB
// code, so no id can be derived) and so do the ZKH-NOORD/ZKH-ZUID files,
// except synthetic-SIU-S12-v23-zseg-cr.hl7, whose MSH-4.2 carries an AGB
// code; msfc-SIU_12.hl7 gets AR with both 201 and 207.
func TestSampleFiles(t *testing.T) {
	cases := []struct {
		file        string
		code        string   // MSA-1 with testdata/senders.json
		problems    []string // "E 101 PID-3" …
		status      string   // Appointment.status, when one is written
		noConfig    string   // MSA-1 without any configuration
		resourceSet string   // the resource types written, in order ("" = not checked)
	}{
		{"msfc-ADT-A04-01.hl7", "AA", nil, "", "AR", "Organization,Patient"},
		{"msfc-ADT-A08-01.hl7", "AA", nil, "", "AR", "Organization,Patient"},
		{"msfc-SIU-S12-01.hl7", "AA", nil, "booked", "AR", "Organization,Patient,Location,Practitioner,Appointment"},
		{"msfc-SIU-S12-02.hl7", "AA", nil, "booked", "AR", ""},
		{"msfc-SIU-S12_1.hl7", "AA", nil, "booked", "AR", ""},
		{"msfc-SIU-S13-01.hl7", "AA", nil, "booked", "AR", ""},
		{"msfc-SIU-S13-02.hl7", "AA", nil, "booked", "AR", ""},
		{"msfc-SIU-S14-01.hl7", "AA", nil, "booked", "AR", ""},
		{"msfc-SIU-S14-02.hl7", "AA", nil, "booked", "AR", ""},
		{"msfc-SIU-S15-01.hl7", "AA", nil, "cancelled", "AR", ""},
		{"msfc-SIU-S15-02.hl7", "AA", nil, "cancelled", "AR", ""},
		{"msfc-SIU-S16-01.hl7", "AA", nil, "cancelled", "AR", ""},
		{"msfc-SIU-S16-02.hl7", "AA", nil, "cancelled", "AR", ""},
		{"msfc-SIU-S17-01.hl7", "AA", nil, "entered-in-error", "AR", ""},
		{"msfc-SIU-S17-02.hl7", "AA", nil, "entered-in-error", "AR", ""},
		{"msfc-SIU-S26-01.hl7", "AA", nil, "noshow", "AR", ""},
		{"msfc-SIU-S26-02.hl7", "AA", nil, "noshow", "AR", ""},
		{"msfc-SIU_12.hl7", "AR", []string{"E 201 MSH-9"}, "", "AR", ""},
		{"synthetic-ADT-A04-lf-terminated.hl7", "AA", []string{"W 101 IN1-36"}, "", "AR", "Organization,Patient"},
		{"synthetic-SIU-S12-v23-zseg-cr.hl7", "AA", nil, "booked", "AA", "Organization,Patient,Location,Practitioner,ServiceRequest,Appointment"},
		{"synthetic-SIU-S12-waitlist-date-only.hl7", "AE", []string{"E 101 PID-3"}, "", "AR", ""},
		{"synthetic-SIU-S15-v251-tz-seconds.hl7", "AE", []string{"E 101 PID-3"}, "", "AR", ""},
	}
	if _, err := os.Stat(filepath.Join(sampleDir, "hl7v2")); os.IsNotExist(err) {
		t.Skip("shared samples not present")
	}
	files, _ := filepath.Glob(filepath.Join(sampleDir, "hl7v2", "*.hl7"))
	if len(files) != len(cases) {
		t.Errorf("%d sample files, %d in the table: add the new ones", len(files), len(cases))
	}
	cfg := testConfig(t)
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw := readSample(t, "hl7v2/"+c.file)
			m, err := Parse(raw, ParseOptions{Senders: cfg})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			res, err := Map(m, cfg.For(m.SendingApplication, m.SendingFacility), testKey)
			var warnings []Problem
			if res != nil {
				warnings = res.Warnings
				checkResources(t, res)
				if c.resourceSet != "" && types(res) != c.resourceSet {
					t.Errorf("resources %s, want %s", types(res), c.resourceSet)
				}
				if c.status != "" {
					if got := str(one(t, res, "Appointment"), "status"); got != c.status {
						t.Errorf("status %s, want %s", got, c.status)
					}
				}
			}
			code, problems := Outcome(warnings, err)
			if code != c.code {
				t.Fatalf("MSA-1 %s, want %s (%s)", code, c.code, problemsString(problems))
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.Severity+" "+p.Code+" "+p.Segment+"-"+itoa(p.Field))
			}
			if strings.Join(got, ";") != strings.Join(c.problems, ";") {
				t.Errorf("problems %q, want %q (%s)", got, c.problems, problemsString(problems))
			}
			// The ACK of every file parses, answers its control id and carries
			// one ERR per problem.
			ack := mustParse(t, BuildACK(m, code, problems, ackOpt))
			if ack.Field("MSA-1") != code || ack.Field("MSA-2") != m.ControlID || len(ack.All("ERR")) != len(problems) {
				t.Errorf("ACK %q", BuildACK(m, code, problems, ackOpt))
			}
			// Without any configuration.
			_, err = Map(mustParse(t, raw), nil, testKey)
			if code, _ := Outcome(nil, err); code != c.noConfig {
				t.Errorf("without configuration MSA-1 %s, want %s (%v)", code, c.noConfig, err)
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// The two synthetic files that are rejected for a BSN-only PID-3 still
// exercise their quirks once a hospital patient number is added.
func TestSampleVariants(t *testing.T) {
	t.Run("waitlist, date only, month-precision MSH-7", func(t *testing.T) {
		raw := strings.Replace(string(readSample(t, "hl7v2/synthetic-SIU-S12-waitlist-date-only.hl7")),
			"999911120^^^NLMINBIZA^NNNLD", "999911120^^^NLMINBIZA^NNNLD~Z-4711^^^ZKH-ZUID^MR", 1)
		res := mustMap(t, []byte(raw))
		if len(res.Warnings) != 0 {
			t.Errorf("warnings %s", problemsString(res.Warnings))
		}
		a, sr, p := one(t, res, "Appointment"), one(t, res, "ServiceRequest"), one(t, res, "Patient")
		if str(a, "status") != "waitlist" || get(a, "start") != nil || str(a, "requestedPeriod", 0, "start") != "2027-01-15" {
			t.Errorf("appointment %v", a)
		}
		// MSH-7 is 202611: the order date has month precision.
		if res.SourceTime.Precision != PrecMonth || str(sr, "authoredOn") != "2026-11" || str(sr, "identifier", 0, "value") != "ORD-77" {
			t.Errorf("ServiceRequest %v", sr)
		}
		if str(sr, "performerType", "coding", 0, "code") != "0305" || str(sr, "category", 0, "coding", 0, "code") != "treatment-inpatient" {
			t.Errorf("sender defaults %v", sr)
		}
		if str(p, "birthDate") != "1949" || str(p, "identifier", 1, "value") != "999911120" {
			t.Errorf("patient %v", p)
		}
	})
	t.Run("cancellation with fractional seconds", func(t *testing.T) {
		raw := strings.Replace(string(readSample(t, "hl7v2/synthetic-SIU-S15-v251-tz-seconds.hl7")),
			"123456782^^^NLMINBIZA^NNNLD", "123456782^^^NLMINBIZA^NNNLD~7654321^^^ZKH-NOORD^MR", 1)
		res := mustMap(t, []byte(raw))
		a := one(t, res, "Appointment")
		if str(a, "status") != "cancelled" || str(a, "cancelationReason", "coding", 0, "code") != "CANC" ||
			str(a, "start") != "2026-12-01T10:40:00+01:00" || str(a, "end") != "2026-12-01T11:00:00+01:00" {
			t.Errorf("appointment %v", a)
		}
		if res.SourceTime.FHIRDateTime() != "2026-11-10T08:30:00.123+01:00" {
			t.Errorf("source time %s", res.SourceTime.FHIRDateTime())
		}
		// The S12 of the same appointment (v2.3 file) and this S15 meet.
		s12 := one(t, mustMap(t, readSample(t, "hl7v2/synthetic-SIU-S12-v23-zseg-cr.hl7")), "Appointment")
		if str(s12, "id") != str(a, "id") {
			t.Errorf("S12 and S15 of FL-557201 are two resources")
		}
	})
}

// Cross-check against Microsoft's FHIR-Converter output for the same
// messages, where it agrees with the v2-to-FHIR IG.
//
// Agreed: status (booked, cancelled), start and end as the same instants
// (they write 12:45+05:30, we keep the sender's 09:30+02:15), the placer and
// filler identifiers (PLAC 12345, FILL 36996), appointmentType EMERGENCY
// (v2-0276), the comment of S12-01, participant status declined for the
// resources of the cancelled appointment.
//
// Differences, on purpose:
//   - minutesDuration: they write 1, from SCH-9/10 "60 s" (the withdrawn
//     duration fields); we write 50, the TQ1 end minus start, because start,
//     end and minutesDuration must agree and TQ1 is the v2.5+ truth.
//   - basedOn/ServiceRequest: they make a ServiceRequest from the AIS
//     service; the IG (and we) make one only from SCH-26/27, which are empty.
//   - S15-01's note "Appointment cancelled." sits in NTE-2: they drop it, we
//     read it as the comment.
//   - priority 2 (from SCH-11 TQ.1/priority): not mapped; SCH-11 is withdrawn
//     and TQ1 has no priority here.
//   - ids: theirs are UUIDs per message; ours DeriveID over the business
//     identifiers, so S12 and S15 update one Appointment.
func TestGoldenCrossCheck(t *testing.T) {
	for _, c := range []struct{ hl7, golden, status, comment string }{
		{"msfc-SIU-S12-01.hl7", "msfc-SIU-S12-01-expected.json", "booked", "Appointment booked for emergency procedure"},
		{"msfc-SIU-S15-01.hl7", "msfc-SIU-S15-01-expected.json", "cancelled", "Appointment cancelled."},
	} {
		t.Run(c.hl7, func(t *testing.T) {
			var bundle struct {
				Entry []struct{ Resource map[string]any } `json:"entry"`
			}
			if err := json.Unmarshal(readSample(t, "fhir-golden/"+c.golden), &bundle); err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			for _, e := range bundle.Entry {
				if e.Resource["resourceType"] == "Appointment" {
					want = e.Resource
				}
			}
			got := one(t, mustMap(t, readSample(t, "hl7v2/"+c.hl7)), "Appointment")
			if str(got, "status") != str(want, "status") || str(got, "status") != c.status {
				t.Errorf("status %s vs golden %s", str(got, "status"), str(want, "status"))
			}
			for _, f := range []string{"start", "end"} {
				g, err1 := time.Parse(time.RFC3339, str(got, f))
				w, err2 := time.Parse(time.RFC3339, str(want, f))
				if err1 != nil || err2 != nil || !g.Equal(w) {
					t.Errorf("%s: %s vs golden %s", f, str(got, f), str(want, f))
				}
			}
			if str(got, "start") != "2021-09-24T09:30:00+02:15" {
				t.Errorf("the sender's offset must be kept: %s", str(got, "start"))
			}
			for i, typ := range []string{"PLAC", "FILL"} {
				if str(got, "identifier", i, "value") != str(want, "identifier", i, "value") ||
					str(got, "identifier", i, "type", "coding", 0, "code") != typ || str(want, "identifier", i, "type", "coding", 0, "code") != typ {
					t.Errorf("identifier %d: %v vs %v", i, get(got, "identifier", i), get(want, "identifier", i))
				}
			}
			if str(got, "appointmentType", "coding", 0, "code") != str(want, "appointmentType", "coding", 0, "code") {
				t.Errorf("appointmentType")
			}
			if str(got, "comment") != c.comment {
				t.Errorf("comment %q", str(got, "comment"))
			}
			// Resource participants: the same status as theirs.
			wantStatus := str(want, "participant", 2, "status")
			if str(got, "participant", 1, "status") != wantStatus || str(got, "participant", 2, "status") != wantStatus {
				t.Errorf("participant status %s/%s vs golden %s", str(got, "participant", 1, "status"), str(got, "participant", 2, "status"), wantStatus)
			}
			if md := get(got, "minutesDuration"); md == nil || md.(json.Number).String() != "50" || get(want, "minutesDuration").(float64) != 1 {
				t.Errorf("minutesDuration %v vs golden %v (documented difference)", md, get(want, "minutesDuration"))
			}
		})
	}
}
