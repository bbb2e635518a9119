package wachtwijzer

import (
	"context"
	"strings"
	"time"
)

// ExtLastSourceSync is the core extension (in meta.extension, valueDateTime)
// recording when an aggregator last synchronised a resource from its source.
const ExtLastSourceSync = "http://hl7.org/fhir/StructureDefinition/lastSourceSync"

// SystemFreshness codes the staleness tag the gateway adds to served
// resources (meta.tag, output only) whose source is behind.
const SystemFreshness = CanonicalBase + "/CodeSystem/data-freshness"

// Staleness says whether data from an ingest source may be out of date.
type Staleness struct {
	Stale bool
	// Source is the source's id.
	Source string
	// LastSuccess is the end of the source's last successful sync (zero:
	// never).
	LastSuccess time.Time
	// Reason says why it is stale, for people ("no successful sync for
	// 2h", "circuit open after 5 failures"); empty when fresh.
	Reason string
}

// Freshness tells whether stored data may be stale because the source it
// came from is behind. Operations that report on pulled data ($long-waits,
// $availability) ask it per resource, or per source; the answer is computed
// from the sources' status when asked, never written into resources.
type Freshness interface {
	// Of returns the staleness of a stored version's source; ok is false
	// when the version did not come from a pulled source.
	Of(ctx context.Context, r *Resource) (s Staleness, ok bool)
	// Source returns the staleness of one source by id; ok is false for an
	// unknown source.
	Source(ctx context.Context, id string) (s Staleness, ok bool)
	// Any reports the sources that are stale now (none: nil).
	Any(ctx context.Context) []Staleness
}

// PullSource returns the source id recorded in the provenance of a version
// written by the pull adapter ("" for other channels). The pull adapter
// writes Provenance.Source as "<source id>:<source reference>".
func PullSource(p Provenance) string {
	if p.Channel != ChannelPull {
		return ""
	}
	id, _, _ := strings.Cut(p.Source, ":")
	return id
}

type freshnessKey struct{}

// WithFreshness returns a context carrying f (the gateway puts the pull
// adapter's in every operation's context).
func WithFreshness(ctx context.Context, f Freshness) context.Context {
	if f == nil {
		return ctx
	}
	return context.WithValue(ctx, freshnessKey{}, f)
}

// FreshnessFrom returns the context's Freshness; without one (no pull
// sources configured) NoFreshness, which knows no source.
func FreshnessFrom(ctx context.Context) Freshness {
	if f, ok := ctx.Value(freshnessKey{}).(Freshness); ok {
		return f
	}
	return NoFreshness{}
}

// NoFreshness is the Freshness of a gateway without pull sources: no
// version came from a pulled source, so nothing is known to be stale.
type NoFreshness struct{}

// Of reports ok=false.
func (NoFreshness) Of(context.Context, *Resource) (Staleness, bool) { return Staleness{}, false }

// Source reports ok=false.
func (NoFreshness) Source(context.Context, string) (Staleness, bool) { return Staleness{}, false }

// Any reports nothing stale.
func (NoFreshness) Any(context.Context) []Staleness { return nil }
