package wachtwijzer

import "context"

// Role is what kind of party a Principal acts for.
type Role string

// The roles.
const (
	RoleSystem    Role = "system"   // the gateway itself (ingest, demo, recovery)
	RoleAdmin     Role = "admin"    // operators
	RoleHospital  Role = "hospital" // a hospital or ZBC client, bound to its AGB/URA
	RoleInsurer   Role = "insurer"  // an insurer client, bound to its UZOVI
	RoleAnonymous Role = "anonymous"
)

// Principal is who a request acts for.
type Principal struct {
	Role Role
	// ClientID identifies the authenticated client.
	ClientID string
	// Organization is the reference or identifier the principal is bound
	// to (AGB/URA for hospitals, UZOVI for insurers).
	Organization string
	// Scopes are the granted SMART scopes.
	Scopes []string
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the context's Principal, or the system principal
// when none is set (internal callers: ingest, demo loading, recovery).
func PrincipalFrom(ctx context.Context) *Principal {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok && p != nil {
		return p
	}
	return &systemPrincipal
}

var systemPrincipal = Principal{Role: RoleSystem, ClientID: "wachtwijzer"}

// Access is the kind of access a Policy decides on.
type Access int

// The access kinds.
const (
	AccessRead Access = iota
	AccessSearch
	AccessHistory
	AccessWrite
	AccessDelete
)

// Policy decides what a Principal may see and change. The store consults it
// for every read, write, history and search, and applies its Filter inside
// the query, before paging and counting, so no path leaks what it hides.
type Policy interface {
	// Allow reports whether p may perform access on a type at all.
	Allow(ctx context.Context, p *Principal, access Access, typ string) error
	// Filter returns extra clauses that restrict what p sees of typ (nil:
	// no restriction).
	Filter(ctx context.Context, p *Principal, typ string) ([]Clause, error)
	// Visible reports whether p may see this stored version.
	Visible(ctx context.Context, p *Principal, r *Resource) (bool, error)
	// Writable reports whether p may write w (its owner is set from p).
	Writable(ctx context.Context, p *Principal, w *Write) error
}

// AllowAll is the Policy of a gateway without tenancy: everything is allowed.
type AllowAll struct{}

// Allow allows everything.
func (AllowAll) Allow(context.Context, *Principal, Access, string) error { return nil }

// Filter restricts nothing.
func (AllowAll) Filter(context.Context, *Principal, string) ([]Clause, error) { return nil, nil }

// Visible shows everything.
func (AllowAll) Visible(context.Context, *Principal, *Resource) (bool, error) { return true, nil }

// Writable allows every write.
func (AllowAll) Writable(context.Context, *Principal, *Write) error { return nil }
