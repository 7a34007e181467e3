// Counts and main codes of converted C-CDA resources, the same rules as
// tests/peers/ccda_to_fhir_convert.py and crates/core/tests/it/ccda_peers.rs:
//
//   Condition, AllergyIntolerance, Observation, Procedure: code
//   Immunization: vaccineCode
//   MedicationRequest, MedicationStatement, MedicationAdministration, MedicationDispense:
//     medicationCodeableConcept, else the code of the Medication its medicationReference names
//     (contained `#id`, or an entry of the same Bundle by fullUrl, `urn:uuid:id` or `Medication/id`)
//   Encounter: type (every CodeableConcept)
//
// Every coding with both a system and a code counts, as "system|code" (translations included).

const MEDICATION_TYPES = new Set([
  'MedicationRequest',
  'MedicationStatement',
  'MedicationAdministration',
  'MedicationDispense',
]);

function codings(concept) {
  const out = [];
  for (const c of concept?.coding ?? []) {
    if (c && typeof c.system === 'string' && typeof c.code === 'string') out.push(`${c.system}|${c.code}`);
  }
  return out;
}

function mainConcepts(resource, medications) {
  const t = resource.resourceType;
  if (t === 'Immunization') return [resource.vaccineCode];
  if (t === 'Encounter') return resource.type ?? [];
  if (MEDICATION_TYPES.has(t)) {
    if (resource.medicationCodeableConcept) return [resource.medicationCodeableConcept];
    const ref = resource.medicationReference?.reference;
    if (typeof ref === 'string') {
      if (ref.startsWith('#')) {
        const m = (resource.contained ?? []).find((c) => c.id === ref.slice(1));
        return m ? [m.code] : [];
      }
      const m = medications.get(ref) ?? medications.get(ref.replace(/^urn:uuid:/, 'Medication/'));
      return m ? [m.code] : [];
    }
    return [];
  }
  if (['Condition', 'AllergyIntolerance', 'Observation', 'Procedure'].includes(t)) return [resource.code];
  return [];
}

/**
 * {counts: {type: n}, codes: {type: [sorted unique "system|code"]}} of a Bundle's entries
 * ({fullUrl?, resource}).
 */
export function summarize(entries) {
  const resources = entries.map((e) => e.resource).filter(Boolean);
  const medications = new Map();
  for (const e of entries) {
    const r = e.resource;
    if (r?.resourceType !== 'Medication') continue;
    if (r.id) {
      medications.set(`Medication/${r.id}`, r);
      medications.set(`urn:uuid:${r.id}`, r);
    }
    if (e.fullUrl) medications.set(e.fullUrl, r);
  }
  const counts = {};
  const codes = {};
  for (const r of resources) {
    const t = r.resourceType;
    counts[t] = (counts[t] ?? 0) + 1;
    for (const concept of mainConcepts(r, medications)) {
      for (const c of codings(concept)) (codes[t] ??= new Set()).add(c);
    }
  }
  return {
    counts,
    codes: Object.fromEntries(Object.entries(codes).map(([t, s]) => [t, [...s].sort()])),
  };
}
