package hl7ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wachtwijzer/wachtwijzer/mllp"
)

// Metrics are the ingest counters. Senders are labelled by their key in the
// sender configuration ("other" for senders only the default covers), so
// an unknown feed cannot add label values; no label ever holds message
// content.
type Metrics struct {
	messages   *prometheus.CounterVec
	unmapped   *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	conflicts  *prometheus.CounterVec
	superseded *prometheus.CounterVec
	dead       *prometheus.CounterVec
	seconds    prometheus.Histogram
	mllp       *prometheus.CounterVec
}

// NewMetrics registers the counters with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	ns := "wachtwijzer"
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "hl7", Name: "messages_total",
			Help: "HL7 v2 messages processed, by sender, message type and acknowledgment code."}, []string{"sender", "type", "ack"}),
		unmapped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "hl7", Name: "unmapped_codes_total",
			Help: "Local codes without a mapping (accepted with a warning), by sender and field."}, []string{"sender", "field"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "hl7", Name: "duplicates_total",
			Help: "Messages received again with the same control id and content: answered with the stored ACK, nothing written."}, []string{"sender"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "hl7", Name: "control_id_reused_total",
			Help: "Messages whose control id was seen before with other content (processed; a sender reusing control ids)."}, []string{"sender"}),
		superseded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "hl7", Name: "superseded_writes_total",
			Help: "Resource writes skipped because the stored version has a newer source time."}, []string{"sender"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "hl7", Name: "dead_letters_total",
			Help: "Rejected messages stored in the dead-letter store, by sender and acknowledgment code."}, []string{"sender", "ack"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: "hl7", Name: "processing_seconds",
			Help: "Time from a message's arrival to its ACK.", Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14)}),
		mllp: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "mllp", Name: "events_total",
			Help: "MLLP listener events (connections, frames, replies, errors)."}, []string{"event"}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.unmapped, m.duplicates, m.conflicts, m.superseded, m.dead, m.seconds, m.mllp)
	}
	return m
}

// MLLP returns the listener's event sink.
func (m *Metrics) MLLP() mllp.Metrics {
	return mllp.MetricsFunc(func(e mllp.Event, n int) { m.mllp.WithLabelValues(string(e)).Add(float64(n)) })
}
