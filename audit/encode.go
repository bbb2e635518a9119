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
	b = append(b, `","client":`...)
	b = appendJSONString(b, e.Client)
	b = append(b, `,"role":`...)
	b = appendJSONString(b, e.Role)
	if e.Organization != "" {
		b = append(b, `,"organization":`...)
		b = appendJSONString(b, e.Organization)
	}
	b = append(b, `,"action":`...)
	b = appendJSONString(b, e.Action)
	b = append(b, `,"interaction":`...)
	b = appendJSONString(b, e.Interaction)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, e.Route)
	if e.Target != "" {
		b = append(b, `,"target":`...)
		b = appendJSONString(b, e.Target)
	}
	if e.Operation != "" {
		b = append(b, `,"operation":`...)
		b = appendJSONString(b, e.Operation)
	}
	b = append(b, `,"outcome":`...)
	b = strconv.AppendInt(b, int64(e.Outcome), 10)
	if e.Source != "" {
		b = append(b, `,"source":`...)
		b = appendJSONString(b, e.Source)
	}
	b = append(b, `,"purposeOfUse":`...)
	b = appendJSONString(b, e.PurposeOfUse)
	b = append(b, `,"legalGround":`...)
	b = appendJSONString(b, e.LegalGround)
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
