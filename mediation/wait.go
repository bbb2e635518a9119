package mediation

// Evaluation is what a wait amounts to on a day.
type Evaluation struct {
	// Open: an active or on-hold wait with an order date on or before asOf.
	Open   bool
	OnHold bool
	// Kind is the wait kind ("" when the ServiceRequest has none; the
	// outpatient norm applies then).
	Kind       string
	Specialism string
	WaitDays   int
	NormDays   int
	ExcessDays int
	Exceeded   bool
	// AtRisk: not booked, not exceeded, and waitDays + within > normDays.
	AtRisk bool
	// Booked: an appointment holds the wait (its start ends it).
	Booked         bool
	Appointment    string
	AppointmentDay Day
	// CrossedOn is the first day past the norm (order date + norm + 1).
	CrossedOn Day
	// Note explains the NZa treatment subtlety when it applies.
	Note string
}

// NoteTreatment is the note on a wait of kind treatment between 43 and 49
// days: the NZa publishes one treatment figure, the stricter 42 days apply.
const NoteTreatment = "exceeds the norm for day care (42 days) but not for inpatient care (49 days); the kind of treatment is not known"

// Evaluate computes a wait's waiting days, norm and state on asOf. within is
// the at-risk horizon in days.
func Evaluate(r *WaitRecord, asOf Day, n Norms, within int) Evaluation {
	var ev Evaluation
	if !r.Open() || r.SR.Authored > asOf {
		return ev
	}
	sr := r.SR
	ev.Open = true
	ev.OnHold = sr.Status == "on-hold"
	ev.Kind = sr.Kind
	ev.Specialism = sr.Specialism
	ev.NormDays = n.Days(sr.Kind, sr.Specialism)
	end := asOf
	if h, ok := r.Hold(); ok {
		ev.Booked = true
		ev.Appointment = h.ID
		ev.AppointmentDay = h.Day
		end = h.Day
	}
	ev.WaitDays = int(end - sr.Authored)
	ev.ExcessDays = ev.WaitDays - ev.NormDays
	ev.Exceeded = ev.ExcessDays > 0 && !ev.OnHold
	ev.AtRisk = !ev.Booked && !ev.OnHold && !ev.Exceeded && ev.WaitDays+within > ev.NormDays
	ev.CrossedOn = sr.Authored + Day(ev.NormDays) + 1
	if sr.Kind == KindTreatment && ev.WaitDays > 42 && ev.WaitDays <= 49 && ev.NormDays == 42 {
		ev.Note = NoteTreatment
	}
	return ev
}

// ExpectedDate is the date mediation must beat: the booked appointment's
// day; else, while unbooked, asOf + the provider's published wait for the
// kind and location (a published wait counts forward from its peildatum,
// so it is added to asOf, not to the order date); else asOf + the norm.
// The second result names the basis: "booked", "published" or "norm".
func ExpectedDate(ev Evaluation, asOf Day, published int, hasPublished bool) (Day, string) {
	switch {
	case ev.Booked:
		return ev.AppointmentDay, "booked"
	case hasPublished:
		return asOf + Day(published), "published"
	}
	return asOf + Day(ev.NormDays), "norm"
}
