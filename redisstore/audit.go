package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// AuditEntry is one entry of the audit chain as stored: the stream id, the
// previous entry's hash, the entry's hash and the event (JSON).
type AuditEntry struct {
	ID, Prev, Hash string
	Event          []byte
}

// AuditHead returns the chain head: "<stream id> <hash>" of the last entry,
// "" before the first.
func (s *Store) AuditHead(ctx context.Context) (string, error) {
	h, err := s.rdb.Get(ctx, s.keys.auditHead()).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", ww.Wrap("redisstore.AuditHead", ww.KindUnavailable, err, "the audit log cannot be read")
	}
	return h, nil
}

// AuditAppend is one entry to append: the previous entry's hash, the
// entry's hash and the event (JSON).
type AuditAppend struct {
	Prev, Hash string
	Event      []byte
}

// AppendAudit appends entries whose hashes were computed on head (the value
// AuditHead returned), the first on head's hash and each later one on the
// entry before it: in one script, the stream entries and the new head. When
// another writer moved the head first, nothing is written and the current
// head is returned with stale true; else ids holds each entry's stream id.
func (s *Store) AppendAudit(ctx context.Context, head string, entries []AuditAppend) (ids []string, stale bool, cur string, err error) {
	const op = "redisstore.AppendAudit"
	args := make([]any, 0, 1+3*len(entries))
	args = append(args, head)
	for _, e := range entries {
		args = append(args, e.Prev, e.Hash, e.Event)
	}
	v, err := s.runScript(ctx, "audit", s.scripts.audit, []string{s.keys.auditLog(), s.keys.auditHead()}, args)
	if err != nil {
		return nil, false, "", ww.Wrap(op, ww.KindUnavailable, err, "the audit log cannot be written")
	}
	r, ok := v.([]any)
	if !ok || len(r) == 0 {
		return nil, false, "", ww.Wrap(op, ww.KindInternal, fmt.Errorf("unexpected reply %v", v), "the audit log cannot be written")
	}
	if status, _ := r[0].(string); status == "stale" && len(r) == 2 {
		val, _ := r[1].(string)
		return nil, true, val, nil
	}
	if len(r) != 1+len(entries) {
		return nil, false, "", ww.Wrap(op, ww.KindInternal, fmt.Errorf("unexpected reply %v", v), "the audit log cannot be written")
	}
	ids = make([]string, len(entries))
	for i := range entries {
		ids[i], _ = r[1+i].(string)
	}
	return ids, false, "", nil
}

// AuditRange reads up to count entries between the stream ids start and end
// ("-" and "+" for the ends), oldest first, or newest first when reverse
// (then start is the upper bound).
func (s *Store) AuditRange(ctx context.Context, start, end string, count int64, reverse bool) ([]AuditEntry, error) {
	var msgs []redis.XMessage
	var err error
	if reverse {
		msgs, err = s.rdb.XRevRangeN(ctx, s.keys.auditLog(), start, end, count).Result()
	} else {
		msgs, err = s.rdb.XRangeN(ctx, s.keys.auditLog(), start, end, count).Result()
	}
	if err != nil && err != redis.Nil {
		return nil, ww.Wrap("redisstore.AuditRange", ww.KindUnavailable, err, "the audit log cannot be read")
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		e := AuditEntry{ID: m.ID}
		e.Prev, _ = m.Values["prev"].(string)
		e.Hash, _ = m.Values["hash"].(string)
		ev, _ := m.Values["event"].(string)
		e.Event = []byte(ev)
		out = append(out, e)
	}
	return out, nil
}

// AuditKeys names the audit keys (for the ACL documentation and tests).
func (s *Store) AuditKeys() (log, head string) { return s.keys.auditLog(), s.keys.auditHead() }
