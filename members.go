package wachtwijzer

import (
	"crypto/hmac"
	"crypto/sha256"
)

// MemberKey returns the member key of a BSN: base32 of HMAC-SHA256(deployment
// key, "member|" + BSN), cut to 20 characters (100 bits). The same person
// reaches the gateway as several Patient resources (one per hospital, one
// from the insurer); the store keeps, for each Patient version with a BSN,
// its member key, and joins waits to Coverages through it (GUIDE §2), so no
// raw BSN ever lands in a key name and no key can be turned back into a BSN
// without the deployment key.
func MemberKey(deploymentKey []byte, bsn string) string {
	m := hmac.New(sha256.New, deploymentKey)
	m.Write([]byte("member|"))
	m.Write([]byte(bsn))
	return idEncoding.EncodeToString(m.Sum(nil))[:20]
}
