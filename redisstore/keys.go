package redisstore

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// LayoutVersion is the version of the key layout below; a store refuses to
// open a Redis holding another version or another shard count.
const LayoutVersion = 1

// DefaultShards is the number of shards per resource type.
const DefaultShards = 16

// Key layout. P is the key prefix (default "ww"), T a resource type, ss the
// shard (00–15) = FNV-1a(id) mod N, g the index generation. Everything of one
// shard shares the hash tag {T.ss}, so one resource's write (current version,
// history, every index entry) lands in one Cluster slot.
//
//	key                              type    holds
//	P:layout                         hash    version, shards, gen, created, dkey (deployment key, base64),
//	                                         compounds, scheme:<g> (fingerprints: generation.go), building
//	P:{T.ss}:r:<id>                  string  current version record: header "\n" JSON (tombstone: header only)
//	P:{T.ss}:h:<id>                  hash    older versions: versionId → record
//	P:{T.ss}:hist                    zset    every version of the shard: lastUpdated ms → "id/vid"
//	P:{T.ss}:p:<id>                  hash    Cluster transaction in flight: tx, rec (pending new record)
//	P:{T.ss}:xg:<param>              zset    lex token index (many distinct values): "value\0systemtag\0id", score 0
//	P:{T.ss}:xg:<param>:<value>      set     set index (few distinct values): ids
//	P:{T.ss}:xg:<param>:~            set     systems seen for a set-index token parameter (never shrinks)
//	P:{T.ss}:xg:<param>:~:<system>   set     codes seen in that system (never shrinks; registry entries like
//	                                         these go once per commit: dropSeenSticky)
//	P:{T.ss}:xg:<param>:text         zset    lex index of token display texts (:text): "folded text\0id"
//	P:{T.ss}:xg:<param>:of-type      zset    lex index of typed identifiers: "tsys|tcode|value\0id"
//	P:{T.ss}:xg:<param>:identifier   zset    lex index of Reference.identifier (:identifier)
//	P:{T.ss}:xg:<param>              zset    reference index: "targetId\0TargetType\0id" (or "url\0\0id");
//	                                         string index: "folded\0exact\0id"; uri index: "uri\0id";
//	                                         date index (narrow): lower bound ms → "id" or "id|k";
//	                                         number index: value → "id"; near: GEO set of ids
//	P:{T.ss}:xg:<param>:x            hash    date exceptions: id → "lo:hi,…" when a resource has several
//	                                         values or one whose width is not the parameter's usual one
//	P:{T.ss}:xg:<param>:wb<k>        zset    finite date values wider than a day and at most 2^k days:
//	                                         lower bound → "id|k" (so a search bounds both ends)
//	P:{T.ss}:xg:<param>:woe / :wos   zset    open-ended date values: lower bound (open end) /
//	                                         upper bound (open start) → "id|k"
//	P:{T.ss}:xg:<param>:wall         zset    date values open on both ends → "id|k"
//	P:{T.ss}:xg:<param>:wk           set     the wide classes in use (b<k>, oe, os, all; never shrinks)
//	P:{T.ss}:xg:~c:<params>:<values> zset    compound index (equality on several tokens or references, values
//	                                         "system|code" / "Type/id", ordered by a date): date lower bound → id
//	P:{T.ss}:xg:_lastUpdated         zset    live resources: lastUpdated ms → id
//	P:{T.ss}:xg:_owner:<org>         set     live resources written by an organisation (tenancy filter)
//	P:{T.ss}:xg:<param>:sys:<stag>   set     lex token index by system: ids with a value in that system
//	                                         (system| searches; a generation an older release built holds
//	                                         them as one zset P:{T.ss}:xg:<param>:sys of "systemtag\0id")
//	P:{T.ss}:gr                      set     read fence: the generations readers may use ("r1"; "r1","r2" while switching)
//	P:{T.ss}:gw                      set     write fence: the generations every write must maintain ("w1"; "w1","w2" while building)
//	P:tx:<txid>                      hash    Cluster transaction record: state, deadline, writes
//	P:txopen                         zset    open Cluster transactions: deadline ms → txid
//	P:{T.cond}:lk:<hash>             string  Cluster conditional-create lock (SET NX PX)
//	P:{pull.<src>}:cursor            hash    pull cursors of source src: resource type → lastUpdated ms
//	P:{pull.<src>}:held:<T>          set     ids of T held from source src (what reconciliation compares)
//	P:lease:<name>                   string  a lease (the pull scheduler's leader lock): holder, PX expiry
//	P:state:<kind>:<name>            string  an adapter's status document (JSON): a source's status, an import job
//	P:rc:<kind>:<key>                string  receipt written atomically with a commit (ww.Receipt), with its TTL;
//	                                         kind hl7: key "<MSH-10>|<MSH-3>|<MSH-4>", the deduplication and trace record
//	P:{dl.<kind>}:z                  zset    dead letters of an ingest channel: received ms → id
//	P:{dl.<kind>}:r:<id>             string  one dead letter (JSON written by Go: the message and why it was rejected)
//	P:auth:jti:<hash>                string  a used client-assertion jti (SET NX PX until the assertion expires;
//	                                         hash: base32 SHA-256 of client id "\0" jti) — AuthReplayKey
//	P:auth:rl:<client>:<window>      string  a client's request count in one fixed rate-limit window (INCR, PEXPIRE
//	                                         the window) — RateLimitKey
//
// Index generations. Every index key carries its generation g (":x<g>:" in
// the name). P:layout's gen is the generation searches read; a reindex
// builds g+1 beside it and switches. The per-shard fences make that safe
// without stopping anyone: every write carries a guard that the shard's
// write fence is exactly the generations it computed entries for (a write
// planned before a build started fails the guard, re-reads the fence and
// writes both generations), and every search script checks that the shard's
// read fence holds the generation its keys belong to (a search planned
// before a switch gets "stale", re-reads P:layout and plans again). A
// reindex moves each shard through
//
//	{r g, w g} → {r g, w g, w g+1}      build: writes maintain both; g+1 is filled
//	           → {r g, r g+1, w g, w g+1} switch: both are complete; P:layout gen = g+1
//	           → {r g+1, w g+1}          done: g's keys are deleted in batches
//
// (see reindex.go).
//
// Mediation projections and capacity (projection.go, mediation.go). M is
// the mediation tag: on standalone Redis one fixed tag per family ({wait},
// {slotcap}) so a query reads few keys; on a Cluster the tag of the record
// that owns the entry ({Wait.ss}, {Slot.ss}), so every write stays in its
// record's slot and queries fan out over the shards.
//
//	P:{Wait.ss}:r:<srid>             string  wait projection (mediation.WaitRecord as JSON; no history)
//	P:{Member.ss}:r:<memberkey>      string  member projection (mediation.MemberRecord as JSON; no history)
//	P:M:xg:~wl:<X>:<S>:<K>:<c>       zset    open waits for $long-waits: X insurer key or *, S specialism or *,
//	                                         K kind (- none), c u|b|hu|hb (unbooked, booked, on hold); score
//	                                         day·2^32 + the id's first 4 bytes, day = authoredOn (u) or −waitDays (b)
//	P:M:xg:~wr:<P>:<R>:<S>:<K>:<c>   zset    the same per region R for $regional-capacity; K also *; P * (members
//	                                         "srid"), or <insurer key>@e<coverage end> / @s<start> (day numbers,
//	                                         - for open; members "srid|coverage id")
//	P:M:xg:~wrp                      set     partitions P seen (sticky)
//	P:M:xg:~wrc:<P>                  set     cells "R|S|K" seen in a partition (sticky)
//	P:M:xg:~fs:<schedule>:<S>        zset    free Slots by start ms; S the Slot's own specialism or -
//	P:M:xg:~fsk                      set     "schedule|S" pairs seen (sticky)
//	P:M:xg:~fsx:<S>                  zset    free Slots of own specialism S (- none, * all) by start ms:
//	                                         "slot id\0schedule id"
//
// Audit keys (audit.go) live under A = P + "audit" ("wwaudit"), outside the
// data pattern P:*, so a Redis ACL can give the gateway every command on its
// data and only appending and reading on the audit keys (README, "Audit").
//
//	A:{audit}:log                    stream  the NEN 7513 audit chain: fields prev, hash, event (one event's JSON, or a group commit's JSON array)
//	A:{audit}:head                   string  "<stream id> <hash>" of the last entry (moved with each XADD)
//
// A version record's header is
// "v<vid>\t<txid>\t<lastUpdated ms>\t<flags>\t<owner>\t<channel>\t<source>\t<srclo>";
// flags "d" marks a deletion; srclo is the lower bound of the version's
// source time (ww.Write.SourceTime) in Unix ms, or empty (records written
// before it was added have seven fields). Values in index keys longer than 48 bytes are
// replaced by "#" and 24 base32 characters of their SHA-256.
type keys struct {
	prefix  string
	shards  int
	gen     int
	cluster bool
}

func (k keys) shard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(k.shards))
}

func (k keys) tag(typ string, shard int) string {
	// Built by hand: this runs for every index entry of every write.
	var b strings.Builder
	b.Grow(len(k.prefix) + len(typ) + 8)
	k.writeTag(&b, typ, shard)
	return b.String()
}

// writeTag writes the hash-tagged head of the keys of (typ, shard):
// "<prefix>:{<typ>.<shard, two digits>}".
func (k keys) writeTag(b *strings.Builder, typ string, shard int) {
	b.WriteString(k.prefix)
	b.WriteString(":{")
	b.WriteString(typ)
	b.WriteByte('.')
	if shard >= 0 && shard < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.Itoa(shard))
	b.WriteByte('}')
}

// writeSub writes ":x<gen>:<name>" and ":<part>" for each part (long
// parts shortened by shortValue): the tail of index and mediation keys.
func (k keys) writeSub(b *strings.Builder, name string, parts []string) {
	b.WriteString(":x")
	b.WriteString(strconv.Itoa(k.gen))
	b.WriteByte(':')
	b.WriteString(name)
	for _, v := range parts {
		b.WriteByte(':')
		b.WriteString(shortValue(v))
	}
}

// subLen is about what writeSub writes (a little more).
func subLen(name string, parts []string) int {
	n := 24 + len(name)
	for _, v := range parts {
		n += 1 + min(len(v), 49)
	}
	return n
}

func (k keys) cur(typ, id string) string  { return k.tagged(typ, k.shard(id), ":r:", id) }
func (k keys) hist(typ, id string) string { return k.tagged(typ, k.shard(id), ":h:", id) }
func (k keys) pend(typ, id string) string { return k.tagged(typ, k.shard(id), ":p:", id) }
func (k keys) typeHist(typ string, shard int) string {
	return k.tagged(typ, shard, ":hist", "")
}

// tagged is tag(typ, shard) + sep + id, built in one allocation.
func (k keys) tagged(typ string, shard int, sep, id string) string {
	var b strings.Builder
	b.Grow(len(k.prefix) + len(typ) + 8 + len(sep) + len(id))
	k.writeTag(&b, typ, shard)
	b.WriteString(sep)
	b.WriteString(id)
	return b.String()
}

// index returns the key of index param in a shard, with an optional value
// suffix for set indexes.
func (k keys) index(typ string, shard int, param string, value ...string) string {
	var b strings.Builder
	b.Grow(len(k.prefix) + len(typ) + 8 + subLen(param, value))
	k.writeTag(&b, typ, shard)
	k.writeSub(&b, param, value)
	return b.String()
}

func (k keys) layout() string { return k.prefix + ":layout" }

// readFence and writeFence are a shard's generation fences.
func (k keys) readFence(typ string, shard int) string  { return k.tag(typ, shard) + ":gr" }
func (k keys) writeFence(typ string, shard int) string { return k.tag(typ, shard) + ":gw" }

// withGen returns the keys of index generation g.
func (k keys) withGen(g int) keys {
	k.gen = g
	return k
}

// genPattern matches every index key of generation g (for SCAN).
func (k keys) genPattern(g int) string { return k.prefix + ":{*}:x" + strconv.Itoa(g) + ":*" }

// recordPattern matches every current-version key (for SCAN).
func (k keys) recordPattern() string { return k.prefix + ":{*}:r:*" }

// genMember is a fence member: 'r' or 'w' and the generation.
func genMember(kind byte, g int) string { return string(kind) + strconv.Itoa(g) }
func (k keys) tx(txid string) string    { return k.prefix + ":tx:" + txid }
func (k keys) txOpen() string           { return k.prefix + ":txopen" }

// med returns the key of a mediation index of family (wait, slotcap):
// under the family's own tag on standalone Redis, under the owning
// record's shard tag (typ, shard) on a Cluster.
func (k keys) med(family, typ string, shard int, name string, parts ...string) string {
	var b strings.Builder
	b.Grow(len(k.prefix) + len(typ) + len(family) + 8 + subLen(name, parts))
	if k.cluster {
		k.writeTag(&b, typ, shard)
	} else {
		b.WriteString(k.prefix)
		b.WriteString(":{")
		b.WriteString(family)
		b.WriteByte('}')
	}
	k.writeSub(&b, name, parts)
	return b.String()
}

// medShards returns the shards whose mediation keys a query reads: one
// (the family tag) on standalone, all on a Cluster.
func (k keys) medShards() []int {
	if !k.cluster {
		return []int{0}
	}
	out := make([]int, k.shards)
	for i := range out {
		out[i] = i
	}
	return out
}

func (k keys) condLock(typ, criteria string) string {
	return fmt.Sprintf("%s:{%s.cond}:lk:%s", k.prefix, typ, shortValue("#"+criteria))
}

// receipt is the key of a commit receipt. The key part is kept as given
// (an HL7 control id and sender), so an operator can find it with SCAN.
func (k keys) receipt(kind, key string) string { return k.prefix + ":rc:" + kind + ":" + key }

// receiptPattern is the SCAN pattern of the receipts of kind whose key
// starts with keyPrefix (glob characters escaped).
func (k keys) receiptPattern(kind, keyPrefix string) string {
	return globEscape(k.prefix+":rc:"+kind+":"+keyPrefix) + "*"
}

func (k keys) deadLetters(kind string) string { return k.prefix + ":{dl." + kind + "}:z" }
func (k keys) deadLetter(kind, id string) string {
	return k.prefix + ":{dl." + kind + "}:r:" + id
}

// AuthReplayKey is the key recording a used client assertion (package
// auth): the client id and jti are hashed, so neither length nor content
// of a hostile jti reaches the key name.
func AuthReplayKey(prefix, clientID, jti string) string {
	sum := sha256.Sum256([]byte(clientID + "\x00" + jti))
	return prefix + ":auth:jti:" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20])
}

// RateLimitKey is the counter of a client's requests in fixed window
// number window (package auth).
func RateLimitKey(prefix, clientID string, window int64) string {
	return prefix + ":auth:rl:" + shortValue(clientID) + ":" + strconv.FormatInt(window, 10)
}

func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// validReceiptKind allows short lower-case names: they sit in key names and
// hash tags.
func validReceiptKind(k string) bool {
	if k == "" || len(k) > 16 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
func (k keys) pullCursor(src string) string { return k.prefix + ":{pull." + src + "}:cursor" }
func (k keys) pullHeld(src, typ string) string {
	return k.prefix + ":{pull." + src + "}:held:" + typ
}

// AuditPrefix is the prefix of the audit keys of a store with key prefix
// prefix: outside the data pattern prefix + ":*".
func AuditPrefix(prefix string) string { return prefix + "audit" }

func (k keys) auditLog() string  { return AuditPrefix(k.prefix) + ":{audit}:log" }
func (k keys) auditHead() string { return AuditPrefix(k.prefix) + ":{audit}:head" }

func (k keys) lease(name string) string       { return k.prefix + ":lease:" + name }
func (k keys) state(kind, name string) string { return k.prefix + ":state:" + kind + ":" + name }

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// shortValue keeps index key names short: values over 48 bytes (or
// starting with "#") become "#" + the first 24 hex digits of their SHA-1.
// SHA-1 because search.lua builds the same key names with redis.sha1hex
// (token searches without a system union the value sets of every system
// seen); it only shortens names, it protects nothing.
func shortValue(v string) string {
	if len(v) <= 48 && !strings.HasPrefix(v, "#") {
		return v
	}
	sum := sha1.Sum([]byte(v))
	return "#" + hex.EncodeToString(sum[:])[:24]
}

// lexMember is the member of a lex token index.
func lexMember(code, system, id string) string {
	return code + "\x00" + system + "\x00" + id
}

// validPrefix reports whether p can prefix keys: letters, digits and
// -_.: only (braces would hijack the hash tag).
// ValidPrefix reports whether p can prefix every key: 1-32 letters, digits
// and -_.: (no braces, which would hijack the Cluster hash tags).
func ValidPrefix(p string) error { return validPrefix(p) }

func validPrefix(p string) error {
	if p == "" || len(p) > 32 {
		return fmt.Errorf("key prefix must be 1-32 characters")
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return fmt.Errorf("key prefix %q may hold only letters, digits and -_.: (braces would break Cluster hash tags)", p)
		}
	}
	return nil
}
