package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

type staleAll struct{}

func (staleAll) Of(context.Context, *ww.Resource) (ww.Staleness, bool) {
	return ww.Staleness{Stale: true, Source: "zkh"}, true
}
func (staleAll) Source(context.Context, string) (ww.Staleness, bool) {
	return ww.Staleness{Stale: true, Source: "zkh"}, true
}
func (staleAll) Any(context.Context) []ww.Staleness {
	return []ww.Staleness{{Stale: true, Source: "zkh", Reason: "no successful sync for 2h"}}
}

type nopStore struct{ ww.Store }

func TestOperationsSeeFreshness(t *testing.T) {
	RegisterOperation("Slot", "freshness-probe", func(r *OperationRequest) (int, []byte, error) {
		b, _ := json.Marshal(r.Freshness().Any(r.ctx))
		return 200, b, nil
	})
	for _, c := range []struct {
		f    ww.Freshness
		want string
	}{{staleAll{}, "no successful sync for 2h"}, {nil, "null"}} {
		g, err := New(Options{Store: nopStore{}, DeploymentKey: make([]byte, 32), Ingest: IngestOptions{Freshness: c.f}})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fhir/Slot/$freshness-probe", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), c.want) {
			t.Fatalf("%d %s; want %s", rec.Code, rec.Body, c.want)
		}
	}
}

func TestStatusWithoutSources(t *testing.T) {
	g, err := New(Options{Store: nopStore{}, DeploymentKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
	if rec.Code != 200 || rec.Body.String() != `{"sources":[]}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
