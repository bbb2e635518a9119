// Drives the running gateway with a real FHIR client library from npm
// (fhir-kit-client 2.x, an ES module): create, read, update, search with
// paging, transaction, history and an operation posted with Parameters
// ($validate). Any mismatch throws, exits non-zero and fails the Go test.
// Usage: node fhirkit.mjs BASE_URL
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';

const baseUrl = process.argv[2];
const client = new Client({ baseUrl });
let checks = 0;
const ok = (cond, msg) => { assert.ok(cond, msg); checks++; };
const eq = (a, b, msg) => { assert.deepEqual(a, b, msg); checks++; };

const tag = `Fkc${Date.now()}`;
const patient = (family, bsn) => ({
  resourceType: 'Patient',
  meta: { profile: ['http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient'] },
  identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn }, { system: `https://example.org/${tag}`, value: family }],
  name: [{ family, given: ['Jan'] }],
  gender: 'male',
  birthDate: '1961-04-12',
});

// create
const created = await client.create({ resourceType: 'Patient', body: patient('Jansen', '999911120') });
eq(created.resourceType, 'Patient', 'create returns the Patient');
ok(created.id, 'create assigns an id');
eq(created.meta.versionId, '1', 'a new resource is version 1');

// read
const read = await client.read({ resourceType: 'Patient', id: created.id });
eq(read.name, created.name, 'read returns what was created');

// update
read.name[0].family = 'Jansen-Bakker';
const updated = await client.update({ resourceType: 'Patient', id: read.id, body: read });
eq(updated.meta.versionId, '2', 'update makes version 2');
eq(updated.name[0].family, 'Jansen-Bakker', 'update stores the new name');

// a 404 comes back as an OperationOutcome
try {
  await client.read({ resourceType: 'Patient', id: 'does-not-exist' });
  assert.fail('reading a missing Patient must fail');
} catch (e) {
  eq(e.response && e.response.status, 404, 'a missing Patient is 404');
  eq(e.response.data.resourceType, 'OperationOutcome', 'the 404 carries an OperationOutcome');
  checks++;
}

// search with paging: five more patients under one identifier system
const bsns = ['123456782', '999911120', '123456782', '999911120', '123456782'];
for (let i = 0; i < 5; i++) {
  await client.create({ resourceType: 'Patient', body: patient(`${tag}Page${i}`, bsns[i]) });
}
let bundle = await client.search({ resourceType: 'Patient', searchParams: { family: tag, _count: 2 } });
eq(bundle.type, 'searchset', 'search returns a searchset');
const seen = new Set();
let pages = 0;
while (bundle) {
  pages++;
  for (const e of bundle.entry || []) {
    ok(!seen.has(e.resource.id), `paging repeats ${e.resource.id}`);
    seen.add(e.resource.id);
  }
  bundle = await client.nextPage({ bundle });
}
eq(seen.size, 5, 'paging visits every match once');
ok(pages >= 3, `five matches at _count=2 take at least three pages, got ${pages}`);

// transaction: a Patient and an Appointment referring to it by urn:uuid
const tx = await client.transaction({
  body: {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:6c1a2b3c-0000-4000-8000-000000000001', resource: patient('Transactie', '123456782'), request: { method: 'POST', url: 'Patient' } },
      {
        resource: {
          resourceType: 'Appointment', status: 'booked', start: '2026-12-01T09:00:00+01:00', end: '2026-12-01T09:20:00+01:00',
          participant: [{ actor: { reference: 'urn:uuid:6c1a2b3c-0000-4000-8000-000000000001' }, status: 'accepted' }],
        },
        request: { method: 'POST', url: 'Appointment' },
      },
    ],
  },
});
eq(tx.type, 'transaction-response', 'a transaction answers a transaction-response');
eq(tx.entry.map((e) => e.response.status.slice(0, 3)), ['201', '201'], 'both entries are created');
const apptId = /Appointment\/([^/]+)/.exec(tx.entry[1].response.location)[1];
const appt = await client.read({ resourceType: 'Appointment', id: apptId });
ok(/^Patient\/[^/]+$/.test(appt.participant[0].actor.reference), `the urn:uuid was resolved: ${appt.participant[0].actor.reference}`);

// history
const hist = await client.history({ resourceType: 'Patient', id: created.id });
eq(hist.type, 'history', 'history returns a history Bundle');
eq(hist.entry.map((e) => e.resource.meta.versionId), ['2', '1'], 'history lists both versions, newest first');

// an operation posted with Parameters: $validate
const valid = await client.operation({
  name: '$validate', resourceType: 'Patient', method: 'POST',
  input: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient('Geldig', '999911120') }, { name: 'mode', valueCode: 'create' }] },
});
eq(valid.resourceType, 'OperationOutcome', '$validate answers an OperationOutcome');
eq(valid.issue[0].severity, 'information', 'a valid Patient gets an information issue');
const invalid = await client.operation({
  name: '$validate', resourceType: 'Organization', method: 'POST',
  input: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Organization', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/agb-z', value: '6020502' }] } }] },
});
const err = invalid.issue.find((i) => i.severity === 'error');
ok(err && /06020502/.test(err.diagnostics), 'a 7-digit AGB is reported with the padded value');
eq(err.expression, ['Organization.identifier[0].value'], 'the issue points at the element');

// the CapabilityStatement through the client
const cs = await client.capabilityStatement();
ok(cs.rest[0].resource.some((r) => r.type === 'Patient' && r.operation.some((o) => o.name === 'validate')), 'metadata lists Patient $validate');

console.log(`fhir-kit-client: ${checks} checks passed`);
