"""OpenAPI 3 document generated from the API's declarations, and a docs page.

`/api/openapi.json` is built from `dashapp.api.spec.REGISTRY` (the same `Param`s
the views validate with). `/api/docs` renders it as plain, self-contained HTML:
no scripts and no CDN, so it works under the CSP and on offline machines.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import orjson
from flask import Blueprint, Response

from dashapp.api import routes  # noqa: F401  (registers the endpoints)
from dashapp.api.errors import ERROR_SCHEMA
from dashapp.api.spec import REGISTRY, Endpoint

bp = Blueprint("openapi", __name__, url_prefix="/api")
TITLE = "TickStock REST API"
VERSION = "1.0.0"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    304: "Not modified (ETag matches If-None-Match)",
    400: "Invalid or unknown parameter",
    401: "Not logged in, or the bearer token is unknown or revoked",
    403: "Forbidden (role, or CSRF token missing on a cookie session)",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Body must be application/json",
    422: "Valid syntax but cannot be processed",
    429: "Rate limited (see Retry-After)",
    503: "Database or market state temporarily unavailable (see Retry-After)",
}
DESCRIPTION = (
    "Every view of the TickStock UI as JSON (or CSV with `format=csv` on tabular "
    "endpoints). Authenticate with `Authorization: Bearer <token>` (issue one with "
    "`tickstock tokens add NAME`) or a browser session. Errors are "
    '`{"error": code, "message": text, "details": {...}}`. Data endpoints send an '
    "`ETag` from the data version and answer `304` to `If-None-Match`. "
    "`/api/ticks/recent` returns stored minute bars only: the in-progress bar of "
    "the current minute is not included."
)


RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}


def _error(status: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": STATUS_TEXT.get(status, "Error"),
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status in (429, 503):
        out["headers"] = {"Retry-After": RETRY_AFTER}
    return out


def _operation(ep: Endpoint) -> dict[str, Any]:
    params = [
        {
            "name": p.name,
            "in": p.location,
            "required": p.required or p.location == "path",
            "description": p.description,
            "schema": p.schema(),
        }
        for p in ep.params
        if p.location in ("query", "path")
    ]
    ok = next((s for s in ep.statuses if 200 <= s < 300), 200)
    content: dict[str, Any] = {"application/json": {"schema": ep.response}}
    if ep.tabular:
        content["text/csv"] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {
        str(ok): {"description": STATUS_TEXT[ok], "content": content}
    }
    if ep.cached:
        responses["304"] = {"description": STATUS_TEXT[304]}
    # Every endpoint answers 503 while the database is away (dashapp.ops.failsoft).
    errors = {400, 401, 405, 429, 503, *(s for s in ep.statuses if s >= 400)}
    if ep.admin:
        errors.add(403)
    if ep.method != "get":
        errors |= {403, 413, 415}
    for status in sorted(errors):
        responses[str(status)] = _error(status)
    op: dict[str, Any] = {
        "operationId": ep.operation_id,
        "summary": ep.summary,
        "tags": [ep.tag],
        "parameters": params,
        "responses": responses,
    }
    if ep.admin:
        op["description"] = "Needs the admin role."
    if ep.body:
        props = {p.name: {**p.schema(), "description": p.description} for p in ep.body}
        required = [p.name for p in ep.body if p.required]
        schema: dict[str, Any] = {
            "type": "object",
            "properties": props,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    return op


@lru_cache(maxsize=1)
def spec_bytes() -> bytes:
    """Return the OpenAPI document as JSON bytes (built once per process)."""
    return orjson.dumps(build_spec())


def build_spec() -> dict[str, Any]:
    """Return the OpenAPI 3 document of every registered endpoint."""
    paths: dict[str, dict[str, Any]] = {}
    for ep in REGISTRY:
        paths.setdefault(ep.path, {})[ep.method] = _operation(ep)
    return {
        "openapi": "3.0.3",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"cookieSession": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "tickstock_session",
                },
            },
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """Serve the OpenAPI document."""
    response = Response(spec_bytes(), mimetype="application/json")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _schema_text(schema: dict[str, Any]) -> str:
    parts = [schema.get("type", "")]
    if "enum" in schema:
        parts = [" | ".join(map(str, schema["enum"]))]
    for key, label in (
        ("minimum", "min"),
        ("maximum", "max"),
        ("maxLength", "max len"),
    ):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    if "pattern" in schema and "enum" not in schema:
        parts.append(f"pattern {schema['pattern']}")
    if "default" in schema:
        parts.append(f"default {schema['default']}")
    return ", ".join(str(p) for p in parts if p != "")


def _param_rows(rows: list[tuple[str, str, bool, str, dict[str, Any]]]) -> str:
    if not rows:
        return "<p class='none'>No parameters.</p>"
    body = "".join(
        f"<tr><td><code>{html.escape(n)}</code></td><td>{html.escape(where)}</td>"
        f"<td>{'yes' if req else ''}</td><td>{html.escape(_schema_text(s))}</td>"
        f"<td>{html.escape(desc)}</td></tr>"
        for n, where, req, desc, s in rows
    )
    return (
        "<table><thead><tr><th>name</th><th>in</th><th>required</th><th>type</th>"
        f"<th>description</th></tr></thead><tbody>{body}</tbody></table>"
    )


def render_docs(spec: dict[str, Any]) -> str:
    """Return the OpenAPI document rendered as a standalone HTML page."""
    sections = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            rows = [
                (
                    p["name"],
                    p["in"],
                    p["required"],
                    p.get("description", ""),
                    p["schema"],
                )
                for p in op["parameters"]
            ]
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schema = body["schema"]
                required = set(schema.get("required", []))
                rows += [
                    (n, "body", n in required, s.get("description", ""), s)
                    for n, s in schema["properties"].items()
                ]
            statuses = ", ".join(
                f"<span title='{html.escape(r.get('description', ''))}'>{c}</span>"
                for c, r in op["responses"].items()
            )
            admin = " <span class='admin'>admin</span>" if op.get("description") else ""
            sections.append(
                f"<section id='{html.escape(op['operationId'])}'>"
                f"<h3><span class='m {method}'>{method.upper()}</span> "
                f"<code>{html.escape(path)}</code>{admin}</h3>"
                f"<p>{html.escape(op['summary'])}</p>{_param_rows(rows)}"
                f"<p class='st'>Responses: {statuses}</p></section>"
            )
    info = spec["info"]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(info['title'])}</title><style>{DOCS_CSS}</style></head>"
        f"<body><h1>{html.escape(info['title'])} <small>v{info['version']}</small></h1>"
        f"<p>{html.escape(info['description'])}</p>"
        "<p><a href='/api/openapi.json'>OpenAPI 3 JSON</a></p>"
        + "".join(sections)
        + "</body></html>"
    )


DOCS_CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;"
    "padding:0 1rem;color:#222}section{border-top:1px solid #ddd;padding:.5rem 0}"
    "table{border-collapse:collapse;width:100%;font-size:13px}td,th{border:1px solid "
    "#e3e3e3;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:"
    "#f6f6f6}.m{display:inline-block;min-width:4.5rem;padding:.1rem .4rem;border-radius"
    ":.25rem;color:#fff;font-size:12px;text-align:center}.get{background:#2b7bb9}"
    ".post{background:#2f9e44}.put{background:#e67700}.patch{background:#ae3ec9}"
    ".delete{background:#c92a2a}.admin{font-size:12px;color:#c92a2a}.st span{margin-"
    "right:.4rem;font-family:monospace}.none{color:#777}"
)


@bp.get("/docs")
def docs() -> Response:
    """Serve the API documentation page."""
    page = render_docs(orjson.loads(spec_bytes()))
    return Response(page, mimetype="text/html")
