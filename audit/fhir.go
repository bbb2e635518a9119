package audit

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// organizationSystem returns the identifier system of an organisation code:
// 4 digits UZOVI, 8 digits AGB (URA numbers are 8 digits too: the principal
// says which through its role; AGB is the default for hospitals).
func organizationSystem(code string) string {
	if len(code) == 4 {
		return ww.SystemUZOVI
	}
	return ww.SystemAGB
}

var actionOf = map[string]string{"C": "C", "R": "R", "U": "U", "D": "D", "E": "E"}

// FHIR renders one event (an Entry of Search) as an R4 AuditEvent (the NL
// mapping of DOMAIN.md: type DCM 110110 "Patient Record", the agent with its
// organisation, the patients as entities by reference); its id is the event
// id with "." for "-".
func FHIR(en Entry) ([]byte, error) {
	var e Event
	if err := json.Unmarshal(en.Event, &e); err != nil {
		return nil, err
	}
	ae := fhirjson.NewObject()
	ae.Set("resourceType", fhirjson.NewString("AuditEvent"))
	ae.Set("id", fhirjson.NewString(streamFHIRID(en.ID)))
	ae.Set("type", coding("http://dicom.nema.org/resources/ontology/DCM", "110110", "Patient Record"))
	sub := fhirjson.NewArray(coding("http://hl7.org/fhir/restful-interaction", interactionCode(e.Interaction), e.Interaction))
	ae.Set("subtype", sub)
	if a, ok := actionOf[e.Action]; ok {
		ae.Set("action", fhirjson.NewString(a))
	}
	ae.Set("recorded", fhirjson.NewString(e.Recorded.UTC().Format("2006-01-02T15:04:05.000Z07:00")))
	ae.Set("outcome", fhirjson.NewString(outcomeCode(e.Outcome)))
	ae.Set("outcomeDesc", fhirjson.NewString("HTTP "+strconv.Itoa(e.Outcome)+" "+e.Route))
	ae.Set("purposeOfEvent", fhirjson.NewArray(concept("http://terminology.hl7.org/CodeSystem/v3-ActReason", e.PurposeOfUse, e.LegalGround)))
	agent := fhirjson.NewObject()
	agent.Set("type", concept("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser", e.Role))
	who := fhirjson.NewObject()
	id := fhirjson.NewObject()
	id.Set("system", fhirjson.NewString(ww.CanonicalBase+"/NamingSystem/client-id"))
	id.Set("value", fhirjson.NewString(orDash(e.Client)))
	who.Set("identifier", id)
	agent.Set("who", who)
	if e.Organization != "" {
		agent.Set("altId", fhirjson.NewString(e.Organization))
	}
	agent.Set("requestor", fhirjson.NewBool(true))
	if e.Source != "" {
		nw := fhirjson.NewObject()
		nw.Set("address", fhirjson.NewString(e.Source))
		nw.Set("type", fhirjson.NewString("2"))
		agent.Set("network", nw)
	}
	agent.Set("purposeOfUse", fhirjson.NewArray(concept("http://terminology.hl7.org/CodeSystem/v3-ActReason", e.PurposeOfUse, e.LegalGround)))
	agents := fhirjson.NewArray(agent)
	if e.Organization != "" {
		org := fhirjson.NewObject()
		org.Set("type", concept("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV", "responsible organisation"))
		ow := fhirjson.NewObject()
		oid := fhirjson.NewObject()
		oid.Set("system", fhirjson.NewString(organizationSystem(e.Organization)))
		oid.Set("value", fhirjson.NewString(e.Organization))
		ow.Set("identifier", oid)
		org.Set("who", ow)
		org.Set("requestor", fhirjson.NewBool(false))
		agents.Items = append(agents.Items, org)
	}
	ae.Set("agent", agents)
	src := fhirjson.NewObject()
	obs := fhirjson.NewObject()
	obs.Set("display", fhirjson.NewString("Wachtwijzer gateway"))
	src.Set("observer", obs)
	ae.Set("source", src)
	var ents []*fhirjson.Value
	for _, p := range e.Patients {
		ent := fhirjson.NewObject()
		what := fhirjson.NewObject()
		what.Set("reference", fhirjson.NewString("Patient/"+p))
		ent.Set("what", what)
		ent.Set("type", coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"))
		ents = append(ents, ent)
	}
	if e.Target != "" && !strings.HasPrefix(e.Target, "Patient/") {
		ent := fhirjson.NewObject()
		what := fhirjson.NewObject()
		what.Set("reference", fhirjson.NewString(e.Target))
		ent.Set("what", what)
		ent.Set("type", coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"))
		ents = append(ents, ent)
	}
	if len(ents) > 0 {
		ae.Set("entity", fhirjson.NewArray(ents...))
	}
	return ae.Bytes(), nil
}

// streamFHIRID turns an event id "1700000000000-3" (or "…-3-2") into a
// FHIR id.
func streamFHIRID(id string) string { return strings.ReplaceAll(id, "-", ".") }

// StreamID is the inverse of the FHIR id of an AuditEvent.
func StreamID(fhirID string) string { return strings.ReplaceAll(fhirID, ".", "-") }

func interactionCode(i string) string {
	switch i {
	case "search":
		return "search-type"
	case "history":
		return "history-instance"
	case "batch":
		return "batch"
	case "operation":
		return "operation"
	case "":
		return "read"
	}
	return i
}

func outcomeCode(status int) string {
	switch {
	case status < 400:
		return "0"
	case status < 500:
		return "4"
	}
	return "8"
}

func coding(system, code, display string) *fhirjson.Value {
	c := fhirjson.NewObject()
	c.Set("system", fhirjson.NewString(system))
	c.Set("code", fhirjson.NewString(code))
	if display != "" {
		c.Set("display", fhirjson.NewString(display))
	}
	return c
}

func concept(system, code, text string) *fhirjson.Value {
	cc := fhirjson.NewObject()
	cc.Set("coding", fhirjson.NewArray(coding(system, code, "")))
	if text != "" {
		cc.Set("text", fhirjson.NewString(text))
	}
	return cc
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Query selects events for the AuditEvent search.
type Query struct {
	// From and To bound Recorded (zero: open).
	From, To time.Time
	// Agent matches the client id or the organisation code.
	Agent string
	// Patient matches a Patient id.
	Patient string
	// Count is the page size; Before continues below an event id.
	Count  int
	Before string
}

// maxScan bounds the entries one search reads.
const maxScan = 100000

// Event ids: an entry holding one event is named by its stream id
// ("<ms>-<seq>"); the events of a group commit by the stream id and their
// position in it ("<ms>-<seq>-<i>").

// eventID names event i of the entry id (n events).
func eventID(id string, i, n int) string {
	if n == 1 {
		return id
	}
	return id + "-" + strconv.Itoa(i)
}

// splitEventID returns an event id's stream id and position (-1: an entry
// of one event).
func splitEventID(id string) (string, int) {
	ms, rest, _ := strings.Cut(id, "-")
	seq, pos, ok := strings.Cut(rest, "-")
	if !ok {
		return id, -1
	}
	i, err := strconv.Atoi(pos)
	if err != nil || i < 0 {
		return id, -1
	}
	return ms + "-" + seq, i
}

// Search returns matching events, newest first, and the event id to
// continue before ("" on the last page). It reads at most maxScan entries.
func (l *Log) Search(ctx context.Context, q Query) ([]Entry, string, error) {
	if q.Count <= 0 {
		q.Count = 50
	}
	start, within, below := "+", "", -1
	if q.Before != "" {
		if id, i := splitEventID(q.Before); i >= 0 {
			// continue inside a group commit: its events before i, then older
			start, within, below = id, id, i
		} else {
			start = "(" + id
		}
	}
	end := "-"
	if !q.From.IsZero() {
		end = strconv.FormatInt(q.From.UnixMilli()-60000, 10)
	}
	var out []Entry
	scanned := 0
	for scanned < maxScan {
		batch, err := l.b.AuditRange(ctx, start, end, 500, true)
		if err != nil {
			return nil, "", err
		}
		for _, be := range batch {
			scanned++
			evs, err := Entry{Event: be.Event}.Events()
			if err != nil {
				continue
			}
			last := len(evs) - 1
			if be.ID == within {
				last = min(last, below-1)
			}
			for i := last; i >= 0; i-- {
				var e Event
				if json.Unmarshal(evs[i], &e) != nil || !q.matches(&e) {
					continue
				}
				if len(out) == q.Count {
					return out, out[len(out)-1].ID, nil
				}
				out = append(out, Entry{ID: eventID(be.ID, i, len(evs)), Prev: be.Prev, Hash: be.Hash, Event: evs[i]})
			}
		}
		if len(batch) < 500 {
			break
		}
		start = "(" + batch[len(batch)-1].ID
	}
	return out, "", nil
}

func (q *Query) matches(e *Event) bool {
	if !q.From.IsZero() && e.Recorded.Before(q.From) || !q.To.IsZero() && !e.Recorded.Before(q.To) {
		return false
	}
	if q.Agent != "" && q.Agent != e.Client && q.Agent != e.Organization {
		return false
	}
	if q.Patient != "" {
		found := false
		for _, p := range e.Patients {
			found = found || p == q.Patient
		}
		if !found {
			return false
		}
	}
	return true
}
