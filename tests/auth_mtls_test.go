package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// certPair is a certificate with its key, in PEM files and in memory.
type certPair struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	certFile string
	keyFile  string
}

func issueCert(t *testing.T, dir, name string, tmpl *x509.Certificate, parent *certPair) *certPair {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.Subject = pkix.Name{CommonName: name}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	signer, signerKey := tmpl, k
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &k.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	p := &certPair{cert: c, key: k, certFile: filepath.Join(dir, name+".crt"), keyFile: filepath.Join(dir, name+".key")}
	os.WriteFile(p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(p.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
	return p
}

// With --tls-cert/--tls-key/--client-ca the listener speaks TLS; a client
// certificate whose fingerprint a client's cert_sha256 names
// authenticates as that client without a token; an unmapped one does not.
func TestAuthMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := issueCert(t, dir, "ca", &x509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil)
	srv := issueCert(t, dir, "server", &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca)
	mapped := issueCert(t, dir, "zkh-client", &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca)
	stranger := issueCert(t, dir, "stranger", &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca)
	sum := sha256.Sum256(mapped.cert.Raw)
	certCfg := filepath.Join(dir, "auth.json")
	os.WriteFile(certCfg, []byte(`{"clients":[{"client_id":"zkh-mtls","role":"hospital","organization":"06990101","scopes":["system/Patient.rs"],"cert_sha256":"`+hex.EncodeToString(sum[:])+`"}]}`), 0o600)
	g := StartGateway(t, GatewayOptions{Args: []string{"--insecure-dev=false", "--auth-config", certCfg, "--tls-cert", srv.certFile, "--tls-key", srv.keyFile, "--client-ca", ca.certFile}})
	if g.URL[:8] != "https://" {
		t.Fatalf("not TLS: %s", g.URL)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	get := func(p *certPair, path string) (int, string) {
		tc := &tls.Config{RootCAs: pool}
		if p != nil {
			tc.Certificates = []tls.Certificate{{Certificate: [][]byte{p.cert.Raw}, PrivateKey: p.key}}
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		resp, err := c.Get(g.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("no HSTS over TLS")
		}
		return resp.StatusCode, string(body)
	}
	if st, body := get(mapped, "/fhir/Patient"); st != 200 {
		t.Fatalf("mapped client certificate: %d %s", st, body)
	}
	if st, body := get(mapped, "/fhir/Slot"); st != 403 {
		t.Fatalf("mapped client beyond its scopes: %d %s", st, body)
	}
	if st, _ := get(stranger, "/fhir/Patient"); st != 401 {
		t.Fatalf("unmapped client certificate: %d", st)
	}
	if st, _ := get(nil, "/fhir/Patient"); st != 401 {
		t.Fatalf("no client certificate: %d", st)
	}
	if st, _ := get(nil, "/fhir/metadata"); st != 200 {
		t.Fatalf("metadata over TLS: %d", st)
	}
}
