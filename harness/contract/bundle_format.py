"""The ``alga-psa.workflow-bundle`` v1 format as a JSON Schema, with Ajv-style error objects.

Shared by the kit (checking a fixture before import) and the sandbox (import validation)."""
from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Callable

import fastjsonschema
from rfc3339_validator import validate_rfc3339

if TYPE_CHECKING:  # jsonschema (a tenth of a second to import) is loaded only to explain a rejected bundle
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_NULLABLE_STRING = {"type": ["string", "null"]}
_ACTION_REF = {"type": "object", "additionalProperties": False, "required": ["actionId", "version"],
               "properties": {"actionId": {"type": "string", "minLength": 1},
                              "version": {"type": "integer", "minimum": 1}}}
_DEFINITION = {"type": "object"}

BUNDLE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "formatVersion", "exportedAt", "workflows"],
    "properties": {
        "format": {"const": "alga-psa.workflow-bundle"},
        "formatVersion": {"const": 1},
        "exportedAt": {"type": "string", "format": "date-time"},
        "workflows": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["key", "metadata", "dependencies", "draft", "publishedVersions"],
            "properties": {
                "key": {"type": "string", "minLength": 1, "pattern": "^[a-z0-9][a-z0-9._-]*$"},
                "metadata": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "description", "payloadSchemaRef", "payloadSchemaMode",
                                 "pinnedPayloadSchemaRef", "trigger", "isSystem", "isVisible", "isPaused",
                                 "concurrencyLimit", "autoPauseOnFailure", "failureRateThreshold",
                                 "failureRateMinRuns", "retentionPolicyOverride"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "description": _NULLABLE_STRING,
                        "payloadSchemaRef": {"type": "string", "minLength": 1},
                        "payloadSchemaMode": _NULLABLE_STRING,
                        "pinnedPayloadSchemaRef": _NULLABLE_STRING,
                        "trigger": {"type": ["object", "null"]},
                        "isSystem": {"type": "boolean"},
                        "isVisible": {"type": "boolean"},
                        "isPaused": {"type": "boolean"},
                        "concurrencyLimit": {"type": ["integer", "null"]},
                        "autoPauseOnFailure": {"type": "boolean"},
                        "failureRateThreshold": {"type": ["number", "string", "null"]},
                        "failureRateMinRuns": {"type": ["integer", "null"]},
                        "retentionPolicyOverride": {"type": ["object", "null"]},
                    },
                },
                "dependencies": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["actions", "nodeTypes", "schemaRefs"],
                    "properties": {
                        "actions": {"type": "array", "uniqueItems": True, "items": _ACTION_REF},
                        "nodeTypes": {"type": "array", "uniqueItems": True, "items": {"type": "string"}},
                        "schemaRefs": {"type": "array", "uniqueItems": True, "items": {"type": "string"}},
                    },
                },
                "draft": {"type": "object", "additionalProperties": False, "required": ["draftVersion", "definition"],
                          "properties": {"draftVersion": {"type": "integer"}, "definition": _DEFINITION}},
                "publishedVersions": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["version", "definition", "payloadSchemaJson"],
                    "properties": {"version": {"type": "integer"}, "definition": _DEFINITION,
                                   "payloadSchemaJson": {"type": ["object", "null"]}}}},
            },
        }},
    },
}

@cache
def validator() -> Draft202012Validator:
    """The jsonschema validator that explains a rejected bundle."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(BUNDLE_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _fast_check() -> Callable[[Any], Any]:
    # Every keyword used reads the same in draft 7, fastjsonschema's newest. The one format,
    # exportedAt's date-time, is checked as jsonschema's checker (rfc3339-validator) does.
    schema = {key: value for key, value in BUNDLE_SCHEMA.items() if key != "$schema"}
    return fastjsonschema.compile(schema, use_default=False, use_formats=False)


def _conforms(bundle: Any) -> bool:
    try:
        _fast_check()(bundle)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return bool(validate_rfc3339(bundle["exportedAt"].upper()))  # as jsonschema's date-time checker calls it


def _pointer(parts: Any) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in parts)


def _message(error: ValidationError) -> tuple[str, dict[str, Any]]:
    keyword, value = error.validator, error.validator_value
    if keyword == "required":
        missing = next((k for k in value if isinstance(error.instance, dict) and k not in error.instance), value[0])
        return f"must have required property '{missing}'", {"missingProperty": missing}
    if keyword == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return "must NOT have additional properties", {"additionalProperty": extra[0] if extra else None}
    if keyword == "type":
        types = value if isinstance(value, list) else [value]
        return f"must be {','.join(types)}", {"type": ",".join(types)}
    if keyword == "pattern":
        return f'must match pattern "{value}"', {"pattern": value}
    if keyword == "minLength":
        return f"must NOT have fewer than {value} characters", {"limit": value}
    if keyword == "minItems":
        return f"must NOT have fewer than {value} items", {"limit": value}
    if keyword == "minimum":
        return f"must be >= {value}", {"comparison": ">=", "limit": value}
    if keyword == "const":
        return "must be equal to constant", {"allowedValue": value}
    if keyword == "uniqueItems":
        return "must NOT have duplicate items", {}
    return error.message, {}


def bundle_errors(bundle: Any) -> list[dict[str, Any]]:
    """All schema violations as Ajv-like objects ``{instancePath, schemaPath, keyword, params, message}``.

    fastjsonschema gives the verdict (a valid bundle, the usual case, costs microseconds rather than
    a millisecond); only a rejected bundle is walked again by jsonschema to explain it as Ajv would.
    """
    if _conforms(bundle):
        return []
    errors = []
    for error in sorted(validator().iter_errors(bundle), key=lambda e: list(e.absolute_path)):
        message, params = _message(error)
        errors.append({"instancePath": _pointer(error.absolute_path),
                       "schemaPath": "#" + _pointer(error.absolute_schema_path),
                       "keyword": error.validator, "params": params, "message": message})
    return errors
