package audit

import "github.com/wachtwijzer/wachtwijzer/redisstore"

// ACL returns the arguments of ACL SETUSER for the Redis user a gateway
// runs as, for a store with key prefix prefix (default "ww"):
//
//	ACL SETUSER <user> reset on ><password> resetchannels
//	    ~ww:* +@all -@dangerous +config|get +info
//	    (~wwaudit:* +xadd +xrange +xrevrange +xlen +xinfo +get +set +eval +evalsha)
//
// The root permissions give every command the gateway needs on its data keys
// (and nothing on the audit keys: ACL key patterns only allow); the selector
// allows only appending to and reading the audit stream and moving its head
// (the append script runs XADD and SET). XDEL, XTRIM, DEL, UNLINK, RENAME,
// EXPIRE and FLUSHALL are refused on the audit keys, so a compromised gateway
// cannot rewrite history; it could SET a wrong head, which Verify reports.
// Run export and verify as a user with read access; keep the default user
// for operators only.
func ACL(prefix, user, password string) []any {
	if prefix == "" {
		prefix = "ww"
	}
	return []any{"SETUSER", user, "reset", "on", ">" + password, "resetchannels",
		"~" + prefix + ":*", "+@all", "-@dangerous", "+config|get", "+info",
		"(~" + redisstore.AuditPrefix(prefix) + ":* +xadd +xrange +xrevrange +xlen +xinfo +get +set +eval +evalsha)"}
}
