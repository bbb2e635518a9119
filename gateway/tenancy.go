package gateway

import (
	"net/url"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// opScope is what an insurer operation reveals about patients.
type opScope int

const (
	// scopeMembers: patient-level results (waits, mediations) — insurers
	// see only their own members; hospitals and anonymous clients may not
	// call it.
	scopeMembers opScope = iota
	// scopeAggregate: counts per region and specialism (small counts
	// suppressed) — insurers see only their own members; others only the
	// totals over all insurers.
	scopeAggregate
)

// tenantInsurer reads the insurer parameter under tenancy: an insurer
// principal always gets its own UZOVI (the parameter may be left out; another
// insurer's is a 403); system and admin principals get what they ask for.
func tenantInsurer(r *OperationRequest, ps url.Values, scope opScope) (string, error) {
	insurer, err := insurerParam(ps)
	if err != nil {
		return "", err
	}
	p := ww.PrincipalFrom(r.ctx)
	switch p.Role {
	case ww.RoleSystem, ww.RoleAdmin:
		return insurer, nil
	case ww.RoleInsurer:
		if p.Organization == "" {
			return "", ww.Errorf(ww.KindForbidden, "forbidden", "this client is bound to no insurer")
		}
		if insurer != "" && insurer != p.Organization {
			return "", ww.Errorf(ww.KindForbidden, "forbidden", "an insurer may query only its own members (insurer=%s)", p.Organization).At("insurer")
		}
		return p.Organization, nil
	}
	if scope == scopeAggregate && insurer == "" {
		return "", nil
	}
	return "", ww.Errorf(ww.KindForbidden, "forbidden", "this operation returns member data: it is for insurers (and admins)")
}
