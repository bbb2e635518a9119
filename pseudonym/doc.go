// Package pseudonym pseudonymises what insurers see of their members' waits
// (GDPR art. 9 minimisation, DOMAIN.md): a Patient reference becomes an
// identifier in the system
// https://wachtwijzer.nl/fhir/NamingSystem/member-pseudonym/{uzovi} whose
// value is "<key id>.<base64url(HMAC-SHA256(insurer key, BSN))>", and each
// ServiceRequest carries its member's 4-digit postcode in the extension
// https://wachtwijzer.nl/fhir/StructureDefinition/member-pc4. Patient
// resources are hidden from pseudonymised insurers (tenancy.Options.HidePatients).
//
// Keys are per insurer and versioned: the key id is part of the pseudonym, so
// after a rotation (a new current key) pseudonyms made with an older key that
// is still listed stay resolvable. Keys come from a JSON file
// (wachtwijzer serve --pseudonym-keys; see Load) or, without one, are derived
// from the deployment key (one key "d1" per insurer).
//
// Identity is disclosed only through $reidentify on a ServiceRequest, when
// the insurer holds an active care-mediation Consent of the member or an open
// mediation Task for the member; the ground is written to the audit log.
package pseudonym
