#!/usr/bin/env node
// Third-party SMART Health Link resolver for OwnRecord tests: resolves and decrypts a link with
// kill-the-clipboard's SHLViewer (over real HTTP, to wherever the link's url points), and decodes
// the same link a second time with @medplum/core's parseSmartHealthLink.
//
//   node tests/peers/shl-resolve.mjs SHLINK [--recipient NAME] [--passcode P]
//
// SHLINK is `shlink:/…` or a viewer URL with a `#shlink:/…` fragment.
// stdout: one line of JSON,
//   {"label":…,"flag":…,"exp":…,"url":…,"files":[{"contentType":…,"content":…}],
//    "medplum_payload":{…},"requests":[…],"errors":[]}
// exit 0 when the link resolves and decrypts and both decoders agree, 1 when not ("errors"
// says why), 2 on a usage error. See README.md, "shl-resolve.mjs".

import './lib/compat.mjs';
import { parseSmartHealthLink } from '@medplum/core';
import { SHLViewer, decryptSHLFile } from 'kill-the-clipboard';

const USAGE = 'usage: node shl-resolve.mjs SHLINK [--recipient NAME] [--passcode P]';
const DEFAULT_RECIPIENT = 'OwnRecord test';
const FETCH_TIMEOUT_MS = 30_000;

function emit(obj, code) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
  process.exitCode = code;
}

function usageError(message) {
  process.stderr.write(`shl-resolve: ${message}\n${USAGE}\n`);
  emit({ error: message }, 2);
}

function parseArgs(argv) {
  const opts = { link: undefined, recipient: DEFAULT_RECIPIENT, passcode: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--recipient' || name === '--passcode') {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`${name} needs a value`);
      opts[name.slice(2)] = value;
    } else if (arg.startsWith('-')) {
      throw new Error(`unknown option ${arg}`);
    } else if (opts.link === undefined) {
      opts.link = arg;
    } else {
      throw new Error('expected exactly one SHLINK argument');
    }
  }
  if (opts.link === undefined) throw new Error('expected exactly one SHLINK argument');
  if (opts.recipient.trim() === '') throw new Error('--recipient must not be empty');
  return opts;
}

function describe(err) {
  const name = err?.name ?? 'Error';
  const code = err?.code ? ` (${err.code})` : '';
  return `${name}${code}: ${err?.message ?? err}`;
}

/** Parsed JSON for JSON content types (and for content that is JSON when there is none). */
function contentValue(contentType, text) {
  const jsonish = contentType === undefined || /json|smart-health-card/i.test(contentType);
  if (jsonish) {
    try {
      return JSON.parse(text);
    } catch {
      // fall through: keep the string
    }
  }
  return text;
}

async function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    usageError(err.message);
    return;
  }

  const out = { label: null, flag: null, exp: null, url: null, files: [], requests: [], errors: [] };

  // Second decoder: @medplum/core only decodes the payload (no HTTP, no decryption).
  let medplumPayload;
  try {
    medplumPayload = parseSmartHealthLink(opts.link);
    out.medplum_payload = medplumPayload;
  } catch (err) {
    out.errors.push(`medplum parseSmartHealthLink: ${describe(err)}`);
  }

  // Every HTTP exchange, with the bodies kept so that the files can be reported exactly as
  // they were served (the library reads each body once; a copy is handed to it).
  const exchanges = [];
  const recordingFetch = async (url, init = {}) => {
    const request = { method: init.method ?? 'GET', url: String(url) };
    out.requests.push(request);
    const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const body = await res.text();
    request.status = res.status;
    request.contentType = res.headers.get('content-type');
    exchanges.push({ ...request, body });
    const nullBody = [101, 204, 205, 304].includes(res.status);
    return new Response(nullBody ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };

  let viewer;
  try {
    viewer = new SHLViewer({ shlinkURI: opts.link, fetch: recordingFetch });
  } catch (err) {
    out.errors.push(`kill-the-clipboard: ${describe(err)}`);
    emit(out, 1);
    return;
  }
  const shl = viewer.shl;
  out.label = shl.label ?? null;
  out.flag = shl.flag ?? null;
  out.exp = shl.exp ?? null;
  out.url = shl.url;

  if (medplumPayload) {
    for (const field of ['url', 'key', 'exp', 'flag', 'label']) {
      const ours = shl.payload[field];
      const theirs = medplumPayload[field];
      if (ours !== theirs) {
        out.errors.push(`decoders disagree on "${field}": kill-the-clipboard ${JSON.stringify(ours)}, medplum ${JSON.stringify(theirs)}`);
      }
    }
  }

  let resolved;
  try {
    resolved = await viewer.resolveSHL({
      recipient: opts.recipient,
      ...(opts.passcode !== undefined && { passcode: opts.passcode }),
    });
  } catch (err) {
    const cause = err?.cause ? ` (cause: ${describe(err.cause)})` : '';
    out.errors.push(`kill-the-clipboard resolveSHL: ${describe(err)}${cause}`);
    emit(out, 1);
    return;
  }

  // resolveSHL succeeded: report each file, in order, as the library decrypted it.
  try {
    const jwes = [];
    if (shl.isDirectFile) {
      jwes.push(exchanges.find((e) => e.method === 'GET')?.body);
    } else {
      for (const file of resolved.manifest.files) {
        if (typeof file.embedded === 'string') jwes.push(file.embedded);
        else jwes.push(exchanges.find((e) => e.method === 'GET' && e.url === file.location)?.body);
      }
    }
    for (const jwe of jwes) {
      if (typeof jwe !== 'string') throw new Error('a resolved file was not among the recorded responses');
      const { content, contentType } = await decryptSHLFile({ jwe, key: shl.key });
      out.files.push({ contentType: contentType ?? null, content: contentValue(contentType, content) });
    }
  } catch (err) {
    out.errors.push(`reporting the files: ${describe(err)}`);
  }
  const parsedCount = resolved.fhirResources.length + resolved.smartHealthCards.length;
  if (out.errors.length === 0 && parsedCount !== out.files.length) {
    out.errors.push(
      `kill-the-clipboard kept ${parsedCount} of ${out.files.length} file(s): it ignores content types other than application/fhir+json and application/smart-health-card`,
    );
  }
  if (out.files.length === 0 && out.errors.length === 0) out.errors.push('the link resolved to no file');
  emit(out, out.errors.length ? 1 : 0);
}

await main(process.argv.slice(2));
