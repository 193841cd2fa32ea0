#!/usr/bin/env python3
"""Validates JSON documents against apphost.schema.json (draft-07) and prints one line per document:
`valid PATH` or `invalid PATH: first error`. Used by the unit tests that keep the schema in step with
the manifest reader. Needs the `jsonschema` package (installed with check-jsonschema by scripts/test)."""
import json
import sys

import jsonschema

schema_path, *documents = sys.argv[1:]
with open(schema_path, encoding="utf-8") as handle:
    schema = json.load(handle)
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
for path in documents:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    if errors:
        print(f"invalid {path}: {errors[0].message}")
    else:
        print(f"valid {path}")
