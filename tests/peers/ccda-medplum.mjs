// C-CDA → FHIR with npm @medplum/ccda (convertXmlToCcda + convertCcdaToFhir), the independent
// converter OwnRecord's own is cross-checked against and benchmarked with.
//
//   node tests/peers/ccda-medplum.mjs FILE...              one JSON line per document
//   node tests/peers/ccda-medplum.mjs --list LIST          file names one per line (- = stdin)
//   node tests/peers/ccda-medplum.mjs --bench N FILE...    convert the files in turn until N
//                                                          documents; one JSON line of timings
//   --bundles DIR  also writes each produced Bundle as DIR/<index>.json
//
// Per document: {"file", "ok", "error"?, "counts": {type: n}, "codes": {type: ["system|code", ...]}}
// where codes are the codings of each resource's main concept (see ./lib/ccda-codes.mjs).
// Bench: {"documents", "bytes", "seconds", "failed": [file...]}: the files are read into memory
// first and only conversion is timed; files that fail once are left out of the loop.
import './lib/compat.mjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertCcdaToFhir, convertXmlToCcda } from '@medplum/ccda';
import { summarize } from './lib/ccda-codes.mjs';

function usage(message) {
  process.stderr.write(
    'usage: node ccda-medplum.mjs [--bench N] [--bundles DIR] (--list FILE | FILE...)\n'
  );
  process.stdout.write(JSON.stringify({ error: message }) + '\n');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { files: [], bench: 0, bundles: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--bench') {
      options.bench = Number(argv[++i]);
      if (!Number.isInteger(options.bench) || options.bench <= 0) usage('--bench needs a positive integer');
    } else if (a === '--list') {
      const list = argv[++i];
      if (list === undefined) usage('--list needs a file');
      const text = readFileSync(list === '-' ? 0 : list, 'utf8');
      options.files.push(...text.split('\n').map((l) => l.trim()).filter(Boolean));
    } else if (a === '--bundles') {
      options.bundles = argv[++i];
      if (options.bundles === undefined) usage('--bundles needs a folder');
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else {
      options.files.push(a);
    }
  }
  if (options.files.length === 0) usage('no files');
  return options;
}

/** The document as text: UTF-8 (a BOM dropped) or UTF-16 with its BOM. */
function decode(bytes) {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  return new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, '');
}

function convert(text) {
  return convertCcdaToFhir(convertXmlToCcda(text));
}

function message(e) {
  return (e && e.message ? e.message : String(e)).split('\n')[0].slice(0, 300);
}

const options = parseArgs(process.argv.slice(2));
let texts;
try {
  texts = options.files.map((f) => {
    const bytes = readFileSync(f);
    return { file: f, bytes: bytes.length, text: decode(bytes) };
  });
} catch (e) {
  usage(`cannot read: ${message(e)}`);
}

if (options.bench > 0) {
  const failed = [];
  const good = texts.filter((t) => {
    try {
      convert(t.text);
      return true;
    } catch {
      failed.push(t.file);
      return false;
    }
  });
  if (good.length === 0) usage('no file converts');
  let documents = 0;
  let bytes = 0;
  const start = process.hrtime.bigint();
  while (documents < options.bench) {
    const t = good[documents % good.length];
    convert(t.text);
    documents++;
    bytes += t.bytes;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ documents, bytes, seconds, failed }) + '\n');
} else {
  texts.forEach((t, i) => {
    let line;
    try {
      const bundle = convert(t.text);
      if (options.bundles) writeFileSync(join(options.bundles, `${i}.json`), JSON.stringify(bundle));
      line = { file: t.file, ok: true, ...summarize(bundle.entry ?? []) };
    } catch (e) {
      line = { file: t.file, ok: false, error: message(e), counts: {}, codes: {} };
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  });
}
