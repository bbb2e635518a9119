package hl7ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
)

// Receipt kinds in the store.
const (
	kindAccepted = "hl7"    // the deduplication and trace record of an accepted message
	kindRejected = "hl7rej" // the trace record of a rejected one (never used for deduplication)
	kindDead     = "hl7"    // dead letters
	kindLease    = "hl7"    // the lease of the delivery working on a message
)

// receipt is what the store keeps about an accepted message, written in the
// same atomic commit as its resources: the deduplication key's value and
// the trace.
type receipt struct {
	SHA256    string    `json:"sha256"`
	Received  time.Time `json:"received"`
	Sender    string    `json:"sender"`
	ControlID string    `json:"controlId"`
	Type      string    `json:"type"`
	Code      string    `json:"ack"`
	// ACK is the acknowledgment sent (bytes in the message's charset).
	ACK       []byte   `json:"ackMessage"`
	Source    string   `json:"source"`
	Resources []string `json:"resources"`
	Warnings  []string `json:"warnings,omitempty"`
	Unmapped  []string `json:"unmapped,omitempty"`
	Forced    bool     `json:"forced,omitempty"`
}

// rejection is the trace record of a rejected message.
type rejection struct {
	SHA256     string    `json:"sha256"`
	Received   time.Time `json:"received"`
	Sender     string    `json:"sender"`
	ControlID  string    `json:"controlId"`
	Code       string    `json:"ack"`
	Reason     []string  `json:"reason"`
	DeadLetter string    `json:"deadLetter,omitempty"`
}

// DeadLetter is a rejected message as the dead-letter store keeps it: the
// message itself (for replay), when and from whom it came, the ACK it got
// and why, as OperationOutcome-shaped issues.
type DeadLetter struct {
	ID        string    `json:"id"`
	Received  time.Time `json:"received"`
	Sender    string    `json:"sender"`
	ControlID string    `json:"controlId"`
	Type      string    `json:"type"`
	SHA256    string    `json:"sha256"`
	Code      string    `json:"ack"`
	Issues    []Issue   `json:"issues"`
	Attempts  int       `json:"attempts"`
	// Status is "rejected", or "superseded" after a replay whose writes an
	// ordering check skipped (replay --force writes them).
	Status  string `json:"status"`
	Message []byte `json:"message"`
}

// Issue is one reason, shaped like OperationOutcome.issue: severity,
// the HL7 table 0357 code, the location (PID[1]-3) and the text.
type Issue struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Location string `json:"location,omitempty"`
	Text     string `json:"diagnostics"`
}

func issuesOf(ps []hl7v2.Problem) []Issue {
	out := make([]Issue, 0, len(ps))
	for _, p := range ps {
		sev := map[string]string{hl7v2.SeverityError: "error", hl7v2.SeverityWarning: "warning", hl7v2.SeverityInfo: "information"}[p.Severity]
		if sev == "" {
			sev = "error"
		}
		out = append(out, Issue{Severity: sev, Code: p.Code, Location: p.Location(), Text: p.Text})
	}
	return out
}

func problemStrings(ps []hl7v2.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func hashOf(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// dedupKey is the receipt key of a message: control id first, so that a
// trace by control id alone is a prefix scan.
func dedupKey(controlID, app, fac string) string { return controlID + "|" + app + "|" + fac }

// deadLetterID is the same for the same message from the same sender, so a
// resent rejected message replaces its dead letter instead of adding one.
func deadLetterID(key, sum string) string {
	s := sha256.Sum256([]byte(key + "\x00" + sum))
	return hex.EncodeToString(s[:10])
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return b
}
