package pseudonym

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func file(current string, keys map[string]string) *File {
	f := &File{Insurers: map[string]struct {
		Current string            `json:"current"`
		Keys    map[string]string `json:"keys"`
	}{}}
	e := f.Insurers["7119"]
	e.Current, e.Keys = current, keys
	f.Insurers["7119"] = e
	return f
}

func TestRotationKeepsOldPseudonymsResolvable(t *testing.T) {
	v1, err := FromFile(file("v1", map[string]string{"v1": key(1)}), nil)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := v1.Pseudonym("7119", "999911120")
	if !strings.HasPrefix(old, "v1.") || strings.Contains(old, "999911120") || len(old) != 3+43 {
		t.Fatalf("pseudonym %q", old)
	}
	v2, err := FromFile(file("v2", map[string]string{"v1": key(1), "v2": key(2)}), nil)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := v2.Pseudonym("7119", "999911120")
	if !strings.HasPrefix(cur, "v2.") || cur == old {
		t.Fatalf("after rotation %q (before %q)", cur, old)
	}
	for _, p := range []string{old, cur} {
		if !v2.Matches("7119", p, "999911120") {
			t.Errorf("%s does not resolve after the rotation", p)
		}
		if v2.Matches("7119", p, "123456782") || v2.Matches("3332", p, "999911120") {
			t.Errorf("%s matches another person or insurer", p)
		}
	}
	if v2.Matches("7119", "v9."+old[3:], "999911120") || v2.Matches("7119", "garbage", "999911120") {
		t.Error("an unknown key id or a malformed pseudonym matched")
	}
	// without a file entry and without a deployment key: no pseudonyms
	if _, err := v2.Pseudonym("3332", "999911120"); err == nil {
		t.Error("a pseudonym for an insurer without a key")
	}
	d := Derived([]byte("deployment-key-0123456789abcdef!"))
	a, _ := d.Pseudonym("7119", "999911120")
	b, _ := d.Pseudonym("3332", "999911120")
	if !strings.HasPrefix(a, "d1.") || a[3:] == b[3:] {
		t.Errorf("derived pseudonyms %q %q: two insurers must not share pseudonyms", a, b)
	}
}

func TestBadKeyFiles(t *testing.T) {
	for name, f := range map[string]*File{
		"short key":      file("v1", map[string]string{"v1": base64.StdEncoding.EncodeToString([]byte("short"))}),
		"current absent": file("v3", map[string]string{"v1": key(1)}),
		"dotted key id":  file("v.1", map[string]string{"v.1": key(1)}),
	} {
		if _, err := FromFile(f, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTransform(t *testing.T) {
	k, _ := FromFile(file("v2", map[string]string{"v2": key(2)}), nil)
	body := []byte(`{"resourceType":"Bundle","type":"searchset","entry":[` +
		`{"resource":{"resourceType":"ServiceRequest","id":"sr1","subject":{"reference":"Patient/p1","display":"J. Jansen"}},"search":{"mode":"match"}},` +
		`{"resource":{"resourceType":"Patient","id":"p1","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}]},"search":{"mode":"include"}},` +
		`{"resource":{"resourceType":"Appointment","id":"a1","participant":[{"actor":{"reference":"http://gw/fhir/Patient/p2"}}]},"search":{"mode":"include"}}]}`)
	if got := PatientRefs(body); strings.Join(got, ",") != "p1,p2" {
		t.Fatalf("refs %v", got)
	}
	out, ids, err := k.Transform("7119", body, map[string]Facts{"p1": {BSN: "999911120", PC4: "1012"}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	want, _ := k.Pseudonym("7119", "999911120")
	for _, bad := range []string{"Patient/p1", "Patient/p2", "999911120", "Jansen", `"resourceType":"Patient"`} {
		if strings.Contains(s, bad) {
			t.Errorf("the pseudonymised body holds %s: %s", bad, s)
		}
	}
	for _, good := range []string{`"subject":{"type":"Patient","identifier":{"system":"https://wachtwijzer.nl/fhir/NamingSystem/member-pseudonym/7119","value":"` + want + `"}}`,
		`{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/member-pc4","valueString":"1012"}`} {
		if !strings.Contains(s, good) {
			t.Errorf("missing %s in %s", good, s)
		}
	}
	if strings.Join(ids, ",") != "p1,p2" {
		t.Errorf("replaced %v", ids)
	}
}
