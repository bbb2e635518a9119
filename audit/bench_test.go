package audit_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/pseudonym"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
	"github.com/wachtwijzer/wachtwijzer/tenancy"
)

// BenchmarkGatewayPrivacy measures a read and a search through the gateway
// (in process, a real redis-server) without and with tenancy, the audit log
// and pseudonymisation. It logs a raw redis-benchmark GET baseline run
// against the same server first, so figures can be reported as ratios.
func BenchmarkGatewayPrivacy(b *testing.B) {
	ctx := context.Background()
	srv := redistest.Shared(b)
	if out, err := exec.Command("redis-benchmark", "-h", "127.0.0.1", "-p", itoa(srv.Port), "-t", "get", "-c", "50", "-n", "200000", "-d", "1600", "-P", "1", "-q").Output(); err == nil {
		b.Logf("raw baseline: %s", strings.TrimSpace(strings.ReplaceAll(string(out), "\r", "\n")))
	}
	c := srv.Client(b)
	prefix := redistest.Prefix(b)
	pol := tenancy.New(tenancy.Options{HidePatients: true})
	st, err := redisstore.Open(ctx, redisstore.Options{Client: c, Prefix: prefix, Policy: pol})
	if err != nil {
		b.Fatal(err)
	}
	pol.Bind(st)
	writeFixture(b, st)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	plain, _ := gateway.New(gateway.Options{Store: st, DeploymentKey: st.DeploymentKey(), Logger: quiet})
	private, _ := gateway.New(gateway.Options{Store: st, DeploymentKey: st.DeploymentKey(), Logger: quiet,
		Audit: audit.New(st, nil), Pseudonyms: pseudonym.Derived(st.DeploymentKey())})
	insurer := &ww.Principal{Role: ww.RoleInsurer, ClientID: "zvA", Organization: "7119"}
	for _, path := range []string{"/fhir/ServiceRequest/srOne", "/fhir/ServiceRequest?_count=10"} {
		for _, c := range []struct {
			name string
			h    http.Handler
			p    *ww.Principal
		}{
			{"system, no audit", plain.Handler(), nil},
			{"insurer, tenancy", plain.Handler(), insurer},
			{"insurer, tenancy+audit+pseudonyms", private.Handler(), insurer},
		} {
			b.Run(path+"/"+c.name, func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req := httptest.NewRequest("GET", path, nil)
						if c.p != nil {
							req = req.WithContext(ww.WithPrincipal(req.Context(), c.p))
						}
						rec := httptest.NewRecorder()
						c.h.ServeHTTP(rec, req)
						if rec.Code != 200 {
							b.Fatalf("%d %s", rec.Code, rec.Body)
						}
					}
				})
			})
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
