package tenancy

import (
	"context"
	"fmt"
	"strings"
	"sync"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// CapacityTypes are the resource types without personal data that every
// principal may read (DOMAIN.md: capacity data may be shared).
var CapacityTypes = map[string]bool{
	"Slot": true, "Schedule": true, "HealthcareService": true, "Location": true,
	"Organization": true, "Practitioner": true, "PractitionerRole": true,
	"InsurancePlan": true, "MeasureReport": true,
}

// memberRef is, per patient-level type an insurer may read, the search
// parameter whose Patient reference makes it a member's resource ("_id":
// the resource is the Patient itself; Coverage is filtered by payor).
var memberRef = map[string]string{
	"Patient":        "_id",
	"ServiceRequest": "patient",
	"Appointment":    "patient",
	"Task":           "patient",
	"Consent":        "patient",
	"Coverage":       "",
}

// insurerWrites are the types an insurer may write.
var insurerWrites = map[string]bool{"Coverage": true, "Task": true}

// noneID is an id no resource can have (it is not a valid FHIR id), so a
// clause _id=noneID matches nothing.
const noneID = "!none"

// Versioner reports a number that changes with every write of the given
// types (redisstore.Store.Versions); the member cache is keyed by it.
type Versioner interface {
	Versions(ctx context.Context, types []string) (int64, error)
}

// Options configure a Policy.
type Options struct {
	// Clock gives the day membership is evaluated on (default the wall clock).
	Clock ww.Clock
	// MaxMembers caps the member Patients of one insurer the Policy puts into
	// a filter (default 50000); an insurer with more gets a 503 that says so.
	MaxMembers int
	// HidePatients hides Patient resources from insurers (pseudonymised
	// waits: identity only through $reidentify).
	HidePatients bool
}

// Policy is the tenancy Policy. Bind it to its store after opening the store
// (the store is opened with the Policy).
type Policy struct {
	o     Options
	mu    sync.RWMutex
	store ww.Store
	vers  Versioner
	cache map[string]*Members
}

var _ ww.Policy = (*Policy)(nil)

// New returns an unbound Policy; until Bind, insurers see no patient data.
func New(o Options) *Policy {
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = 50000
	}
	return &Policy{o: o, cache: map[string]*Members{}}
}

// Bind gives the Policy the store it resolves memberships through. When the
// store is a Versioner, resolved member sets are cached until a Patient,
// Coverage or Organization is written.
func (p *Policy) Bind(s ww.Store) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.store = s
	p.vers, _ = s.(Versioner)
	p.cache = map[string]*Members{}
}

// unrestricted reports whether the principal sees and writes everything.
func unrestricted(pr *ww.Principal) bool {
	return pr.Role == ww.RoleSystem || pr.Role == ww.RoleAdmin
}

// Allow decides on a type as a whole: writes by insurers outside Coverage
// and Task, and every write by anonymous principals, are forbidden; reads are
// allowed and narrowed by Filter and Visible (so a hidden resource looks
// missing rather than forbidden).
func (p *Policy) Allow(_ context.Context, pr *ww.Principal, access ww.Access, typ string) error {
	if unrestricted(pr) {
		return nil
	}
	if access != ww.AccessWrite && access != ww.AccessDelete {
		return nil
	}
	switch pr.Role {
	case ww.RoleHospital:
		if pr.Organization == "" {
			return forbidden("this client is bound to no organisation, so it cannot write")
		}
		return nil
	case ww.RoleInsurer:
		if !insurerWrites[typ] {
			return forbidden("an insurer may write only its own Coverage and Task resources, not %s", typ)
		}
		if pr.Organization == "" {
			return forbidden("this client is bound to no insurer, so it cannot write")
		}
		return nil
	}
	return forbidden("this client may not write")
}

// Filter returns the clauses that restrict a search of typ to what pr sees.
func (p *Policy) Filter(ctx context.Context, pr *ww.Principal, typ string) ([]ww.Clause, error) {
	if unrestricted(pr) || CapacityTypes[typ] {
		return nil, nil
	}
	switch pr.Role {
	case ww.RoleHospital:
		if pr.Organization == "" {
			return none(), nil
		}
		return []ww.Clause{{Param: "_owner", Values: []string{pr.Organization}}}, nil
	case ww.RoleInsurer:
		param, ok := memberRef[typ]
		if !ok || typ == "Patient" && p.o.HidePatients {
			return none(), nil
		}
		m, err := p.Members(ctx, pr.Organization)
		if err != nil {
			return nil, err
		}
		switch {
		case typ == "Coverage":
			return idClause(m.Coverages), nil
		case param == "_id":
			return idClause(m.Patients), nil
		}
		if len(m.Patients) == 0 {
			return none(), nil
		}
		vals := make([]string, 0, len(m.Patients))
		for _, id := range sortedKeys(m.Patients) {
			vals = append(vals, "Patient/"+id)
		}
		return []ww.Clause{{Param: param, Values: vals}}, nil
	}
	return none(), nil
}

// Visible reports whether pr may see the stored version r.
func (p *Policy) Visible(ctx context.Context, pr *ww.Principal, r *ww.Resource) (bool, error) {
	if unrestricted(pr) || CapacityTypes[r.Type] {
		return true, nil
	}
	switch pr.Role {
	case ww.RoleHospital:
		return pr.Organization != "" && r.Provenance.Owner == pr.Organization, nil
	case ww.RoleInsurer:
		param, ok := memberRef[r.Type]
		if !ok || r.Deleted || len(r.JSON) == 0 || r.Type == "Patient" && p.o.HidePatients {
			return false, nil
		}
		m, err := p.Members(ctx, pr.Organization)
		if err != nil {
			return false, err
		}
		switch {
		case r.Type == "Coverage":
			return m.Coverages[r.ID], nil
		case param == "_id":
			return m.Patients[r.ID], nil
		}
		tree, err := fhirjson.Parse(r.JSON, fhirjson.Limits{})
		if err != nil {
			return false, nil
		}
		sp, ok := conformance.Params().Lookup(r.Type, param)
		if !ok {
			return false, nil
		}
		for _, ref := range sp.Extract(tree).Refs {
			if ref.Type == "Patient" && m.Patients[ref.ID] {
				return true, nil
			}
		}
		return false, nil
	}
	return false, nil
}

// Writable checks a write: the stored version, when there is one, must be
// the principal's own (another organisation's patient-level resource is
// reported as missing; a shared capacity resource as forbidden), and an
// insurer's Coverage must name the insurer as its payor.
func (p *Policy) Writable(ctx context.Context, pr *ww.Principal, w *ww.Write) error {
	if unrestricted(pr) {
		return nil
	}
	if err := p.Allow(ctx, pr, ww.AccessWrite, w.Type); err != nil {
		return err
	}
	if pr.Role == ww.RoleInsurer && w.Type == "Coverage" && w.Op != ww.OpDelete {
		if err := p.ownCoverage(ctx, pr.Organization, w.JSON); err != nil {
			return err
		}
	}
	p.mu.RLock()
	s := p.store
	p.mu.RUnlock()
	if s == nil {
		return ww.Errorf(ww.KindUnavailable, "transient", "the access policy is not ready yet")
	}
	cur, err := s.Read(systemCtx(ctx), w.Type, w.ID)
	switch {
	case ww.IsKind(err, ww.KindNotFound), ww.IsKind(err, ww.KindGone):
		return nil
	case err != nil:
		return err
	}
	if cur.Provenance.Owner == pr.Organization {
		return nil
	}
	if CapacityTypes[w.Type] {
		return forbidden("%s/%s belongs to another organisation; only its owner may change it", w.Type, w.ID)
	}
	return ww.Errorf(ww.KindNotFound, "not-found", "%s/%s is not known", w.Type, w.ID)
}

// ownCoverage checks that a Coverage an insurer writes is paid by it.
func (p *Policy) ownCoverage(ctx context.Context, uzovi string, body []byte) error {
	tree, err := fhirjson.Parse(body, fhirjson.Limits{})
	if err != nil {
		return ww.Errorf(ww.KindInvalid, "invalid", "the Coverage is not valid JSON")
	}
	f, _ := mediation.CoverageFactOf("", tree)
	if f.UZOVI == uzovi {
		return nil
	}
	if f.PayorOrg != "" {
		orgs, err := p.insurerOrgs(ctx, uzovi)
		if err != nil {
			return err
		}
		if orgs[f.PayorOrg] {
			return nil
		}
	}
	return forbidden("an insurer may write only Coverages it is the payor of (payor: its Organization or UZOVI %s)", uzovi)
}

func forbidden(format string, args ...any) error {
	return ww.Errorf(ww.KindForbidden, "forbidden", format, args...)
}

func none() []ww.Clause { return []ww.Clause{{Param: "_id", Values: []string{noneID}}} }

func idClause(ids map[string]bool) []ww.Clause {
	if len(ids) == 0 {
		return none()
	}
	return []ww.Clause{{Param: "_id", Values: sortedKeys(ids)}}
}

// systemCtx is ctx acting as the gateway itself, for the Policy's own
// look-ups (they must see everything to decide).
func systemCtx(ctx context.Context) context.Context {
	return ww.WithPrincipal(ctx, &ww.Principal{Role: ww.RoleSystem, ClientID: "tenancy"})
}

// Describe names a principal for logs and errors (never a patient).
func Describe(pr *ww.Principal) string {
	if pr.Organization == "" {
		return string(pr.Role) + " " + pr.ClientID
	}
	return fmt.Sprintf("%s %s (%s)", pr.Role, pr.ClientID, strings.TrimSpace(pr.Organization))
}
