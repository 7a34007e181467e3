#!/usr/bin/env node
// Runs the two third-party peers of OwnRecord's SMART on FHIR client on loopback:
// an OAuth2/OIDC authorization server (oidc-provider) and a FHIR R4 server
// (@medplum/fhir-router over an in-memory repository) loaded with Synthea data.
//
// When both are ready it prints exactly one line of JSON to stdout and keeps running
// until SIGTERM/SIGINT. Everything else goes to stderr. See README.md.

import './lib/compat.mjs'; // must stay first: Node 20 shims for the libraries below

import http from 'node:http';
import { parseArgs } from 'node:util';

// Anything a library prints must not end up on stdout, which carries only the ready line.
// A parent that closes its end of stdout or stderr early must not crash the servers (EPIPE).
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const USAGE = `usage: node smart-peers.mjs --data DIR [--patients N] [--auth-port N] [--fhir-port N]
                     [--page-size N] [--access-token-ttl SECONDS] [--refresh-token-ttl SECONDS]
                     [--exit-on-stdin-close]`;

function fail(message, code = 2) {
  process.stderr.write(`smart-peers: ${message}\n`);
  process.exit(code);
}

function parseCli(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        patients: { type: 'string' },
        'auth-port': { type: 'string', default: '0' },
        'fhir-port': { type: 'string', default: '0' },
        'page-size': { type: 'string', default: '10' },
        'access-token-ttl': { type: 'string', default: '3600' },
        'refresh-token-ttl': { type: 'string', default: '86400' },
        'exit-on-stdin-close': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`${err.message}\n${USAGE}`);
  }
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name, min, max = Number.MAX_SAFE_INTEGER) => {
    const raw = values[name];
    const n = Number(raw);
    if (!/^\d+$/.test(String(raw)) || n < min || n > max) fail(`--${name} must be an integer in [${min}, ${max}], got ${raw}`);
    return n;
  };
  if (!values.data) fail(`--data DIR is required\n${USAGE}`);
  return {
    data: values.data,
    patients: values.patients === undefined ? undefined : int('patients', 1),
    authPort: int('auth-port', 0, 65535),
    fhirPort: int('fhir-port', 0, 65535),
    pageSize: int('page-size', 1, 1000),
    accessTokenTtl: int('access-token-ttl', 1),
    refreshTokenTtl: int('refresh-token-ttl', 1),
    exitOnStdinClose: values['exit-on-stdin-close'],
  };
}

/** Starts a server on 127.0.0.1 that answers 503 until a real handler is installed. */
function listen(port) {
  let current = (req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
    res.end('starting\n');
  };
  const server = http.createServer((req, res) => current(req, res));
  // Keep idle connections longer than typical client pools do (reqwest/hyper: 90 s), so a
  // client never races the server closing a pooled connection; only injected faults drop them.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve({ server, port: server.address().port, setHandler: (h) => (current = h) });
    });
  });
}

async function main() {
  const opts = parseCli(process.argv.slice(2));
  const started = Date.now();

  const [auth, fhir] = await Promise.all([listen(opts.authPort), listen(opts.fhirPort)]).catch((err) =>
    fail(`cannot listen: ${err.message}`, 1),
  );
  const issuer = `http://127.0.0.1:${auth.port}`;
  const fhirOrigin = `http://127.0.0.1:${fhir.port}`;
  const fhirBase = `${fhirOrigin}/fhir`;

  let shuttingDown = false;
  const shutdown = (signal) => {
    if (shuttingDown) return;
    shuttingDown = true;
    process.stderr.write(`smart-peers: ${signal}, shutting down\n`);
    for (const { server } of [auth, fhir]) {
      server.close();
      server.closeAllConnections();
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (opts.exitOnStdinClose) {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin error'));
    process.stdin.resume();
  }

  // Loaded lazily so that the shims above are in place and a bad command line fails fast.
  const { FhirStore } = await import('./lib/fhir.mjs');
  const { createAuthServer, CLIENT_ID, USERNAME, PASSWORD, ROUTES, OIDC_SCOPES } = await import('./lib/auth.mjs');
  const { createFhirHandler } = await import('./lib/fhir-http.mjs');

  const store = new FhirStore();
  await store.load(opts.data, { limit: opts.patients });
  const patientId = store.patients[0].id;
  process.stderr.write(
    `smart-peers: loaded ${store.resourceCount} resources, ${store.patients.length} patients in ${Date.now() - started} ms\n`,
  );

  const resourceTypes = [...store.types].sort();
  const { handler: authHandler, validateAccessToken } = createAuthServer({
    issuer,
    fhirBase,
    patientId,
    resourceTypes,
    accessTokenTtl: opts.accessTokenTtl,
    refreshTokenTtl: opts.refreshTokenTtl,
  });

  const endpoints = {
    authorize: `${issuer}${ROUTES.authorization}`,
    token: `${issuer}${ROUTES.token}`,
    revoke: `${issuer}${ROUTES.revocation}`,
    introspect: `${issuer}${ROUTES.introspection}`,
  };
  const smartConfiguration = {
    issuer,
    jwks_uri: `${issuer}${ROUTES.jwks}`,
    authorization_endpoint: endpoints.authorize,
    token_endpoint: endpoints.token,
    revocation_endpoint: endpoints.revoke,
    introspection_endpoint: endpoints.introspect,
    userinfo_endpoint: `${issuer}${ROUTES.userinfo}`,
    token_endpoint_auth_methods_supported: ['none'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: [...OIDC_SCOPES, 'patient/*.rs', 'patient/*.read', 'user/*.rs', 'user/*.read'],
    capabilities: [
      'launch-standalone',
      'client-public',
      'context-standalone-patient',
      'permission-patient',
      'permission-offline',
      'permission-v2',
      'sso-openid-connect',
    ],
  };
  const { handler: fhirHandler } = createFhirHandler({
    store,
    fhirBase,
    pageSize: opts.pageSize,
    validateAccessToken,
    smartConfiguration,
    oauthUris: endpoints,
  });

  auth.setHandler(authHandler);
  fhir.setHandler(fhirHandler);

  const ready = {
    fhir_base: fhirBase,
    issuer,
    client_id: CLIENT_ID,
    username: USERNAME,
    password: PASSWORD,
    patient: patientId,
    control: `${fhirOrigin}/_control`,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.stderr.write(`smart-peers: ready in ${Date.now() - started} ms (issuer ${issuer}, FHIR ${fhirBase})\n`);
}

main().catch((err) => {
  process.stderr.write(`smart-peers: startup failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
