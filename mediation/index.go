package mediation

import (
	"context"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Index is what the insurer operations read from the store beyond
// wachtwijzer.Store: the wait projections and their orders, and the
// free-slot capacity index. redisstore implements it.
type Index interface {
	// Waits returns the wait records of ServiceRequest ids (nil where
	// there is none).
	Waits(ctx context.Context, ids []string) ([]*WaitRecord, error)
	// ScanWaits merges wait streams in $long-waits order (excess days
	// desc, waiting days desc, id), filtering candidates.
	ScanWaits(ctx context.Context, q *WaitScan) (*WaitPage, error)
	// CountWaits counts the waits of each stream within its bounds.
	CountWaits(ctx context.Context, streams []WaitStream) ([]int64, error)
	// WaitPartitions lists the regional partitions ("*", or an insurer
	// key with a coverage period) that hold or held waits.
	WaitPartitions(ctx context.Context) ([]string, error)
	// WaitCells lists the cells "region|specialism|kind" of a partition
	// that hold or held waits.
	WaitCells(ctx context.Context, partition string) ([]string, error)
	// FirstDays returns each stream's lowest day value within its bounds.
	FirstDays(ctx context.Context, streams []WaitStream) ([]int64, []bool, error)
	// FreeSlotKeys lists the "schedule|specialism" pairs that hold or held
	// free Slots.
	FreeSlotKeys(ctx context.Context) ([]string, error)
	// FreeSlotKeyCount is the number of FreeSlotKeys (the registry only
	// grows, so an unchanged count means unchanged keys).
	FreeSlotKeyCount(ctx context.Context) (int64, error)
	// FreeSlots returns, per range, the free Slots in it by (start, id).
	FreeSlots(ctx context.Context, ranges []SlotRange) ([][]SlotHit, error)
	// ScanFreeSlots reads free Slots of own specialism specs ("-": none,
	// "*": all) by (start, id) from [From, To) after the cursor, keeping
	// those accept takes, up to limit, examining at most budget; done is
	// false when the budget ran out first.
	ScanFreeSlots(ctx context.Context, q *FreeScan) (hits []SlotHit, done bool, err error)
	// CountFreeSlots counts the free Slots of each range.
	CountFreeSlots(ctx context.Context, ranges []SlotRange) ([]int64, error)
	// Refresh picks up a moved index generation (a reindex elsewhere);
	// every operation calls it first.
	Refresh(ctx context.Context) error
	// Versions changes whenever a resource of one of types is written.
	Versions(ctx context.Context, types []string) (int64, error)
	// ReadMany reads current resources by id (nil where missing or
	// deleted), applying the store's Policy.
	ReadLive(ctx context.Context, typ string, ids []string) ([]*ww.Resource, error)
}

// Wait stream families and classes.
const (
	FamilyLongWaits = "~wl" // by insurer key, specialism (or *), kind, class
	FamilyRegional  = "~wr" // by partition, region, specialism, kind, class

	ClassUnbooked       = "u"  // score: authoredOn day
	ClassBooked         = "b"  // score: −waitDays
	ClassOnHoldUnbooked = "hu" //
	ClassOnHoldBooked   = "hb" //
)

// WaitStream is one ordered index of waits with day bounds. Within a
// stream entries ascend by their day value p (the authoredOn day of
// unbooked waits, −waitDays of booked ones); excess days = C − p and
// waiting days = excess + Norm, so ascending p is the $long-waits order.
type WaitStream struct {
	Family string
	// Parts of the key after the family: insurer key, specialism, kind,
	// class for FamilyLongWaits; partition, region, specialism, kind (or
	// * for every kind), class for FamilyRegional.
	Parts []string
	// Lo and Hi bound p, inclusive.
	Lo, Hi int64
	C      int64
	Norm   int64
}

// WaitCursor is a position in a merged wait order.
type WaitCursor struct {
	Excess int    `json:"e"`
	Wait   int    `json:"w"`
	ID     string `json:"i"`
}

// WaitScan is a merged read over streams.
type WaitScan struct {
	Streams []WaitStream
	After   *WaitCursor
	// Limit is the number of accepted waits wanted.
	Limit int
	// Budget bounds the candidates examined (0: 50,000); past it the page
	// ends early with Truncated set.
	Budget int
	// Filter accepts a candidate (nil: all) met in stream st; rec is nil
	// when the record vanished since it was indexed. A wait met in several
	// streams is listed once, where it is first accepted.
	Filter func(id string, rec *WaitRecord, st *WaitStream) bool
}

// WaitHit is one accepted wait.
type WaitHit struct {
	ID     string
	Excess int
	Wait   int
	Rec    *WaitRecord
}

// WaitPage is the result of a scan: the accepted waits in order, and
// whether more may follow (then Next continues after the last one).
type WaitPage struct {
	Hits      []WaitHit
	Next      *WaitCursor
	Truncated bool
	Examined  int
}

// SlotRange selects free Slots of a schedule and own specialism ("-": none)
// with start in [From, To) (Unix ms), after a cursor, up to Limit (0: count
// only).
type SlotRange struct {
	Schedule, Specialism string
	From, To             int64
	AfterStart           int64
	AfterID              string
	Limit                int
}

// SlotHit is one free Slot.
type SlotHit struct {
	ID       string
	Start    int64
	Schedule string // set by ScanFreeSlots
	// Spec is the slot's own specialism ("-": none), set by ScanFreeSlots.
	Spec string
}

// FreeScan is a read of the free Slots of some specialisms in start order.
type FreeScan struct {
	Specs      []string
	From, To   int64
	AfterStart int64
	AfterID    string
	Limit      int
	Budget     int
	Accept     func(h *SlotHit) bool
}
