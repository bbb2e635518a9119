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

// AppendAudit appends an entry whose hash was computed on head (the value
// AuditHead returned): in one script, the stream entry and the new head. When
// another writer moved the head first, nothing is written and the current
// head is returned with stale true.
func (s *Store) AppendAudit(ctx context.Context, head, prev, hash string, event []byte) (id string, stale bool, cur string, err error) {
	const op = "redisstore.AppendAudit"
	v, err := s.runScript(ctx, "audit", s.scripts.audit, []string{s.keys.auditLog(), s.keys.auditHead()}, []any{head, prev, hash, event})
	if err != nil {
		return "", false, "", ww.Wrap(op, ww.KindUnavailable, err, "the audit log cannot be written")
	}
	r, ok := v.([]any)
	if !ok || len(r) != 2 {
		return "", false, "", ww.Wrap(op, ww.KindInternal, fmt.Errorf("unexpected reply %v", v), "the audit log cannot be written")
	}
	status, _ := r[0].(string)
	val, _ := r[1].(string)
	if status == "stale" {
		return "", true, val, nil
	}
	return val, false, "", nil
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
