package smartscheduling

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/mappings/remote"
)

var sharedDir = filepath.Join("..", "..", "..", "shared", "data", "standards", "smart-scheduling-links")

func TestSharedSamples(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sharedDir, "bulk-publish-manifest.json"))
	if err != nil {
		t.Skipf("shared samples absent: %v", err)
	}
	m, err := ParseManifest(raw, "https://zbc-voorbeeld.example.nl/fhir-publish/$bulk-publish")
	if err != nil {
		t.Fatal(err)
	}
	if !m.TransactionTime.Equal(time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)) || len(m.Outputs()) != 3 {
		t.Fatalf("manifest %+v", m)
	}
	if o := m.Outputs()[2]; o.Type != "Slot" || len(o.States) != 2 || o.States[0] != "NL-GR" {
		t.Fatalf("slot output %+v", o)
	}
	mp := &remote.Mapper{Key: []byte("k"), Base: "https://zbc-voorbeeld.example.nl/fhir-publish", SyncTime: time.Now()}
	files := map[string]string{"Location": "locations.ndjson", "Schedule": "schedules.ndjson", "Slot": "slots-2026-W49.ndjson"}
	n := 0
	for typ, f := range files {
		b, err := os.ReadFile(filepath.Join(sharedDir, f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			r, err := Map(mp, sc.Bytes(), typ)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			n++
			if typ == "Slot" && r.SourceID == "slot-0" {
				link := Extension(r.Tree, ExtBookingDeepLink)
				if s, _ := link.Str(); s != "https://zbc-voorbeeld.example.nl/boeken?slot=opaque-0" {
					t.Fatalf("deep link %v", link)
				}
				if ref := r.Tree.Get("schedule").GetStr("reference"); ref != "Schedule/"+mp.ID("Schedule", "sch-orth-gron") {
					t.Fatalf("schedule reference %q", ref)
				}
			}
		}
	}
	if n != 7 {
		t.Fatalf("%d resources mapped, the samples hold 7", n)
	}
}

func TestStrictInstantsAndSlotRules(t *testing.T) {
	for _, bad := range []string{"2021-03-10T15:00:00-05", "2021-03-10T15:00", "2021-03-10", "2021-03-10T15:00:00", "2021-02-30T15:00:00Z"} {
		if _, err := ParseInstant(bad); err == nil {
			t.Errorf("%q accepted as an instant", bad)
		}
	}
	for _, good := range []string{"2021-03-10T15:00:00-05:00", "2021-03-10T15:00:00Z", "2021-03-10T15:00:00.123+01:00"} {
		if _, err := ParseInstant(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	slot := func(mod string) []byte {
		return []byte(strings.Replace(`{"resourceType":"Slot","id":"s","schedule":{"reference":"Schedule/x"},"status":"free","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:20:00+01:00"MOD}`, "MOD", mod, 1))
	}
	if _, err := ParseResource(slot(""), "Slot"); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"status":       bytes.Replace(slot(""), []byte(`"free"`), []byte(`"open"`), 1),
		"end first":    bytes.Replace(slot(""), []byte(`09:20`), []byte(`08:20`), 1),
		"no schedule":  bytes.Replace(slot(""), []byte(`"schedule":{"reference":"Schedule/x"},`), nil, 1),
		"bad link":     slot(`,"extension":[{"url":"` + ExtBookingDeepLink + `","valueUrl":"javascript:alert(1)"}]`),
		"wrong type":   []byte(`{"resourceType":"Location","id":"l"}`),
		"not json":     []byte(`{"resourceType":`),
		"offset short": bytes.Replace(slot(""), []byte(`+01:00","end"`), []byte(`-05","end"`), 1),
	} {
		if _, err := ParseResource(b, "Slot"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseManifest([]byte(`{"transactionTime":"2021-03-10","output":[]}`), "https://x/$bulk-publish"); err == nil {
		t.Error("a date as transactionTime accepted")
	}
	if _, err := ParseManifest([]byte(`{"transactionTime":"2021-03-10T00:00:00Z","output":[{"type":"Slot","url":"ftp://x/s.ndjson"}]}`), "https://x/$bulk-publish"); err == nil {
		t.Error("an ftp URL accepted")
	}
	m, err := ParseManifest([]byte(`{"transactionTime":"2021-03-10T00:00:00Z","output":[{"type":"Slot","url":"slots.ndjson"},{"type":"Practitioner","url":"p.ndjson"}]}`), "https://x.example/pub/$bulk-publish")
	if err != nil || len(m.Outputs()) != 1 || m.Outputs()[0].URL != "https://x.example/pub/slots.ndjson" {
		t.Fatalf("relative URL / unknown type: %+v %v", m, err)
	}
	back, err := ParseManifest(BuildManifest(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "https://gw/fhir/$bulk-publish", []Output{{Type: "Slot", URL: "https://gw/fhir/$bulk-publish/Slot.ndjson", States: []string{"NL-UT"}}}), "https://gw/fhir/$bulk-publish")
	if err != nil || back.Output[0].States[0] != "NL-UT" {
		t.Fatalf("BuildManifest round trip: %+v %v", back, err)
	}
}
