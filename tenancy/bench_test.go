package tenancy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
	"github.com/wachtwijzer/wachtwijzer/tenancy"
)

// BenchmarkConditionalCreateHospital measures a hospital's conditional
// create (If-None-Exist by identifier, no match) through the gateway and
// the tenancy Policy: the cost of widening its guard by hidden matches.
func BenchmarkConditionalCreateHospital(b *testing.B) {
	ctx := context.Background()
	clock := &ww.FixedClock{T: now}
	pol := tenancy.New(tenancy.Options{Clock: clock})
	st, err := redisstore.Open(ctx, redisstore.Options{Client: redistest.Shared(b).Client(b), Prefix: redistest.Prefix(b), Clock: clock, Policy: pol})
	if err != nil {
		b.Fatal(err)
	}
	pol.Bind(st)
	gw, err := gateway.New(gateway.Options{Store: st, DeploymentKey: st.DeploymentKey(), Clock: clock, BaseURL: "http://gw.test/fhir", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(asPrincipal(gw.Handler()))
	defer srv.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mrn := fmt.Sprintf("m%d", i)
		body := `{"resourceType":"Patient","identifier":[{"system":"https://ziekenhuis.example/mrn","value":"` + mrn + `"}],"name":[{"family":"Bench"}]}`
		req, _ := http.NewRequest("POST", srv.URL+"/fhir/Patient", strings.NewReader(body))
		req.Header.Set("X-Test-Principal", "hospital-2")
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("If-None-Exist", "identifier=https://ziekenhuis.example/mrn|"+mrn)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("%d", resp.StatusCode)
		}
	}
}
