package pseudonym

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// SystemPrefix is the identifier system of an insurer's member pseudonyms,
// followed by the UZOVI code.
const SystemPrefix = ww.CanonicalBase + "/NamingSystem/member-pseudonym/"

// ExtPC4 is the extension carrying the member's 4-digit postcode.
const ExtPC4 = ww.CanonicalBase + "/StructureDefinition/member-pc4"

// System returns the pseudonym system of an insurer.
func System(uzovi string) string { return SystemPrefix + uzovi }

// ring is one insurer's keys by id, and the id new pseudonyms use.
type ring struct {
	current string
	keys    map[string][]byte
}

// Keys are the pseudonym keys of a deployment.
type Keys struct {
	insurers map[string]*ring
	// derive, when set, derives a key for insurers without one in the file.
	derive []byte
}

// File is the JSON form of a keys file:
//
//	{"insurers": {"7119": {"current": "v2", "keys": {"v1": "<base64, ≥ 32 bytes>", "v2": "…"}}}}
//
// Keep retired keys listed as long as their pseudonyms must resolve.
type File struct {
	Insurers map[string]struct {
		Current string            `json:"current"`
		Keys    map[string]string `json:"keys"`
	} `json:"insurers"`
}

// Load reads a keys file; insurers it does not list get keys derived from
// deploymentKey (nil: they cannot be served pseudonyms).
func Load(path string, deploymentKey []byte) (*Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pseudonym keys: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("pseudonym keys %s: %w", path, err)
	}
	return FromFile(&f, deploymentKey)
}

// FromFile checks and builds Keys from a parsed keys file.
func FromFile(f *File, deploymentKey []byte) (*Keys, error) {
	k := &Keys{insurers: map[string]*ring{}, derive: deploymentKey}
	for uzovi, in := range f.Insurers {
		if len(uzovi) != 4 || strings.Trim(uzovi, "0123456789") != "" {
			return nil, fmt.Errorf("pseudonym keys: %q is not a UZOVI code (4 digits)", uzovi)
		}
		r := &ring{current: in.Current, keys: map[string][]byte{}}
		for id, v := range in.Keys {
			if !validKeyID(id) {
				return nil, fmt.Errorf("pseudonym keys of %s: key id %q: use letters and digits (no dot)", uzovi, id)
			}
			raw, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(raw) < 32 {
				return nil, fmt.Errorf("pseudonym keys of %s: key %s must be base64 of at least 32 random bytes", uzovi, id)
			}
			r.keys[id] = raw
		}
		if _, ok := r.keys[r.current]; !ok {
			return nil, fmt.Errorf("pseudonym keys of %s: the current key %q is not among its keys", uzovi, r.current)
		}
		k.insurers[uzovi] = r
	}
	return k, nil
}

// Derived returns Keys that derive one key ("d1") per insurer from the
// deployment key.
func Derived(deploymentKey []byte) *Keys {
	return &Keys{insurers: map[string]*ring{}, derive: deploymentKey}
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (k *Keys) ring(uzovi string) (*ring, bool) {
	if r, ok := k.insurers[uzovi]; ok {
		return r, true
	}
	if k.derive == nil {
		return nil, false
	}
	m := hmac.New(sha256.New, k.derive)
	m.Write([]byte("member-pseudonym|" + uzovi))
	return &ring{current: "d1", keys: map[string][]byte{"d1": m.Sum(nil)}}, true
}

func mac(key []byte, subject string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(subject))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Pseudonym returns the insurer's current pseudonym of a BSN.
func (k *Keys) Pseudonym(uzovi, bsn string) (string, error) {
	return k.of(uzovi, "bsn|"+bsn)
}

// PatientPseudonym is the pseudonym of a Patient without a BSN (by its
// resource id, so it cannot be matched across hospitals).
func (k *Keys) PatientPseudonym(uzovi, patientID string) (string, error) {
	return k.of(uzovi, "patient|"+patientID)
}

func (k *Keys) of(uzovi, subject string) (string, error) {
	r, ok := k.ring(uzovi)
	if !ok {
		return "", ww.Errorf(ww.KindUnavailable, "exception", "no pseudonym key is configured for insurer %s", uzovi)
	}
	return r.current + "." + mac(r.keys[r.current], subject), nil
}

// Matches reports whether pseudonym is the insurer's pseudonym of bsn under
// the key it names (current or retired).
func (k *Keys) Matches(uzovi, pseudonym, bsn string) bool {
	id, val, ok := strings.Cut(pseudonym, ".")
	if !ok {
		return false
	}
	r, ok := k.ring(uzovi)
	if !ok {
		return false
	}
	key, ok := r.keys[id]
	if !ok {
		return false
	}
	return hmac.Equal([]byte(mac(key, "bsn|"+bsn)), []byte(val))
}
