"""C-CDA -> FHIR with PyPI converters, for the cross-check and the benchmark of OwnRecord's own.

    python3 ccda_to_fhir_convert.py FILE...              one JSON line per document
    python3 ccda_to_fhir_convert.py --list LIST          file names one per line (- = stdin)
    python3 ccda_to_fhir_convert.py --bench N FILE...    convert the files in turn until N
                                                         documents; one JSON line of timings
    --converter ccda-to-fhir (default) | python-fhir-converter
    --bundles DIR   also writes each produced Bundle as DIR/<index>.json

`ccda-to-fhir` (Nurra Health, R4B) runs `ccda_to_fhir.convert_document(text)`;
`python-fhir-converter` (Microsoft's Liquid templates in Python) runs
`fhir_converter.renderers.CcdaRenderer().render_to_fhir("CCD", text)`.
Needs the packages of requirements-ccda.txt (their own venv: they need pydantic 2, the
validator of requirements.txt pydantic 1).

Per document: {"file", "ok", "error"?, "counts": {type: n}, "codes": {type: ["system|code", ...]}},
the same rules as lib/ccda-codes.mjs. Bench: {"documents", "bytes", "seconds", "failed": [...]}:
the files are read into memory first, only conversion is timed, files that fail once are left
out of the loop.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

MEDICATION_TYPES = {
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "MedicationDispense",
}
CODE_TYPES = {"Condition", "AllergyIntolerance", "Observation", "Procedure"}


def fail_usage(message: str) -> None:
    sys.stderr.write(__doc__)
    print(json.dumps({"error": message}))
    sys.exit(2)


def decode(data: bytes) -> str:
    """The document as text: UTF-8 (a BOM dropped) or UTF-16 with its BOM."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def make_converter(name: str):
    if name == "ccda-to-fhir":
        try:
            from ccda_to_fhir import convert_document
        except ImportError as e:
            fail_usage(f"ccda-to-fhir is not installed: {e}")

        def run(text: str) -> dict:
            return convert_document(text)["bundle"]

        return run
    if name == "python-fhir-converter":
        try:
            from fhir_converter.renderers import CcdaRenderer
        except ImportError as e:
            fail_usage(f"python-fhir-converter is not installed: {e}")
        renderer = CcdaRenderer()

        def run(text: str) -> dict:
            return renderer.render_to_fhir("CCD", text)

        return run
    fail_usage(f"unknown converter {name}")


def codings(concept) -> list[str]:
    out = []
    if not isinstance(concept, dict):
        return out
    for c in concept.get("coding") or []:
        if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str):
            out.append(f"{c['system']}|{c['code']}")
    return out


def main_concepts(resource: dict, medications: dict) -> list:
    t = resource.get("resourceType")
    if t == "Immunization":
        return [resource.get("vaccineCode")]
    if t == "Encounter":
        return resource.get("type") or []
    if t in MEDICATION_TYPES:
        if resource.get("medicationCodeableConcept"):
            return [resource["medicationCodeableConcept"]]
        ref = (resource.get("medicationReference") or {}).get("reference")
        if isinstance(ref, str):
            if ref.startswith("#"):
                for c in resource.get("contained") or []:
                    if c.get("id") == ref[1:]:
                        return [c.get("code")]
                return []
            m = medications.get(ref)
            return [m.get("code")] if m else []
        # R5-style CodeableReference, should a converter emit it.
        med = resource.get("medication")
        if isinstance(med, dict) and med.get("concept"):
            return [med["concept"]]
        return []
    if t in CODE_TYPES:
        return [resource.get("code")]
    return []


def summarize(entries: list) -> dict:
    resources = [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    medications = {}
    for e in entries:
        r = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(r, dict) or r.get("resourceType") != "Medication":
            continue
        if r.get("id"):
            medications[f"Medication/{r['id']}"] = r
            medications[f"urn:uuid:{r['id']}"] = r
        if e.get("fullUrl"):
            medications[e["fullUrl"]] = r
    counts: dict[str, int] = {}
    codes: dict[str, set] = {}
    for r in resources:
        t = r.get("resourceType")
        counts[t] = counts.get(t, 0) + 1
        for concept in main_concepts(r, medications):
            for c in codings(concept):
                codes.setdefault(t, set()).add(c)
    return {"counts": counts, "codes": {t: sorted(s) for t, s in codes.items()}}


def message(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    # python-fhir-converter wraps the real error: RenderingError("Failed to render FHIR", cause).
    cause = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], BaseException) else e.__cause__
    if cause is not None:
        text += f" ({type(cause).__name__}: {cause})"
    return text.split("\n")[0][:300]


def main() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--bench", type=int, default=0)
    parser.add_argument("--list")
    parser.add_argument("--bundles")
    parser.add_argument("--converter", default="ccda-to-fhir")
    parser.add_argument("files", nargs="*")
    try:
        args = parser.parse_args()
    except SystemExit:
        fail_usage("bad arguments")
    files = list(args.files)
    if args.list:
        text = sys.stdin.read() if args.list == "-" else Path(args.list).read_text()
        files += [line.strip() for line in text.splitlines() if line.strip()]
    if not files:
        fail_usage("no files")
    if args.bench < 0:
        fail_usage("--bench needs a positive integer")
    # The converters log every skipped entry; none of that belongs on stdout.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    convert = make_converter(args.converter)
    try:
        docs = [(f, len(data), decode(data)) for f in files for data in [Path(f).read_bytes()]]
    except OSError as e:
        fail_usage(f"cannot read: {e}")

    if args.bench:
        failed, good = [], []
        for doc in docs:
            try:
                convert(doc[2])
                good.append(doc)
            except Exception:
                failed.append(doc[0])
        if not good:
            fail_usage("no file converts")
        documents = total = 0
        start = time.perf_counter()
        while documents < args.bench:
            _, size, text = good[documents % len(good)]
            convert(text)
            documents += 1
            total += size
        seconds = time.perf_counter() - start
        print(json.dumps({"documents": documents, "bytes": total, "seconds": seconds, "failed": failed}))
        return

    for i, (f, _, text) in enumerate(docs):
        try:
            bundle = convert(text)
            if args.bundles:
                Path(args.bundles, f"{i}.json").write_text(json.dumps(bundle, default=str))
            line = {"file": f, "ok": True, **summarize(bundle.get("entry") or [])}
        except Exception as e:  # a converter's failure is a result, not a crash
            line = {"file": f, "ok": False, "error": message(e), "counts": {}, "codes": {}}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
