package mediation

import (
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

func TestMembershipTwoPatientsOneBSN(t *testing.T) {
	key := []byte("deployment key for tests")
	hospital := parse(t, `{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"},{"system":"https://wachtwijzer.nl/fhir/NamingSystem/agb/06010101/patient","value":"P1"}],
		"address":[{"use":"home","postalCode":"6525 GA","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":[{"url":"latitude","valueDecimal":51.84},{"url":"longitude","valueDecimal":5.86}]}]}]}`)
	insurerCopy := parse(t, `{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"address":[{"postalCode":"6511AB"}]}`)
	other := parse(t, `{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"123456782"}]}`)
	noBSN := parse(t, `{"resourceType":"Patient","name":[{"family":"Onbekend"}]}`)
	regions := DefaultRegions()
	fh, fi := PatientFactsOf(hospital, regions), PatientFactsOf(insurerCopy, regions)
	kh, ki := PatientMemberKey(key, "pat-hosp", fh), PatientMemberKey(key, "pat-ins", fi)
	if kh != ki {
		t.Fatalf("two Patient resources with one BSN have member keys %s and %s", kh, ki)
	}
	if strings.Contains(kh, "999911120") {
		t.Fatal("the member key carries the BSN")
	}
	if ko := PatientMemberKey(key, "pat-other", PatientFactsOf(other, regions)); ko == kh {
		t.Fatal("another BSN gives the same member key")
	}
	if kn := PatientMemberKey(key, "pat-x", PatientFactsOf(noBSN, regions)); kn != "p-pat-x" {
		t.Fatalf("a Patient without BSN has member key %q, want p-pat-x", kn)
	}
	if PatientMemberKey([]byte("another deployment"), "pat-hosp", fh) == kh {
		t.Fatal("the member key does not depend on the deployment key")
	}
	if fh.Home == nil || !fh.Home.HasGeo || fh.Home.PC4 != "6525" || fh.Home.Region != "NL-GE" {
		t.Fatalf("home of the hospital record: %+v", fh.Home)
	}
	if fi.Home == nil || fi.Home.HasGeo || fi.Home.PC4 != "6511" {
		t.Fatalf("home of the insurer's record (postcode without space, no geolocation): %+v", fi.Home)
	}

	// The Coverage hangs off the insurer's Patient; the wait off the
	// hospital's. Joined by member key, the wait belongs to the insurer.
	cov, ben := CoverageFactOf("cov1", parse(t, `{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"Patient/pat-ins"},
		"period":{"start":"2026-01-01"},"payor":[{"reference":"Organization/ins-1","identifier":{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"7119"}}]}`))
	if ben != "pat-ins" || cov.UZOVI != "7119" || cov.PayorOrg != "ins-1" {
		t.Fatalf("coverage fact %+v beneficiary %s", cov, ben)
	}
	ended, _ := CoverageFactOf("cov0", parse(t, `{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"Patient/pat-hosp"},
		"period":{"start":"2023-01-01","end":"2025-12-31"},"payor":[{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"3332"}}]}`))
	m := &MemberRecord{}
	m.SetCoverage(cov.ID, &cov)
	m.SetCoverage(ended.ID, &ended)
	m.SetWait("sr1", "pat-hosp", true)
	w := &WaitRecord{SR: &WaitFacts{Status: "active", Patient: "pat-hosp", Authored: day(t, "2026-03-01")}, Cov: m.Cov}
	if got := strings.Join(w.Insurers(), ","); got != "3332,7119" {
		t.Errorf("insurers the wait is filed under: %s", got)
	}
	asOf := day(t, "2026-03-31")
	if !w.MemberOf(map[string]bool{"7119": true}, asOf) {
		t.Error("the member of 7119 (coverage on the insurer's Patient record) is not seen on the hospital's wait")
	}
	if !w.MemberOf(map[string]bool{"org:ins-1": true}, asOf) {
		t.Error("membership by payor Organization id fails")
	}
	if w.MemberOf(map[string]bool{"3332": true}, asOf) {
		t.Error("the coverage with 3332 ended on 31 December 2025, yet the member counts for 3332 in March 2026")
	}
	if !w.MemberOf(map[string]bool{"3332": true}, day(t, "2025-12-31")) {
		t.Error("on the last day of the ended coverage the member still belongs to 3332")
	}
	// A BSN change of one record moves its coverages and waits.
	covs, waits := m.TakePatient("pat-hosp")
	if len(covs) != 1 || covs[0].ID != "cov0" || len(waits) != 1 || waits[0].SR != "sr1" {
		t.Errorf("TakePatient: %v %v", covs, waits)
	}
	if len(m.Cov) != 1 || m.Cov[0].ID != "cov1" || len(m.Waits) != 0 {
		t.Errorf("left behind: %+v", m)
	}
	cancelled := CoverageFact{ID: "c", Status: "cancelled", UZOVI: "7119", From: NoDay, To: NoDay}
	if cancelled.Covers(asOf) {
		t.Error("a cancelled coverage covers")
	}
	if d, ok := endDay("2025-12"); !ok || d.String() != "2025-12-31" {
		t.Errorf("period end 2025-12 → %s", d)
	}
}

func TestSpecialism(t *testing.T) {
	for in, want := range map[string]string{"305": "0305", "0305": "0305", " 301 ": "0301"} {
		if got, ok := NormalizeSpecialism(in); !ok || got != want {
			t.Errorf("NormalizeSpecialism(%q) = %q", in, got)
		}
	}
	for _, bad := range []string{"", "30", "03050", "ortho", "3o5"} {
		if _, ok := NormalizeSpecialism(bad); ok {
			t.Errorf("NormalizeSpecialism(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{
		"0305": "0305", "305": "0305", ww.SystemSpecialism + "|0305": "0305",
		ww.SystemSpecialismVektis + "|305": "0305", "|0305": "0305",
	} {
		got, err := ParseSpecialty(in)
		if err != nil || got != want {
			t.Errorf("ParseSpecialty(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"http://snomed.info/sct|0305", "ortho", ww.SystemSpecialism + "|"} {
		if _, err := ParseSpecialty(bad); err == nil {
			t.Errorf("ParseSpecialty(%q) accepted", bad)
		}
	}
	v := parse(t, `{"coding":[{"system":"http://snomed.info/sct","code":"394801008"},{"system":"http://ei.vektis.nl/codelijsten/COD016-VEKT","code":"305"}]}`)
	if s := SpecialismOf(v); s != "0305" {
		t.Errorf("SpecialismOf the Vektis spelling = %q", s)
	}
	// The specialism of a wait: performerType, else code.
	f := SRFacts(parse(t, `{"resourceType":"ServiceRequest","status":"active","code":{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0320"}]}}`))
	if f.Specialism != "0320" {
		t.Errorf("specialism from code: %q", f.Specialism)
	}
}

func TestProviderKinds(t *testing.T) {
	k := DefaultProviderKinds()
	org := func(js string) *OrgFacts { return OrgFactsOf("o", parse(t, js)) }
	cases := []struct {
		name, js, want string
	}{
		{"AGB list 0602 is an academic centre", `{"type":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0602"}]}]}`, ProviderUMC},
		{"0601 general hospital", `{"type":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0601"}]}]}`, ProviderHospital},
		{"0613 eye hospital counts as hospital", `{"type":[{"coding":[{"system":"http://ei.vektis.nl/codelijsten/COD016-VEKT","code":"0613"}]}]}`, ProviderHospital},
		{"0614 orthopaedic clinic counts as hospital", `{"type":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0614"}]}]}`, ProviderHospital},
		{"2200 ZBC", `{"type":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"2200"}]}]}`, ProviderZBC},
		{"2270 ZBC (EMS)", `{"type":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"2270"}]}]}`, ProviderZBC},
		{"Nictiz V5 is an academic centre", `{"type":[{"coding":[{"system":"http://nictiz.nl/fhir/NamingSystem/organization-type","code":"V5"}]}]}`, ProviderUMC},
		{"Nictiz V6 general hospital", `{"type":[{"coding":[{"system":"http://nictiz.nl/fhir/NamingSystem/organization-type","code":"V6"}]}]}`, ProviderHospital},
		{"no type: AGB prefix 06 → hospital", `{"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06010101"}]}`, ProviderHospital},
		{"no type: 7-digit AGB 6010101 (leading 0 dropped) → hospital", `{"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"6010101"}]}`, ProviderHospital},
		{"no type: AGB prefix 22 → zbc", `{"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"22010101"}]}`, ProviderZBC},
		{"unknown: GP practice", `{"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"01010101"}]}`, ""},
		{"UMC code wins over the AGB prefix", `{"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06020502"}],"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"prov"},{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0602"}]}]}`, ProviderUMC},
	}
	for _, c := range cases {
		if got := k.Of(org(c.js)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	custom, err := LoadProviderKinds([]byte(`{"codes":{"http://example.org/kind|academic":"umc"},"agbPrefixes":{"06":"hospital"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := custom.Of(org(`{"type":[{"coding":[{"system":"http://example.org/kind","code":"academic"}]}]}`)); got != ProviderUMC {
		t.Errorf("configured code: %q", got)
	}
	if got := custom.Of(org(`{"type":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"2200"}]}]}`)); got != "" {
		t.Errorf("a replaced map still knows 2200: %q", got)
	}
	for _, bad := range []string{`{"codes":{"nosystem":"umc"}}`, `{"codes":{"a|b":"clinic"}}`, `{"agbPrefixes":{"6":"zbc"}}`} {
		if _, err := LoadProviderKinds([]byte(bad)); err == nil {
			t.Errorf("LoadProviderKinds(%s) accepted", bad)
		}
	}
}

func TestRegions(t *testing.T) {
	r := DefaultRegions()
	for pc, want := range map[string]string{
		"9711": "NL-GR", "8911": "NL-FR", "9400": "NL-DR", "7811": "NL-DR", "8011": "NL-OV", "7511": "NL-OV",
		"1311": "NL-FL", "8211": "NL-FL", "6511": "NL-GE", "6811": "NL-GE", "3841": "NL-GE", "4001": "NL-GE",
		"3511": "NL-UT", "3811": "NL-UT", "3900": "NL-UT", "1011": "NL-NH", "2011": "NL-NH", "1211": "NL-NH",
		"3011": "NL-ZH", "2511": "NL-ZH", "3311": "NL-ZH", "4330": "NL-ZE", "4530": "NL-ZE", "5611": "NL-NB",
		"4811": "NL-NB", "5340": "NL-NB", "6211": "NL-LI", "5911": "NL-LI", "6001": "NL-LI",
	} {
		if got := r.Of(pc); got != want {
			t.Errorf("PC4 %s in %q, want %s", pc, got, want)
		}
	}
	if len(r.List) != 12 {
		t.Errorf("%d default regions, want the 12 provinces", len(r.List))
	}
	if r.Of("0999") != "" || r.Of("abcd") != "" {
		t.Error("an impossible PC4 has a region")
	}
	roaz, err := LoadRegions([]byte(`{"name":"ROAZ","regions":[{"code":"noord-nl","name":"Acute Zorgnetwerk Noord-Nederland","postcodes":["7740-9999"]},{"code":"rest","name":"Rest","postcodes":["1000-7739"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if roaz.Of("9711") != "noord-nl" || roaz.Of("3511") != "rest" || roaz.Fingerprint() == r.Fingerprint() {
		t.Error("a replaced region table is not used")
	}
	for _, bad := range []string{`{"regions":[]}`, `{"regions":[{"code":"a:b","postcodes":["1000"]}]}`, `{"regions":[{"code":"a","postcodes":["999-1000"]}]}`,
		`{"regions":[{"code":"a","postcodes":["2000-1000"]}]}`, `{"regions":[{"code":"a","postcodes":["1000"]},{"code":"a","postcodes":["2000"]}]}`} {
		if _, err := LoadRegions([]byte(bad)); err == nil {
			t.Errorf("LoadRegions(%s) accepted", bad)
		}
	}
}

func TestSchedulePlaceAndOrganisation(t *testing.T) {
	d := NewDirectory()
	add := func(typ, id, js string) { d.Add(typ, id, parse(t, js)) }
	add("Organization", "umc", `{"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06020502"}],"type":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0602"}]}]}`)
	add("Organization", "zbc", `{"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"22010101"}]}`)
	add("Location", "loc-umc", `{"managingOrganization":{"reference":"Organization/umc"},"address":{"postalCode":"6525 GA"},"position":{"latitude":51.82,"longitude":5.86}}`)
	add("Location", "loc-zbc", `{"managingOrganization":{"reference":"Organization/zbc"},"address":{"postalCode":"3511AA"}}`)
	add("Location", "loc-other", `{"address":{"postalCode":"1011AA"}}`)
	add("HealthcareService", "hs-umc", `{"providedBy":{"reference":"Organization/umc"},"location":[{"reference":"Location/loc-umc"}],"specialty":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0305"}]}]}`)
	add("HealthcareService", "hs-zbc", `{"providedBy":{"reference":"Organization/zbc"},"location":[{"reference":"Location/loc-zbc"}],"specialty":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0301"}]}]}`)
	add("PractitionerRole", "pr", `{"organization":{"reference":"Organization/umc"},"location":[{"reference":"Location/loc-umc"}],"specialty":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0305"}]}]}`)
	add("Schedule", "s-loc-first", `{"actor":[{"reference":"HealthcareService/hs-umc"},{"reference":"Location/loc-other"}]}`)
	add("Schedule", "s-hs", `{"actor":[{"reference":"HealthcareService/hs-zbc"}]}`)
	add("Schedule", "s-pr", `{"actor":[{"reference":"PractitionerRole/pr"}],"specialty":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0305"}]}]}`)
	add("Schedule", "s-loc-only", `{"actor":[{"reference":"Location/loc-zbc"}],"specialty":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0301"}]}]}`)
	geo := PC4Geo{"3511": {52.09, 5.12}}
	kinds, regions := DefaultProviderKinds(), DefaultRegions()
	cases := []struct {
		sched, loc, org, svc, spec, kind, region string
		geo                                      bool
	}{
		{"s-loc-first", "loc-other", "umc", "hs-umc", "0305", ProviderUMC, "NL-NH", false}, // the Location actor wins for the place; HS for the org
		{"s-hs", "loc-zbc", "zbc", "hs-zbc", "0301", ProviderZBC, "NL-UT", true},           // HS's first location; position from the PC4 file
		{"s-pr", "loc-umc", "umc", "hs-umc", "0305", ProviderUMC, "NL-GE", true},           // role's location and organisation; service found at the place
		{"s-loc-only", "loc-zbc", "zbc", "hs-zbc", "0301", ProviderZBC, "NL-UT", true},     // Location's managingOrganization
	}
	for _, c := range cases {
		p, ok := d.ResolveSchedule(c.sched, kinds, geo, regions)
		if !ok || p.Location != c.loc || p.Org != c.org || p.Service != c.svc || p.Specialism != c.spec || p.ProviderKind != c.kind || p.Region != c.region || p.HasGeo != c.geo {
			t.Errorf("%s: %+v", c.sched, p)
		}
	}
	if p, _ := d.ResolveSchedule("s-hs", kinds, nil, regions); p.HasGeo {
		t.Error("without a PC4 file a Location without position is placed")
	}
	if !d.BelongsTo("PractitionerRole/pr", "umc") || d.BelongsTo("Organization/zbc", "umc") {
		t.Error("BelongsTo")
	}
	if id, ok := d.FindOrg("6020502"); !ok || id != "umc" {
		t.Errorf("FindOrg by a 7-digit AGB: %s %v", id, ok)
	}
	if id, ok := d.FindOrg(ww.SystemAGB + "|22010101"); !ok || id != "zbc" {
		t.Errorf("FindOrg by AGB token: %s %v", id, ok)
	}
}

func TestContracts(t *testing.T) {
	d := NewDirectory()
	d.Add("Organization", "ins", parse(t, `{"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"7119"}]}`))
	d.Add("Organization", "group", parse(t, `{"name":"Ziekenhuisgroep"}`))
	d.Add("Organization", "site", parse(t, `{"partOf":{"reference":"Organization/group"}}`))
	d.Add("Organization", "zbc", parse(t, `{}`))
	d.Add("InsurancePlan", "plan", parse(t, `{"status":"active","ownedBy":{"reference":"Organization/ins"},"period":{"start":"2026-01-01","end":"2026-12-31"},"network":[{"reference":"Organization/group"}]}`))
	d.Add("InsurancePlan", "old", parse(t, `{"status":"retired","ownedBy":{"reference":"Organization/ins"},"network":[{"reference":"Organization/zbc"}]}`))
	asOf := day(t, "2026-03-31")
	if !d.Contracted("7119", "site", asOf) {
		t.Error("a provider whose partOf parent is in the network is not contracted")
	}
	if !d.Contracted("7119", "group", asOf) {
		t.Error("the listed provider is not contracted")
	}
	if d.Contracted("7119", "zbc", asOf) {
		t.Error("a provider only in a retired plan counts as contracted")
	}
	if d.Contracted("7119", "site", day(t, "2027-01-01")) {
		t.Error("contracted after the plan's period")
	}
	if d.Contracted("3332", "site", asOf) {
		t.Error("contracted by another insurer")
	}
	if keys := d.InsurerKeys("7119"); !keys["org:ins"] || !keys["7119"] {
		t.Errorf("InsurerKeys: %v", keys)
	}
}

func TestRanking(t *testing.T) {
	opts := []Option{
		{Slot: "far-contracted", DaysGained: 20, DistanceKm: 40, HasDistance: true, Contracted: true, SlotStart: "2026-04-10"},
		{Slot: "near-uncontracted", DaysGained: 20, DistanceKm: 5, HasDistance: true, SlotStart: "2026-04-10"},
		{Slot: "soonest", DaysGained: 45, DistanceKm: 30, HasDistance: true, SlotStart: "2026-04-01"},
	}
	DefaultRanking().Rank(opts)
	// soonest: 45 − 15 = 30; far-contracted: 30 + 20 − 20 = 30; near: 20 − 2.5 = 17.5.
	// Tie at 30 → the earlier slot.
	got := []string{opts[0].Slot, opts[1].Slot, opts[2].Slot}
	if strings.Join(got, ",") != "soonest,far-contracted,near-uncontracted" {
		t.Errorf("ranking %v", got)
	}
	if opts[0].Rank != 1 || opts[2].Rank != 3 || !strings.Contains(opts[1].Reason, "contracted, 20 days sooner, 40.0 km") {
		t.Errorf("ranks/reasons: %+v", opts)
	}
}

func TestTaskTransitions(t *testing.T) {
	ok := [][2]string{{"", "requested"}, {"requested", "in-progress"}, {"requested", "cancelled"}, {"in-progress", "completed"},
		{"in-progress", "cancelled"}, {"in-progress", "in-progress"}, {"completed", "completed"}}
	bad := [][2]string{{"", "completed"}, {"", "in-progress"}, {"requested", "completed"}, {"completed", "in-progress"},
		{"cancelled", "requested"}, {"completed", "cancelled"}, {"requested", "on-hold"}, {"requested", "draft"}}
	for _, c := range ok {
		if err := TaskTransition(c[0], c[1]); err != nil {
			t.Errorf("%s → %s refused: %v", c[0], c[1], err)
		}
	}
	for _, c := range bad {
		if err := TaskTransition(c[0], c[1]); err == nil {
			t.Errorf("%s → %s allowed", c[0], c[1])
		}
	}
}

func TestPercentileAndSuppression(t *testing.T) {
	xs := []int{3, 5, 8, 13, 21, 34, 55, 89, 144, 233}
	if m, _ := Percentile(xs, 0.5); m != 21 {
		t.Errorf("median %d", m)
	}
	if p, _ := Percentile(xs, 0.9); p != 144 {
		t.Errorf("p90 %d", p)
	}
	if _, ok := Percentile(nil, 0.5); ok {
		t.Error("percentile of nothing")
	}
	if !Suppressed(4) || Suppressed(5) || Suppressed(0) {
		t.Error("suppression below 5")
	}
	if RankIndex(10, 0.9) != 9 || RankIndex(1, 0.5) != 1 {
		t.Error("RankIndex")
	}
}

func TestPC4Geo(t *testing.T) {
	g, err := ParsePC4Geo([]byte("postcode;lat;lon\n6525;51.82;5.86\n# comment\n3511,52.09,5.12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := g.Locate(&Home{PC4: "6525"}); !ok || p.Lat != 51.82 {
		t.Errorf("Locate by PC4: %v %v", p, ok)
	}
	if p, ok := g.Locate(&Home{PC4: "6525", HasGeo: true, Lat: 1, Lon: 2}); !ok || p.Lat != 1 {
		t.Error("a geolocation wins over the PC4")
	}
	if _, err := ParsePC4Geo([]byte("6525;51.82\n")); err == nil {
		t.Error("a line without longitude accepted")
	}
	if _, err := ParsePC4Geo([]byte("6525;51.8;5.8\n65x5;1;2\n")); err == nil {
		t.Error("a bad PC4 accepted")
	}
	if d := DistanceKm(51.8426, 5.8528, 52.0907, 5.1214); d < 56 || d > 58 {
		t.Errorf("Nijmegen–Utrecht %.1f km", d)
	}
}
