package auth

import (
	"context"
	"fmt"
	"sort"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Interaction is what a request does with a resource type, in SMART v2
// terms: create, read (read, vread, instance history), update, delete,
// search (search, type and system history).
type Interaction uint8

// The interactions; a Perm is a set of them.
const (
	Create Interaction = 1 << iota
	Read
	Update
	Delete
	Search
)

// Perm is a set of interactions.
type Perm uint8

// The permissions of the v1 scope suffixes.
const (
	PermRead  = Perm(Read | Search)
	PermWrite = Perm(Create | Update | Delete)
	PermAll   = PermRead | PermWrite
)

// Has reports whether p includes every interaction of q.
func (p Perm) Has(q Perm) bool { return p&q == q }

// String is the v2 letters of p ("cruds" order).
func (p Perm) String() string {
	var b strings.Builder
	for i, c := range "cruds" {
		if p&(1<<i) != 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Scope is one parsed SMART scope.
type Scope struct {
	// Context is "system", "user" or "patient"; only system scopes grant
	// anything on this server (it serves backend services, not apps).
	Context string
	// Type is a resource type or "*".
	Type string
	Perm Perm
	// Raw is the scope as written.
	Raw string
}

// ParseScope parses a SMART v1 (system/Type.read|write|*) or v2
// (system/Type.cruds, letters in that order) resource scope. Other scopes
// (openid, launch, offline_access, v2 query parameters) are errors: this
// server grants none of them.
func ParseScope(s string) (Scope, error) {
	if len(s) > 200 {
		return Scope{}, fmt.Errorf("scope is longer than 200 characters")
	}
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Scope{}, fmt.Errorf("scope %q is not a resource scope (system/Type.read or system/Type.rs)", s)
	}
	switch ctx {
	case "system", "user", "patient":
	default:
		return Scope{}, fmt.Errorf("scope %q: context %q is not system, user or patient", s, ctx)
	}
	if strings.Contains(rest, "?") {
		return Scope{}, fmt.Errorf("scope %q: scopes with search parameters are not supported", s)
	}
	typ, suffix, ok := strings.Cut(rest, ".")
	if !ok || typ == "" || suffix == "" {
		return Scope{}, fmt.Errorf("scope %q: want Type.permission (e.g. Patient.read or Patient.rs)", s)
	}
	if typ != "*" && !validTypeName(typ) {
		return Scope{}, fmt.Errorf("scope %q: %q is not a resource type name", s, typ)
	}
	sc := Scope{Context: ctx, Type: typ, Raw: s}
	switch suffix {
	case "read":
		sc.Perm = PermRead
	case "write":
		sc.Perm = PermWrite
	case "*":
		sc.Perm = PermAll
	default:
		last := -1
		for _, c := range suffix {
			i := strings.IndexRune("cruds", c)
			if i < 0 || i <= last {
				return Scope{}, fmt.Errorf("scope %q: permission %q is not read, write, * or letters of \"cruds\" in that order", s, suffix)
			}
			last = i
			sc.Perm |= Perm(1 << i)
		}
	}
	return sc, nil
}

func validTypeName(t string) bool {
	if len(t) > 64 || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Grants are the permissions a token carries, per resource type ("*": all).
type Grants struct {
	perm map[string]Perm
	// Scopes are the granted scopes as written.
	Scopes []string
}

// ParseGrants parses space-separated scopes; it returns the grants of the
// valid system scopes and an error naming the first invalid one.
func ParseGrants(scopes string) (*Grants, error) {
	g := &Grants{perm: map[string]Perm{}}
	var first error
	for _, s := range strings.Fields(scopes) {
		sc, err := ParseScope(s)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		g.Scopes = append(g.Scopes, s)
		if sc.Context == "system" {
			g.perm[sc.Type] |= sc.Perm
		}
	}
	return g, first
}

// Allows reports whether the grants permit every interaction of need on typ.
func (g *Grants) Allows(typ string, need Perm) bool {
	if g == nil {
		return false
	}
	return (g.perm[typ] | g.perm["*"]).Has(need)
}

// Covers reports whether the grants permit everything scope s grants.
func (g *Grants) Covers(s Scope) bool {
	if s.Type == "*" {
		return g.perm["*"].Has(s.Perm)
	}
	return g.Allows(s.Type, s.Perm)
}

// String lists the grants in v2 syntax, sorted (for messages).
func (g *Grants) String() string {
	var out []string
	for t, p := range g.perm {
		out = append(out, "system/"+t+"."+p.String())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

type grantsKey struct{}

// WithGrants returns a context carrying g.
func WithGrants(ctx context.Context, g *Grants) context.Context {
	return context.WithValue(ctx, grantsKey{}, g)
}

// GrantsFrom returns the context's Grants (nil: none were put there).
func GrantsFrom(ctx context.Context) *Grants {
	g, _ := ctx.Value(grantsKey{}).(*Grants)
	return g
}

// Check is the per-interaction guard: when the context carries Grants
// (the request came through Authenticate) they must permit need on typ,
// else a 403 saying which scope is missing. A context without Grants is an
// internal caller or a gateway without authentication and passes.
func Check(ctx context.Context, typ string, need Perm, what string) error {
	g := GrantsFrom(ctx)
	if g == nil {
		return nil
	}
	if g.Allows(typ, need) {
		return nil
	}
	t := typ
	if t == "" {
		t = "*"
	}
	return ww.Errorf(ww.KindForbidden, "forbidden", "%s needs scope system/%s.%s (SMART v2; v1: %s); the token grants %q", what, t, need.String(), v1Name(t, need), g.String())
}

func v1Name(t string, p Perm) string {
	switch {
	case PermRead.Has(p):
		return "system/" + t + ".read"
	case PermWrite.Has(p):
		return "system/" + t + ".write"
	}
	return "system/" + t + ".*"
}
