package audit

import (
	"strconv"
	"time"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// appendJSON appends e as encoding/json writes it (the same bytes: field
// order, omitempty, escaping), without reflection: every audited request
// encodes one event.
func (e *Event) appendJSON(b []byte) []byte {
	b = append(b, `{"recorded":"`...)
	b = e.Recorded.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	field := func(name, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		b = append(append(append(b, `,"`...), name...), `":`...)
		b = fhirjson.AppendMarshaled(b, v)
	}
	field("client", e.Client, false)
	field("role", e.Role, false)
	field("organization", e.Organization, true)
	field("action", e.Action, false)
	field("interaction", e.Interaction, false)
	field("route", e.Route, false)
	field("target", e.Target, true)
	field("operation", e.Operation, true)
	b = append(b, `,"outcome":`...)
	b = strconv.AppendInt(b, int64(e.Outcome), 10)
	field("source", e.Source, true)
	field("purposeOfUse", e.PurposeOfUse, false)
	field("legalGround", e.LegalGround, false)
	if len(e.Patients) > 0 {
		b = append(b, `,"patients":[`...)
		for i, p := range e.Patients {
			if i > 0 {
				b = append(b, ',')
			}
			b = fhirjson.AppendMarshaled(b, p)
		}
		b = append(b, ']')
	}
	if e.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, '}')
}
