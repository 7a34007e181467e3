#!/usr/bin/env python3
"""Third-party FHIR R4 validation for OwnRecord tests, with PyPI fhir.resources 6.4.0.

    python3 tests/peers/validate_fhir_resources.py FILE.json    (FILE may be - for stdin)

Checks one JSON file (a resource or a Bundle; Bundle.entry.resource and contained resources are
parsed with their own models) against the R4 (4.0.1) models of fhir.resources 6.4.0. In 6.4.0
R4 is the top-level package `fhir.resources` (beside fhir.resources.DSTU2 and .STU3; there is
no fhir.resources.R4). From 7.0.0 on, the top level is R5 and only R4B is kept as a
subpackage, so 6.4.0 is the last release with R4. Needs requirements.txt next to this file.

stdout: one line of JSON, {"fhir_resources": {"errors": [...]}}
exit 0 when there is no error, 1 when there is one (or the file is not JSON), 2 on a usage
error (bad arguments, unreadable file, fhir.resources missing). See README.md.
"""

import json
import sys

USAGE = "usage: python3 validate_fhir_resources.py FILE.json   (FILE may be - for stdin)"


def emit(obj, code):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    return code


def usage_error(message):
    sys.stderr.write(f"validate_fhir_resources: {message}\n{USAGE}\n")
    return emit({"error": message}, 2)


def location(resource_type, loc):
    """('entry', 3, 'resource', '__root__', 'status') -> 'Bundle.entry[3].resource.status'."""
    out = resource_type
    for part in loc:
        if part == "__root__":
            # fhir.resources' root validators (required primitives, choice types) report here
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out


def validate(resource):
    # Imported here so that a missing package is a usage error with a clear message.
    from fhir.resources import get_fhir_model_class
    from pydantic import ValidationError

    resource_type = resource["resourceType"]
    try:
        model = get_fhir_model_class(resource_type)
    except KeyError:
        return [f"{resource_type}: unknown resource type for FHIR R4"]
    try:
        model.parse_obj(resource)
    except ValidationError as err:
        errors = []
        for e in err.errors():
            line = f"{location(resource_type, e.get('loc', ()))}: {e.get('msg')}"
            if line not in errors:
                errors.append(line)
        return errors
    except Exception as err:  # noqa: BLE001 - any failure to build the model is a failed check
        return [f"{resource_type}: parse failed: {type(err).__name__}: {err}"]
    return []


def main(argv):
    if len(argv) != 1:
        return usage_error("expected exactly one FILE argument")
    if argv[0].startswith("-") and argv[0] != "-":
        return usage_error(f"unknown option {argv[0]}")
    try:
        import fhir.resources  # noqa: F401

        if fhir.resources.__version__ != "6.4.0" or fhir.resources.__fhir_version__ != "4.0.1":
            return usage_error(
                f"need fhir.resources 6.4.0 (FHIR 4.0.1), found {fhir.resources.__version__} "
                f"(FHIR {fhir.resources.__fhir_version__}); pip install -r requirements.txt"
            )
    except ImportError as err:
        return usage_error(f"fhir.resources is not installed ({err}); pip install -r requirements.txt")
    try:
        if argv[0] == "-":
            text = sys.stdin.read()
        else:
            with open(argv[0], encoding="utf-8") as f:
                text = f.read()
    except OSError as err:
        return usage_error(f"cannot read {argv[0]}: {err}")
    try:
        resource = json.loads(text)
    except ValueError as err:
        return emit({"fhir_resources": {"errors": [f"$: not valid JSON: {err}"]}}, 1)
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return emit(
            {"fhir_resources": {"errors": ["$: not a FHIR resource (a JSON object with a string resourceType)"]}}, 1
        )
    errors = validate(resource)
    return emit({"fhir_resources": {"errors": errors}}, 1 if errors else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
