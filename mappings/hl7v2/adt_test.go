package hl7v2

import (
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

func adtMsg(trig string, segs ...string) []byte {
	msh := "MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103140000+0100||ADT^" + trig + "^ADT_A01|ADT-" + trig + "|P|2.5.1"
	return hl7(append([]string{msh, "EVN||20261103135900+0100"}, segs...)...)
}

func TestADTPatientEvents(t *testing.T) {
	for _, trig := range []string{"A01", "A04", "A08", "A28", "A31"} {
		t.Run(trig, func(t *testing.T) {
			res := mustMap(t, adtMsg(trig, pidNoord, "PV1|1|O"))
			if got := types(res); got != "Organization,Patient" {
				t.Fatalf("resources %s", got)
			}
			p := one(t, res, "Patient")
			if str(p, "id") != ww.DeriveID(testKey, "Patient", ww.HospitalSystem(nlAGB, "patient"), patientNo) {
				t.Errorf("Patient id")
			}
			if str(p, "identifier", 0, "value") != patientNo || str(p, "identifier", 1, "system") != ww.SystemBSN || str(p, "identifier", 1, "value") != testBSN {
				t.Errorf("identifiers %v", get(p, "identifier"))
			}
			if str(p, "name", 0, "family") != "de Vries-van Dijk" || str(p, "name", 0, "given", 0) != "Johanna" || str(p, "name", 0, "use") != "official" {
				t.Errorf("name %v", get(p, "name"))
			}
			if str(p, "gender") != "female" || str(p, "birthDate") != "1958-02-14" {
				t.Errorf("gender/birthDate %s %s", str(p, "gender"), str(p, "birthDate"))
			}
			if str(p, "address", 0, "postalCode") != "9711AB" || str(p, "address", 0, "city") != "Groningen" || str(p, "address", 0, "line", 0) != "Kerkstraat 12" || str(p, "address", 0, "use") != "home" {
				t.Errorf("address %v", get(p, "address"))
			}
			if res.Resources[1].IfAbsent {
				t.Errorf("ADT is the authority for the Patient: it replaces the stored one")
			}
			if res.SourceTime.FHIRDateTime() != "2026-11-03T13:59:00+01:00" {
				t.Errorf("SourceTime is EVN-2: %s", res.SourceTime.FHIRDateTime())
			}
		})
	}
}

func TestADTPatientFields(t *testing.T) {
	cases := []struct {
		name, pid, path, want string
	}{
		{"gender M", "PID|1||1^^^X^MR||A^B||1970|M", "gender", "male"},
		{"gender F", "PID|1||1^^^X^MR||A^B||1970|F", "gender", "female"},
		{"gender O", "PID|1||1^^^X^MR||A^B||1970|O", "gender", "other"},
		{"gender U", "PID|1||1^^^X^MR||A^B||1970|U", "gender", "unknown"},
		{"birth year only", "PID|1||1^^^X^MR||A^B||1949|M", "birthDate", "1949"},
		{"birth month", "PID|1||1^^^X^MR||A^B||194903|M", "birthDate", "1949-03"},
		{"birth date with time and offset", "PID|1||1^^^X^MR||A^B||198808181126+0215|M", "birthDate", "1988-08-18"},
		{"birth date with time, no offset", "PID|1||1^^^X^MR||A^B||195802142330|M", "birthDate", "1958-02-14"},
		{"without a BSN", "PID|1||7654321^^^ZKH^MR||A^B", "identifier.0.value", "7654321"},
		{"patient number preferred by type MR", "PID|1||X1^^^OTHER^AN~7654321^^^ZKH^MR||A", "identifier.0.value", "7654321"},
		{"any other repetition when no MR", "PID|1||X1^^^OTHER||A", "identifier.0.value", "X1"},
		{"BSN by type NNNLD only", "PID|1||123456782^^^^NNNLD~9^^^Z^MR||A", "identifier.1.system", ww.SystemBSN},
		{"death", seg("PID", map[int]string{1: "1", 3: "1^^^X^MR", 5: "A", 29: "20260101"}), "deceasedDateTime", "2026-01-01"},
		{"telecom", "PID|1||1^^^X^MR||A||||||||0612345678^PRN^CP", "telecom.0.use", "mobile"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := mustMap(t, adtMsg("A08", c.pid))
			p := one(t, res, "Patient")
			var keys []any
			for _, k := range strings.Split(c.path, ".") {
				if len(k) == 1 && k[0] >= '0' && k[0] <= '9' {
					keys = append(keys, int(k[0]-'0'))
				} else {
					keys = append(keys, k)
				}
			}
			if got := str(p, keys...); got != c.want {
				t.Errorf("%s = %q, want %q", c.path, got, c.want)
			}
		})
	}
	t.Run("death indicator only", func(t *testing.T) {
		res := mustMap(t, adtMsg("A08", seg("PID", map[int]string{1: "1", 3: "1^^^X^MR", 5: "A", 30: "Y"})))
		if get(one(t, res, "Patient"), "deceasedBoolean") != true {
			t.Errorf("PID-30 Y → deceasedBoolean")
		}
	})
	t.Run("unknown gender: warning, left out", func(t *testing.T) {
		res := mustMap(t, adtMsg("A08", "PID|1||1^^^X^MR||A||1970|Q"))
		if get(one(t, res, "Patient"), "gender") != nil || !hasProblem(res.Warnings, "W", "103", "PID", 8) {
			t.Errorf("%s", problemsString(res.Warnings))
		}
	})
}

func TestADTBSN(t *testing.T) {
	cases := []struct {
		name, pid string
		code      string // "" = accepted
		rep       int
	}{
		{"valid BSN", "PID|1||123456782^^^NLMINBIZA^NNNLD~7654321^^^ZKH^MR||A", "", 0},
		{"valid test BSN 999911120", "PID|1||7654321^^^ZKH^MR~999911120^^^NLMINBIZA^NNNLD||A", "", 0},
		{"fails the elfproef", "PID|1||7654321^^^ZKH^MR~123456789^^^NLMINBIZA^NNNLD||A", "102", 2},
		{"eight digits", "PID|1||12345678^^^NLMINBIZA^NNNLD~7654321^^^ZKH^MR||A", "102", 1},
		{"letters", "PID|1||12345678X^^^NLMINBIZA^NNNLD~7654321^^^ZKH^MR||A", "102", 1},
		{"all zeros (sum 0)", "PID|1||000000000^^^NLMINBIZA^NNNLD~7654321^^^ZKH^MR||A", "102", 1},
		{"BSN alone", "PID|1||123456782^^^NLMINBIZA^NNNLD||A", "101", 0},
		{"PID-3 empty", "PID|1||||A", "101", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, res, err := mapRaw(t, adtMsg("A04", c.pid))
			if c.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkResources(t, res)
				return
			}
			me := mappingError(t, adtMsg("A04", c.pid))
			if me.Reject || !hasProblem(me.Problems, "E", c.code, "PID", 3) {
				t.Fatalf("want AE %s at PID-3, got %s", c.code, problemsString(me.Problems))
			}
			if c.rep > 0 && me.Problems[0].Rep != c.rep {
				t.Errorf("repetition %d, want %d", me.Problems[0].Rep, c.rep)
			}
			for _, p := range me.Problems {
				for _, digits := range []string{"123456789", "12345678", "000000000"} {
					if strings.Contains(p.Text, digits) {
						t.Errorf("the rejected BSN appears in the problem text: %q", p.Text)
					}
				}
			}
		})
	}
}

func TestADTCoverage(t *testing.T) {
	in1 := seg("IN1", map[int]string{1: "1", 2: "ZORGV^Basisverzekering", 3: "3311^^^UZOVI^UZOVI", 4: "Voorbeeld Zorgverzekeraar", 12: "20260101", 13: "20261231", 36: "NL-POLIS-42"})
	res := mustMap(t, adtMsg("A04", pidNoord, in1))
	if got := types(res); got != "Organization,Patient,Organization,Coverage" {
		t.Fatalf("resources %s", got)
	}
	ins := decoded(t, res, "Organization")[1]
	if str(ins, "identifier", 0, "system") != ww.SystemUZOVI || str(ins, "identifier", 0, "value") != "3311" || str(ins, "name") != "Voorbeeld Zorgverzekeraar" {
		t.Errorf("insurer %v", ins)
	}
	cov := one(t, res, "Coverage")
	pat := one(t, res, "Patient")
	if str(cov, "id") != ww.DeriveID(testKey, "Coverage", ww.SystemUZOVI+"/3311", "NL-POLIS-42") {
		t.Errorf("Coverage id")
	}
	if str(cov, "beneficiary", "reference") != "Patient/"+str(pat, "id") || str(cov, "payor", 0, "reference") != "Organization/"+str(ins, "id") ||
		str(cov, "status") != "active" || str(cov, "period", "start") != "2026-01-01" || str(cov, "period", "end") != "2026-12-31" || str(cov, "subscriberId") != "NL-POLIS-42" {
		t.Errorf("Coverage %v", cov)
	}
	t.Run("IN1 without UZOVI: no Coverage, no warning", func(t *testing.T) {
		res := mustMap(t, adtMsg("A04", pidNoord, "IN1|1|BAV|IC-1.31^24^BCV^&2.16.840.1.113883.1.1&ISO^NIIP|Blue Cross"))
		if types(res) != "Organization,Patient" || len(res.Warnings) > 0 {
			t.Errorf("%s %s", types(res), problemsString(res.Warnings))
		}
	})
	t.Run("UZOVI without a policy number: warning", func(t *testing.T) {
		res := mustMap(t, adtMsg("A04", pidNoord, "IN1|1|ZORGV|3311^^^UZOVI^UZOVI"))
		if types(res) != "Organization,Patient" || !hasProblem(res.Warnings, "W", "101", "IN1", 36) {
			t.Errorf("%s %s", types(res), problemsString(res.Warnings))
		}
	})
}

func TestADTMergeA40(t *testing.T) {
	raw := adtMsg("A40", pidNoord, "MRG|7000001^^^ZKH-NOORD^MR")
	res := mustMap(t, raw)
	surv := ww.DeriveID(testKey, "Patient", ww.HospitalSystem(nlAGB, "patient"), patientNo)
	ret := ww.DeriveID(testKey, "Patient", ww.HospitalSystem(nlAGB, "patient"), "7000001")
	if res.Merge == nil || res.Merge.Surviving != surv || res.Merge.Retired != ret {
		t.Fatalf("Merge %+v", res.Merge)
	}
	if got := types(res); got != "Organization,Patient,Patient" {
		t.Fatalf("resources %s", got)
	}
	ps := decoded(t, res, "Patient")
	if str(ps[0], "id") != surv || str(ps[1], "id") != ret {
		t.Fatalf("order: survivor first")
	}
	r := ps[1]
	if get(r, "active") != false || str(r, "link", 0, "type") != "replaced-by" || str(r, "link", 0, "other", "reference") != "Patient/"+surv {
		t.Errorf("retired %v", r)
	}
	if get(r, "name") != nil || len(get(r, "identifier").([]any)) != 1 {
		t.Errorf("the retired Patient keeps only its number (no BSN): %v", r)
	}
	for _, c := range []struct {
		name string
		raw  []byte
		code string
		seg  string
	}{
		{"no MRG", adtMsg("A40", pidNoord), "100", "MRG"},
		{"MRG-1 empty", adtMsg("A40", pidNoord, "MRG|"), "101", "MRG"},
		{"the same number", adtMsg("A40", pidNoord, "MRG|7654321^^^ZKH^MR"), "102", "MRG"},
		{"two pairs", adtMsg("A40", pidNoord, "MRG|1^^^Z^MR", "PID|1||2^^^Z^MR", "MRG|3^^^Z^MR"), "100", "PID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			me := mappingError(t, c.raw)
			if !hasProblem(me.Problems, "E", c.code, c.seg, 0) {
				t.Errorf("%s", problemsString(me.Problems))
			}
		})
	}
}
