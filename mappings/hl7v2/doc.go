// Package hl7v2 reads HL7 v2 messages (SIU, ADT, REF; v2.3 to v2.9), maps
// them to the FHIR R4 resources of the Wachtwijzer wait model, and builds
// their acknowledgments. It is pure: no I/O, no clock (except ACKOptions),
// no logging. The MLLP listener, deduplication, the store write and the
// dead-letter queue live elsewhere and call, per message:
//
//	m, err := hl7v2.Parse(raw, hl7v2.ParseOptions{Senders: cfg})
//	if err != nil {                     // *ParseError; m is nil when not even MSH was readable
//		code, problems := hl7v2.Outcome(nil, err)
//		reply(hl7v2.BuildACK(m, code, problems, ackOpt)) // m may be nil
//		return
//	}
//	res, err := hl7v2.Map(m, cfg.For(m.SendingApplication, m.SendingFacility), deploymentKey)
//	// package hl7ingest does all of this, with deduplication and the dead-letter store
//	if err == nil {
//		err = store.Write(ctx, res)     // Resources in order, IfAbsent honoured, SourceTime for ordering, Merge
//	}
//	var warnings []hl7v2.Problem
//	if res != nil {
//		warnings = res.Warnings
//	}
//	code, problems := hl7v2.Outcome(warnings, err) // AA, or AE/AR (*MappingError), or AR 207 (store failed)
//	if hl7v2.Mode(m) {
//		code = hl7v2.Enhanced(code)     // enhanced mode: CA/CE/CR commit acknowledgment, the only answer
//	}
//	reply(hl7v2.BuildACK(m, code, problems, ackOpt))
//
// # Parsing
//
// Parse reads the separators from MSH-1 and MSH-2 (four encoding
// characters, or five from v2.7 with the truncation character), accepts CR,
// LF and CRLF segment ends, splits repetitions, components and
// sub-components, and decodes the escapes \F\ \S\ \T\ \R\ \E\ \P\,
// \Xhh…\ (bytes in the message's charset) and \.br\ (a line break); \H\
// and \N\ are dropped and unknown escapes kept verbatim. Z-segments are
// kept like any other segment. The character set is MSH-18 (ASCII, 8859/1,
// 8859/15, UNICODE UTF-8; also CP1252), else the sender's configured
// charset, else ParseOptions.DefaultCharset, else ISO-8859-1; an unknown
// one is an AR (103 at MSH-18). Limits on bytes, segments, fields,
// repetitions and components keep hostile input bounded (a limit exceeded is
// an AE), and Parse never panics (FuzzParse). Accessors: m.Get("PID", 3),
// m.Field("PID-3[2].4"), seg.Field(i).Rep(j).Comp(k).Sub(l), typed views
// (Rep.CX, XPN, XAD, XCN, CWE, EI, PL, XTN, HD, Time) and the header fields
// of Message.
//
// HL7 times (DTM, the first component of TS) parse at every precision
// (YYYY to fractional seconds) into Time. A time with an offset keeps it
// (+0215 stays +02:15: the same instant); one without is read in the
// sender's zone (default Europe/Amsterdam, first occurrence in the autumn
// overlap, moved forward in the spring gap). Date-only values become FHIR
// dates and never go into an instant: an Appointment with a date-only
// time gets requestedPeriod instead of start/end.
//
// # Sender configuration
//
// LoadConfig reads JSON like testdata/senders.json (the comments are for
// this page only; unknown fields are an error):
//
//	{
//	  "default": {"charset": "8859/1", "timeZone": "Europe/Amsterdam", "processingIds": ["P"]},
//	  "senders": {
//	    "HIX|ZKH-NOORD": {
//	      "agb": "06011234",                       // the hospital's AGB (7 digits get their 0 back)
//	      "name": "Ziekenhuis Noord",              // on the Organization, when created
//	      "charset": "8859/1",                     // when MSH-18 is empty
//	      "timeZone": "Europe/Amsterdam",          // for times without an offset
//	      "processingIds": ["P"],                  // accepted MSH-11 values (default P)
//	      "practitionerIdIsAgb": false,            // every 7/8-digit AIP-3/PRD-7 id is an AGB code
//	      "systems": {"patient": "urn:oid:…"},     // override HospitalSystem(agb, kind) per kind
//	      "status": {"ARRIVED": "arrived"},        // local SCH-25 → Appointment.status (wins over the ConceptMap)
//	      "referralStatus": {"X": "on-hold"},      // RF1-1 → ServiceRequest.status
//	      "service": {"ECHO": {"system": "http://snomed.info/sct", "code": "16310003", "display": "…"}},
//	      "specialism": {"ORTH": "0305"},          // local code → AGB specialism (COD016)
//	      "waitKind": {"CONSULT": "outpatient"},   // local code → wait kind
//	      "defaultSpecialism": "0305",
//	      "defaultWaitKind": "outpatient",
//	      "zsegments": {"ZWL-2": "authoredOn", "ZWL-3": "specialism", "ZWL-5": "orderNumber"},
//	      "locations": {"POLI-ORTH": "06011235"}   // location key → the location's own AGB
//	    },
//	    "*|GHHSFacility": {"agb": "06039999"}
//	  }
//	}
//
// A sender is keyed "MSH-3|MSH-4" (HD namespace ID, else universal ID);
// (*Config).For tries "app|facility", "*|facility", "app|*", then the
// default. A sender's entry overrides the default field by field; maps are
// merged. Code maps match case-insensitively. The hospital's AGB comes from
// "agb", else from MSH-4 (namespace or universal ID) when that is an AGB
// code; a sender with neither is rejected (AR 207), since no id can be
// derived without it.
//
// A local code without a mapping is never a rejection: the message is
// accepted with a warning (ERR severity W, code 103), the local coding is
// kept, the resource gets meta.tag
// https://wachtwijzer.nl/fhir/CodeSystem/ingest-flags|unmapped, and
// Result.Unmapped lists "FIELD=code". Which codes count: SCH-25 always (the
// HL7 ConceptMap is built in); AIS-3 when the sender has a "service" map;
// values of Z fields mapped to specialism or waitKind; RF1-1, RF1-3 and
// RF1-5 always. The local coding goes where the mapped code would have gone
// (Appointment.specialty, ServiceRequest.performerType and category, beside
// any default), RF1-1 into the ExtReferralStatus extension (the status is
// then unknown), SCH-25 into ExtFillerStatus; the tag goes on every
// resource built from the code, the Appointment included.
//
// # Resources and ids
//
// Ids are ww.DeriveID(deploymentKey, type, system, value) over business
// identifiers, so HL7, CSV, the NZa import and the REST API meet on one
// resource; the systems depend on the sender's AGB (and "systems"):
//
//	Organization    SystemAGB | the sender's AGB (IfAbsent); insurer: SystemUZOVI | IN1-3
//	Patient         HospitalSystem(agb,"patient") | the PID-3 patient number (never the BSN)
//	Appointment     HospitalSystem(agb,"appointment") | SCH-2 filler id, else SCH-1 placer id
//	ServiceRequest  HospitalSystem(agb,"order") | SCH-26 placer order, else SCH-27 filler order; REF: RF1-6
//	Practitioner    SystemAGB | AGB (XCN-9 VEKTIS/AGB, XCN-13 AGB, or practitionerIdIsAgb), else HospitalSystem(agb,"practitioner") | id
//	Location        SystemAGB | "locations" entry or a point of care that is an AGB code, else HospitalSystem(agb,"location") | PL key (point of care/room/bed)
//	Schedule        HospitalSystem(agb,"schedule") | "Location/key" or "Practitioner/key"
//	Slot            HospitalSystem(agb,"slot") | SCH-2 (else SCH-1) + "|" + schedule key
//	Coverage        SystemUZOVI/{uzovi} | IN1-36 policy number (else IN1-49)
//
// Result.Resources come in write order, referenced before referencing:
//
//	SIU S12–S22, S26  Organization, Patient, Location*, Practitioner* (with Schedule+Slot for an AIL/AIP whose own status is Blocked), ServiceRequest*, Appointment
//	SIU S23/S24, SCH-25 Blocked  Organization, (Location|Practitioner, Schedule, Slot)* — no Appointment, no Patient
//	ADT A01/A04/A08/A28/A31  Organization, Patient, (insurer Organization, Coverage)*
//	ADT A40           Organization, surviving Patient, retired Patient (active false, link replaced-by); Result.Merge
//	REF I12–I14       Organization, Patient, Practitioner (referrer), ServiceRequest
//
// Every resource carries meta.source urn:hl7v2:{MSH-3}|{MSH-4}#{MSH-10}.
// Resource.IfAbsent marks what the message only refers to (see there): ADT
// is the authority for the Patient, REF for the ServiceRequest; an SIU
// creates a ServiceRequest only when none exists yet.
//
// # SIU → Appointment
//
// Status (SCH-25, case-insensitive): the sender's "status" map; then a FHIR
// code the sender states as the alternate coding (Arrived^Arrived^L^arrived^^FHIR);
// then the v2-to-FHIR ConceptMap table-hl70278-to-appointmentstatus (Pending,
// Waitlist, Booked, Started→checked-in, Complete→fulfilled, Cancelled,
// Deleted→entered-in-error, Noshow); then our decisions for its gaps:
// Discontinued/DC/Dc → cancelled (HL7 discontinues a started appointment:
// for a wait that is an appointment that did not happen), Overbook →
// booked (an overbooked appointment is still booked for the patient),
// Blocked → no Appointment but a Slot busy-unavailable for each AIL/AIP
// resource with a time (warning when there is none). The original code is
// kept in the extension ExtFillerStatus whenever the match is not
// one-to-one. An empty SCH-25 takes the event: S12, S13, S14, S18–S22
// booked; S15, S16 cancelled; S17 entered-in-error; S26 noshow. An unknown
// code takes the event's status with a warning. S23 writes Slots
// busy-unavailable, S24 the same Slots free.
//
// Times: TQ1-7/8; else SCH-11 (TQ.4 start, TQ.5 end, TQ.3 duration); else
// the first AIS-4 (AIS-7/8), AIL-6 (AIL-9/10) or AIP-6 (AIP-9/10); a missing
// end is start + duration (from there, else the first AIS-7/8, else
// SCH-9/10; no unit means minutes). start and end are
// instants with the offset; minutesDuration is end − start. A date-only
// time goes to requestedPeriod (start and end the same day when no end is
// given) with a warning when the status needs start/end (FHIR app-3). The
// rest: SCH-1/2 identifiers (types PLAC/FILL), SCH-6 → cancelationReason on
// S15/S16, SCH-7 (and SCH-8) in table 0276 → appointmentType, other SCH-7 →
// reasonCode, AIS-3 → serviceType (plus the configured coding), the
// specialism → specialty, NTE after SCH → comment (NTE-2 when NTE-3 is
// empty), PID → participant Patient, AIL-3 → Location, AIP-3 (role AIP-4) →
// Practitioner, participant.status from AIx-12 and action code AIx-2 (D →
// declined).
//
// The wait: each SCH-26/SCH-27 repetition (else a Z field mapped to
// orderNumber, else SCH-1 for a Waitlist appointment) is a ServiceRequest:
// status active, intent order, subject Patient, performer the sender's
// Organization, performerType the specialism (a Z field; PV1-10 when it is
// an AGB specialism code; the sender's map on AIS-3 or the AIL-3 point of
// care; a COD016-coded AIS-3; the default), category the wait kind (a Z
// field, SCH-7, AIS-3 — through the sender's map, or a wait-kind code as
// it is — else the default), authoredOn from a Z field mapped to
// authoredOn, else the date of the message's source time; the Appointment
// points at it with basedOn. The ServiceRequest is IfAbsent: the SIU
// creates the wait when nothing else did, and never changes a stored one.
//
// # ADT → Patient
//
// PID-3: the repetition with authority NLMINBIZA (or type NNNLD) is the BSN
// (elfproef; an invalid one is AE 102 at PID-3, the number never in the
// text); the first other repetition (types MR, PI, PN, PT first) is the
// hospital patient number and names the Patient. PID-3 empty, or a BSN
// alone, is AE 101. PID-5 → name, PID-7 → birthDate (at its precision),
// PID-8 → gender (M/F/O/U; A other, N unknown), PID-11 → address, PID-13/14
// → telecom, PID-29/30 → deceased. A08 and A31 replace the Patient as sent.
// IN1 with IN1-3 marked UZOVI → Coverage, IfAbsent: the insurer's own
// Coverage wins (no policy number: warning, no Coverage). A40: one PID/MRG
// pair per message; the retired Patient becomes a stub without BSN.
//
// # REF → ServiceRequest
//
// RF1-6 (originating referral id) identifies the wait. Status from RF1-1
// (sender map, then a FHIR alternate code A^Accepted^HL70283^active^^FHIR,
// then table 0283: A accepted → active, P pending → draft (not yet a wait),
// R rejected → revoked, E expired → revoked); I14 (cancel) is always
// revoked; empty → active; an unknown code → unknown, with the code in
// ExtReferralStatus and a warning. authoredOn from RF1-7, else RF1-9, else the
// source time's date; priority from RF1-2; the specialism from RF1-3
// (sender map, or an AGB specialism code such as 0305^…^COD016) or PV1-10,
// the wait kind from RF1-5 (sender map, a wait-kind code, else O and A
// outpatient, I treatment-inpatient); RF1-10 → reasonCode (a code in
// WW-COMPLEXITY goes to category instead); NTE → note; the requester from
// the PRD with role RP. The answer is an RRI built by BuildACK.
//
// # Acknowledgments
//
// Unsupported message type → AR 200; unsupported event → AR 201;
// processing id not accepted → AR 202; version outside 2.3–2.9 → AR 203;
// unknown sender without AGB → AR 207. Data errors are AE: a required
// segment missing (100), a required field missing (101: SCH-1 and SCH-2
// both empty, PID-3 empty, RF1-6 empty, MSH-7 empty), a value that does not
// parse (102: a date, a BSN). Problems carry their location for the ERR
// segments; their texts never hold a BSN. BuildACK writes ERR in the
// inbound version's layout (ERR-1 up to v2.4; ERR-2/3/4/8 from v2.5), at
// most ACKOptions.MaxErrors of them; for REF in original mode it answers
// RRI^{event}^RRI_I12 echoing RF1 and PRD but never PID — a deliberate
// deviation (RRI_I12 requires PID): acknowledgments end up in engine logs,
// and no BSN may travel there. A commit acknowledgment (CA/CE/CR, enhanced
// mode) is a plain ACK for every message type, REF included. There are no
// deferred application acknowledgments: in enhanced mode the commit ACK,
// sent after the durable write, is the only answer, whatever MSH-16 asks. The table of what each shared sample
// file gets, and why, is in samples_test.go.
package hl7v2
