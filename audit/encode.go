package audit

import (
	"encoding/json"
	"strconv"
	"time"
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
		b = appendJSONString(b, v)
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
			b = appendJSONString(b, p)
		}
		b = append(b, ']')
	}
	if e.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string the way encoding/json does:
// plain printable ASCII as it is, anything else (quotes, backslashes,
// HTML-sensitive and control characters, non-ASCII) through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
