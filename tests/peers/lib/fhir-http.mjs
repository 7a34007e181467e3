// The FHIR server's HTTP face (a thin node:http wrapper around @medplum/fhir-router) and
// the test-only control endpoints on the same port.

import crypto from 'node:crypto';
import { getSearchParameters, getStatus, isResourceType, normalizeOperationOutcome } from '@medplum/core';
import { revokeAll } from './store.mjs';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const MAX_COUNT = 1000;

/** Search result parameters handled by the router itself rather than as filters. */
const RESULT_PARAMS = new Set([
  '_count', '_offset', '_sort', '_include', '_revinclude', '_summary', '_elements', '_fields', '_total', '_format', '_pretty',
]);

function outcome(severity, code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] };
}

function jsonBody(value) {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function readBody(req, limit = 10 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isLoopback(address) {
  return address === '::1' || /^(::ffff:)?127\./.test(address ?? '');
}

/** Does any granted SMART scope allow `interaction` ('read' | 'search') on `type`? */
export function scopeAllows(scopes, type, interaction) {
  for (const scope of scopes) {
    const m = /^(patient|user|system)\/(\*|[A-Za-z]+)\.(\*|read|write|[cruds]+)(\?.*)?$/.exec(scope);
    if (!m) continue;
    if (m[2] !== '*' && m[2] !== type) continue;
    const perm = m[3];
    if (perm === '*' || perm === 'read') return true;
    if (perm === 'write') continue;
    if (interaction === 'read' && perm.includes('r')) return true;
    if (interaction === 'search' && perm.includes('s')) return true;
  }
  return false;
}

/** Fault injection counters for POST /_control/faults. */
export class Faults {
  constructor() {
    this.reset();
  }

  reset() {
    this.status429 = 0;
    this.retryAfter = 1;
    this.status500 = 0;
    this.drop = 0;
    this.malformed = 0;
  }

  set(config) {
    const int = (v, name) => {
      if (v === undefined || v === null) return 0;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
      return n;
    };
    const next = {
      status429: int(config.status429, 'status429'),
      retryAfter: config.retryAfter === undefined ? 1 : int(config.retryAfter, 'retryAfter'),
      status500: int(config.status500, 'status500'),
      drop: int(config.drop, 'drop'),
      malformed: int(config.malformed, 'malformed'),
    };
    Object.assign(this, next);
  }

  /** Takes one fault for the current request, in order of precedence, or undefined. */
  take() {
    for (const kind of ['status429', 'status500', 'drop', 'malformed']) {
      if (this[kind] > 0) {
        this[kind]--;
        return kind;
      }
    }
    return undefined;
  }

  /** Puts back a fault that a request could not carry (a body fault on an answer without a body). */
  giveBack(kind) {
    this[kind]++;
  }

  toJSON() {
    const { status429, retryAfter, status500, drop, malformed } = this;
    return { status429, retryAfter, status500, drop, malformed };
  }
}

/**
 * @param {object} o
 * @param {import('./fhir.mjs').FhirStore} o.store
 * @param {string} o.fhirBase            absolute base, e.g. http://127.0.0.1:PORT/fhir
 * @param {number} o.pageSize            default _count
 * @param {(token: string) => Promise<object>} o.validateAccessToken
 * @param {object} o.smartConfiguration  body of /.well-known/smart-configuration
 * @param {object} o.oauthUris           { authorize, token, revoke, introspect }
 * @param {() => any} [o.onRevokeAll]
 */
export function createFhirHandler({ store, fhirBase, pageSize, validateAccessToken, smartConfiguration, oauthUris }) {
  const origin = new URL(fhirBase).origin;
  const basePath = new URL(fhirBase).pathname.replace(/\/+$/, ''); // "/fhir"
  const faults = new Faults();
  const stats = { total: 0, byStatus: {}, faults: 0, log: [] };
  const startedAt = new Date().toISOString();

  function record(req, url, status, fault) {
    stats.total++;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (fault) stats.faults++;
    stats.log.push({ method: req.method, url: url.pathname + url.search, status, ...(fault ? { fault } : {}) });
    if (stats.log.length > 1000) stats.log.shift();
  }

  function capabilityStatement() {
    const resource = [...store.types].sort().map((type) => ({
      type,
      interaction: [{ code: 'read' }, { code: 'search-type' }],
      searchParam: Object.values(getSearchParameters(type) ?? {})
        .map((sp) => ({ name: sp.code, type: sp.type }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }));
    return {
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: startedAt,
      kind: 'instance',
      software: { name: 'OwnRecord SMART test peer (@medplum/fhir-router, in-memory)' },
      implementation: { description: 'Loopback FHIR R4 server for OwnRecord end-to-end tests', url: fhirBase },
      fhirVersion: '4.0.1',
      format: ['application/fhir+json', 'json'],
      rest: [
        {
          mode: 'server',
          security: {
            cors: false,
            service: [
              {
                coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }],
                text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
              },
            ],
            extension: [
              {
                url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
                extension: [
                  { url: 'authorize', valueUri: oauthUris.authorize },
                  { url: 'token', valueUri: oauthUris.token },
                  { url: 'revoke', valueUri: oauthUris.revoke },
                  { url: 'introspect', valueUri: oauthUris.introspect },
                ],
              },
            ],
          },
          resource,
        },
      ],
    };
  }

  function fhirResponse(status, body, headers = {}) {
    return { status, headers: { 'content-type': FHIR_JSON, ...headers }, body: jsonBody(body) };
  }

  function problem(status, code, text, headers) {
    return fhirResponse(status, outcome('error', code, text), headers);
  }

  function pageUrl(type, params, offset, count) {
    const q = new URLSearchParams(params);
    q.delete('_offset');
    q.set('_count', String(count));
    if (offset > 0) q.set('_offset', String(offset));
    return `${fhirBase}/${type}?${q}`;
  }

  /** Handles one authenticated-or-not FHIR GET; returns { status, headers, body }. */
  async function serveFhir(req, url, rel) {
    const auth = await validateAccessToken(/^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim());
    if (!auth.ok) {
      return problem(401, 'login', `Unauthorized: ${auth.error}`, {
        'www-authenticate': `Bearer realm="fhir", error="invalid_token", error_description="${auth.error}"`,
      });
    }

    const segments = rel.split('/').filter(Boolean).map(decodeURIComponent);
    const type = segments[0];
    if (!type) return problem(400, 'not-supported', 'System-level search is not supported; use [base]/{Type}?...');
    if (!isResourceType(type)) return problem(404, 'not-found', `Unknown resource type ${type}`);
    if (segments.length > 2 && segments[2] !== '_history') return problem(404, 'not-found', `Unsupported path ${rel}`);
    const interaction = segments.length === 1 ? 'search' : 'read';
    if (!scopeAllows(auth.scopes, type, interaction)) {
      return problem(403, 'forbidden', `Insufficient scope: the access token does not allow ${interaction} on ${type}`);
    }

    let search = url.search;
    let offset = 0;
    let count = pageSize;
    if (interaction === 'search') {
      const known = getSearchParameters(type) ?? {};
      for (const key of url.searchParams.keys()) {
        const name = key.split(':')[0];
        if (RESULT_PARAMS.has(name) || name === '_has' || name.includes('.')) continue;
        if (!known[name]) return problem(400, 'not-supported', `Unknown search parameter "${key}" for ${type}`);
      }
      const params = new URLSearchParams(url.searchParams);
      if (params.has('_count')) {
        count = Number(params.get('_count'));
        if (!Number.isInteger(count) || count < 0) return problem(400, 'invalid', '_count must be a non-negative integer');
        count = Math.min(count, MAX_COUNT);
      }
      if (params.has('_offset')) {
        offset = Number(params.get('_offset'));
        if (!Number.isInteger(offset) || offset < 0) return problem(400, 'invalid', '_offset must be a non-negative integer');
      }
      params.set('_count', String(count));
      search = `?${params}`;
    }

    const [result, resource] = await store.router.handleRequest(
      { method: 'GET', url: `/${segments.map(encodeURIComponent).join('/')}${search}`, pathname: '', params: {}, query: {}, body: undefined, headers: req.headers },
      store.repo,
    );
    const status = getStatus(result);
    if (!resource) return fhirResponse(status, result);

    if (resource.resourceType === 'Bundle' && resource.type === 'searchset') {
      const total = resource.total ?? 0;
      const link = [{ relation: 'self', url: pageUrl(type, url.searchParams, offset, count) }];
      link.push({ relation: 'first', url: pageUrl(type, url.searchParams, 0, count) });
      if (offset > 0) link.push({ relation: 'previous', url: pageUrl(type, url.searchParams, Math.max(0, offset - count), count) });
      if (count > 0 && offset + count < total) link.push({ relation: 'next', url: pageUrl(type, url.searchParams, offset + count, count) });
      const entry = (resource.entry ?? []).map((e) => ({
        fullUrl: e.resource ? `${fhirBase}/${e.resource.resourceType}/${e.resource.id}` : undefined,
        ...e,
      }));
      const bundle = {
        resourceType: 'Bundle',
        id: crypto.randomUUID(),
        meta: { lastUpdated: new Date().toISOString() },
        type: 'searchset',
        total,
        link,
        ...(entry.length ? { entry } : {}),
      };
      return fhirResponse(status, bundle);
    }

    const headers = {};
    if (resource.meta?.versionId) headers.etag = `W/"${resource.meta.versionId}"`;
    if (resource.meta?.lastUpdated) headers['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    if (resource.resourceType === 'Binary' && !/json/.test(String(req.headers.accept ?? ''))) {
      return {
        status,
        headers: { ...headers, 'content-type': resource.contentType ?? 'application/octet-stream' },
        body: Buffer.from(resource.data ?? '', 'base64'),
      };
    }
    return fhirResponse(status, resource, headers);
  }

  function send(res, { status, headers, body }, head) {
    res.writeHead(status, { ...headers, 'content-length': body.length });
    res.end(head ? undefined : body);
  }

  async function handleFhir(req, res, url) {
    const rel = url.pathname.slice(basePath.length).replace(/^\/+/, '');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const r = problem(405, 'not-supported', 'This test server is read-only: only GET is supported under /fhir', { allow: 'GET, HEAD' });
      record(req, url, r.status);
      return send(res, r);
    }
    const head = req.method === 'HEAD';
    if (rel === 'metadata') {
      const r = fhirResponse(200, capabilityStatement());
      record(req, url, r.status);
      return send(res, r, head);
    }
    if (rel === '.well-known/smart-configuration') {
      const r = { status: 200, headers: { 'content-type': 'application/json' }, body: jsonBody(smartConfiguration) };
      record(req, url, r.status);
      return send(res, r, head);
    }

    const fault = faults.take();
    if (fault === 'status429') {
      record(req, url, 429, fault);
      return send(res, problem(429, 'throttled', 'Too many requests (injected fault)', { 'retry-after': String(faults.retryAfter) }), head);
    }
    if (fault === 'status500') {
      record(req, url, 500, fault);
      return send(res, problem(500, 'exception', 'Internal server error (injected fault)'), head);
    }

    let r;
    try {
      r = await serveFhir(req, url, rel);
    } catch (err) {
      r = fhirResponse(500, normalizeOperationOutcome(err));
    }
    // A body fault only means something on a successful answer: a client reads no body of a 401
    // (it renews its token) or a 404, so such an answer is sent as it is and the fault waits.
    let bodyFault = fault;
    if ((fault === 'drop' || fault === 'malformed') && (r.status < 200 || r.status > 299)) {
      faults.giveBack(fault);
      bodyFault = undefined;
    }
    record(req, url, r.status, bodyFault);

    if (bodyFault === 'drop') {
      // Promise the whole body, send part of it, then cut the connection.
      res.writeHead(r.status, { ...r.headers, 'content-length': r.body.length });
      const part = r.body.subarray(0, Math.max(1, Math.floor(r.body.length / 2)));
      res.write(part, () => res.socket?.destroy());
      return;
    }
    if (bodyFault === 'malformed') {
      const cut = r.body.subarray(0, Math.max(1, Math.floor(r.body.length / 2)));
      return send(res, { status: 200, headers: { 'content-type': FHIR_JSON }, body: cut }, head);
    }
    return send(res, r, head);
  }

  function controlJson(res, status, value) {
    const body = jsonBody(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(body);
  }

  async function handleControl(req, res, url) {
    if (!isLoopback(req.socket.remoteAddress)) return controlJson(res, 403, { error: 'control endpoints are loopback-only' });
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    try {
      switch (route) {
        case 'GET /_control/health':
          return controlJson(res, 200, { ok: true });
        case 'GET /_control/faults':
          return controlJson(res, 200, faults.toJSON());
        case 'POST /_control/faults': {
          const text = await readBody(req);
          faults.set(text.trim() ? JSON.parse(text) : {});
          return controlJson(res, 200, faults.toJSON());
        }
        case 'GET /_control/patient-resources': {
          const patient = url.searchParams.get('patient');
          if (!patient) return controlJson(res, 400, { error: 'patient query parameter is required' });
          const list = await store.patientResources(patient);
          if (!list) return controlJson(res, 404, { error: `no Patient/${patient}` });
          return controlJson(res, 200, list);
        }
        case 'GET /_control/patients':
          return controlJson(res, 200, store.patients);
        case 'POST /_control/revoke-all': {
          const text = await readBody(req);
          const options = text.trim() ? JSON.parse(text) : {};
          return controlJson(res, 200, { revoked: revokeAll({ keepAccessTokens: options.keepAccessTokens === true }) });
        }
        case 'GET /_control/requests':
          return controlJson(res, 200, {
            total: stats.total,
            byStatus: stats.byStatus,
            faults: stats.faults,
            recent: url.searchParams.has('log') ? stats.log : stats.log.slice(-50),
          });
        case 'DELETE /_control/requests':
          stats.total = 0;
          stats.byStatus = {};
          stats.faults = 0;
          stats.log = [];
          return controlJson(res, 200, { total: 0 });
        case 'POST /_control/resource': {
          const stored = await store.put(JSON.parse(await readBody(req)));
          return controlJson(res, 200, stored);
        }
        default:
          return controlJson(res, 404, { error: `no control endpoint ${route}` });
      }
    } catch (err) {
      return controlJson(res, 400, { error: err.message });
    }
  }

  async function handler(req, res) {
    const url = new URL(req.url, origin);
    try {
      if (url.pathname === '/_control' || url.pathname.startsWith('/_control/')) return await handleControl(req, res, url);
      if (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`)) return await handleFhir(req, res, url);
      return send(res, problem(404, 'not-found', `Nothing at ${url.pathname}; the FHIR base is ${fhirBase}`));
    } catch (err) {
      console.error('[fhir] error', err);
      if (!res.headersSent) send(res, fhirResponse(500, normalizeOperationOutcome(err)));
      else res.destroy();
    }
  }

  return { handler, faults, stats };
}
