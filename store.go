package wachtwijzer

import (
	"context"
	"time"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Resource is one stored version of a FHIR resource.
type Resource struct {
	Type        string
	ID          string
	VersionID   int64
	LastUpdated time.Time
	// Deleted marks a tombstone version (the delete itself); JSON is empty.
	Deleted bool
	// JSON is the minified resource as stored, meta.versionId and
	// meta.lastUpdated included.
	JSON []byte
	// Provenance is the store metadata kept outside the client's JSON.
	Provenance Provenance
	// SourceTime is the lower bound of the source time the version was
	// written with (Write.SourceTime); zero when none was given.
	SourceTime time.Time
}

// Channel names how a version reached the gateway.
type Channel string

// The ingest channels.
const (
	ChannelREST   Channel = "rest"
	ChannelHL7    Channel = "hl7"
	ChannelCSV    Channel = "csv"
	ChannelPull   Channel = "pull"
	ChannelImport Channel = "import"
	ChannelDemo   Channel = "demo"
)

// Provenance is what the store records about each version besides the
// resource: the writing organisation (owner; indexed, so tenancy is a filter),
// the channel and the source message or file id.
type Provenance struct {
	Owner   string
	Channel Channel
	Source  string
}

// WriteOp says what a Write does.
type WriteOp int

// The write operations.
const (
	// OpCreate writes version 1 of a new resource; it fails with
	// KindConflict when the id is taken by a live resource.
	OpCreate WriteOp = iota
	// OpUpdate writes the next version, creating the resource when absent
	// or deleted, unless IfMatch demands a version.
	OpUpdate
	// OpDelete writes a tombstone; deleting a missing or deleted resource
	// is a no-op.
	OpDelete
)

// Write is one resource write inside a Commit.
type Write struct {
	Op   WriteOp
	Type string
	ID   string
	// JSON is the validated, minified resource (for OpCreate and OpUpdate);
	// the store sets id, meta.versionId and meta.lastUpdated.
	JSON []byte
	// Tree, when set, is JSON as the caller parsed it (for validation),
	// so the store does not parse it again: the same document, in the
	// order of JSON's members. The store reads it and never changes it.
	Tree *fhirjson.Value
	// IfMatch, when > 0, demands that the current version is exactly this
	// one (else KindPrecondition).
	IfMatch int64
	// IfMissing, for OpUpdate, demands that the resource is absent or
	// deleted (update-as-create that must not overwrite).
	IfMissing bool
	// IfAbsent, for OpUpdate, writes only when no live resource exists
	// (absent or deleted); otherwise the stored resource is kept, the
	// outcome is Unchanged and the rest of the commit goes on. It is decided
	// inside the atomic write, unlike IfMissing, which fails the commit.
	IfAbsent bool
	// SourceTime, when set, orders writes from a source system: the write is
	// skipped (outcome Superseded, the rest of the commit goes on) when the
	// stored version carries a source time whose lower bound is at or after
	// SourceTime.Hi, i.e. when this version's source time is strictly older
	// at the coarser of the two precisions. Decided inside the atomic write;
	// the new version keeps SourceTime.Lo.
	SourceTime SourceTime
	// Provenance of the new version.
	Provenance Provenance
}

// SourceTime is a source system's timestamp at its precision, as the
// interval it spans: [Lo, Hi) in Unix milliseconds. A time to the day is
// that whole day; one to the millisecond is one millisecond wide. For
// calendar-nested precisions one time is strictly older than another at the
// coarser of their precisions exactly when its Hi is at or before the
// other's Lo, so the store compares two numbers.
type SourceTime struct{ Lo, Hi int64 }

// IsZero reports whether no source time is given.
func (t SourceTime) IsZero() bool { return t.Hi == 0 }

// Receipt is a small keyed record written atomically with a Commit's writes
// (for example the HL7 deduplication record of the message that caused
// them): the commit lands with its receipt, or neither does. A receipt is
// replaced by a later one with the same Kind and Key and expires after TTL
// (0: never).
type Receipt struct {
	Kind  string // a namespace such as "hl7"
	Key   string
	Value []byte
	TTL   time.Duration
}

// Guard is an assertion checked atomically with a Commit: the resources of
// Type matching Criteria must be exactly Expect (ids, any order). Conditional
// create, update, delete and conditional references are resolved by a
// search, then committed with the guard that the search still holds; when it
// does not, Commit fails with KindConflict and the caller resolves again.
type Guard struct {
	Type     string
	Criteria []Clause
	Expect   []string
}

// Commit is an atomic set of writes: all of them land, or none.
type Commit struct {
	Writes []Write
	Guards []Guard
	// Receipt, when set, is written in the same atomic step.
	Receipt *Receipt
	// Release, when set, is a lease the commit gives up once it has landed
	// (when its holder still has it): a delivery lease that ends with the
	// commit that settles the delivery, without a round trip of its own.
	Release *LeaseRef
}

// LeaseRef names a lease and the holder that took it.
type LeaseRef struct{ Name, Holder string }

// Outcome says what a Write did.
type Outcome int

// The write outcomes.
const (
	Created Outcome = iota
	Updated
	Deleted
	Unchanged  // delete of a missing or already deleted resource; IfAbsent on a live one
	Superseded // the stored version has a newer source time (Write.SourceTime)
)

// WriteResult is the result of one Write, in the order of Commit.Writes.
type WriteResult struct {
	Outcome  Outcome
	Resource *Resource // the new version (a tombstone for deletes); nil when Unchanged or Superseded
}

// Clause is one parsed search criterion: a parameter with an optional
// modifier and its comma-separated alternatives (OR). Several clauses are
// ANDed.
type Clause struct {
	Param    string
	Modifier string
	// Chain is the rest of a chained parameter: "name" in
	// actor:Patient.name, "organization.identifier" in
	// performer:PractitionerRole.organization.identifier. For _has,
	// Modifier holds "Type:param:param2" of _has:Type:param:param2.
	Chain  string
	Values []string
}

// Include is one _include or _revinclude.
type Include struct {
	// Source is the type holding the reference parameter, Param its name
	// ("*" for every reference parameter), Target an optional type.
	Source, Param, Target string
	Reverse               bool
	Iterate               bool
}

// SortKey is one _sort key.
type SortKey struct {
	Param      string
	Descending bool
}

// TotalMode is the _total parameter.
type TotalMode int

// The _total modes.
const (
	TotalNone TotalMode = iota
	TotalEstimate
	TotalAccurate
)

// Query is a search over one resource type.
type Query struct {
	Type    string
	Clauses []Clause
	Sort    []SortKey
	Count   int
	// After continues a paged search after this position (from a page
	// token); nil starts at the beginning.
	After *Cursor
	Total TotalMode
	// Explain asks the store to describe its plan.
	Explain bool
	// Includes are the _include and _revinclude requests.
	Includes []Include
	// IncludeCap bounds included resources per page (default 1000).
	IncludeCap int
	// Base is the server's base URL, so absolute references to it match
	// local resources.
	Base string
	// Elements, when set, limits what the caller needs (not used by the
	// store for matching).
	Strict bool
}

// Cursor is a keyset position: the sort values of the last entry and its id.
type Cursor struct {
	Keys []string
	ID   string
}

// SearchResult is one page of matches.
type SearchResult struct {
	Resources []*Resource
	// Total is the number of matches when requested and known, else -1.
	Total int
	// Next continues after the last entry, nil on the last page.
	Next *Cursor
	// Plan describes how the store ran the query (with Explain).
	Plan []string
	// Facts are per-resource search facts (e.g. "distance" in km) keyed by
	// id.
	Facts map[string]map[string]string
	// Included are the resources of _include/_revinclude.
	Included []*Resource
	// Issues are warnings about the search (a truncated include, an
	// estimated total).
	Issues []Issue
}

// HistoryQuery selects versions for instance, type or system history.
type HistoryQuery struct {
	Type  string // "" for the whole system
	ID    string // "" for type or system history
	Since time.Time
	// At is not supported yet; zero means absent.
	Count int
	After *Cursor
}

// HistoryPage is one page of versions, newest first.
type HistoryPage struct {
	Versions []*Resource
	Next     *Cursor
	Total    int // -1 when not counted
}

// Store is the gateway's storage. Every call takes a context carrying the
// Principal; the store applies the Policy to reads, writes, history and
// search before paging and counting.
type Store interface {
	// Read returns the current version; KindNotFound when the resource
	// never existed, KindGone (with the tombstone) when it was deleted.
	Read(ctx context.Context, typ, id string) (*Resource, error)
	// VRead returns one version; KindNotFound when absent.
	VRead(ctx context.Context, typ, id string, version int64) (*Resource, error)
	// Commit applies writes atomically, after checking the guards.
	Commit(ctx context.Context, c *Commit) ([]WriteResult, error)
	// Search runs a query over the indexes.
	Search(ctx context.Context, q *Query) (*SearchResult, error)
	// History lists versions, newest first.
	History(ctx context.Context, q *HistoryQuery) (*HistoryPage, error)
	// Ping reports whether the store can serve (for readiness).
	Ping(ctx context.Context) error
	// Close releases connections.
	Close() error
}
