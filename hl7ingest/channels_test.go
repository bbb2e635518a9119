package hl7ingest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
	"github.com/wachtwijzer/wachtwijzer/mllp"
)

func connFrom(ip string, certDER []byte) *mllp.ConnInfo {
	ci := &mllp.ConnInfo{Remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	if certDER != nil {
		ci.PeerCertificate = &x509.Certificate{Raw: certDER}
	}
	return ci
}

func fingerprint(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// Admit: a certificate entry wins over ranges, the narrowest range wins,
// an entry with both needs both, and what matches nothing is refused.
func TestChannelsAdmit(t *testing.T) {
	certA, certB := []byte("cert of A"), []byte("cert of B")
	ch, err := NewChannels(
		Channel{Organization: "6011234", CIDR: "10.0.0.0/8"}, // 7 digits: the AGB gets its 0 back
		Channel{Organization: "06019999", CIDR: "10.1.0.0/16"},
		Channel{Organization: "06015555", CertSHA256: strings.ToUpper(fingerprint(certA))},
		Channel{Organization: "URA-12345678", CertSHA256: fingerprint(certB), CIDR: "192.168.7.7"},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ci   *mllp.ConnInfo
		want string // "" = refused
	}{
		{"wide range", connFrom("10.9.9.9", nil), "06011234"},
		{"narrow range wins", connFrom("10.1.2.3", nil), "06019999"},
		{"IPv4-mapped IPv6 address", connFrom("::ffff:10.1.2.3", nil), "06019999"},
		{"certificate wins over range", connFrom("10.1.2.3", certA), "06015555"},
		{"certificate from anywhere", connFrom("203.0.113.5", certA), "06015555"},
		{"certificate and address", connFrom("192.168.7.7", certB), "URA-12345678"},
		{"certificate from the wrong address", connFrom("192.168.7.8", certB), ""},
		{"unmapped address", connFrom("203.0.113.5", nil), ""},
		{"unmapped certificate, unmapped address", connFrom("203.0.113.5", []byte("other")), ""},
		{"no address", &mllp.ConnInfo{}, ""},
	} {
		org, err := ch.Admit(c.ci)
		if org != c.want || (c.want == "") != (err != nil) {
			t.Errorf("%s: Admit = %q, %v; want %q", c.name, org, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "no MLLP channel is configured for source address") {
			t.Errorf("%s: error %v", c.name, err)
		}
	}
}

func TestLoadChannels(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "channels.json")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ch, err := LoadChannels(write(`{"channels": [{"organization": "06011234", "cidr": "127.0.0.1/32"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if org, err := ch.Admit(connFrom("127.0.0.1", nil)); org != "06011234" || err != nil {
		t.Fatalf("Admit = %q, %v", org, err)
	}
	for _, bad := range []struct{ file, want string }{
		{`{"channels": []}`, "no channels"},
		{`{"channels": [{"organization": "06011234", "cidr": "10.0.0.0/8", "comment": "x"}]}`, "unknown field"},
		{`{"channels": [{"cidr": "10.0.0.0/8"}]}`, "organization is empty"},
		{`{"channels": [{"organization": "06011234"}]}`, "give cert_sha256 and/or cidr"},
		{`{"channels": [{"organization": "06011234", "cidr": "10.0.0.0/33"}]}`, "cidr"},
		{`{"channels": [{"organization": "06011234", "cert_sha256": "abcd"}]}`, "64 hex digits"},
		{`{"channels": [{"organization": "06011234", "cidr": "10.0.0.0/8"}, {"organization": "06019999", "cidr": "10.0.0.0/8"}]}`, "mapped to 06011234 and 06019999"},
	} {
		if _, err := LoadChannels(write(bad.file)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err %v, want %q", bad.file, err, bad.want)
		}
	}
	if _, err := LoadChannels(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

// A ChannelsFile reloads its file; a file that does not load keeps the
// previous channels in force.
func TestChannelsFileReload(t *testing.T) {
	p := filepath.Join(t.TempDir(), "channels.json")
	write := func(s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"channels": [{"organization": "06011234", "cidr": "127.0.0.0/8"}]}`)
	f, err := OpenChannels(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	admit := func() string {
		org, err := f.Admit(connFrom("127.0.0.1", nil))
		if err != nil {
			return "refused"
		}
		return org
	}
	if got := admit(); got != "06011234" {
		t.Fatalf("Admit = %s", got)
	}
	write(`{"channels": [{"organization": "06019999", "cidr": "127.0.0.1"}]}`)
	if err := f.Reload(); err != nil || admit() != "06019999" {
		t.Fatalf("after a reload: %s, %v", admit(), err)
	}
	write(`{"channels": []}`)
	if err := f.Reload(); err == nil || admit() != "06019999" {
		t.Fatalf("a broken file: %v, Admit = %s", err, admit())
	}
	write(`{"channels": [{"organization": "06019999", "cidr": "10.0.0.0/8"}]}`)
	if err := f.Reload(); err != nil || admit() != "refused" {
		t.Fatalf("withdrawn: %v, Admit = %s", err, admit())
	}
	write(`{"channels": []}`)
	if _, err := OpenChannels(p, nil); err == nil {
		t.Fatal("a broken file opened")
	}
}

func TestCheckOrganization(t *testing.T) {
	cfg, err := hl7v2.LoadConfig(strings.NewReader(`{"senders": {"HIX|ZKH-NOORD": {"agb": "06011234"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	msh := func(fac string) *hl7v2.Message {
		m, _ := hl7v2.Parse([]byte("MSH|^~\\&|HIX|"+fac+"|WW|WW|20261103||SIU^S12^SIU_S12|C1|P|2.5.1\r"), hl7v2.ParseOptions{Senders: cfg})
		return m
	}
	for _, c := range []struct {
		fac, org string
		ok       bool
	}{
		{"ZKH-NOORD", "06011234", true},     // the configured AGB of HIX|ZKH-NOORD
		{"ZKH-NOORD", "06019999", false},    // configured for another organisation
		{"06019999", "06019999", true},      // MSH-4 is the AGB
		{"6019999", "06019999", true},       // … without its leading 0
		{"^06019999^AGB", "06019999", true}, // as universal ID
		{"^12345678^URA", "12345678", true}, // a URA
		{"06019999", "06011234", false},     // another AGB
		{"ZKH-WEST", "06011234", false},     // an unknown name
		{"ZKH-NOORD|WW", "06011234", true},  // (WW becomes MSH-5)
	} {
		why := CheckOrganization(msh(c.fac), cfg, c.org)
		if (why == "") != c.ok {
			t.Errorf("MSH-4 %q on a connection of %s: %q", c.fac, c.org, why)
		}
	}
}

// On an admitted connection a message of another organisation gets AR with
// ERR 207 at MSH-4 and is not processed; one of its own is.
func TestHandlerForeignSender(t *testing.T) {
	f := newFixture(t, nil)
	h := Handler{P: f.p}
	ctx := context.Background()
	west := []byte(strings.ReplaceAll(string(siu("S12", "F-1", "20261103141502+0100", "Booked")), "HIX|ZKH-NOORD", "HIX|06019999"))
	ack, err := h.Handle(ctx, &mllp.ConnInfo{Organization: "06011234"}, west)
	if err != nil {
		t.Fatal(err)
	}
	a := parseACK(t, ack)
	if a.Field("MSA-1") != "AR" || a.Field("MSA-2") != "F-1" || a.Field("ERR-3") != "207" || a.Field("ERR-4") != "E" ||
		!strings.Contains(a.Field("ERR-2"), "MSH") || !strings.Contains(string(ack), "does not match organisation 06011234") {
		t.Fatalf("ACK %q", ack)
	}
	// Not processed: no trace of it.
	if tr, err := f.p.Trace(ctx, "F-1", ""); err == nil || !strings.Contains(err.Error(), "no message with control id") {
		t.Fatalf("trace after refusal: %v, %v", tr, err)
	}
	if dl, err := f.p.DeadLetters(ctx, "", 10); err != nil || len(dl.DeadLetters) != 0 {
		t.Fatalf("dead letters after refusal: %+v, %v", dl, err)
	}
	// Enhanced mode, even asking for no acknowledgment: CR, not processed.
	ne := []byte(strings.Replace(string(west), "|F-1|P|2.5.1", "|F-3|P|2.5.1|||NE", 1))
	ack, err = h.Handle(ctx, &mllp.ConnInfo{Organization: "06011234"}, ne)
	if a := parseACK(t, ack); err != nil || a.Field("MSA-1") != "CR" || a.Field("MSA-2") != "F-3" || a.Field("ERR-3") != "207" {
		t.Fatalf("enhanced mode: %q, %v", ack, err)
	}
	if _, err := f.p.Trace(ctx, "F-3", ""); err == nil {
		t.Fatal("the refused enhanced-mode message was processed")
	}
	own := siu("S12", "F-2", "20261103141502+0100", "Booked")
	ack, err = h.Handle(ctx, &mllp.ConnInfo{Organization: "06011234"}, own)
	if err != nil || parseACK(t, ack).Field("MSA-1") != "AA" {
		t.Fatalf("own message: %q, %v", ack, err)
	}
	// Without a channel mapping (Organization ""), as before: processed.
	ack, err = h.Handle(ctx, &mllp.ConnInfo{}, west)
	if err != nil || parseACK(t, ack).Field("MSA-1") != "AA" {
		t.Fatalf("unmapped listener: %q, %v", ack, err)
	}
}
