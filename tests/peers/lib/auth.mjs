// The authorization server: oidc-provider configured as a SMART on FHIR (App Launch 2)
// authorization server with one public native client and one user, plus the small
// login/consent pages that its interactions need.

import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { StoreAdapter } from './store.mjs';

export const CLIENT_ID = 'ownrecord-test';
export const USERNAME = 'patient';
export const PASSWORD = 'demo-password';

export const ROUTES = {
  authorization: '/authorize',
  token: '/token',
  revocation: '/revoke',
  registration: '/register',
  introspection: '/introspect',
  userinfo: '/userinfo',
  jwks: '/jwks',
  end_session: '/logout',
};

/** Scopes that are not about FHIR data (granted as OpenID Connect scopes). */
export const OIDC_SCOPES = ['openid', 'offline_access', 'fhirUser', 'launch/patient', 'profile'];

/** Read-only SMART scopes the FHIR server accepts, v2 (`.rs`, `.r`, `.s`) and v1 (`.read`). */
export function resourceScopes(resourceTypes) {
  const out = [];
  for (const context of ['patient', 'user']) {
    for (const type of ['*', ...resourceTypes]) {
      for (const perm of ['rs', 'r', 's', 'read']) out.push(`${context}/${type}.${perm}`);
    }
  }
  return out;
}

class Markup {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

/** Tagged template that HTML-escapes interpolated values, except nested html`` results and arrays of them. */
function html(strings, ...values) {
  const esc = (v) =>
    String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const render = (v) => (v instanceof Markup ? v.text : Array.isArray(v) ? v.map(render).join('') : esc(v));
  return new Markup(strings.reduce((acc, s, i) => acc + s + (i < values.length ? render(values[i]) : ''), ''));
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}label{display:block;margin:.6em 0}.error{color:#b00}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 64 * 1024) {
        reject(new Error('form body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function sendHtml(res, status, body) {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': buf.length,
    'cache-control': 'no-store',
  });
  res.end(buf);
}

/**
 * Creates the oidc-provider instance and the Node request handler for the auth port.
 *
 * @param {object} o
 * @param {string} o.issuer            e.g. http://127.0.0.1:PORT
 * @param {string} o.fhirBase          the only resource (audience) tokens are issued for
 * @param {string} o.patientId         SMART launch context for the single user
 * @param {string[]} o.resourceTypes   resource types for per-type scopes
 * @param {number} o.accessTokenTtl    seconds
 * @param {number} o.refreshTokenTtl   seconds
 */
export function createAuthServer({ issuer, fhirBase, patientId, resourceTypes, accessTokenTtl, refreshTokenTtl }) {
  const dataScopes = resourceScopes(resourceTypes);
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuer, {
    adapter: StoreAdapter,
    clients: [
      {
        client_id: CLIENT_ID,
        client_name: 'OwnRecord (test client)',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        // RFC 8252 §7.3: for native clients oidc-provider accepts any port on these loopback URIs.
        redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    responseTypes: ['code'],
    pkce: { required: () => true }, // oidc-provider 9 only implements S256
    scopes: OIDC_SCOPES,
    claims: {
      openid: ['sub'],
      fhirUser: ['fhirUser'],
      profile: ['name'],
    },
    conformIdTokenClaims: false, // put fhirUser into the ID token, as SMART clients expect
    extraParams: {
      // SMART: the client names the FHIR server it wants a token for; refuse anything else.
      async aud(ctx, value) {
        if (value === undefined) {
          throw new errors.InvalidRequest('aud is required and must be the FHIR base URL');
        }
        if (value.replace(/\/+$/, '') !== fhirBase) {
          throw new errors.InvalidRequest(`aud ${value} is not a FHIR server this authorization server issues tokens for`);
        }
      },
      launch: null,
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 7591 dynamic client registration (open: no initial access token), where OwnRecord
      // registers this computer's key as it does at Epic.
      registration: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => fhirBase,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => {
          if (indicator.replace(/\/+$/, '') !== fhirBase) throw new errors.InvalidTarget();
          return {
            scope: dataScopes.join(' '),
            audience: fhirBase,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
    // SMART clients ask for offline_access without prompt=consent; the consent page grants it.
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: () => true,
    extraTokenClaims: async (ctx, token) => {
      const scopes = String(token.scope ?? '').split(' ');
      const granted = ctx.oidc.entities.Grant?.getOIDCScope?.().split(' ') ?? [];
      if (scopes.includes('launch/patient') || granted.includes('launch/patient')) return { patient: patientId };
      return undefined;
    },
    ttl: {
      AccessToken: accessTokenTtl,
      RefreshToken: refreshTokenTtl,
      AuthorizationCode: 120,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: Math.max(refreshTokenTtl, 14 * 24 * 3600),
    },
    findAccount: async (ctx, sub) => {
      if (sub !== USERNAME) return undefined;
      return {
        accountId: USERNAME,
        async claims() {
          return { sub: USERNAME, fhirUser: `${fhirBase}/Patient/${patientId}`, name: 'Demo Patient' };
        },
      };
    },
    interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    jwks: { keys: [signingKey] },
    routes: ROUTES,
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page(
        'Authorization error',
        html`<h1>Authorization error</h1><p id="error">${out.error}</p><p id="error_description">${out.error_description}</p>`,
      );
    },
  });

  // SMART launch context in the token response: `patient` (when launch/patient was granted)
  // and a `scope` that lists every granted scope, not only those of the access token.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== ROUTES.token || ctx.status !== 200) return;
    const body = ctx.body;
    if (!body || typeof body !== 'object' || !body.access_token) return;
    const source = ctx.oidc?.entities?.AuthorizationCode ?? ctx.oidc?.entities?.RefreshToken;
    const requested = new Set(String(source?.scope ?? '').split(' ').filter(Boolean));
    const scopes = new Set(String(body.scope ?? '').split(' ').filter(Boolean));
    for (const s of OIDC_SCOPES) if (requested.has(s)) scopes.add(s);
    if (!body.refresh_token) scopes.delete('offline_access');
    body.scope = [...scopes].join(' ');
    if (scopes.has('launch/patient')) body.patient = patientId;
  });

  provider.on('server_error', (ctx, err) => console.error('[auth] server_error', err));

  const callback = provider.callback();

  async function interaction(req, res, url) {
    const m = /^\/interaction\/([^/]+)(?:\/(login|confirm))?$/.exec(url.pathname);
    if (!m) return sendHtml(res, 404, page('Not found', '<h1>Not found</h1>'));
    const [, uid, action] = m;
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      return sendHtml(
        res,
        400,
        page(
          'Interaction not found',
          html`<h1>Interaction not found</h1><p id="error">${err.message}</p><p>The interaction cookies are missing or the interaction expired; start again at the authorization URL.</p>`,
        ),
      );
    }
    if (details.uid !== uid) {
      return sendHtml(res, 400, page('Interaction mismatch', '<h1>Interaction mismatch</h1>'));
    }
    const { prompt, params } = details;

    if (req.method === 'GET' && !action) {
      if (prompt.name === 'login') return sendHtml(res, 200, loginPage(uid, params));
      return sendHtml(res, 200, consentPage(uid, params, details));
    }
    if (req.method !== 'POST' || !action) {
      res.writeHead(405, { allow: 'GET, POST' });
      return res.end();
    }

    const form = await readForm(req);
    if (form.get('decision') === 'deny') {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user denied the authorization request' },
        { mergeWithLastSubmission: false },
      );
    }

    if (action === 'login') {
      if (prompt.name !== 'login') return sendHtml(res, 400, page('Wrong step', '<h1>This interaction is not a login step</h1>'));
      if (form.get('login') !== USERNAME || form.get('password') !== PASSWORD) {
        return sendHtml(res, 401, loginPage(uid, params, 'Wrong username or password.'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: USERNAME } }, { mergeWithLastSubmission: false });
    }

    // action === 'confirm'
    if (prompt.name !== 'consent') return sendHtml(res, 400, page('Wrong step', '<h1>This interaction is not a consent step</h1>'));
    const { accountId } = details.session;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    // Always report the consent: with prompt=consent (see keepOfflineAccess) oidc-provider
    // asks again until this interaction's result carries one, even for an existing grant.
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  function loginPage(uid, params, error) {
    return page(
      'Sign in',
      html`<h1>Sign in to the test patient portal</h1>
<p>Application <b>${params.client_id}</b> wants to access your health record.</p>
${error ? html`<p class="error" id="error">${error}</p>` : html``}
<form id="login" method="post" action="/interaction/${uid}/login">
<label>Username <input type="text" name="login" autocomplete="username" autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit" name="decision" value="allow">Sign in</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>`,
    );
  }

  function consentPage(uid, params, details) {
    const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
    return page(
      'Authorize access',
      html`<h1>Authorize access</h1>
<p>Application <b>${params.client_id}</b> asks for:</p>
<ul id="scopes">${scopes.map((s) => html`<li>${s}</li>`)}</ul>
<form id="consent" method="post" action="/interaction/${uid}/confirm">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
    );
  }

  // OpenID Connect drops offline_access unless the request says prompt=consent; SMART clients
  // never send a prompt. Asking for consent is what this server does anyway, so make it explicit.
  function keepOfflineAccess(params) {
    const scopes = String(params.get('scope') ?? '').split(' ');
    if (scopes.includes('offline_access') && !params.has('prompt')) params.set('prompt', 'consent');
  }

  async function handler(req, res) {
    const url = new URL(req.url, issuer);
    if (url.pathname === ROUTES.authorization) {
      if (req.method === 'GET') {
        keepOfflineAccess(url.searchParams);
        req.url = `${url.pathname}${url.search}`;
      } else if (req.method === 'POST' && /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
        const form = await readForm(req);
        keepOfflineAccess(form);
        req.body = Object.fromEntries(form); // oidc-provider reads an already-parsed body from req.body
      }
    }
    if (url.pathname.startsWith('/interaction/')) {
      try {
        await interaction(req, res, url);
      } catch (err) {
        console.error('[auth] interaction error', err);
        if (!res.headersSent) sendHtml(res, 500, page('Error', html`<h1>Error</h1><p id="error">${err.message}</p>`));
        else res.destroy();
      }
      return;
    }
    return callback(req, res);
  }

  /** Looks an access token up the way an introspection call would, without the HTTP round trip. */
  async function validateAccessToken(token) {
    if (!token) return { error: 'missing bearer token' };
    let at;
    try {
      at = await provider.AccessToken.find(token, { ignoreExpiration: true });
    } catch {
      at = undefined;
    }
    if (!at) return { error: 'access token not recognized (unknown or revoked)' };
    if (at.isExpired) return { error: 'access token expired' };
    const aud = Array.isArray(at.aud) ? at.aud : [at.aud];
    if (!aud.includes(fhirBase)) return { error: 'access token was not issued for this FHIR server' };
    if (at.grantId && !(await provider.Grant.find(at.grantId))) return { error: 'access token grant was revoked' };
    return {
      ok: true,
      scopes: String(at.scope ?? '').split(' ').filter(Boolean),
      patient: at.extra?.patient,
      clientId: at.clientId,
      accountId: at.accountId,
    };
  }

  return { provider, handler, validateAccessToken };
}
