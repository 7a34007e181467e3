// OwnRecord's SMART Health Link viewer (SHL STU1), served by the share host at /view.
//
// The link is in this page's fragment (#shlink:/…), which browsers never send to a server. The
// page asks this host for the manifest (the viewer's declared name, and the passcode for flag P),
// fetches the files, decrypts them here with WebCrypto (JWE: alg dir, enc A256GCM, optional
// zip DEF) and shows the International Patient Summary (a document Bundle, with its
// Composition); a Bundle without one (a de-identified research copy: type collection) is shown
// as its count of resources per type, and offered as a download. The key is used only in this
// page: it is not logged, not put in a query string and not sent anywhere.
//
// Record text is hostile input: it reaches the page only through textContent and createElement.
// The host's Content-Security-Policy requires Trusted Types, so an HTML sink would throw.

'use strict';

const WITHDRAWN = 'This link was withdrawn by the patient, has expired, or has been used up.';
const FETCH_TIMEOUT_MS = 30000;

// IPS sections by LOINC code, in the order the PDF summary shows them.
const SECTIONS = [
  ['11450-4', 'problems', 'Problems'],
  ['11348-0', 'past-problems', 'Past problems'],
  ['10160-0', 'medications', 'Medications'],
  ['48765-2', 'allergies', 'Allergies and intolerances'],
  ['11369-6', 'immunizations', 'Immunizations'],
  ['30954-2', 'results', 'Lab results'],
  ['8716-3', 'vitals', 'Vital signs'],
  ['47519-4', 'procedures', 'Procedures'],
];

const $ = (id) => document.getElementById(id);

class Stop extends Error {}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function showProblem(text) {
  const p = $('problem');
  p.textContent = text;
  p.hidden = false;
}

function clearProblem() {
  $('problem').hidden = true;
  $('problem').textContent = '';
}

function setStatus(text) {
  $('status').textContent = text;
}

// --- Decoding -------------------------------------------------------------------------------

function base64urlBytes(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new Stop('not base64url');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const utf8 = (bytes) => new TextDecoder('utf-8', { fatal: true }).decode(bytes);

/** The link's payload from a fragment `#shlink:/…` (or `#…shlink:/…`). */
function parseLink(hash) {
  const at = hash.indexOf('shlink:/');
  if (at < 0) throw new Stop('This page opens SMART Health Links, and its address has none. Scan the QR code again, or open the whole link you were given.');
  let payload;
  try {
    payload = JSON.parse(utf8(base64urlBytes(hash.slice(at + 'shlink:/'.length).trim())));
  } catch {
    throw new Stop('This link is damaged: part of it is missing. Open the whole link you were given.');
  }
  const ok = payload && typeof payload === 'object' && typeof payload.url === 'string'
    && typeof payload.key === 'string' && payload.key.length === 43
    && (payload.flag === undefined || typeof payload.flag === 'string')
    && (payload.exp === undefined || typeof payload.exp === 'number');
  if (!ok) throw new Stop('This link is damaged: part of it is missing. Open the whole link you were given.');
  let url;
  try {
    url = new URL(payload.url);
  } catch {
    throw new Stop('This link is damaged: part of it is missing. Open the whole link you were given.');
  }
  if (url.origin !== window.location.origin) {
    throw new Stop('This viewer opens only links kept on this share host, and this link is kept elsewhere. Open it with the viewer of its own host.');
  }
  return { url: url.href, key: payload.key, flag: payload.flag || '', exp: payload.exp, label: payload.label };
}

// --- Decryption -----------------------------------------------------------------------------

async function inflateRaw(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The plaintext of a compact JWE (alg dir, enc A256GCM) under `key` (a CryptoKey). */
async function decryptJwe(jwe, key) {
  const parts = typeof jwe === 'string' ? jwe.trim().split('.') : [];
  if (parts.length !== 5) throw new Stop('A file of this link is not an encrypted file.');
  const [protectedHeader, encryptedKey, iv, ciphertext, tag] = parts;
  let header;
  try {
    header = JSON.parse(utf8(base64urlBytes(protectedHeader)));
  } catch {
    throw new Stop('A file of this link is not an encrypted file.');
  }
  if (header.alg !== 'dir' || header.enc !== 'A256GCM' || encryptedKey !== '') {
    throw new Stop('A file of this link is encrypted in a way this viewer does not read.');
  }
  const ct = base64urlBytes(ciphertext);
  const t = base64urlBytes(tag);
  const data = new Uint8Array(ct.length + t.length);
  data.set(ct, 0);
  data.set(t, ct.length);
  let plain;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt(
      // The additional data is the protected header as it appears in the JWE (ASCII).
      { name: 'AES-GCM', iv: base64urlBytes(iv), additionalData: new TextEncoder().encode(protectedHeader), tagLength: 128 },
      key,
      data,
    ));
  } catch {
    throw new Stop('A file of this link could not be decrypted: the link does not match it. Ask the patient for a new link.');
  }
  if (header.zip === 'DEF') plain = await inflateRaw(plain);
  else if (header.zip !== undefined) throw new Stop('A file of this link is compressed in a way this viewer does not read.');
  return plain;
}

// --- Talking to the host --------------------------------------------------------------------

async function request(url, init) {
  try {
    // No credentials, no referrer: nothing but what is asked for.
    return await fetch(url, { ...init, credentials: 'omit', referrerPolicy: 'no-referrer', cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch {
    throw new Stop('The share host could not be reached. Check the connection and try again.');
  }
}

async function answerJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function refused(status, body) {
  if (status === 404) return new Stop(WITHDRAWN);
  if (status === 429) return new Stop('Too many tries in a short time. Wait a minute, then try again.');
  if (status === 401) {
    const left = body && Number.isInteger(body.remainingAttempts) ? body.remainingAttempts : null;
    if (left === 0) return new Stop('That passcode is not right, and no attempts are left: the link is locked. Ask the patient for a new link.');
    if (left === null) return new Stop('That passcode is not right.');
    return new Stop(`That passcode is not right. ${left} ${left === 1 ? 'attempt' : 'attempts'} left.`);
  }
  return new Stop(`The share host could not open the link (it answered ${status}). Try again later.`);
}

/** The link's encrypted files (compact JWEs), asking as `recipient`. */
async function fetchFiles(link, recipient, passcode) {
  if (link.flag.includes('U')) {
    const direct = new URL(link.url);
    direct.searchParams.set('recipient', recipient);
    const response = await request(direct.href, { method: 'GET' });
    if (!response.ok) throw refused(response.status, await answerJson(response));
    return [await response.text()];
  }
  const body = { recipient };
  if (link.flag.includes('P')) body.passcode = passcode;
  const response = await request(link.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await answerJson(response);
  if (!response.ok) throw refused(response.status, answer);
  if (!answer || !Array.isArray(answer.files)) throw new Stop('The share host answered with something that is not a list of files.');
  const files = [];
  for (const file of answer.files) {
    if (typeof file.embedded === 'string') {
      files.push(file.embedded);
    } else if (typeof file.location === 'string') {
      const got = await request(file.location, { method: 'GET' });
      if (!got.ok) throw refused(got.status, await answerJson(got));
      files.push(await got.text());
    }
  }
  return files;
}

// --- Reading FHIR ---------------------------------------------------------------------------

const str = (v) => (typeof v === 'string' && v.trim() !== '' ? v : null);
const first = (v) => (Array.isArray(v) ? v[0] : v);

function conceptText(concept) {
  const c = first(concept);
  if (!c || typeof c !== 'object') return null;
  return str(c.text) || str(Array.isArray(c.coding) && c.coding[0] && c.coding[0].display) || null;
}

/** A day (or month, or year) from a FHIR date or dateTime. */
function day(v) {
  const m = typeof v === 'string' ? /^\d{4}(-\d{2}(-\d{2})?)?/.exec(v) : null;
  return m ? m[0] : null;
}

function dateOf(r, paths) {
  for (const path of paths) {
    let v = r;
    for (const part of path.split('.')) v = v && typeof v === 'object' ? v[part] : undefined;
    const d = day(v);
    if (d) return d;
  }
  return null;
}

function code(r, field) {
  const c = r[field];
  return c && Array.isArray(c.coding) && c.coding[0] ? str(c.coding[0].code) : null;
}

function name(r, byUrl) {
  for (const field of ['code', 'vaccineCode', 'medicationCodeableConcept', 'type', 'category']) {
    const text = conceptText(r[field]);
    if (text) return text;
  }
  const ref = r.medicationReference;
  if (ref && typeof ref === 'object') {
    const med = byUrl.get(ref.reference);
    return (med && conceptText(med.code)) || str(ref.display) || 'Medication not named';
  }
  return str(r.name) || str(r.description) || 'Not named';
}

function quantity(q) {
  if (!q || typeof q !== 'object' || (typeof q.value !== 'number' && typeof q.value !== 'string')) return null;
  const unit = str(q.unit) || str(q.code);
  return unit ? `${q.value} ${unit}` : String(q.value);
}

function value(r) {
  return quantity(r.valueQuantity) || conceptText(r.valueCodeableConcept) || str(r.valueString)
    || (typeof r.valueBoolean === 'boolean' ? (r.valueBoolean ? 'yes' : 'no') : null)
    || (Number.isFinite(r.valueInteger) ? String(r.valueInteger) : null);
}

function range(r) {
  const rr = first(r.referenceRange);
  if (!rr || typeof rr !== 'object') return null;
  const text = str(rr.text);
  if (text) return `range ${text}`;
  const low = quantity(rr.low);
  const high = quantity(rr.high);
  if (low && high) return `range ${low} – ${high}`;
  if (low) return `range ≥ ${low}`;
  if (high) return `range ≤ ${high}`;
  return null;
}

/** [display, details, flag] of an entry. */
function describe(r, byUrl) {
  const details = [];
  let flag = null;
  const push = (v) => { if (v) details.push(v); };
  switch (r.resourceType) {
    case 'Condition': {
      const status = code(r, 'clinicalStatus');
      const end = dateOf(r, ['abatementDateTime', 'abatementPeriod.start']);
      if (!(end && status === 'resolved')) push(status);
      const onset = dateOf(r, ['onsetDateTime', 'onsetPeriod.start', 'recordedDate']);
      if (onset) push(`since ${onset}`);
      if (end) push(`resolved ${end}`);
      break;
    }
    case 'AllergyIntolerance': {
      const reactions = (Array.isArray(r.reaction) ? r.reaction : [])
        .flatMap((x) => (Array.isArray(x && x.manifestation) ? x.manifestation : []))
        .map(conceptText)
        .filter(Boolean);
      if (reactions.length) push(`reactions: ${reactions.join('; ')}`);
      if (str(r.criticality)) push(`criticality ${r.criticality}`);
      if (r.criticality === 'high') flag = 'high criticality';
      push(code(r, 'clinicalStatus'));
      const recorded = dateOf(r, ['onsetDateTime', 'recordedDate']);
      if (recorded) push(`recorded ${recorded}`);
      break;
    }
    case 'MedicationRequest':
    case 'MedicationStatement': {
      const dosage = first(r.dosageInstruction) || first(r.dosage);
      push(dosage && str(dosage.text));
      const since = dateOf(r, ['authoredOn', 'effectiveDateTime', 'effectivePeriod.start', 'dateAsserted']);
      if (since) push(`since ${since}`);
      push(str(r.status));
      break;
    }
    case 'Observation': {
      const components = (Array.isArray(r.component) ? r.component : [])
        .map((c) => (c && value(c) ? `${conceptText(c.code) || 'value'}: ${value(c)}` : null))
        .filter(Boolean);
      push(value(r));
      if (components.length) push(components.join(', '));
      const interpretation = conceptText(r.interpretation);
      const interpretationCode = first(r.interpretation) && first(first(r.interpretation).coding);
      if (interpretationCode && ['H', 'HH', 'L', 'LL', 'A', 'AA'].includes(interpretationCode.code)) {
        flag = interpretation || interpretationCode.code;
      }
      push(range(r));
      push(dateOf(r, ['effectiveDateTime', 'effectivePeriod.start', 'effectiveInstant', 'issued']));
      break;
    }
    case 'Immunization':
      push(dateOf(r, ['occurrenceDateTime', 'recorded']));
      push(str(r.status));
      break;
    case 'Procedure':
      push(dateOf(r, ['performedDateTime', 'performedPeriod.start']));
      push(str(r.status));
      break;
    default:
      push(dateOf(r, ['date', 'effectiveDateTime', 'occurrenceDateTime', 'recordedDate']));
      push(str(r.status));
  }
  return [name(r, byUrl), details.join(' · '), flag];
}

function patientName(p) {
  const names = Array.isArray(p.name) ? p.name : [];
  const n = names.find((x) => x && x.use === 'official') || names[0];
  if (!n) return 'Name not recorded';
  if (str(n.text)) return n.text;
  const parts = [n.prefix, n.given, n.family, n.suffix]
    .flatMap((v) => (Array.isArray(v) ? v : [v]))
    .filter((v) => str(v));
  return parts.length ? parts.join(' ') : 'Name not recorded';
}

// --- Showing --------------------------------------------------------------------------------

function fact(list, term, text) {
  if (!text) return;
  list.append(el('dt', null, term), el('dd', null, text));
}

function showBundle(bundle) {
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  const byUrl = new Map();
  for (const e of entries) {
    if (e && e.resource && typeof e.resource === 'object' && typeof e.fullUrl === 'string') byUrl.set(e.fullUrl, e.resource);
  }
  const resources = entries.map((e) => e && e.resource).filter((r) => r && typeof r === 'object');
  const patient = resources.find((r) => r.resourceType === 'Patient') || {};
  const composition = resources.find((r) => r.resourceType === 'Composition') || {};

  $('patient-name').textContent = patientName(patient);
  const facts = $('patient-facts');
  facts.replaceChildren();
  fact(facts, 'Born', day(patient.birthDate));
  fact(facts, 'Gender', str(patient.gender));
  fact(facts, 'Made', day(composition.date));

  const sections = (Array.isArray(composition.section) ? composition.section : []).filter((s) => s && typeof s === 'object');
  const ordered = [];
  for (const [loinc, id, title] of SECTIONS) {
    for (const s of sections) {
      const c = s.code && Array.isArray(s.code.coding) && s.code.coding[0];
      if (c && c.code === loinc) ordered.push([id, title, s]);
    }
  }
  for (const s of sections) {
    if (!ordered.some(([, , o]) => o === s)) ordered.push(['other', str(s.title) || 'Other', s]);
  }

  const out = $('sections');
  out.replaceChildren();
  for (const [id, title, s] of ordered) {
    const section = el('section');
    section.dataset.section = id;
    const heading = el('h3', null, title);
    heading.id = `section-${id}-${out.childElementCount}`;
    section.setAttribute('aria-labelledby', heading.id);
    section.append(heading);
    const refs = (Array.isArray(s.entry) ? s.entry : []).map((e) => e && byUrl.get(e.reference)).filter(Boolean);
    if (refs.length === 0) {
      const reason = s.emptyReason && Array.isArray(s.emptyReason.coding) && s.emptyReason.coding[0];
      const withheld = reason && reason.code === 'withheld';
      section.append(el('p', 'empty', withheld ? 'Left out of this summary by the patient.' : 'None recorded.'));
    } else {
      const list = el('ul', 'entries');
      for (const r of refs) {
        const [what, detail, flag] = describe(r, byUrl);
        const item = el('li');
        item.append(el('span', 'what', what));
        if (detail || flag) {
          const line = el('span', 'detail', detail);
          if (flag) line.append(detail ? ' · ' : '', el('span', 'flag', flag));
          item.append(line);
        }
        list.append(item);
      }
      section.append(list);
    }
    out.append(section);
  }
}

function offerPdf(document_) {
  const content = Array.isArray(document_.content) ? document_.content : [];
  const attachment = content.map((c) => c && c.attachment).find((a) => a && a.contentType === 'application/pdf' && typeof a.data === 'string');
  if (!attachment) return;
  let bytes;
  try {
    const binary = atob(attachment.data);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  } catch {
    return;
  }
  const link = $('pdf');
  link.href = URL.createObjectURL(new Blob([bytes], { type: 'application/pdf' }));
  const made = day(document_.date);
  link.download = made ? `health-summary-${made}.pdf` : 'health-summary.pdf';
  $('download').hidden = false;
}

/** Whether a Bundle is a document to read by section (it has a Composition). */
function hasComposition(bundle) {
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  return entries.some((e) => e && e.resource && e.resource.resourceType === 'Composition');
}

/** [resourceType, count] of a Bundle's resources, by type. */
function countByType(bundle) {
  const counts = new Map();
  for (const e of Array.isArray(bundle.entry) ? bundle.entry : []) {
    const r = e && e.resource;
    if (!r || typeof r !== 'object') continue;
    const type = str(r.resourceType) || 'Without a type';
    counts.set(type, (counts.get(type) || 0) + 1);
  }
  return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A Bundle without a Composition (a research copy is a collection of de-identified resources):
 * its resources counted by type, and the file as it was decrypted (`bytes`) to download.
 */
function showCollection(bundle, bytes, label) {
  const research = bundle.type === 'collection';
  const heading = research ? 'De-identified research copy' : 'Shared health data';
  document.title = research ? 'Shared research copy' : heading;
  document.querySelector('header h1').textContent = document.title;
  $('research-heading').textContent = heading;
  $('research-about').textContent = research
    ? 'A copy of a patient\'s record given for research: names, addresses, contact details, record numbers, free text and the day and month of each date are left out. The data is in FHIR, to download; there is no summary to read.'
    : 'A patient\'s record entries in FHIR, to download; there is no summary to read.';
  if (typeof label === 'string' && label.trim() !== '') {
    // The study, in the article rather than above it.
    $('research-label').textContent = label;
    $('research-label').hidden = false;
    $('label').hidden = true;
  }

  const body = $('research-counts').tBodies[0];
  body.replaceChildren();
  let total = 0;
  for (const [type, count] of countByType(bundle)) {
    const row = el('tr');
    const name = el('th', null, type);
    name.scope = 'row';
    row.append(name, el('td', 'number', count));
    body.append(row);
    total += count;
  }
  $('research-total').textContent = String(total);

  const link = $('research-download');
  link.href = URL.createObjectURL(new Blob([bytes], { type: 'application/fhir+json' }));
  link.download = research ? 'research-copy.json' : 'health-data.json';
}

// --- The page -------------------------------------------------------------------------------

async function open(link, form) {
  const recipient = form.recipient.value.trim();
  const passcode = form.passcode.value;
  if (!recipient) {
    showProblem('Please say who is viewing: the patient sees this name in their record.');
    form.recipient.focus();
    return;
  }
  if (link.flag.includes('P') && passcode === '') {
    showProblem('Please enter the passcode the patient gave you.');
    form.passcode.focus();
    return;
  }
  clearProblem();
  $('open').disabled = true;
  setStatus('Opening…');
  try {
    const files = await fetchFiles(link, recipient, passcode);
    setStatus('Decrypting…');
    const key = await crypto.subtle.importKey('raw', base64urlBytes(link.key), { name: 'AES-GCM' }, false, ['decrypt']);
    // The article shown, and the heading it is opened at.
    let shown = null;
    for (const jwe of files) {
      let plain;
      let resource;
      try {
        plain = await decryptJwe(jwe, key);
        resource = JSON.parse(utf8(plain));
      } catch (e) {
        if (e instanceof Stop) throw e;
        throw new Stop('A file of this link is not a readable health record.');
      }
      if (resource && resource.resourceType === 'Bundle' && !shown) {
        if (hasComposition(resource)) {
          showBundle(resource);
          shown = ['summary', 'patient-name'];
        } else {
          showCollection(resource, plain, link.label);
          shown = ['research', 'research-heading'];
        }
      } else if (resource && resource.resourceType === 'DocumentReference') {
        offerPdf(resource);
      }
    }
    if (!shown) throw new Stop('This link holds no health summary this viewer can show.');
    const [article, heading] = shown;
    form.hidden = true;
    $(article).hidden = false;
    setStatus('');
    $(heading).tabIndex = -1;
    $(heading).focus();
  } catch (e) {
    setStatus('');
    showProblem(e instanceof Stop ? e.message : 'Something went wrong while opening the link. Try again.');
    if (e instanceof Stop && e.message === WITHDRAWN) {
      form.hidden = true;
    } else if (link.flag.includes('P')) {
      form.passcode.value = '';
      form.passcode.focus();
    }
  } finally {
    $('open').disabled = false;
  }
}

function start() {
  let link;
  try {
    link = parseLink(window.location.hash);
  } catch (e) {
    showProblem(e instanceof Stop ? e.message : 'This link could not be read.');
    return;
  }
  if (typeof link.exp === 'number' && link.exp * 1000 <= Date.now()) {
    showProblem(WITHDRAWN);
    return;
  }
  if (!window.crypto || !crypto.subtle) {
    showProblem('This browser cannot decrypt the summary here (it needs a secure https page).');
    return;
  }
  if (typeof link.label === 'string' && link.label.trim() !== '') {
    $('label').textContent = link.label;
    $('label').hidden = false;
  }
  const form = $('ask');
  $('passcode-field').hidden = !link.flag.includes('P');
  form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    open(link, form);
  });
  form.recipient.focus();
}

// A new link pasted into the address bar replaces the page's state.
window.addEventListener('hashchange', () => window.location.reload());
start();
