package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// exportHead is the first line of an export: the chain head at export time.
type exportHead struct {
	Head string `json:"head"`
}

// Export writes the chain as NDJSON: first {"head": "<id> <hash>"} (read
// before the entries, so entries appended meanwhile follow it and the
// verifier checks up to that head), then one entry per line, oldest first
// (a group commit's entry holds its events as a JSON array). It returns the
// number of events written.
func (l *Log) Export(ctx context.Context, w io.Writer) (int, error) {
	head, err := l.b.AuditHead(ctx)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // the event bytes must stay exactly as hashed
	if err := enc.Encode(exportHead{Head: head}); err != nil {
		return 0, err
	}
	headID := ""
	if head != "" {
		headID = head[:len(head)-len(hashOf(head))-1]
	}
	n := 0
	err = l.Each(ctx, func(e Entry) error {
		if headID == "" || compareIDs(e.ID, headID) > 0 {
			return errStop
		}
		evs, err := e.Events()
		if err != nil {
			return fmt.Errorf("audit entry %s: unreadable events: %w", e.ID, err)
		}
		n += len(evs)
		return enc.Encode(e)
	})
	if err != nil && err != errStop {
		return n, err
	}
	return n, bw.Flush()
}

var errStop = fmt.Errorf("stop")

// compareIDs orders stream ids "ms-seq".
func compareIDs(a, b string) int {
	var am, as, bm, bs uint64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	switch {
	case am != bm:
		if am < bm {
			return -1
		}
		return 1
	case as != bs:
		if as < bs {
			return -1
		}
		return 1
	}
	return 0
}

// VerifyExport checks an NDJSON export: every entry's link and hash, and the
// last entry against the head on its first line.
func VerifyExport(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var v Verifier
	head, line := "", 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		if line == 1 {
			var h exportHead
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
				return 0, fmt.Errorf("line 1: not an audit export head: %w", err)
			}
			head = h.Head
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return v.events, fmt.Errorf("line %d: not an audit entry: %w", line, err)
		}
		if err := v.Add(e); err != nil {
			return v.events, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return v.events, err
	}
	if line == 0 {
		return 0, fmt.Errorf("empty export: no head line")
	}
	if head == "" && v.n > 0 {
		return v.events, fmt.Errorf("the export's head is empty but it holds %d entries", v.n)
	}
	if head == "" {
		return 0, nil
	}
	return v.Finish(head)
}
