package wachtwijzer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DeriveID returns the id of an ingested resource: base32 of
// HMAC-SHA256(deploymentKey, resourceType | identifier system | identifier
// value), cut to 16 characters (80 bits: collision-free in practice at any
// scale one deployment reaches, and short, because every index entry carries
// ids). Every gateway on one Redis shares the
// deployment key, so HL7, CSV, pull, the NZa import and gen all meet on one
// resource per business identifier, and no id can be turned back into the
// identifier (a BSN, say) without the key. The system must be the business
// namespace (AGB, URA, UZOVI, the hospital's own number system), never the
// transport.
func DeriveID(deploymentKey []byte, resourceType, system, value string) string {
	m := hmac.New(sha256.New, deploymentKey)
	m.Write([]byte(resourceType))
	m.Write([]byte{'|'})
	m.Write([]byte(system))
	m.Write([]byte{'|'})
	m.Write([]byte(value))
	return idEncoding.EncodeToString(m.Sum(nil))[:IDLength]
}

// IDLength is the length of generated ids.
const IDLength = 16

// NewID returns a random server-assigned id (16 base32 characters, 80
// random bits).
func NewID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("wachtwijzer: crypto/rand failed: " + err.Error())
	}
	return idEncoding.EncodeToString(b[:])
}

// HospitalSystem returns the identifier system for a hospital's own numbers
// when the source names none:
// https://wachtwijzer.nl/fhir/NamingSystem/agb/{AGB}/{kind}, kind being
// patient, order, appointment or slot.
func HospitalSystem(agb, kind string) string {
	return "https://wachtwijzer.nl/fhir/NamingSystem/agb/" + agb + "/" + kind
}

// ValidID reports whether s is a valid FHIR id: 1–64 of [A-Za-z0-9-.].
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// CanonicalBase is the canonical base of the project's own artefacts.
const CanonicalBase = "https://wachtwijzer.nl/fhir"

// SplitRef splits a relative reference "Type/id" (optionally with
// "/_history/n"), returning ok=false for anything else.
func SplitRef(ref string) (typ, id string, ok bool) {
	typ, rest, found := strings.Cut(ref, "/")
	if !found || typ == "" {
		return "", "", false
	}
	id, _, _ = strings.Cut(rest, "/_history/")
	if !ValidID(id) || strings.Contains(id, "/") {
		return "", "", false
	}
	return typ, id, true
}
