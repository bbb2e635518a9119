// Package demo builds a small, realistic Dutch demo dataset for
// Wachtwijzer: FHIR R4 resources for six fictional care providers (one
// academic hospital, two general hospitals, three ZBCs in six provinces),
// three fictional insurers, their locations, services with published
// waiting times, practitioners, schedules with free and busy slots, patients
// with BSNs, coverages, contracts (InsurancePlan networks), waits
// (ServiceRequests) and appointments.
//
// The data is pure: [Resources] does no I/O and returns the same bytes for
// the same Europe/Amsterdam calendar date of its asOf argument. Every date
// in the set is relative to that date, so `wachtwijzer serve --demo`, which
// writes only the resources that do not exist yet, keeps the dates of its
// first load. Resource ids are fixed and readable; useful ones:
//
//	demo-org-umc-oost        Demo UMC Oost, academic hospital (0602), AGB 06990101, Nijmegen
//	demo-org-zh-midden       Demo Ziekenhuis Midden, general hospital (0601), Utrecht
//	demo-org-zh-noordoost    Demo Ziekenhuis Noordoost, general hospital (0601), Zwolle
//	demo-org-zbc-brabant     Demo Kliniek Brabant, ZBC (2200), AGB 22990401, Eindhoven
//	demo-org-zbc-amstel      Demo Kliniek Amstel, ZBC, Amsterdam
//	demo-org-zbc-noord       Demo Kliniek Noord, ZBC, Groningen
//	demo-org-zv-zuid         Demo Zorgverzekeraar Zuid, UZOVI 7119 (plan demo-plan-zv-zuid)
//	demo-org-zv-oost         Demo Zorgverzekeraar Oost, UZOVI 3332
//	demo-org-zv-midden       Demo Zorgverzekeraar Midden, UZOVI 3311
//	demo-sr-0001             outpatient orthopedie at the UMC, 50 days, unbooked: past the norm
//	demo-sr-0002             day treatment at the UMC, 80 days, booked a month ahead: past the norm
//	demo-sr-0003             outpatient cardiologie, 10 days, booked on a slot: within the norm
//	demo-sr-0008             complexity high, inpatient, 60 days: past the norm, UMC-only care
//	demo-pat-03, demo-pat-03-zbc-brabant  one person (same BSN) at two providers
//	demo-cov-05-prev         an ended Coverage of a member who switched insurer
//
// The doc comment on the waits table in people.go describes every wait.
//
// The set follows the wait model of DOMAIN.md:
//
//   - A wait is a ServiceRequest (status active or on-hold, one completed)
//     with subject, authoredOn (a date: the order date), performer (the
//     provider Organization), performerType (AGB specialism in
//     urn:oid:2.16.840.1.113883.2.4.6.7) and category codes from
//     https://wachtwijzer.nl/fhir/CodeSystem/wait-kind (and once
//     https://wachtwijzer.nl/fhir/CodeSystem/complexity|high). Waits are
//     spread over within norm, at risk and past the Treeknorm.
//   - Appointments point at their wait with basedOn and use every status;
//     booked outpatient visits reference a busy Slot; the waitlist entry has
//     no start, only requestedPeriod.
//   - Membership is a Coverage per person (payor the insurer with its UZOVI);
//     two people appear as two Patient resources at two providers with the
//     same BSN, so waits must be joined to members by BSN. One person
//     switched insurer: an old Coverage whose period ended last year is kept.
//   - Contracts are InsurancePlans whose network lists only some providers.
//   - Capacity is Slots (weekdays, 08:30–16:30 Amsterdam time, the next six
//     weeks) on Schedules whose actors are a Location plus a
//     HealthcareService or a PractitionerRole. Schedule.serviceType and
//     Slot.serviceType carry the wait-kind code of the visits offered
//     (outpatient); specialty carries the AGB specialism.
//   - HealthcareServices carry the published waiting time extension
//     https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time
//     per kind (outpatient, diagnostics, treatment), measured on the latest
//     NZa peildatum (a Tuesday of an even ISO week) on or before asOf. ZBCs
//     publish shorter waits than the hospitals; one ZBC service reports no
//     treatment wait (too few observations).
//
// All names, AGB and URA codes and addresses are fictional (AGB codes in the
// unused 0699xxxx/2299xxxx/0399xxxx ranges); BSNs are generated in the
// 9999xxxxx test range and pass the elfproef. The UZOVI codes 7119, 3332 and
// 3311 are the familiar example codes, paired with fictional insurer names.
package demo
