package hl7v2

import (
	"errors"
	"fmt"
	"strings"
)

// Severities of a Problem (HL7 table 0516).
const (
	SeverityError   = "E"
	SeverityWarning = "W"
	SeverityInfo    = "I"
)

// Error codes of HL7 table 0357 (message error condition codes).
const (
	CodeSegmentSequence    = "100" // segment sequence error (or a required segment missing)
	CodeRequiredField      = "101" // required field missing
	CodeDataType           = "102" // data type error
	CodeTableValueNotFound = "103" // table value not found
	CodeUnsupportedType    = "200" // unsupported message type
	CodeUnsupportedEvent   = "201" // unsupported event code
	CodeUnsupportedProcID  = "202" // unsupported processing id
	CodeUnsupportedVersion = "203" // unsupported version id
	CodeUnknownKey         = "204" // unknown key identifier
	CodeDuplicateKey       = "205" // duplicate key identifier
	CodeRecordLocked       = "206" // application record locked
	CodeInternal           = "207" // application internal error
)

// codeText is the HL7 table 0357 text of each code (ERR-3.2).
var codeText = map[string]string{
	"0":   "Message accepted",
	"100": "Segment sequence error",
	"101": "Required field missing",
	"102": "Data type error",
	"103": "Table value not found",
	"200": "Unsupported message type",
	"201": "Unsupported event code",
	"202": "Unsupported processing id",
	"203": "Unsupported version id",
	"204": "Unknown key identifier",
	"205": "Duplicate key identifier",
	"206": "Application record locked",
	"207": "Application internal error",
}

// Problem is one error or warning about a message, with its location: it
// becomes one ERR segment of the acknowledgment. Texts never contain a
// BSN or other identifying values.
type Problem struct {
	Severity string // E or W (I for information)
	Code     string // HL7 table 0357
	Segment  string // segment ID, e.g. "PID"
	// Seq is the segment's occurrence in the message (1-based), Field the
	// field position, Rep the repetition, Comp the component; 0 = not given.
	Seq, Field, Rep, Comp int
	Text                  string
}

// Location returns the problem's location as "PID[1]-3.1" ("" when none).
func (p Problem) Location() string {
	if p.Segment == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(p.Segment)
	if p.Seq > 0 {
		fmt.Fprintf(&b, "[%d]", p.Seq)
	}
	if p.Field > 0 {
		fmt.Fprintf(&b, "-%d", p.Field)
		if p.Rep > 1 {
			fmt.Fprintf(&b, "(%d)", p.Rep)
		}
		if p.Comp > 0 {
			fmt.Fprintf(&b, ".%d", p.Comp)
		}
	}
	return b.String()
}

func (p Problem) String() string {
	s := p.Severity + " " + p.Code
	if loc := p.Location(); loc != "" {
		s += " at " + loc
	}
	return s + ": " + p.Text
}

// MappingError is returned by Map for messages that must be answered with
// AE (a data error: the sender should fix the message, resending it
// unchanged will not help) or AR (Reject: an unsupported message type,
// event, version or processing id, or a sender the configuration does not
// know: resending after a configuration change may help).
type MappingError struct {
	Problems []Problem
	Reject   bool
}

func (e *MappingError) Error() string {
	var b strings.Builder
	b.WriteString("hl7v2: message ")
	if e.Reject {
		b.WriteString("rejected")
	} else {
		b.WriteString("not mapped")
	}
	for _, p := range e.Problems {
		b.WriteString(": ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Outcome gives the original-mode acknowledgment code and the ERR problems
// for the outcome of Parse, Map and the store write: AA when err is nil
// (with warnings, if any), AE or AR for a *ParseError or *MappingError as
// they say, and AR with code 207 for any other error (e.g. the store was
// unreachable: the sender should resend). In enhanced mode (see Mode) use
// Enhanced to turn the code into CA/CE/CR.
func Outcome(warnings []Problem, err error) (code string, problems []Problem) {
	if err == nil {
		return "AA", warnings
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return rejectCode(pe.Reject), append(pe.Problems, warnings...)
	}
	var me *MappingError
	if errors.As(err, &me) {
		return rejectCode(me.Reject), append(me.Problems, warnings...)
	}
	return "AR", append([]Problem{{Severity: SeverityError, Code: CodeInternal, Text: "the message could not be stored; please resend"}}, warnings...)
}

func rejectCode(reject bool) string {
	if reject {
		return "AR"
	}
	return "AE"
}

// Enhanced maps an original-mode code to its enhanced-mode (commit)
// counterpart: AA→CA, AE→CE, AR→CR; other codes are returned unchanged.
func Enhanced(code string) string {
	switch code {
	case "AA":
		return "CA"
	case "AE":
		return "CE"
	case "AR":
		return "CR"
	}
	return code
}
