"""The API blueprint and `endpoint`, which registers, authorises and caches views.

Every view is declared with `@endpoint(...)`: its parameters are validated
against `dashapp.api.spec`, the caller must be authenticated (and an admin where
asked), and cached endpoints answer by ETag from `dashapp.api.caching`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Blueprint, Response, request

from dashapp import auth
from dashapp.api.caching import (
    body_cache,
    request_etag,
    set_cache_headers,
)
from dashapp.api.params import P_FORMAT
from dashapp.api.responses import JSON_MIME, json_response
from dashapp.api.spec import (
    REGISTRY,
    ApiError,
    Endpoint,
    Param,
    parse_body,
    parse_params,
)

bp = Blueprint("api", __name__, url_prefix="/api")
NO_STORE = "no-store"


def endpoint(
    rule: str,
    summary: str,
    *,
    methods: tuple[str, ...] = ("GET",),
    params: tuple[Param, ...] = (),
    body: tuple[Param, ...] = (),
    response: dict[str, Any] | None = None,
    tabular: bool = False,
    admin: bool = False,
    cached: bool = False,
    statuses: tuple[int, ...] = (),
    tag: str = "data",
) -> Callable:
    """Register a view on the blueprint and describe it for OpenAPI."""
    method = methods[0]
    if tabular:
        params = (*params, P_FORMAT)
    spec = Endpoint(
        path="/api" + rule.replace("<", "{").replace(">", "}").replace("int:", ""),
        method=method.lower(),
        summary=summary,
        params=params,
        body=body,
        response=response or {"type": "object"},
        tabular=tabular,
        admin=admin,
        cached=cached,
        statuses=statuses,
        tag=tag,
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        spec.operation_id = view.__name__

        def handler(**path_args: Any) -> Response:
            return _run(spec, view, path_args)

        handler.__name__ = view.__name__
        handler.__doc__ = view.__doc__
        bp.add_url_rule(rule, view.__name__, handler, methods=list(methods))
        REGISTRY.append(spec)
        return view

    return decorate


def _run(
    spec: Endpoint, view: Callable[..., Any], path_args: dict[str, Any]
) -> Response:
    principal = auth.current_principal()
    if principal is None:
        raise ApiError(401, "unauthorized", "log in or send a bearer token")
    if spec.admin and not principal.is_admin:
        raise ApiError(403, "forbidden", "this endpoint needs the admin role")
    path_args = {k: str(v) for k, v in path_args.items()}
    kwargs = parse_params(spec.params, path_args, "path")
    kwargs.update(parse_params(spec.params, request.args, "query"))
    if spec.body:
        kwargs.update(parse_body(spec.body, _json_body()))
    if not spec.cached:
        response = _respond(view(**kwargs))
        response.headers["Cache-Control"] = NO_STORE
        return response
    etag = request_etag()
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        cache = body_cache()
        hit = cache.get(etag)
        if hit is None:
            response = _respond(view(**kwargs))
            if response.status_code == 200:
                cache.put(etag, response)
        else:
            response = hit
    set_cache_headers(response, etag)
    return response


def _respond(result: Any) -> Response:
    return result if isinstance(result, Response) else json_response(result)


def _json_body() -> Any:
    if request.mimetype != JSON_MIME:
        raise ApiError(
            415, "unsupported_media_type", "send the body as application/json"
        )
    try:
        return orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not valid JSON: {exc}"
        ) from None


def current_actor() -> str:
    """Return the calling user's name for audit lines ("?" when unknown)."""
    principal = auth.current_principal()
    return principal.username if principal else "?"
