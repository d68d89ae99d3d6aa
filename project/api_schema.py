"""The OpenAPI schema says what the API really answers: every error it can give, in the shape it gives it.

drf-spectacular documents the success responses each view declares; this hook adds the errors every
operation under /api/v1/ can answer (bad input, no credentials, no permission, nothing there, the audit
trail unavailable), so a client, and the schema-driven tests, know them.
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` says what went wrong; a rejected field is named by its own key with a list of messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
ERRORS = {
    "400": "The request is malformed or a value is refused; the body names each problem.",
    "401": "No valid credentials (a Bearer token or a console session).",
    "403": "Authenticated, but not permitted to do this.",
    "404": "There is no such object, or you may not see it.",
    "415": "The request body's media type is not one this operation takes.",
    "503": "The audit trail could not be written, so the action was refused.",
}


def errors_documented(result: dict, generator, request, public) -> dict:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "page_size" and parameter.get("in") == "query":
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 1000}
            for code, description in ERRORS.items():
                responses.setdefault(
                    code,
                    {"description": description,
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                )  # fmt: skip
    return result
