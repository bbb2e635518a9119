// Checks the gateway's search against an independent FHIRPath engine (the
// fhirpath npm package, R4 model): for each sampled registry parameter it
// evaluates the parameter's expression on every stored resource of its
// type, picks values that occur, computes which resources should match,
// and compares with what the gateway's search returns.
// Usage: node fhirpath-search.cjs BASE_URL PARAMS.json
// PARAMS.json: [{type, code, ptype, expression}] (derived parameters left out).
'use strict';
const fs = require('node:fs');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

const [base, paramsFile] = process.argv.slice(2);
const params = JSON.parse(fs.readFileSync(paramsFile, 'utf8'));

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: 'application/fhir+json' } });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${JSON.stringify(body).slice(0, 400)}`);
  return body;
}

async function searchAll(url) {
  const ids = new Set();
  const resources = [];
  let next = url;
  while (next) {
    const b = await getJSON(next);
    for (const e of b.entry || []) {
      if (e.search && e.search.mode && e.search.mode !== 'match') continue;
      ids.add(e.resource.id);
      resources.push(e.resource);
    }
    const l = (b.link || []).find((x) => x.relation === 'next');
    next = l && l.url;
  }
  return { ids, resources };
}

// resolve() is asynchronous in fhirpath.js and needs the target; a
// reference's type is in its literal, which is what the gateway indexes.
function rewrite(expr) {
  return expr.replace(/\.where\(resolve\(\) is ([A-Za-z]+)\)/g, ".where(reference.startsWith('$1/'))");
}

// Search keys of one evaluated value, per parameter type.
function keys(ptype, v) {
  const out = [];
  if (v === null || v === undefined) return out;
  const prim = typeof v !== 'object';
  switch (ptype) {
    case 'token':
      if (prim) out.push(String(v));
      else if (v.coding) v.coding.forEach((c) => c.system && c.code && out.push(`${c.system}|${c.code}`));
      else if (v.system && v.code) out.push(`${v.system}|${v.code}`);
      else if (v.system && v.value) out.push(`${v.system}|${v.value}`);
      break;
    case 'reference':
      if (!prim && typeof v.reference === 'string' && /^[A-Z][A-Za-z]+\/[A-Za-z0-9.-]+$/.test(v.reference)) out.push(v.reference);
      break;
    case 'string':
    case 'uri':
      if (prim && typeof v === 'string') out.push(v);
      break;
  }
  return out;
}

const esc = (s) => s.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/\$/g, '\\$');

async function main() {
  const byType = new Map();
  let compared = 0, mismatches = 0, skipped = 0;
  for (const p of params) {
    if (!byType.has(p.type)) byType.set(p.type, (await searchAll(`${base}/${p.type}?_count=500`)).resources);
    const resources = byType.get(p.type);
    const expr = rewrite(p.expression);
    const valuesOf = new Map();
    for (const res of resources) {
      let vals;
      try {
        vals = fhirpath.evaluate(res, expr, null, r4);
      } catch (e) {
        throw new Error(`${p.type}.${p.code}: fhirpath cannot evaluate ${expr}: ${e.message}`);
      }
      const ks = new Set(vals.flatMap((v) => keys(p.ptype, v)));
      valuesOf.set(res.id, ks);
    }
    // Sample up to three distinct values that occur.
    const sample = [...new Set([...valuesOf.values()].flatMap((s) => [...s]))].sort().slice(0, 3);
    if (sample.length === 0) { skipped++; continue; }
    for (const value of sample) {
      const expected = new Set([...valuesOf].filter(([, ks]) => ks.has(value)).map(([id]) => id));
      const name = p.ptype === 'string' ? `${p.code}:exact` : p.code;
      const url = `${base}/${p.type}?${encodeURIComponent(name)}=${encodeURIComponent(esc(value))}&_count=500`;
      const got = (await searchAll(url)).ids;
      compared++;
      const missing = [...expected].filter((id) => !got.has(id));
      const extra = [...got].filter((id) => !expected.has(id));
      if (missing.length || extra.length) {
        mismatches++;
        console.log(JSON.stringify({ param: `${p.type}.${p.code}`, expression: expr, value, expected: expected.size, got: got.size, missing: missing.slice(0, 5), extra: extra.slice(0, 5) }));
      }
    }
  }
  console.log(`fhirpath vs search: ${compared - mismatches} passed, ${mismatches} failed (${params.length} parameters, ${skipped} without values in the data)`);
  process.exit(mismatches > 0 || compared === 0 ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });
