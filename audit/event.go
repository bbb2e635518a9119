package audit

import (
	"context"
	"sync"
	"time"
)

// Event is one access to patient data.
type Event struct {
	Recorded     time.Time `json:"recorded"`
	Client       string    `json:"client"`
	Role         string    `json:"role"`
	Organization string    `json:"organization,omitempty"`
	// Action is the FHIR AuditEvent action: C, R, U, D or E (execute).
	Action string `json:"action"`
	// Interaction names the FHIR interaction (read, vread, search, history,
	// create, update, delete, batch, operation).
	Interaction string `json:"interaction"`
	// Route is the method and route template (never path or query values).
	Route string `json:"route"`
	// Target is the Type/id the request addressed, when it named one.
	Target    string `json:"target,omitempty"`
	Operation string `json:"operation,omitempty"`
	// Outcome is the HTTP status answered.
	Outcome int `json:"outcome"`
	// Source is the client's network address.
	Source       string `json:"source,omitempty"`
	PurposeOfUse string `json:"purposeOfUse"`
	LegalGround  string `json:"legalGround"`
	// Patients are the ids of the Patient resources whose data the response
	// carried or referred to (at most MaxPatients; Truncated says more).
	Patients  []string `json:"patients,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
}

// MaxPatients bounds the patients one Event lists.
const MaxPatients = 1000

// Ground is a purpose of use and legal ground a handler states for its
// access (for example $reidentify with a consent), overriding the role's.
type Ground struct {
	PurposeOfUse, LegalGround string
	// Patients are added to those found in the response.
	Patients []string
}

// Note is the per-request holder a handler states its Ground in.
type Note struct {
	mu       sync.Mutex
	g        *Ground
	patients []string
}

type noteKey struct{}

// WithNote returns ctx carrying a fresh Note, and the Note.
func WithNote(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

// State records the ground of the request ctx belongs to (no-op without a
// Note).
func State(ctx context.Context, g Ground) {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok {
		n.mu.Lock()
		n.g = &g
		n.mu.Unlock()
	}
}

// AddPatients records Patients a request disclosed that its response no
// longer names (a pseudonymised response), for the event (no-op without a
// Note).
func AddPatients(ctx context.Context, ids []string) {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok {
		n.mu.Lock()
		n.patients = append(n.patients, ids...)
		n.mu.Unlock()
	}
}

// Patients returns the Patients added with AddPatients.
func (n *Note) Patients() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.patients...)
}

// Ground returns the stated ground, nil when none.
func (n *Note) Ground() *Ground {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.g
}

// Purposes of use (HL7 v3 PurposeOfUse) and legal grounds per role.
var (
	// ForInsurer: care mediation under the insurer's duty of care.
	ForInsurer = Ground{PurposeOfUse: "COVERAGE", LegalGround: "Zvw art. 11 (zorgplicht), zorgbemiddeling; AVG art. 9(2)(h); Gedragscode Verwerking Persoonsgegevens Zorgverzekeraars"}
	// ForHospital: the hospital's own treatment relationship.
	ForHospital = Ground{PurposeOfUse: "TREAT", LegalGround: "WGBO (BW 7:446 e.v.), behandelrelatie; AVG art. 9(2)(h)"}
	// ForAdmin: operating the gateway.
	ForAdmin = Ground{PurposeOfUse: "HOPERAT", LegalGround: "NEN 7510 beheer; AVG art. 9(2)(h)"}
	// ForSystem: the gateway's own processing (ingest, recovery).
	ForSystem = Ground{PurposeOfUse: "HOPERAT", LegalGround: "verwerking door de gateway (ingest)"}
)
