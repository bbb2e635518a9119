package wachtwijzer

import (
	"context"
	"fmt"
	"time"
)

// SyncState is the small shared state of the ingest adapters (pull sources,
// bulk imports), kept beside the data so that every gateway on one Redis
// sees the same: per source and resource type a durable cursor and the set
// of resource ids held from it, leases (the pull scheduler's leader lock),
// and small JSON status documents (a source's last success and error, an
// asynchronous import's progress). The Redis store implements it; adapters
// never touch Redis themselves.
type SyncState interface {
	// Cursor returns the durable cursor of (source, typ): the highest
	// source lastUpdated already written; zero when none.
	Cursor(ctx context.Context, source, typ string) (time.Time, error)
	// Advance records, atomically, that the ids are held from (source,
	// typ) and, when cursor is not zero and later than the stored one, moves
	// the cursor to it. Call it only after the writes of those ids are
	// durable.
	Advance(ctx context.Context, source, typ string, cursor time.Time, held []string) error
	// ResetCursor sets the cursor of (source, typ) back to t (zero: none).
	ResetCursor(ctx context.Context, source, typ string, t time.Time) error
	// Held lists the ids held from (source, typ).
	Held(ctx context.Context, source, typ string) ([]string, error)
	// HeldCount is the number of ids held from (source, typ).
	HeldCount(ctx context.Context, source, typ string) (int64, error)
	// Forget removes ids from the held set of (source, typ) (after they
	// were tombstoned).
	Forget(ctx context.Context, source, typ string, ids []string) error
	// Lease acquires the named lease for holder, or renews it when holder
	// already has it; it reports whether holder holds the lease for ttl
	// from now.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up when holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// LeaseHolder returns the current holder of a lease ("" when free).
	LeaseHolder(ctx context.Context, name string) (string, error)
	// PutState stores a status document under (kind, name); ttl 0 keeps it.
	PutState(ctx context.Context, kind, name string, doc []byte, ttl time.Duration) error
	// GetState returns a status document, nil when absent.
	GetState(ctx context.Context, kind, name string) ([]byte, error)
}

// BatchReader is implemented by stores that read many resources of one type
// in one round trip; absent ids give nil entries.
type BatchReader interface {
	ReadMany(ctx context.Context, typ string, ids []string) ([]*Resource, error)
}

// ValidStateName reports whether s can name a pull source, a lease or a
// state document: 1-64 letters, digits and -_. (it becomes part of Redis
// key names: no braces, colons or spaces).
func ValidStateName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("name %q must be 1-64 characters", s)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("name %q may hold only letters, digits and -_.", s)
		}
	}
	return nil
}
