// Package csv maps a hospital's waiting-list CSV export to the Wachtwijzer
// wait model (DOMAIN.md): per row a Patient, a ServiceRequest (the wait)
// and, when the row has an appointment, an Appointment based on it. It is
// pure: no I/O, no clock, no logging.
//
// Every hospital exports differently, so a per-sender mapping file (JSON,
// LoadMapping; unknown fields are an error) says how to read it:
//
//	{
//	  "sender":  {"agb": "06011234", "name": "Ziekenhuis Noord"},    // 7 digits get their leading 0 back
//	  "dialect": {"separator": ";", "quote": "\"", "charset": "windows-1252", "header": true, "skipRows": 0},
//	  "columns": {                        // header names (or "#3": the 3rd column, 1-based, without a header)
//	    "patientNumber": "patientnummer", "bsn": "bsn", "family": "achternaam", "given": "voornaam",
//	    "birthDate": "geboortedatum", "gender": "geslacht", "postcode": "postcode",
//	    "orderNumber": "ordernummer", "referralDate": "verwijsdatum", "specialism": "specialisme",
//	    "kind": "soort", "status": "status", "complexity": "complexiteit", "location": "locatie_agb",
//	    "appointmentNumber": "afspraaknummer", "appointmentDate": "afspraakdatum",
//	    "appointmentEnd": "", "appointmentStatus": "afspraakstatus"
//	  },
//	  "codes": {                          // local code → FHIR code, per column (FHIR codes pass as they are)
//	    "specialism": {"ORTH": "0305"}, "kind": {"POLI": "outpatient"}, "status": {"Actief": "active"},
//	    "appointmentStatus": {"Gepland": "booked"}, "gender": {"M": "male", "V": "female"}, "complexity": {"hoog": "high"}
//	  },
//	  "dateFormats": ["2006-01-02", "02-01-2006"],  // Go layouts tried in order (these two and a few more by default)
//	  "timeZone": "Europe/Amsterdam",               // for appointment times without an offset
//	  "appointmentMinutes": 0,                      // the end when the export has none (0: start goes to requestedPeriod)
//	  "systems": {"patient": "", "order": "", "appointment": ""},  // default HospitalSystem(agb, kind)
//	  "closeStatus": "completed"                    // what --close-missing sets (completed or revoked)
//	}
//
// DefaultMapping reads the export gen.WriteHospitalCSV writes.
//
// Charsets: utf-8 (a byte order mark is dropped), windows-1252 (cp1252) and
// iso-8859-1 (latin1). Blank lines are skipped; a row with a problem (a bad
// date, an invalid BSN, a missing required column) is reported with its
// line number and column — never its values, which are patient data — and
// the other rows still map. Ids come from wachtwijzer.DeriveID over the
// hospital's numbers (patient, order, appointment), so the next export
// updates the same resources and HL7 and pull meet them.
package csv
