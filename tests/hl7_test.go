package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
	"github.com/wachtwijzer/wachtwijzer/mllp"
)

const sendersFile = "../mappings/hl7v2/testdata/senders.json"

const pidNoord = "PID|1||123456782^^^NLMINBIZA^NNNLD~7654321^^^ZKH-NOORD^MR||de Vries-van Dijk^Johanna^^^^^L||19580214|F|||Kerkstraat 12^^Groningen^^9711AB^NL^H"

func hl7msg(segs ...string) string { return strings.Join(segs, "\r") + "\r" }

// siuNoord is an SIU^S12 of Ziekenhuis Noord for appointment FL-n.
func siuNoord(ctrl, appt, sch25 string) string {
	return hl7msg("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103141502+0100||SIU^S12^SIU_S12|"+ctrl+"|P|2.5.1",
		"SCH|PL-"+appt+"|FL-"+appt+"|||||CONSULT^Eerste polikliniekbezoek^L||||||||||||||||||"+sch25+"|ORD-"+appt,
		"TQ1|1||||||202612011040+0100|202612011100+0100", pidNoord, "RGS|1",
		"AIS|1|A|0305^Orthopedie eerste consult^L|202612011040+0100|||20|min")
}

// nodeSend sends messages with the npm client node-hl7-client (tests/
// hl7send.mjs) and returns each ACK. It skips when node or the installed
// client is missing (.ci/run installs both, so CI never skips).
func nodeSend(t *testing.T, addr string, msgs []string) []string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the node-hl7-client tests need node ≥ 20 (npm ci --prefix tests)")
	}
	if _, err := os.Stat("node_modules/node-hl7-client"); err != nil {
		t.Skip("node-hl7-client is not installed: run npm ci --prefix tests")
	}
	f := filepath.Join(t.TempDir(), "msgs.json")
	b, _ := json.Marshal(msgs)
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "hl7send.mjs", host, port, f)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node-hl7-client: %v\n%s\n%s", err, out, stderr.String())
	}
	var acks []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			I     int
			ACK   string `json:"ack"`
			Error string
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("node output %q: %v", sc.Text(), err)
		}
		if line.Error != "" {
			t.Fatalf("message %d: %s", line.I, line.Error)
		}
		acks = append(acks, line.ACK)
	}
	if len(acks) != len(msgs) {
		t.Fatalf("%d ACKs for %d messages:\n%s", len(acks), len(msgs), out)
	}
	return acks
}

func parseACK(t *testing.T, ack string) *hl7v2.Message {
	t.Helper()
	m, err := hl7v2.Parse([]byte(ack), hl7v2.ParseOptions{})
	if err != nil {
		t.Fatalf("ACK %q does not parse: %v", ack, err)
	}
	return m
}

// trace asks the admin endpoint what happened to a control id.
func trace(t *testing.T, g *Gateway, ctrl string) []map[string]any {
	t.Helper()
	r := expect(t, g.Do(t, "GET", "/admin/hl7/messages/"+ctrl+"?sender=HIX|ZKH-NOORD", nil), 200)
	var out struct{ Messages []map[string]any }
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

// written returns the resources an accepted message wrote, by type.
func written(t *testing.T, g *Gateway, ctrl string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range trace(t, g, ctrl) {
		if m["status"] != "accepted" {
			continue
		}
		for _, r := range m["resources"].([]any) {
			ref := r.(map[string]any)["reference"].(string)
			typ, _, _ := strings.Cut(ref, "/")
			out[typ] = ref
		}
	}
	return out
}

func TestHL7FromTheNodeClient(t *testing.T) {
	g := StartGateway(t, GatewayOptions{MLLP: true, Args: []string{"--hl7-senders", sendersFile}})
	ref := hl7msg("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103140000+0100||REF^I12^REF_I12|N-REF|P|2.5.1",
		"RF1|A^Accepted^HL70283|R^Routine^HL70280|0305^Orthopedie^COD016||O^Outpatient^HL70284|ZD-2026-0001^ZORGDOMEIN|20260915101200+0200",
		"PRD|RP^Referring provider^HL70286|Huisarts^Anna^^^Dr.|||||01234568^AGB", pidNoord)
	adt := hl7msg("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103140000+0100||ADT^A04^ADT_A01|N-ADT|P|2.5.1",
		"EVN||20261103135900+0100", pidNoord, "PV1|1|O")
	msgs := []string{
		siuNoord("N-1", "1", "Booked"),
		siuNoord("N-2", "2", "Wachtkamer^Wachtkamer^L"), // an unmapped local status
		hl7msg("MSH|^~\\&|HIX|ZKH-NOORD|WW|WW|20261103||ORU^R01^ORU_R01|N-3|P|2.5.1"),
		ref, adt,
		siuNoord("N-1", "1", "Booked"), // resent
		hl7msg("MSH|^~\\&|HIX|ZKH-NOORD|WACHTWIJZER|WW|20261103141502+0100||SIU^S12^SIU_S12|N-4|P|2.5.1",
			"SCH|PL-4|FL-4", "PID|1||123456782^^^NLMINBIZA^NNNLD"), // BSN only: AE 101
	}
	acks := nodeSend(t, g.MLLPAddr, msgs)
	want := []struct{ code, errCode, errSev string }{{"AA", "", ""}, {"AA", "103", "W"}, {"AR", "200", "E"}, {"AA", "", ""}, {"AA", "", ""}, {"AA", "", ""}, {"AE", "101", "E"}}
	for i, w := range want {
		a := parseACK(t, acks[i])
		if a.Field("MSA-1") != w.code || a.Field("MSA-2") != parseACK(t, msgs[i]).ControlID || a.Field("ERR-3") != w.errCode || a.Field("ERR-4") != w.errSev {
			t.Errorf("message %d: ACK %q, want %s %s %s", i, acks[i], w.code, w.errCode, w.errSev)
		}
	}
	if acks[5] != acks[0] {
		t.Errorf("the resent message did not get the stored ACK:\n%q\n%q", acks[0], acks[5])
	}
	if a := parseACK(t, acks[3]); a.Type != "RRI" || a.Segment("RF1") == nil || a.Segment("PID") != nil || strings.Contains(acks[3], "123456782") {
		t.Errorf("REF answer %q", acks[3])
	}
	// The resources over the REST API.
	w1 := written(t, g, "N-1")
	appt := expect(t, g.Do(t, "GET", "/fhir/"+w1["Appointment"], nil), 200).JSON(t)
	if appt["status"] != "booked" || str(path(appt, "meta", "source")) != "urn:hl7v2:HIX|ZKH-NOORD#N-1" || str(path(appt, "meta", "versionId")) != "1" ||
		str(path(appt, "start")) != "2026-12-01T10:40:00+01:00" {
		t.Errorf("Appointment %v", appt)
	}
	sr := expect(t, g.Do(t, "GET", "/fhir/"+w1["ServiceRequest"], nil), 200).JSON(t)
	if sr["status"] != "active" || str(path(sr, "identifier", 0, "value")) != "ORD-1" {
		t.Errorf("ServiceRequest %v", sr)
	}
	a2 := expect(t, g.Do(t, "GET", "/fhir/"+written(t, g, "N-2")["Appointment"], nil), 200).JSON(t)
	if str(path(a2, "meta", "tag", 0, "code")) != "unmapped" {
		t.Errorf("unmapped tag missing: %v", path(a2, "meta"))
	}
	pat := expect(t, g.Do(t, "GET", "/fhir/"+written(t, g, "N-ADT")["Patient"], nil), 200).JSON(t)
	if str(path(pat, "name", 0, "family")) != "de Vries-van Dijk" || str(path(pat, "address", 0, "postalCode")) != "9711AB" {
		t.Errorf("Patient %v", pat)
	}
	refSR := expect(t, g.Do(t, "GET", "/fhir/"+written(t, g, "N-REF")["ServiceRequest"], nil), 200).JSON(t)
	if refSR["authoredOn"] != "2026-09-15T10:12:00+02:00" || str(path(refSR, "performerType", "coding", 0, "code")) != "0305" {
		t.Errorf("referral %v", refSR)
	}
	// The unmapped code counts per sender.
	metrics := string(g.Do(t, "GET", "/metrics", nil).Body)
	if !strings.Contains(metrics, `wachtwijzer_hl7_unmapped_codes_total{field="SCH-25",sender="HIX|ZKH-NOORD"} 1`) ||
		!strings.Contains(metrics, `wachtwijzer_hl7_duplicates_total{sender="HIX|ZKH-NOORD"} 1`) {
		t.Errorf("metrics lack the unmapped/duplicate counters")
	}
	// $translate shows the FHIR result and stores nothing.
	tr := expect(t, g.Do(t, "POST", "/admin/hl7/$translate", siuNoord("N-T", "9", "Booked")), 200).JSON(t)
	if tr["resourceType"] != "Bundle" || len(tr["entry"].([]any)) < 4 {
		t.Errorf("$translate %v", tr)
	}
	outcome(t, g.Do(t, "GET", "/admin/hl7/messages/N-T", nil), 404, "not-found")
}

func TestHL7DeadLetterAndReplay(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "senders.json")
	orig, err := os.ReadFile(sendersFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := redistest.Prefix(t)
	g := StartGateway(t, GatewayOptions{MLLP: true, Prefix: prefix, Args: []string{"--hl7-senders", cfg, "--hl7-senders-watch", "0"}})
	west := strings.ReplaceAll(siuNoord("W-1", "1", "Booked"), "ZKH-NOORD", "ZKH-WEST")
	c, err := mllp.Dial(context.Background(), g.MLLPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ack, err := c.Send(context.Background(), []byte(west))
	if err != nil {
		t.Fatal(err)
	}
	if a := parseACK(t, string(ack)); a.Field("MSA-1") != "AR" || a.Field("ERR-3") != "207" {
		t.Fatalf("unknown sender: %q", ack)
	}
	r := expect(t, g.Do(t, "GET", "/admin/hl7/dead-letters", nil), 200)
	var page struct {
		DeadLetters []struct {
			ID, ControlID, Sender, Ack string
			Message                    []byte
		}
	}
	json.Unmarshal(r.Body, &page)
	if len(page.DeadLetters) != 1 || page.DeadLetters[0].ControlID != "W-1" || page.DeadLetters[0].Sender != "HIX|ZKH-WEST" || page.DeadLetters[0].Message != nil {
		t.Fatalf("dead letters %s", r.Body)
	}
	id := page.DeadLetters[0].ID
	env := []string{"WACHTWIJZER_REDIS_URL=" + redistest.Shared(t).URL(), "WACHTWIJZER_KEY_PREFIX=" + prefix, "WACHTWIJZER_HL7_SENDERS=" + cfg}
	code, out := run(t, env, "hl7", "deadletter", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "W-1") {
		t.Fatalf("deadletter list: %d %s", code, out)
	}
	// Replay before the fix: still rejected.
	if code, out := run(t, env, "hl7", "replay", id); code != 0 || !strings.Contains(out, "rejected") {
		t.Fatalf("replay: %d %s", code, out)
	}
	// Configure the sender; the running gateway reloads on SIGHUP.
	fixed := strings.Replace(string(orig), `"senders": {`, `"senders": {"HIX|ZKH-WEST": {"agb": "06015678"},`, 1)
	if err := os.WriteFile(cfg, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := g.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(g.Stderr.String(), "hl7 sender configuration reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", g.Stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, out := run(t, env, "hl7", "replay", id); code != 0 || !strings.Contains(out, "accepted") {
		t.Fatalf("replay after the fix: %d %s", code, out)
	}
	if r := g.Do(t, "GET", "/admin/hl7/dead-letters/"+id, nil); r.Status != 404 {
		t.Fatalf("dead letter still there after an accepted replay: %d", r.Status)
	}
	code, out = run(t, env, "hl7", "trace", "W-1")
	if code != 0 || !strings.Contains(out, "accepted (ACK AA)") || !strings.Contains(out, "rejected (ACK AR)") || !regexpMatch(`wrote Appointment/\S+ version 1`, out) {
		t.Fatalf("trace: %d %s", code, out)
	}
	// The live gateway now accepts the sender too; a broken file keeps it.
	os.WriteFile(cfg, []byte(`{"senders":`), 0o644)
	g.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(g.Stderr.String(), "not reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload error logged")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ack, err = c.Send(context.Background(), []byte(strings.ReplaceAll(west, "W-1", "W-2")))
	if err != nil || parseACK(t, string(ack)).Field("MSA-1") != "AA" {
		t.Fatalf("after a bad reload: %v %q", err, ack)
	}
}

func TestHL7SampleFilesThroughTheBinary(t *testing.T) {
	dir := "../../shared/data/standards/hl7v2"
	files, _ := filepath.Glob(filepath.Join(dir, "*.hl7"))
	if len(files) == 0 {
		t.Skip("shared HL7 samples not present")
	}
	// MSA-1 of each sample (the table and its reasons are in
	// mappings/hl7v2/samples_test.go); the synthetic samples ask for
	// enhanced mode (MSH-15/16), so they get the commit-ACK codes CA/CE.
	want := map[string]string{"msfc-SIU_12.hl7": "AR", "synthetic-SIU-S12-waitlist-date-only.hl7": "AE", "synthetic-SIU-S15-v251-tz-seconds.hl7": "AE"}
	// The public samples reuse control ids: each chain (-01, -02, the rest)
	// gets its own gateway with a fresh key prefix.
	chains := map[string][]string{}
	for _, f := range files {
		b := filepath.Base(f)
		k := "other"
		for _, c := range []string{"-01.hl7", "-02.hl7"} {
			if strings.HasSuffix(b, c) {
				k = c
			}
		}
		chains[k] = append(chains[k], f)
	}
	for name, chain := range chains {
		t.Run(name, func(t *testing.T) {
			g := StartGateway(t, GatewayOptions{MLLP: true, Args: []string{"--hl7-senders", sendersFile}})
			c, err := mllp.Dial(context.Background(), g.MLLPAddr, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, f := range chain {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				ack, err := c.Send(context.Background(), raw)
				if err != nil {
					t.Fatalf("%s: %v", filepath.Base(f), err)
				}
				code := "AA"
				if w, ok := want[filepath.Base(f)]; ok {
					code = w
				}
				if m, err := hl7v2.Parse(raw, hl7v2.ParseOptions{}); err == nil && hl7v2.Mode(m) {
					code = hl7v2.Enhanced(code)
				}
				if got := parseACK(t, string(ack)).Field("MSA-1"); got != code {
					t.Errorf("%s: MSA-1 %s, want %s: %q", filepath.Base(f), got, code, ack)
				}
			}
		})
	}
}

// TestHL7FaultKillGatewayAndRestartRedis sends N messages (1,000; 10,000
// with WACHTWIJZER_TEST_SIZE=full) to a gateway on a Redis with
// appendfsync always, with a client that resends until it has an AA; in
// the middle the gateway is killed with SIGKILL and started again, and
// Redis is killed and restarted. Every acknowledged message must be
// stored exactly once: its Appointment exists at version 1 (a second write
// would make version 2).
func TestHL7FaultKillGatewayAndRestartRedis(t *testing.T) {
	redistest.Require(t)
	n := 1000
	if os.Getenv("WACHTWIJZER_TEST_SIZE") == "full" {
		n = 10000
	}
	srv := redistest.Start(t, redistest.Options{AppendOnly: true, AppendFsync: "always"})
	prefix := redistest.Prefix(t)
	opts := GatewayOptions{MLLP: true, RedisURL: srv.URL(), Prefix: prefix, Args: []string{"--hl7-senders", sendersFile, "--hl7-write-timeout", "2s"}}
	g := StartGateway(t, opts)
	var mu sync.Mutex
	addr := g.MLLPAddr
	var c *mllp.Client
	connect := func() {
		for i := 0; i < 400; i++ {
			mu.Lock()
			a := addr
			mu.Unlock()
			var err error
			if c, err = mllp.Dial(context.Background(), a, nil); err == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("cannot reconnect to %s", addr)
	}
	faults := make(chan struct{}, 2)
	connect()
	acked := 0
	retries := 0
	for i := 0; i < n; i++ {
		// The faults strike while messages are in flight.
		switch i {
		case n / 3: // the gateway crashes and comes back
			go func() {
				time.Sleep(7 * time.Millisecond)
				mu.Lock()
				old := g
				mu.Unlock()
				old.Kill()
				ng := StartGateway(t, opts)
				mu.Lock()
				g, addr = ng, ng.MLLPAddr
				mu.Unlock()
				faults <- struct{}{}
			}()
		case 2 * n / 3: // Redis crashes and comes back
			go func() {
				time.Sleep(7 * time.Millisecond)
				srv.Kill(t)
				time.Sleep(300 * time.Millisecond)
				srv.Restart(t)
				faults <- struct{}{}
			}()
		}
		msg := []byte(siuNoord(fmt.Sprintf("FT-%d", i), fmt.Sprintf("ft%d", i), "Booked"))
		for attempt := 0; ; attempt++ {
			if attempt > 300 {
				t.Fatalf("message %d never acknowledged", i)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			ack, err := c.Send(ctx, msg)
			cancel()
			if err == nil && parseACK(t, string(ack)).Field("MSA-1") == "AA" {
				acked++
				break
			}
			retries++
			if err != nil {
				c.Close()
				time.Sleep(20 * time.Millisecond)
				connect()
			} else {
				time.Sleep(50 * time.Millisecond) // AR 207: Redis away; resend
			}
		}
	}
	c.Close()
	<-faults
	<-faults
	if retries == 0 {
		t.Fatal("no message needed a retry: the faults did not happen")
	}
	mu.Lock()
	defer mu.Unlock()
	// Every message: one Appointment at version 1, found by its identifier.
	system := "https://wachtwijzer.nl/fhir/NamingSystem/agb/06011234/appointment"
	for i := 0; i < n; i++ {
		r := expect(t, g.Do(t, "GET", fmt.Sprintf("/fhir/Appointment?identifier=%s|FL-ft%d", system, i), nil), 200).JSON(t)
		entries, _ := r["entry"].([]any)
		if len(entries) != 1 {
			t.Fatalf("message %d: %d Appointments", i, len(entries))
		}
		if v := str(path(entries[0], "resource", "meta", "versionId")); v != "1" {
			t.Fatalf("message %d stored more than once: version %s", i, v)
		}
	}
	t.Logf("%d messages acknowledged with %d resends", acked, retries)
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
