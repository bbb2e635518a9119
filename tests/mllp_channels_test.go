package tests

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
	"github.com/wachtwijzer/wachtwijzer/mllp"
)

// writeChannels writes an --mllp-channels file.
func writeChannels(t *testing.T, dir string, channels ...map[string]string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"channels": channels})
	p := filepath.Join(dir, "channels.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mllpSend sends one message on a new connection and returns the ACK or
// the error (a refused connection is closed without a reply).
func mllpSend(t *testing.T, addr string, tc *tls.Config, msg string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := mllp.Dial(ctx, addr, tc)
	if err != nil {
		return "", err
	}
	defer c.Close()
	ack, err := c.Send(ctx, []byte(msg))
	return string(ack), err
}

// With --mllp-channels a source address in a mapped range may send for its
// organisation only: its own messages are accepted, one whose MSH-4 is
// another organisation gets AR 207 and is not stored.
func TestMLLPChannelsSourceAddress(t *testing.T) {
	ch := writeChannels(t, t.TempDir(), map[string]string{"organization": "06011234", "cidr": "127.0.0.0/8"})
	g := StartGateway(t, GatewayOptions{MLLP: true, Args: []string{"--hl7-senders", sendersFile, "--mllp-channels", ch}})
	ack, err := mllpSend(t, g.MLLPAddr, nil, siuNoord("C-1", "1", "Booked"))
	if err != nil {
		t.Fatal(err)
	}
	if a := parseACK(t, ack); a.Field("MSA-1") != "AA" || a.Field("MSA-2") != "C-1" {
		t.Fatalf("own message: %q", ack)
	}
	if w := written(t, g, "C-1"); w["Appointment"] == "" {
		t.Fatalf("own message not stored: %v", w)
	}
	// MSH-4 an AGB code of another hospital.
	foreign := strings.ReplaceAll(siuNoord("C-2", "2", "Booked"), "HIX|ZKH-NOORD|", "HIX|06019999|")
	ack, err = mllpSend(t, g.MLLPAddr, nil, foreign)
	if err != nil {
		t.Fatal(err)
	}
	a := parseACK(t, ack)
	if a.Field("MSA-1") != "AR" || a.Field("MSA-2") != "C-2" || a.Field("ERR-3") != "207" || a.Field("ERR-4") != "E" ||
		!strings.Contains(ack, "does not match organisation 06011234") {
		t.Fatalf("foreign sender: %q", ack)
	}
	outcome(t, g.Do(t, "GET", "/admin/hl7/messages/C-2", nil), 404, "not-found")
	r := expect(t, g.Do(t, "GET", "/admin/hl7/dead-letters", nil), 200)
	if strings.Contains(string(r.Body), "C-2") {
		t.Fatalf("the refused message was kept as a dead letter: %s", r.Body)
	}
	if !strings.Contains(g.Stderr.String(), "mllp channels enforced") {
		t.Errorf("startup does not say the channels are enforced")
	}
}

// A source address outside every mapped range is refused: the connection
// closes without a reply, and nothing is stored.
func TestMLLPChannelsUnmappedSourceRefused(t *testing.T) {
	ch := writeChannels(t, t.TempDir(), map[string]string{"organization": "06011234", "cidr": "10.0.0.0/8"})
	g := StartGateway(t, GatewayOptions{MLLP: true, Args: []string{"--hl7-senders", sendersFile, "--mllp-channels", ch}})
	if ack, err := mllpSend(t, g.MLLPAddr, nil, siuNoord("U-1", "1", "Booked")); err == nil {
		t.Fatalf("an unmapped source got an answer: %q", ack)
	}
	outcome(t, g.Do(t, "GET", "/admin/hl7/messages/U-1", nil), 404, "not-found")
	if !strings.Contains(g.Stderr.String(), "mllp connection refused") || !strings.Contains(g.Stderr.String(), "no MLLP channel is configured for source address 127.0.0.1") {
		t.Fatalf("refusal not logged:\n%s", g.Stderr.String())
	}
	if m := string(g.Do(t, "GET", "/metrics", nil).Body); !strings.Contains(m, `event="conn_refused"} 1`) {
		t.Errorf("conn_refused not counted")
	}
}

// Over mutual TLS a client certificate mapped to the organisation may send
// for it; another certificate of the same CA is refused.
func TestMLLPChannelsClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := issueCert(t, dir, "ca", &x509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil)
	srv := issueCert(t, dir, "server", &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca)
	mapped := issueCert(t, dir, "zkh-noord-engine", &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca)
	stranger := issueCert(t, dir, "stranger", &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca)
	sum := sha256.Sum256(mapped.cert.Raw)
	ch := writeChannels(t, dir, map[string]string{"organization": "06011234", "cert_sha256": hex.EncodeToString(sum[:])})
	g := StartGateway(t, GatewayOptions{MLLP: true, Args: []string{"--hl7-senders", sendersFile, "--mllp-channels", ch,
		"--mllp-tls-cert", srv.certFile, "--mllp-tls-key", srv.keyFile, "--mllp-client-ca", ca.certFile}})
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	tc := func(p *certPair) *tls.Config {
		return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{{Certificate: [][]byte{p.cert.Raw}, PrivateKey: p.key}}}
	}
	ack, err := mllpSend(t, g.MLLPAddr, tc(mapped), siuNoord("T-1", "1", "Booked"))
	if err != nil {
		t.Fatal(err)
	}
	if a := parseACK(t, ack); a.Field("MSA-1") != "AA" || a.Field("MSA-2") != "T-1" {
		t.Fatalf("mapped certificate: %q", ack)
	}
	if ack, err := mllpSend(t, g.MLLPAddr, tc(stranger), siuNoord("T-2", "2", "Booked")); err == nil {
		t.Fatalf("an unmapped certificate got an answer: %q", ack)
	}
	outcome(t, g.Do(t, "GET", "/admin/hl7/messages/T-2", nil), 404, "not-found")
	if !strings.Contains(g.Stderr.String(), "with client certificate sha256") {
		t.Errorf("refusal of the unmapped certificate not logged:\n%s", g.Stderr.String())
	}
}

// SIGHUP reloads the --mllp-channels file: a remapped channel applies to new
// connections and to the one already open (each message is checked against
// the channels in force), a broken file keeps the previous channels, and a
// withdrawn channel refuses new connections and every further message on
// the open one (AR 207, nothing stored).
func TestMLLPChannelsReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ch := writeChannels(t, dir, map[string]string{"organization": "06011234", "cidr": "127.0.0.0/8"})
	g := StartGateway(t, GatewayOptions{MLLP: true, Args: []string{"--hl7-senders", sendersFile, "--mllp-channels", ch}})
	zuid := func(ctrl, appt string) string {
		return strings.ReplaceAll(siuNoord(ctrl, appt, "Booked"), "HIX|ZKH-NOORD|", "HIX|ZKH-ZUID|")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open, err := mllp.Dial(ctx, g.MLLPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	sendOpen := func(msg string) *ackView {
		t.Helper()
		ack, err := open.Send(ctx, []byte(msg))
		if err != nil {
			t.Fatalf("send on the open connection: %v", err)
		}
		return &ackView{parseACK(t, string(ack)), string(ack)}
	}
	sendNew := func(msg string) *ackView {
		t.Helper()
		ack, err := mllpSend(t, g.MLLPAddr, nil, msg)
		if err != nil {
			t.Fatalf("send on a new connection: %v", err)
		}
		return &ackView{parseACK(t, ack), ack}
	}
	reload := func(n int) {
		t.Helper()
		if err := g.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the channels reload", 20*time.Second, func() bool {
			return strings.Count(g.Stderr.String(), "mllp channels reloaded")+strings.Count(g.Stderr.String(), "mllp channels not reloaded") >= n
		})
	}
	if a := sendOpen(siuNoord("R-1", "1", "Booked")); a.Field("MSA-1") != "AA" {
		t.Fatalf("before the reload: %q", a.raw)
	}

	// remapped to Ziekenhuis Zuid: Noord's messages are refused on the open
	// connection and on a new one; Zuid's are accepted on both
	writeChannels(t, dir, map[string]string{"organization": "06021234", "cidr": "127.0.0.0/8"})
	reload(1)
	for name, a := range map[string]*ackView{"open": sendOpen(siuNoord("R-2", "2", "Booked")), "new": sendNew(siuNoord("R-3", "3", "Booked"))} {
		if a.Field("MSA-1") != "AR" || a.Field("ERR-3") != "207" || !strings.Contains(a.raw, "authorised for 06021234 only") {
			t.Errorf("%s connection, Noord after the remap: %q", name, a.raw)
		}
	}
	for name, a := range map[string]*ackView{"open": sendOpen(zuid("R-4", "4")), "new": sendNew(zuid("R-5", "5"))} {
		if a.Field("MSA-1") != "AA" {
			t.Errorf("%s connection, Zuid after the remap: %q", name, a.raw)
		}
	}

	// a broken file: logged, the remapped channels stay
	if err := os.WriteFile(ch, []byte(`{"channels": [{"organization": "06011234"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	reload(2)
	if !strings.Contains(g.Stderr.String(), "mllp channels not reloaded; the previous ones stay in force") {
		t.Fatalf("the broken file is not reported:\n%s", g.Stderr.String())
	}
	if a := sendNew(zuid("R-6", "6")); a.Field("MSA-1") != "AA" {
		t.Errorf("after a broken file: %q", a.raw)
	}

	// withdrawn: new connections are refused, the open one's messages too
	writeChannels(t, dir, map[string]string{"organization": "06021234", "cidr": "10.0.0.0/8"})
	reload(3)
	if ack, err := mllpSend(t, g.MLLPAddr, nil, zuid("R-7", "7")); err == nil {
		t.Errorf("a withdrawn channel's new connection got an answer: %q", ack)
	}
	if a := sendOpen(zuid("R-8", "8")); a.Field("MSA-1") != "AR" || a.Field("ERR-3") != "207" || !strings.Contains(a.raw, "no MLLP channel is configured") || !strings.Contains(a.raw, "reloaded") {
		t.Errorf("the open connection after the withdrawal: %q", a.raw)
	}
	for _, id := range []string{"R-2", "R-3", "R-7", "R-8"} {
		outcome(t, g.Do(t, "GET", "/admin/hl7/messages/"+id, nil), 404, "not-found")
	}
	for _, id := range []string{"R-1", "R-4", "R-5", "R-6"} {
		expect(t, g.Do(t, "GET", "/admin/hl7/messages/"+id, nil), 200)
	}
}

// ackView is a parsed ACK with its raw text.
type ackView struct {
	*hl7v2.Message
	raw string
}
