// Package gen generates a deterministic synthetic Dutch hospital world in
// the Wachtwijzer wait model (DOMAIN.md; the same resource shapes, code
// systems and extensions as package demo) at any scale: care providers
// with published waiting times, capacity (Schedules and Slots), insurers
// and their contracts, people with BSNs and coverages, waits
// (ServiceRequests) and appointments. It feeds the benchmarks and loads
// every ingest path from one world: FHIR NDJSON, FHIR transaction Bundles,
// an HL7 v2 stream, the NZa waiting-time CSV and hospital waiting-list CSVs
// all describe the same resources, and every id comes from
// wachtwijzer.DeriveID over a business identifier, so whatever path loads a
// fact meets the resource another path made.
//
// # API
//
//	type Config struct {
//	    Seed          int64
//	    Appointments  int       // the scale knob: 100_000 (--quick) … 1_000_000 (default); 1 to 12,000,000
//	    AsOf          time.Time // the world's today (its Europe/Amsterdam date); zero = now
//	    DeploymentKey []byte    // DeriveID's key: pass the store's key so ids match
//	    // optional overrides (zero keeps the default, a negative share means none):
//	    AcademicCentres, Hospitals, SpecialisedHospitals, ZBCs int        // 8, 80 (all hospitals), 4, 120
//	    PatientsPerAppointment, SharedPatientShare, FreeSlotsPerAppointment float64 // 0.6, 0.08, 0.12
//	    OnHoldShare, HighComplexityShare, SwitcherShare float64          // 0.08, 0.25, 0.03
//	    ExceedShare map[string]float64                                 // per wait kind; DefaultExceedShare
//	}
//	func Generate(cfg Config, sink Sink) error            // streams every resource in dependency order
//	type Sink interface{ Resource(typ, id string, json []byte) error } // json is reused after the call
//	type SinkFunc func(typ, id string, json []byte) error
//	func WriteNDJSON(dir string, cfg Config) (map[string]int, error)
//	func WriteBundles(dir string, cfg Config, perBundle int) (int, error)
//	func WriteHL7(w io.Writer, cfg Config) (int, error)
//	func WriteNZaCSV(w io.Writer, cfg Config) (int, error)
//	func WriteHospitalCSV(w io.Writer, cfg Config, agb string) (int, error)
//	func Providers(cfg Config) ([]Provider, error)         // AGB, id, name, type, city of each care provider
//	func HL7SenderConfig(cfg Config) ([]byte, error)      // mappings/hl7v2 sender configuration for WriteHL7's stream
//	func New(cfg Config) (*World, error)                  // the same, as methods, building the tables once;
//	                                                      // (*World).Counts() gives the resources per type
//	var ResourceTypes, KindCodes, StatusCodes, NZaHeader, HospitalHeader, DefaultExceedShare
//
// The same Config gives byte-identical output in every format (any time of
// day of AsOf on the same Amsterdam date too); another Seed gives another
// world; another DeploymentKey changes only the ids.
//
// # Streaming
//
// Only small tables are kept: providers, locations, services,
// practitioners, schedules, insurers, and one status byte per Slot (about
// 33 MB resident at 1M appointments). People, waits and appointments are
// recomputed from their index with counter-based randomness (splitmix64
// seeded by seed, stream and index), so each writer streams them in order.
// Slots are booked by the appointments in a fixed pass order: building the
// world replays that pass once, so the Slot statuses written before the
// Appointments agree with them, and every pass (ServiceRequests,
// Appointments, HL7, hospital CSV) books the same slots.
//
// # Proportions
//
// Resources per type (seed 1):
//
//	type                100k appts   1M appts   rule
//	Organization               210        210   80 hospitals + 120 ZBCs + 10 insurers
//	Location                   294        294   1–3 per provider
//	HealthcareService        2,210      2,210   location × specialism
//	Practitioner             2,262      4,233   one per Schedule
//	PractitionerRole         2,262      4,233   one per Practitioner
//	Schedule                 2,262      4,233   ≥1 per service, more as capacity grows
//	Slot                    32,367    380,080   12,000 / 119,968 free
//	Patient                 60,000    600,000   0.6 × appointments
//	Coverage                57,213    572,172   one per person (+3 % switchers' ended one)
//	InsurancePlan               10         10   one per insurer
//	ServiceRequest          80,000    800,000   0.8 × appointments (blocks of 4 waits, 5 appointments)
//	Appointment            100,000  1,000,000
//
// Writing the 100k world as NDJSON (262 MB) takes 2.3–5.4 s on the 2-core
// development machine, the 1M world (2.7 GB) about 31 s.
//
// Providers: 8 academic centres (Organization.type COD016 0602) in
// Groningen, Amsterdam (two), Leiden, Rotterdam, Utrecht, Nijmegen and
// Maastricht; 2 eye hospitals (0613) and 2 orthopaedic clinics (0614); 68
// general hospitals (0601), one in the largest city of each of the 12
// provinces and the rest by population; 120 ZBCs (2200) by population.
// Fictional names; AGB codes 06xxxxxx (hospitals and their locations) and
// 22xxxxxx (ZBCs), never 0699…/2299… (the demo's) nor known real ones; URA
// and KvK 8 digits; all unique. Locations: hospitals 1–3 (second ones in
// the same province), ZBCs 1–3 (chains anywhere), at one of 66 built-in city
// centres with province, postcode range (PC4) and coordinates.
//
// Services (HealthcareService, id from ServiceValue(location AGB,
// specialism, "")): academic centres nearly all 26 specialisms of
// nlid.Specialisms at the main location, general hospitals the core ones
// plus optional ones by probability (klinische genetica only at UMCs),
// outpatient subsets at second locations; ZBCs 1–4 specialisms, mostly
// orthopedie, oogheelkunde, dermatologie, plastische chirurgie, KNO. Each
// carries the published-waiting-time extension for outpatient, diagnostics
// and treatment (the median of its waits, ±30 %, on the latest NZa
// peildatum); ZBCs publish about half a hospital's wait; 3 % of services
// publish no diagnostics wait and 8–20 % no treatment wait (too few
// observations).
//
// Insurers: 10 fictional ones with random 4-digit UZOVI codes (not the
// demo's 7119/3332/3311) and market shares 30/25/20/10/5/3/3/2/1/1 %; each
// one active InsurancePlan whose network contracts 60–88 % of the providers
// (always the academic centres).
//
// People: a person lives near one of the 66 cities (by population), has a
// BSN (a bijection of the person's index onto 8-digit prefixes 1000000x–
// 8999999x, the check digit from nlid.BSNCheckDigit: unique and passing the
// elfproef), a name, birth date (14 % children, 31 % 18–49, 55 % 50–94), a
// home address with a postcode of the city and the geolocation extension.
// Their main Patient record is at a provider chosen by volume with a 25 km
// distance decay (academic centres reach further); 8 % of the Patient
// records are a second record of another person at another provider
// (same BSN). Patient ids come from HospitalSystem(provider AGB, "patient").
// One active Coverage per person (payor by market share; since 1 January
// of this or up to five earlier years); 3 % switched insurer on 1 January
// and keep an ended Coverage with the previous insurer.
//
// # Waits and appointments
//
// A ServiceRequest is a wait at a provider (performer), for a specialism
// (performerType) at a location (locationReference), with a wait kind in
// category: outpatient 50 %, diagnostics 18 %, treatment-day 14 %,
// treatment-inpatient 8 %, treatment 10 % (imaging mostly diagnostics;
// psychiatry as mhc-intake/mhc-treatment; ZBCs admit no inpatients); 25 %
// of academic-centre waits also carry complexity high. The wait W (order
// date to the first appointment that holds — booked, arrived, checked-in,
// fulfilled — else to today) is log-normal: per kind a base median (18, 14,
// 26, 30, 28, 24, 45 days) and sigma (0.7–0.8), times a specialism factor
// (orthopedie 1.4, dermatologie 1.35, psychiatrie 1.5, plastische chirurgie
// 1.25, …) and a provider factor (ZBC 0.55, UMC 1.15), then shifted per kind
// so that the share past the Treeknorm (28/28/42/49/42/28/70 days) over the
// whole mix equals the configured share: DefaultExceedShare is 20 %
// outpatient, 15 % diagnostics, 22 % treatment-day, 18 % inpatient, 22 %
// treatment, 30 % mhc-intake, 25 % mhc-treatment (19.5 % overall);
// Config.ExceedShare overrides it. authoredOn is then the anchor date minus
// W. Statuses: 74 % active, 24 % completed (the last appointment
// fulfilled), 2 % on hold (8 % of unbooked waits, with a note).
//
// Appointments: referrals come in blocks of four sharing five appointments
// (80 % as 1-1-1-2, the rest with waits that have none yet and some with
// three), so exactly Appointments appointments and 0.8 × as many waits. Every
// status occurs; at 1M: booked 36.7 %, fulfilled 30.4 %, cancelled 11.7 %,
// waitlist 4.8 %, proposed 3.7 %, pending 3.7 %, noshow 3.7 %,
// entered-in-error 2.7 %, arrived 1.3 %, checked-in 1.2 %. Booked ones lie
// in the future, fulfilled and no-shows in the past, arrived and checked-in
// today, waitlist entries have no start but a requestedPeriod (today + 90
// days); earlier cancellations and no-shows lie between the order date and
// the appointment that holds. Booked first visits (outpatient, mhc-intake;
// diagnostics where the service has a diagnostics schedule) take a Slot of
// their service when one is left on a day their wait allows (about 17 % of
// all appointments at 1M); start and end are the slot's. Participants:
// the Patient, a Practitioner of the service, the Location.
//
// Capacity: per service and visit kind, as many busy slots as the world's
// booked first visits plus a fifth, and the free slots
// (FreeSlotsPerAppointment × Appointments over all services, by volume,
// ZBCs three times freer per unit of volume), laid out in clinic sessions of
// 15-, 20- or 30-minute slots (by specialism) starting at 08:00 or 13:00
// and lasting at most four hours, on a weekly pattern of weekdays over the
// 8 weeks after AsOf, front-loaded (agendas open progressively); the free
// ones are the latest (with two weeks of jitter). Instants carry the
// Amsterdam offset of their date (+01:00 or +02:00), and no slot falls on a
// weekend. A Schedule's actors are its HealthcareService and Location
// (academic centres: the specialist's PractitionerRole and Location);
// serviceType the wait kind of the visits (outpatient, diagnostics,
// mhc-intake); specialty on Schedule and Slot.
//
// # Identifiers and ids
//
//	Organization       SystemAGB (providers; also URA, KvK) / SystemUZOVI (insurers)
//	Location           SystemAGB, the location's own AGB code
//	HealthcareService  SystemHealthcareService, ServiceValue(location AGB, specialism, "")
//	Practitioner       SystemAGB, 03xxxxxx
//	PractitionerRole   id: DeriveID(SystemAGB, practitioner AGB|location AGB|specialism)
//	Schedule, Slot     HospitalSystem(AGB, "schedule"/"slot"): <location AGB>-<specialism>-<P|D><n>[-<yyyymmdd>-<hhmm>]
//	Patient            HospitalSystem(AGB, "patient"), the patient number (prefix P/Z or none + 8 digits)
//	Coverage           SystemUZOVI/<UZOVI>, the policy number (also subscriberId)
//	InsurancePlan      id: DeriveID(SystemUZOVI, <UZOVI>|basis)
//	ServiceRequest     HospitalSystem(AGB, "order"), the order number
//	Appointment        HospitalSystem(AGB, "appointment"), the appointment number
//
// AGB in HospitalSystem is the provider Organization's AGB.
//
// # Output formats
//
// NDJSON (WriteNDJSON): dir/<Type>.ndjson for the 12 ResourceTypes, one
// minified resource per line, in Generate's order.
//
// Bundles (WriteBundles): dir/bundle-00001.json, bundle-00002.json, … each a
// transaction Bundle of up to perBundle entries
// {"resource":…,"request":{"method":"PUT","url":"Type/id"}}, in Generate's
// order (load them in name order).
//
// HL7 v2.5.1 (WriteHL7): segments end with CR, messages end with LF (the
// file form; an MLLP client frames each line). Order: ADT^A04 for every
// Patient record, then per wait a REF^I12 followed by one SIU per
// appointment: S15 when cancelled, S26 when a no-show, S13 for 12 % of the
// booked ones (rescheduled), else S12. Fields:
//
//	MSH   |^~\&|<EHR>|<provider AGB>|WACHTWIJZER|WACHTWIJZER|<time>||<type>|WW<10-digit sequence>|P|2.5.1|||AL|NE|NLD|UNICODE UTF-8
//	EVN   A04 and the time (ADT)
//	PID-3 <BSN>^^^NLMINBIZA^NNNLD~<patient number>^^^<provider AGB>^PI
//	PID-5 family^given^^^^^L; PID-7 birth date; PID-8 M/F; PID-11 street nr^^city^^postcode^NL^H
//	PV1   |1|O|^^^<location AGB>|||||||<specialism> (PV1-10: the 4-digit AGB specialism)
//	IN1   IN1-3 <UZOVI>^^^VEKTIS^UZOVI, IN1-4 insurer name, IN1-12 coverage start, IN1-36 policy number (ADT)
//	RF1-1 wait status: A^Accepted^HL70283^active^^FHIR; table 0283 has no on-hold or completed, so those
//	      are the local H^Wenswachttijd^L^on-hold^^FHIR and C^Afgerond^L^completed^^FHIR
//	RF1-3 <specialism>^<display>^COD016; RF1-5 <wait kind>^<display>^WW-WAITKIND; RF1-6 <order number>^<AGB>
//	RF1-7 order date (authoredOn); RF1-10 high^Hoogcomplexe zorg^WW-COMPLEXITY when complex
//	PRD   RT^Referred to provider^HL70286, provider name, location address, PRD-4 ^^^<location AGB>, PRD-7 <AGB>^AGB
//	NTE   the on-hold note (REF), the cancellation reason (S15)
//	SCH-2 <appointment number>^<AGB>; SCH-5 <slot id>^^<AGB> when on a slot; SCH-6 event reason;
//	SCH-9/10 minutes, MIN; SCH-11 ^^<minutes>^<start>^<end>; SCH-25 status; SCH-27 <order number>^<AGB>
//	SCH-25 Pending, Waitlist, Booked, Started (checked-in), Complete (fulfilled), Cancelled, Noshow,
//	      Deleted (entered-in-error) from table 0278; Proposed and Arrived as local codes; every one
//	      followed by ^<FHIR status>^^FHIR in components 4–6
//	TQ1-7/8 start and end (not for waitlist entries)
//	RGS, AIS-3 <wait kind>^<display>^WW-WAITKIND, AIL-3 <location AGB>^^^<provider AGB>^^^^^<location name>
//	      (point of care = the site's own AGB code, facility = the provider),
//	      AIP-3 <practitioner AGB>^family^given^^^^^^VEKTIS; AIx start, duration, MIN, status code
//	ZWW   |1|<order date>|<specialism>|<wait kind>|<order number>|high (last, on SIU): the wait, for
//	      senders that map Z fields
//
// Times are DTM with the Amsterdam offset (20260330080000+0200); trailing
// empty fields are left out. Mapped by mappings/hl7v2 without any sender
// configuration, the stream gives the same ids, statuses, dates, kinds,
// specialisms, patients, practitioners, coverages and locations as the
// FHIR output; only Appointment.slot has no HL7 counterpart. HL7SenderConfig returns a
// sender configuration (mappings/hl7v2 JSON: per provider "<EHR>|<AGB>" its
// AGB and name; the local codes above; ZWW-3 specialism, ZWW-4 wait kind)
// for readers that need the local codes spelled out. The wait's order date
// is deliberately not mapped from ZWW: REF is the authority for the
// ServiceRequest, and SIU only refers to it.
//
// NZa CSV (WriteNZaCSV): ';'-separated, ISO-8859-1, CRLF; header
//
//	Date;WaitingTime;InsufficientObservations;KVKNumber;CareProvider;CareProvider_AGBCode;LocationKey;Location_AGBCode;Location;Street;StreetNumber;PostalCode;City;TreatmentKey;TreatmentNumber;Treatment;TreatmentType;Specialism;Description
//
// then one row per HealthcareService and TreatmentType (Polikliniekbezoek,
// Diagnostiek, Behandeling: the outpatient, diagnostics and treatment
// published waits): Date the peildatum (2006-01-02), WaitingTime in days
// (empty with InsufficientObservations Ja, else Nee), PostalCode without
// space (6525GA), LocationKey and TreatmentKey UUIDs, TreatmentNumber
// <specialism without 0><1|2|3>, Specialism like "Orthopedie (305)".
//
// Hospital CSV (WriteHospitalCSV, one provider by AGB): ';'-separated, UTF-8,
// LF; header
//
//	patientnummer;bsn;achternaam;geboortedatum;postcode;verwijsdatum;specialisme;soort;afspraakdatum;afspraakstatus;ordernummer;voornaam;geslacht;status;complexiteit;locatie_agb;afspraaknummer
//
// one row per wait at the provider: dates ISO (geboortedatum, verwijsdatum
// = authoredOn), postcode "1234 AB", specialisme the 4-digit AGB code, soort
// the wait-kind code, afspraakdatum (an instant with offset) and
// afspraakstatus (FHIR code) of the appointment that ends the wait (else
// the latest), empty without one; status the ServiceRequest status;
// complexiteit "hoog" or empty; geslacht M/V; locatie_agb the location;
// afspraaknummer the appointment number.
package gen
