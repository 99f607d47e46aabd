"""The OpenAPI schema tells the truth about every answer, errors included.

Views document their own success bodies with ``extend_schema``. The error answers are the
same everywhere (DRF renders them), so one postprocessing hook adds them to every operation
that can give them, instead of a copy on each view:

- 400 where the operation takes a body or query parameters, or writes (a service may refuse
  it, e.g. removing a project's last manager): a field-keyed error object; an operation
  that documents its own 400 body keeps it, as one of the alternatives;
- 401 and 403 where the operation needs a signed-in user;
- 404 where the path names an object (non-members get 404 for a whole project), and on
  paginated lists (DRF's answer to a page that does not exist);
- 415 where the operation takes a body (a media type the view does not parse);
- 429 where the view is throttled (with the ``Retry-After`` header).

It also types the ids in paths: URL patterns capture them with ``\\d+``, which the generator
can only call a string.
"""

from collections.abc import Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "description": "What went wrong, for a person to read.",
}
FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": {},
    "description": "Errors keyed by field (``non_field_errors`` for the body as a whole); "
    "each value is a list of messages, or an object for nested fields.",
}
COMPONENTS = {"ErrorDetail": DETAIL, "FieldErrors": FIELD_ERRORS}
WRITES = {"put", "post", "patch", "delete"}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
# ``?originals=`` on the routes that serve item texts (api.permissions.text_view_param).
ORIGINALS_PARAMETER = OpenApiParameter(
    "originals", bool, default=False,
    description="`true`: the original texts of items a reviewer redacted (managers only; "
    "logged in the access log as `pii_view`). Default: the redacted copies.",
)  # fmt: skip


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _views_by_operation(generator) -> dict[tuple[str, str], type | None]:
    """``(path, method) -> view class`` from the endpoints the generator walked."""
    views: dict[tuple[str, str], type | None] = {}
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or ():
        views[(path, method.lower())] = getattr(callback, "cls", None)
    return views


def _needs_auth(operation: dict, schema: dict) -> bool:
    """An empty requirement (``{}``) among the alternatives means anonymous requests pass."""
    security = operation.get("security", schema.get("security"))
    if not security:
        return False
    return all(requirement for requirement in security)


def _throttled(view: type | None) -> bool:
    return bool(getattr(view, "throttle_classes", None))


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: document the error answers (see module doc)."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    views = _views_by_operation(generator)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            _type_numeric_path_ids(operation)
            responses = operation.setdefault("responses", {})
            view = views.get((path, method))
            has_body = "requestBody" in operation
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            if has_body or query or method in WRITES:
                _add_bad_request(responses)
            if _needs_auth(operation, result):
                responses.setdefault("401", _json(_ref("ErrorDetail"), "Not signed in."))
                responses.setdefault(
                    "403", _json(_ref("ErrorDetail"), "Signed in, but the role does not allow it.")
                )
            if "{" in path or "page" in query:  # DRF answers an invalid page with 404
                responses.setdefault(
                    "404", _json(_ref("ErrorDetail"), "No such object (or not a member).")
                )
            if has_body:
                responses.setdefault("415", _json(_ref("ErrorDetail"), "Unsupported media type."))
            if _throttled(view):
                throttled = _json(_ref("ErrorDetail"), "Too many requests; retry later.")
                throttled["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                        "description": "Seconds to wait."}}  # fmt: skip
                responses.setdefault("429", throttled)
    return result


def _type_numeric_path_ids(operation: dict) -> None:
    """A ``re_path`` group ``\\d+`` is documented as a string with a pattern; it is an id."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter["schema"].get("pattern") == r"^\d+$":
            parameter["schema"] = {"type": "integer"}


def _add_bad_request(responses: dict) -> None:
    documented = responses.get("400")
    if documented is None:
        responses["400"] = _json(_ref("FieldErrors"), "The request is invalid.")
        return
    for media in documented.get("content", {}).values():
        if "schema" in media:
            media["schema"] = {"anyOf": [media["schema"], _ref("FieldErrors")]}


# A whole JSON download is one array of rows (items, or Label Studio tasks), which clients
# parse; every other format, and any byte range (206), is opaque bytes.
JSON_ROWS = {"type": "array", "items": {"type": "object"}}


def file_responses(content_types: Iterable[str], description: str, *, status: int = 200) -> dict:
    """``responses`` for a file download served as any of ``content_types``."""
    media = sorted({content_type.split(";")[0].strip() for content_type in content_types})
    return {
        (status, m): OpenApiResponse(
            JSON_ROWS if m == "application/json" and status == 200 else OpenApiTypes.BINARY,
            description=description,
        )
        for m in media
    }
