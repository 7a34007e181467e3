#!/usr/bin/env node
// Self-check for smart-peers.mjs: starts it as a child process and drives the whole SMART
// standalone-launch flow with plain HTTP (fetch + a small cookie jar), the way OwnRecord's
// end-to-end tests will: discovery, browser leg (login + consent forms), PKCE code exchange,
// paged FHIR downloads compared with the ground truth, refresh-token rotation, revocation,
// expiry, fault injection and the control endpoints.
//
//   node tests/peers/selfcheck.mjs --data DIR [--patients N] [--verbose]
//
// Exits 0 only if every check passes.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    patients: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
if (!args.data) {
  console.error('usage: node selfcheck.mjs --data DIR [--patients N] [--verbose]');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Reporting

let passed = 0;
let failed = 0;
class CheckFailed extends Error {}

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok ${passed + failed} - ${name}`);
    return;
  }
  failed++;
  console.log(`not ok ${passed + failed} - ${name}${detail === undefined ? '' : `\n    ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
  throw new CheckFailed(name);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// Child process

const children = [];

function startPeers(extra, label) {
  return new Promise((resolve, reject) => {
    const argv = [path.join(here, 'smart-peers.mjs'), '--data', args.data, ...extra];
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const stderr = [];
    let stdout = '';
    let lines = [];
    const t0 = Date.now();
    const timer = setTimeout(() => reject(new Error(`${label}: no ready line after 180 s\n${stderr.join('')}`)), 180_000);
    child.stderr.on('data', (d) => {
      stderr.push(d.toString());
      if (args.verbose) process.stderr.write(`[${label}] ${d}`);
    });
    child.stdout.on('data', (d) => {
      stdout += d.toString();
      lines = stdout.split('\n');
      if (lines.length > 1) {
        clearTimeout(timer);
        try {
          const ready = JSON.parse(lines[0]);
          resolve({ child, ready, startupMs: Date.now() - t0, stdoutRef: () => stdout, stderr });
        } catch (err) {
          reject(new Error(`${label}: first stdout line is not JSON: ${lines[0]}`));
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label}: exited early (code ${code}, signal ${signal})\n${stderr.join('')}`));
    });
  });
}

function stopPeers(peer) {
  return new Promise((resolve) => {
    if (peer.child.exitCode !== null) return resolve(peer.child.exitCode);
    peer.child.removeAllListeners('exit');
    peer.child.once('exit', (code, signal) => resolve(code ?? signal));
    peer.child.kill('SIGTERM');
  });
}

process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

// ---------------------------------------------------------------------------------------
// HTTP helpers

class CookieJar {
  constructor() {
    this.cookies = new Map();
  }

  store(requestUrl, res) {
    const url = new URL(requestUrl);
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let cookiePath = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.toLowerCase();
        if (key === 'path') cookiePath = v || '/';
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const id = `${name}|${cookiePath}`;
      if (expired) this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path: cookiePath });
    }
  }

  header(requestUrl) {
    const p = new URL(requestUrl).pathname;
    const matching = [...this.cookies.values()].filter(
      (c) => p === c.path || p.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
    );
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

async function http(url, { method = 'GET', jar, form, json, headers = {}, token } = {}) {
  const h = { ...headers };
  const cookie = jar?.header(url);
  if (cookie) h.cookie = cookie;
  if (token) h.authorization = `Bearer ${token}`;
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    h['content-type'] = 'application/x-www-form-urlencoded';
  } else if (json !== undefined) {
    body = JSON.stringify(json);
    h['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
  if (args.verbose && jar) {
    console.log(`#   ${method} ${url}${form ? ` ${new URLSearchParams(form)}` : ''} -> ${res.status} ${res.headers.get('location') ?? ''}`);
    for (const c of res.headers.getSetCookie()) console.log(`#     set-cookie: ${c}`);
  }
  jar?.store(url, res);
  return res;
}

async function getJson(url, opts) {
  const res = await http(url, opts);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attr = (s, n) => new RegExp(`\\b${n}="([^"]*)"`).exec(s)?.[1];
    const fields = [...m[2].matchAll(/<(?:input|button)\b([^>]*)>/g)].map((f) => ({
      name: attr(f[1], 'name'),
      type: attr(f[1], 'type'),
      value: attr(f[1], 'value'),
    }));
    forms.push({ id: attr(m[1], 'id'), method: attr(m[1], 'method'), action: attr(m[1], 'action'), fields });
  }
  return forms;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function pkce() {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

const SCOPE = 'openid fhirUser launch/patient offline_access patient/*.rs';

function authorizationUrl(peer, overrides = {}) {
  const { challenge, verifier } = pkce();
  const state = b64url(crypto.randomBytes(12));
  const redirectUri = overrides.redirect_uri ?? `http://127.0.0.1:${20000 + crypto.randomInt(20000)}/callback`;
  const u = new URL(peer.smart.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: peer.ready.client_id,
    redirect_uri: redirectUri,
    scope: SCOPE,
    state,
    aud: peer.ready.fhir_base,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  for (const [k, v] of Object.entries(params)) if (v !== null) u.searchParams.set(k, v);
  return { url: u.href, verifier, state, redirectUri };
}

/**
 * Drives the browser leg: authorization URL -> login form -> consent form -> redirect to the
 * loopback callback (which is not fetched). Returns the callback URL and what was seen.
 */
async function browserLeg(peer, { decision = 'allow', password, overrides, jar = new CookieJar() } = {}) {
  const start = authorizationUrl(peer, overrides);
  const seen = { forms: [], redirects: [], statuses: [] };
  let url = start.url;
  for (let hop = 0; hop < 20; hop++) {
    const res = await http(url, { jar });
    seen.statuses.push(res.status);
    if ([302, 303].includes(res.status)) {
      const location = new URL(res.headers.get('location'), url);
      seen.redirects.push({ status: res.status, location: location.href });
      if (location.pathname === '/callback') return { ...start, callback: location, seen, jar };
      url = location.href;
      continue;
    }
    const text = await res.text();
    if (res.status !== 200) throw new Error(`browser leg: HTTP ${res.status} at ${url}: ${text.slice(0, 400)}`);
    const [form] = parseForms(text);
    if (!form) throw new Error(`browser leg: no form at ${url}: ${text.slice(0, 400)}`);
    seen.forms.push({ ...form, url });
    const action = new URL(form.action, url).href;
    let body;
    if (form.id === 'login') {
      if (password !== undefined && seen.forms.filter((f) => f.id === 'login').length === 1) {
        const bad = await http(action, { method: 'POST', jar, form: { login: 'patient', password } });
        seen.badLogin = { status: bad.status, text: await bad.text() };
      }
      body = decision === 'cancel-login' ? { decision: 'deny' } : { login: peer.ready.username, password: peer.ready.password, decision: 'allow' };
    } else {
      body = { decision };
    }
    const post = await http(action, { method: 'POST', jar, form: body });
    seen.statuses.push(post.status);
    if (![302, 303].includes(post.status)) throw new Error(`browser leg: POST ${action} -> ${post.status}: ${(await post.text()).slice(0, 400)}`);
    url = new URL(post.headers.get('location'), action).href;
    seen.redirects.push({ status: post.status, location: url });
  }
  throw new Error('browser leg: too many hops');
}

async function tokenRequest(peer, form) {
  return getJson(peer.smart.token_endpoint, { method: 'POST', form: { client_id: peer.ready.client_id, ...form } });
}

async function fullLogin(peer) {
  const leg = await browserLeg(peer);
  const code = leg.callback.searchParams.get('code');
  const tok = await tokenRequest(peer, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: leg.redirectUri,
    code_verifier: leg.verifier,
  });
  if (tok.status !== 200) throw new Error(`token exchange failed: ${tok.status} ${JSON.stringify(tok.body)}`);
  return { leg, token: tok.body };
}

/** Follows Bundle.link[next] from the first URL; returns all entries and page count. */
async function fetchAllPages(url, token) {
  const entries = [];
  let pages = 0;
  let next = url;
  while (next) {
    const r = await getJson(next, { token });
    if (r.status !== 200) throw new Error(`GET ${next} -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    pages++;
    entries.push(...(r.body.entry ?? []));
    next = r.body.link?.find((l) => l.relation === 'next')?.url;
    if (pages > 10_000) throw new Error('too many pages');
  }
  return { entries, pages };
}

function decodeJwt(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

// ---------------------------------------------------------------------------------------
// The checks

async function run() {
  const mainArgs = args.patients ? ['--patients', args.patients] : [];
  const [peer, shortPeer] = await Promise.all([
    startPeers(mainArgs, 'peers'),
    startPeers(['--patients', '1', '--access-token-ttl', '2', '--refresh-token-ttl', '6'], 'short-ttl peers'),
  ]);
  console.log(`# main peers ready in ${peer.startupMs} ms, short-ttl peers in ${shortPeer.startupMs} ms`);
  const { ready } = peer;

  // --- ready line
  check('ready line has every field', ['fhir_base', 'issuer', 'client_id', 'username', 'password', 'patient', 'control'].every((k) => typeof ready[k] === 'string' && ready[k]), ready);
  check('ready line values', ready.client_id === 'ownrecord-test' && ready.username === 'patient' && ready.password === 'demo-password' && /^http:\/\/127\.0\.0\.1:\d+\/fhir$/.test(ready.fhir_base) && /^http:\/\/127\.0\.0\.1:\d+$/.test(ready.issuer) && ready.control === ready.fhir_base.replace(/\/fhir$/, '/_control'), ready);

  // --- discovery
  const smart = await getJson(`${ready.fhir_base}/.well-known/smart-configuration`);
  check('smart-configuration is served without a token', smart.status === 200, smart);
  peer.smart = smart.body;
  const sc = smart.body;
  check('smart-configuration endpoints', sc.issuer === ready.issuer && [sc.authorization_endpoint, sc.token_endpoint, sc.revocation_endpoint, sc.introspection_endpoint].every((u) => typeof u === 'string' && u.startsWith(ready.issuer)), sc);
  check('smart-configuration PKCE S256 only', JSON.stringify(sc.code_challenge_methods_supported) === '["S256"]', sc.code_challenge_methods_supported);
  const caps = ['launch-standalone', 'client-public', 'context-standalone-patient', 'permission-patient', 'permission-offline', 'permission-v2', 'sso-openid-connect'];
  check('smart-configuration capabilities', caps.every((c) => sc.capabilities?.includes(c)), sc.capabilities);
  check('smart-configuration grant/response types and scopes', sc.grant_types_supported?.includes('authorization_code') && sc.grant_types_supported?.includes('refresh_token') && sc.response_types_supported?.includes('code') && sc.scopes_supported?.includes('patient/*.rs'), sc);
  const shortSmart = await getJson(`${shortPeer.ready.fhir_base}/.well-known/smart-configuration`);
  shortPeer.smart = shortSmart.body;

  const meta = await getJson(`${ready.fhir_base}/metadata`);
  check('metadata is a CapabilityStatement served without a token', meta.status === 200 && meta.body.resourceType === 'CapabilityStatement' && /application\/fhir\+json/.test(meta.headers.get('content-type')), meta.status);
  const oauthUris = meta.body.rest?.[0]?.security?.extension?.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  const uri = (n) => oauthUris?.extension?.find((e) => e.url === n)?.valueUri;
  check('metadata has SMART oauth-uris', uri('authorize') === sc.authorization_endpoint && uri('token') === sc.token_endpoint && uri('revoke') === sc.revocation_endpoint, oauthUris);

  const oidc = await getJson(`${ready.issuer}/.well-known/openid-configuration`);
  check('issuer serves OpenID discovery', oidc.status === 200 && oidc.body.issuer === ready.issuer && oidc.body.authorization_endpoint === sc.authorization_endpoint, oidc.body);

  // --- no token
  const anon = await getJson(`${ready.fhir_base}/Patient/${ready.patient}`);
  check('FHIR read without a token -> 401 OperationOutcome', anon.status === 401 && anon.body.resourceType === 'OperationOutcome' && /Bearer/.test(anon.headers.get('www-authenticate') ?? ''), anon);
  const junk = await getJson(`${ready.fhir_base}/Patient/${ready.patient}`, { token: 'not-a-token' });
  check('FHIR read with a bogus token -> 401', junk.status === 401 && junk.body.resourceType === 'OperationOutcome', junk);

  // --- authorization request errors (redirected to the client, or shown by the server)
  for (const [name, overrides, expected] of [
    ['no code_challenge', { code_challenge: null, code_challenge_method: null }, 'invalid_request'],
    ['code_challenge_method=plain', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['aud is another server', { aud: 'http://127.0.0.1:1/fhir' }, 'invalid_request'],
    ['no aud', { aud: null }, 'invalid_request'],
  ]) {
    const start = authorizationUrl(peer, overrides);
    const res = await http(start.url);
    const loc = res.headers.get('location');
    const cb = loc ? new URL(loc, start.url) : undefined;
    check(`authorization request with ${name} is refused (${expected})`, [302, 303].includes(res.status) && cb?.pathname === '/callback' && cb.searchParams.get('error') === expected && cb.searchParams.get('state') === start.state, { status: res.status, location: loc });
  }
  {
    const start = authorizationUrl(peer, { redirect_uri: 'http://evil.example/callback' });
    const res = await http(start.url);
    check('unregistered redirect_uri -> error page, no redirect', res.status === 400 && !res.headers.get('location'), res.status);
  }
  {
    const start = authorizationUrl(peer, { redirect_uri: 'http://[::1]:43210/callback' });
    const res = await http(start.url);
    check('redirect_uri http://[::1]:PORT/callback is accepted', [302, 303].includes(res.status) && /\/interaction\//.test(res.headers.get('location') ?? ''), { status: res.status, location: res.headers.get('location') });
  }

  // --- browser leg, allow
  const leg = await browserLeg(peer, { password: 'wrong-password' });
  const loginForm = leg.seen.forms.find((f) => f.id === 'login');
  const consentForm = leg.seen.forms.find((f) => f.id === 'consent');
  check('login form: POST /interaction/{uid}/login with fields login, password', loginForm?.method === 'post' && /^\/interaction\/[^/]+\/login$/.test(loginForm.action) && ['login', 'password'].every((n) => loginForm.fields.some((f) => f.name === n)), loginForm);
  check('wrong password -> 401 and the login form again', leg.seen.badLogin?.status === 401 && /name="password"/.test(leg.seen.badLogin.text), leg.seen.badLogin?.status);
  check('consent form: POST /interaction/{uid}/confirm with decision=allow|deny', consentForm?.method === 'post' && /^\/interaction\/[^/]+\/confirm$/.test(consentForm.action) && consentForm.fields.some((f) => f.name === 'decision' && f.value === 'deny'), consentForm);
  check('callback redirect carries code, state and iss', leg.callback.searchParams.get('code') && leg.callback.searchParams.get('state') === leg.state && leg.callback.searchParams.get('iss') === ready.issuer && leg.callback.origin === new URL(leg.redirectUri).origin, leg.callback.href);
  console.log(`# browser leg: ${leg.seen.redirects.map((r) => `${r.status} ${new URL(r.location).pathname}`).join(' -> ')}`);

  const again = await browserLeg(peer, { jar: leg.jar });
  check('with the session cookie kept, a second authorization shows only the consent form', again.seen.forms.map((f) => f.id).join() === 'consent' && again.callback.searchParams.get('code'), again.seen.forms.map((f) => f.id));
  const silent = await browserLeg(peer, { jar: leg.jar, overrides: { scope: 'openid fhirUser launch/patient patient/*.rs' } });
  check('with the session kept, no offline_access and everything granted before: still the consent form (native client)', silent.seen.forms.map((f) => f.id).join() === 'consent' && silent.callback.searchParams.get('code'), silent.seen.forms.map((f) => f.id));

  // --- code exchange
  const code = leg.callback.searchParams.get('code');
  const badVerifier = await tokenRequest(peer, { grant_type: 'authorization_code', code, redirect_uri: leg.redirectUri, code_verifier: pkce().verifier });
  check('code exchange with the wrong code_verifier -> invalid_grant', badVerifier.status === 400 && badVerifier.body.error === 'invalid_grant', badVerifier.body);
  // the failed attempt above does not consume... or does: start over if it did
  let tokenLeg = leg;
  let tok = await tokenRequest(peer, { grant_type: 'authorization_code', code, redirect_uri: leg.redirectUri, code_verifier: leg.verifier });
  if (tok.status !== 200) {
    console.log(`# (the failed PKCE attempt consumed the code: ${JSON.stringify(tok.body)}; running the browser leg again)`);
    tokenLeg = await browserLeg(peer);
    tok = await tokenRequest(peer, { grant_type: 'authorization_code', code: tokenLeg.callback.searchParams.get('code'), redirect_uri: tokenLeg.redirectUri, code_verifier: tokenLeg.verifier });
  }
  check('code exchange -> 200', tok.status === 200, tok.body);
  const t1 = tok.body;
  check('token response: access_token, refresh_token, id_token, Bearer, expires_in', t1.access_token && t1.refresh_token && t1.id_token && t1.token_type === 'Bearer' && t1.expires_in > 0, t1);
  check('token response: patient = ready.patient', t1.patient === ready.patient, t1.patient);
  const granted = new Set(t1.scope?.split(' '));
  check('token response: scope lists every granted scope', SCOPE.split(' ').every((s) => granted.has(s)), t1.scope);
  const idt = decodeJwt(t1.id_token);
  check('id_token: iss, aud, fhirUser', idt.iss === ready.issuer && idt.aud === ready.client_id && idt.fhirUser === `${ready.fhir_base}/Patient/${ready.patient}`, idt);

  const intro = await getJson(sc.introspection_endpoint, { method: 'POST', form: { client_id: ready.client_id, token: t1.access_token } });
  const elide = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' && v.length > 40 && k !== 'scope' ? `${v.slice(0, 8)}…` : v]));
  console.log(`# token response: ${JSON.stringify(elide(t1))}`);
  console.log(`# introspection: ${JSON.stringify(elide(intro.body))}`);
  check('introspection: active, aud = FHIR base, patient', intro.status === 200 && intro.body.active === true && [].concat(intro.body.aud).includes(ready.fhir_base) && intro.body.patient === ready.patient, intro.body);

  // --- FHIR reads
  const token = t1.access_token;
  const pat = await getJson(`${ready.fhir_base}/Patient/${ready.patient}`, { token });
  check('GET Patient/{id} -> 200 application/fhir+json', pat.status === 200 && pat.body.resourceType === 'Patient' && pat.body.id === ready.patient && /application\/fhir\+json/.test(pat.headers.get('content-type')), pat.status);
  const byId = await getJson(`${ready.fhir_base}/Patient?_id=${ready.patient}`, { token });
  check('GET Patient?_id= -> searchset with that one Patient', byId.body.resourceType === 'Bundle' && byId.body.type === 'searchset' && byId.body.total === 1 && byId.body.entry?.[0]?.resource?.id === ready.patient && byId.body.entry[0].fullUrl === `${ready.fhir_base}/Patient/${ready.patient}`, byId.body);
  const hist = await getJson(`${ready.fhir_base}/Patient/${ready.patient}/_history`, { token });
  check('GET Patient/{id}/_history -> history Bundle', hist.status === 200 && hist.body.type === 'history' && hist.body.entry?.length >= 1, hist.status);
  const missing = await getJson(`${ready.fhir_base}/Observation/does-not-exist`, { token });
  check('GET unknown id -> 404 OperationOutcome', missing.status === 404 && missing.body.resourceType === 'OperationOutcome', missing);
  const badParam = await getJson(`${ready.fhir_base}/Observation?no-such-param=1`, { token });
  check('unknown search parameter -> 400 OperationOutcome', badParam.status === 400 && badParam.body.resourceType === 'OperationOutcome', badParam);

  // --- ground truth vs. paged download
  const truth = await getJson(`${ready.control}/patient-resources?patient=${ready.patient}`);
  check('control: patient-resources', truth.status === 200 && Array.isArray(truth.body) && truth.body.some((r) => r.resourceType === 'Patient' && r.id === ready.patient) && truth.body.every((r) => r.resourceType && r.id && r.lastUpdated), truth.status);
  const truthTypes = [...new Set(truth.body.map((r) => r.resourceType))].filter((t) => t !== 'Patient');
  const downloaded = new Set([`Patient/${ready.patient}`]);
  let totalPages = 0;
  for (const type of truthTypes) {
    const { entries, pages } = await fetchAllPages(`${ready.fhir_base}/${type}?patient=${ready.patient}`, token);
    totalPages += pages;
    for (const e of entries) downloaded.add(`${e.resource.resourceType}/${e.resource.id}`);
  }
  const expected = new Set(truth.body.map((r) => `${r.resourceType}/${r.id}`));
  const extra = [...downloaded].filter((k) => !expected.has(k));
  const lacking = [...expected].filter((k) => !downloaded.has(k));
  check(`{Type}?patient= over ${truthTypes.length} types, ${totalPages} pages, equals the ground truth (${expected.size} resources)`, extra.length === 0 && lacking.length === 0, { extra: extra.slice(0, 5), lacking: lacking.slice(0, 5) });

  const obsTruth = truth.body.filter((r) => r.resourceType === 'Observation').length;
  const firstPage = await getJson(`${ready.fhir_base}/Observation?patient=${ready.patient}`, { token });
  const next = firstPage.body.link?.find((l) => l.relation === 'next')?.url;
  const self = firstPage.body.link?.find((l) => l.relation === 'self')?.url;
  check('default page size is 10 with absolute self/next links', firstPage.body.entry?.length === Math.min(10, obsTruth) && firstPage.body.total === obsTruth && self?.startsWith(`${ready.fhir_base}/Observation?`) && (obsTruth <= 10 || next?.startsWith(`${ready.fhir_base}/Observation?`)), firstPage.body.link);
  const paged = await fetchAllPages(`${ready.fhir_base}/Observation?subject=Patient/${ready.patient}&_count=7`, token);
  check('subject= with _count=7 pages through everything', paged.entries.length === obsTruth && paged.pages === Math.max(1, Math.ceil(obsTruth / 7)), { got: paged.entries.length, pages: paged.pages, obsTruth });
  const offset = await getJson(`${ready.fhir_base}/Observation?patient=${ready.patient}&_count=5&_offset=5`, { token });
  check('_offset skips', offset.body.entry?.[0]?.resource?.id === paged.entries[5]?.resource?.id, offset.body.link);
  const lab = await fetchAllPages(`${ready.fhir_base}/Observation?patient=${ready.patient}&category=laboratory&_count=50`, token);
  check('category=laboratory filters', lab.entries.length > 0 && lab.entries.length < obsTruth && lab.entries.every((e) => JSON.stringify(e.resource.category).includes('laboratory')), lab.entries.length);
  const future = await getJson(`${ready.fhir_base}/Observation?patient=${ready.patient}&_lastUpdated=gt2999-01-01`, { token });
  check('_lastUpdated=gt<future> -> empty searchset', future.status === 200 && future.body.total === 0 && !future.body.entry, future.body);
  const past = await getJson(`${ready.fhir_base}/Observation?patient=${ready.patient}&_lastUpdated=gt2000-01-01T00:00:00Z&_count=1`, { token });
  check('_lastUpdated=gt<past> -> everything', past.status === 200 && past.body.total === obsTruth, past.body.total);

  // Incremental sync: a resource written after the first sync shows up with _lastUpdated=gt.
  const since = new Date().toISOString();
  await sleep(5);
  const newObs = await getJson(`${ready.control}/resource`, {
    method: 'POST',
    json: { resourceType: 'Observation', status: 'final', code: { text: 'added by selfcheck' }, subject: { reference: `Patient/${ready.patient}` } },
  });
  check('control: POST resource creates it', newObs.status === 200 && newObs.body.id && newObs.body.meta?.lastUpdated > since, newObs.body);
  const delta = await getJson(`${ready.fhir_base}/Observation?patient=${ready.patient}&_lastUpdated=gt${encodeURIComponent(since)}`, { token });
  check('_lastUpdated=gt<since> returns only the new resource', delta.body.total === 1 && delta.body.entry[0].resource.id === newObs.body.id, delta.body);

  // --- Binary (none in the Synthea data; add one)
  const bin = await getJson(`${ready.control}/resource`, { method: 'POST', json: { resourceType: 'Binary', contentType: 'text/plain', data: Buffer.from('hello binary').toString('base64') } });
  const binJson = await getJson(`${ready.fhir_base}/Binary/${bin.body.id}`, { token, headers: { accept: 'application/fhir+json' } });
  const binRaw = await http(`${ready.fhir_base}/Binary/${bin.body.id}`, { token, headers: { accept: '*/*' } });
  const rawText = await binRaw.text();
  check('GET Binary/{id}: JSON with Accept fhir+json, raw bytes otherwise', binJson.status === 200 && binJson.body.resourceType === 'Binary' && binRaw.status === 200 && binRaw.headers.get('content-type') === 'text/plain' && rawText === 'hello binary', { json: binJson.status, raw: binRaw.status, rawText });
  check('reads carry ETag and Last-Modified', /^W\/"/.test(binJson.headers.get('etag') ?? '') && !!binJson.headers.get('last-modified'), Object.fromEntries(binJson.headers));

  // --- faults
  const setFaults = (f) => getJson(`${ready.control}/faults`, { method: 'POST', json: f });
  const target = `${ready.fhir_base}/Patient/${ready.patient}`;
  const fs = await setFaults({ status429: 1, retryAfter: 3, status500: 1, drop: 1, malformed: 1 });
  check('control: POST faults', fs.status === 200 && fs.body.status429 === 1 && fs.body.malformed === 1, fs.body);
  const metaDuring = await getJson(`${ready.fhir_base}/metadata`);
  check('metadata is not affected by faults', metaDuring.status === 200, metaDuring.status);
  const f429 = await getJson(target, { token });
  check('fault 1: 429 with Retry-After', f429.status === 429 && f429.headers.get('retry-after') === '3', f429.status);
  const f500 = await getJson(target, { token });
  check('fault 2: 500', f500.status === 500, f500.status);
  let dropErr;
  try {
    const r = await fetch(target, { headers: { authorization: `Bearer ${token}` } });
    await r.text();
  } catch (err) {
    dropErr = err;
  }
  check('fault 3: connection dropped mid-body', dropErr !== undefined, 'the request completed');
  const fMal = await http(target, { token });
  const malText = await fMal.text();
  let parsed = true;
  try {
    JSON.parse(malText);
  } catch {
    parsed = false;
  }
  check('fault 4: 200 with malformed JSON', fMal.status === 200 && !parsed, { status: fMal.status, body: malText.slice(0, 80) });
  const after = await getJson(target, { token });
  check('after the faults: normal again', after.status === 200 && after.body.id === ready.patient, after.status);
  const remaining = await getJson(`${ready.control}/faults`);
  check('control: GET faults shows zeros', ['status429', 'status500', 'drop', 'malformed'].every((k) => remaining.body[k] === 0), remaining.body);

  // --- refresh rotation
  const r1 = await tokenRequest(peer, { grant_type: 'refresh_token', refresh_token: t1.refresh_token });
  check('refresh -> new access and refresh token, patient and scope kept', r1.status === 200 && r1.body.access_token && r1.body.refresh_token && r1.body.refresh_token !== t1.refresh_token && r1.body.patient === ready.patient && SCOPE.split(' ').every((x) => r1.body.scope?.split(' ').includes(x)), r1.body);
  const reused = await tokenRequest(peer, { grant_type: 'refresh_token', refresh_token: t1.refresh_token });
  check('old refresh token no longer works (rotation)', reused.status === 400 && reused.body.error === 'invalid_grant', reused.body);
  // oidc-provider treats reuse of a rotated refresh token as theft and revokes the grant; log in again.
  const fresh = await fullLogin(peer);
  const t2 = fresh.token;
  const r2 = await tokenRequest(peer, { grant_type: 'refresh_token', refresh_token: t2.refresh_token });
  check('refresh after a new login', r2.status === 200 && r2.body.refresh_token !== t2.refresh_token, r2.body);
  const withNew = await getJson(target, { token: r2.body.access_token });
  check('refreshed access token works at the FHIR server', withNew.status === 200, withNew.status);

  // --- revocation (RFC 7009)
  const rev = await http(sc.revocation_endpoint, { method: 'POST', form: { client_id: ready.client_id, token: r2.body.refresh_token, token_type_hint: 'refresh_token' } });
  check('revocation endpoint -> 200', rev.status === 200, rev.status);
  const afterRev = await tokenRequest(peer, { grant_type: 'refresh_token', refresh_token: r2.body.refresh_token });
  check('revoked refresh token -> invalid_grant', afterRev.status === 400 && afterRev.body.error === 'invalid_grant', afterRev.body);
  const atAfterRev = await getJson(target, { token: r2.body.access_token });
  check('access token of the revoked grant -> 401', atAfterRev.status === 401, atAfterRev.status);

  // --- authorization code reuse (oidc-provider also revokes what the code produced)
  const once = await fullLogin(peer);
  const reuse = await tokenRequest(peer, { grant_type: 'authorization_code', code: once.leg.callback.searchParams.get('code'), redirect_uri: once.leg.redirectUri, code_verifier: once.leg.verifier });
  check('authorization code is single-use', reuse.status === 400 && reuse.body.error === 'invalid_grant', reuse.body);
  const atAfterReuse = await getJson(target, { token: once.token.access_token });
  check('code reuse revokes the tokens it produced', atAfterReuse.status === 401, atAfterReuse.status);

  // --- revoke-all
  const t3 = (await fullLogin(peer)).token;
  const ra = await getJson(`${ready.control}/revoke-all`, { method: 'POST' });
  check('control: revoke-all', ra.status === 200, ra.body);
  const afterAll = await tokenRequest(peer, { grant_type: 'refresh_token', refresh_token: t3.refresh_token });
  check('after revoke-all: refresh -> invalid_grant', afterAll.status === 400 && afterAll.body.error === 'invalid_grant', afterAll.body);
  const atAfterAll = await getJson(target, { token: t3.access_token });
  check('after revoke-all: access token -> 401', atAfterAll.status === 401, atAfterAll.status);
  const t4 = (await fullLogin(peer)).token;
  await getJson(`${ready.control}/revoke-all`, { method: 'POST', json: { keepAccessTokens: true } });
  const keep1 = await tokenRequest(peer, { grant_type: 'refresh_token', refresh_token: t4.refresh_token });
  const keep2 = await getJson(target, { token: t4.access_token });
  check('revoke-all {keepAccessTokens:true}: refresh fails, access token still works', keep1.body.error === 'invalid_grant' && keep2.status === 200, { refresh: keep1.body, fhir: keep2.status });

  // --- deny
  const denied = await browserLeg(peer, { decision: 'deny' });
  check('consent denied -> callback with error=access_denied, error_description, state', denied.callback.searchParams.get('error') === 'access_denied' && denied.callback.searchParams.get('error_description') && denied.callback.searchParams.get('state') === denied.state && !denied.callback.searchParams.get('code'), denied.callback.href);

  const cancelled = await browserLeg(peer, { decision: 'cancel-login' });
  check('login cancelled (decision=deny on the login form) -> error=access_denied', cancelled.callback.searchParams.get('error') === 'access_denied' && cancelled.seen.forms.length === 1, cancelled.callback.href);

  // --- scopes narrower than the request
  const narrow = await browserLeg(peer, { overrides: { scope: 'launch/patient patient/Observation.rs made-up/scope' } });
  const nt = await tokenRequest(peer, { grant_type: 'authorization_code', code: narrow.callback.searchParams.get('code'), redirect_uri: narrow.redirectUri, code_verifier: narrow.verifier });
  check('per-type scope: no refresh token without offline_access; unknown scope dropped', nt.status === 200 && !nt.body.refresh_token && nt.body.scope.split(' ').includes('patient/Observation.rs') && !nt.body.scope.includes('made-up') && nt.body.patient === ready.patient, nt.body);
  const obsOk = await getJson(`${ready.fhir_base}/Observation?patient=${ready.patient}&_count=1`, { token: nt.body.access_token });
  const condNo = await getJson(`${ready.fhir_base}/Condition?patient=${ready.patient}`, { token: nt.body.access_token });
  check('patient/Observation.rs allows Observation search, not Condition (403)', obsOk.status === 200 && condNo.status === 403, { obs: obsOk.status, cond: condNo.status });

  // --- expiry (second instance: access tokens live 2 s, refresh tokens 6 s)
  const sl = await fullLogin(shortPeer);
  const sTarget = `${shortPeer.ready.fhir_base}/Patient/${shortPeer.ready.patient}`;
  const fresh1 = await getJson(sTarget, { token: sl.token.access_token });
  check('short-ttl peers: expires_in honours --access-token-ttl', sl.token.expires_in <= 2 && fresh1.status === 200, { expires_in: sl.token.expires_in, status: fresh1.status });
  await sleep(3100);
  const expired = await getJson(sTarget, { token: sl.token.access_token });
  check('expired access token -> 401', expired.status === 401 && expired.body.resourceType === 'OperationOutcome', expired.body);
  const sr = await tokenRequest(shortPeer, { grant_type: 'refresh_token', refresh_token: sl.token.refresh_token });
  check('refresh before refresh-token expiry works', sr.status === 200, sr.body);
  await sleep(6100);
  const sr2 = await tokenRequest(shortPeer, { grant_type: 'refresh_token', refresh_token: sr.body.refresh_token });
  check('expired refresh token -> invalid_grant', sr2.status === 400 && sr2.body.error === 'invalid_grant', sr2.body);

  // --- request counter and other control endpoints
  const reqs = await getJson(`${ready.control}/requests`);
  check('control: requests counts /fhir requests', reqs.status === 200 && reqs.body.total > totalPages && reqs.body.faults === 4, { total: reqs.body.total, faults: reqs.body.faults });
  const pts = await getJson(`${ready.control}/patients`);
  check('control: patients lists the loaded patients, first = ready.patient', pts.body[0]?.id === ready.patient && (!args.patients || pts.body.length === Number(args.patients)), pts.body.length);

  // --- clean shutdown; nothing else on stdout
  const code1 = await stopPeers(peer);
  const code2 = await stopPeers(shortPeer);
  check('SIGTERM -> exit 0', code1 === 0 && code2 === 0, { code1, code2 });
  check('stdout carried exactly one line', peer.stdoutRef().split('\n').filter(Boolean).length === 1, peer.stdoutRef());
}

try {
  await run();
} catch (err) {
  if (!(err instanceof CheckFailed)) {
    failed++;
    console.log(`not ok ${passed + failed} - unexpected error: ${err.stack ?? err}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
process.exit(failed === 0 ? 0 : 1);
