// Package publication imports the NZa publication of providers' waiting
// times (mappings/nzacsv) into a store: per row the HealthcareService of
// location × specialism gets the published-waiting-time figure of the
// row's kind (a newer publication replaces the older figure; the resource
// history keeps the old versions), and the Organization (per AGB) and the
// Location are created when unknown. Malformed rows are reported per row;
// the valid ones are imported. `wachtwijzer import --format waiting-times`
// and POST /fhir/HealthcareService/$import-waiting-times both call Import.
package publication
