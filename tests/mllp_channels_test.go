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
	"testing"
	"time"

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
