"""Declarative REST parameters: one description drives validation and OpenAPI.

Each endpoint declares its parameters as `Param`s; `parse_params` validates the
request against them (unknown parameters, types, ranges, patterns, lengths) and
raises `ApiError` with the offending parameter in `details`; `dashapp.api.openapi`
renders the same declarations as an OpenAPI 3 document.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,11}$")
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,11}$"
_UNIVERSE_PART = r"(watchlist:)?[A-Za-z0-9_\-]{1,64}"
UNIVERSE_PATTERN = rf"^{_UNIVERSE_PART}(\+{_UNIVERSE_PART}){{0,7}}$"
# Calendar-exact: 29 February only in leap years (1992..2096; 2100 is not one).
_MD = (
    r"((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    r"|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP = r"(199[26]|20([02468][048]|[13579][26]))"
_YMD = rf"((199[0-9]|20[0-9][0-9]|2100)-{_MD}|{_LEAP}-02-29)"
_HM = r"([01][0-9]|2[0-3]):[0-5][0-9]"
DATE_PATTERN = rf"^{_YMD}$"
DATETIME_PATTERN = rf"^{_YMD}([T ]{_HM}(:[0-5][0-9])?(Z|[+-]{_HM})?)?$"
AS_OF_PATTERN = rf"^(now|{_YMD}(T{_HM}(Z|[+-]{_HM})?)?)$"
TEXT_PATTERN = r"^[A-Za-z0-9 &,.'/()\-]*$"
INTEGER_RE = re.compile(r"-?[0-9]{1,18}")
NUMBER_RE = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?([eE][-+]?[0-9]{1,3})?")
MIN_YEAR, MAX_YEAR = 1990, 2100
MAX_TEXT = 10_000


class ApiError(Exception):
    """An error answered as {"error": code, "message": text, "details": {...}}."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Param:
    """One request parameter: its type, limits and documentation."""

    name: str
    kind: str = "string"  # string, integer, number, boolean, enum, symbol,
    # universe, date, datetime, as_of, string_list, text_list, object
    description: str = ""
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 64
    min_length: int = 0
    pattern: str | None = None
    location: str = "query"  # query, path, body
    max_items: int = 5_000
    # text_list: repeatable query value / JSON array of strings checked like
    # `string`; `parse` (when set) converts each string instead of `pattern`.
    parse: Callable[[str], Any] | None = None
    fields: tuple[Param, ...] = ()  # object: the JSON object's members

    def schema(self) -> dict[str, Any]:
        """Return the JSON Schema of this parameter's value."""
        kind = self.kind
        if kind == "integer":
            out: dict[str, Any] = {"type": "integer"}
        elif kind == "number":
            out = {"type": "number"}
        elif kind == "boolean":
            out = {"type": "boolean"}
        elif kind == "enum":
            out = {"type": "string", "enum": list(self.choices)}
        elif kind == "symbol":
            out = {"type": "string", "pattern": SYMBOL_PATTERN, "maxLength": 12}
        elif kind == "universe":
            out = {"type": "string", "pattern": UNIVERSE_PATTERN, "maxLength": 200}
        elif kind == "date":
            out = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
        elif kind == "datetime":
            out = {"type": "string", "pattern": DATETIME_PATTERN, "maxLength": 32}
        elif kind == "as_of":
            out = {"type": "string", "pattern": AS_OF_PATTERN, "maxLength": 22}
        elif kind == "string_list":
            item = {"type": "string", "pattern": SYMBOL_PATTERN, "maxLength": 12}
            out = {"type": "array", "items": item, "maxItems": self.max_items}
        elif kind == "text_list":
            item = replace(self, kind="string", default=None).schema()
            out = {"type": "array", "items": item, "maxItems": self.max_items}
        elif kind == "object":
            props = {p.name: {**p.schema(), "description": p.description}
                     for p in self.fields}  # fmt: skip
            out = {"type": "object", "properties": props, "additionalProperties": False}
            required = [p.name for p in self.fields if p.required]
            if required:
                out["required"] = required
        else:
            out = {"type": "string", "maxLength": self.max_length}
            if self.min_length:
                out["minLength"] = self.min_length
            if self.pattern:
                out["pattern"] = self.pattern
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass
class Endpoint:
    """What OpenAPI needs to know about one route."""

    path: str  # OpenAPI style, e.g. /api/bars/{symbol}
    method: str
    summary: str
    params: tuple[Param, ...] = ()
    body: tuple[Param, ...] = ()
    response: dict[str, Any] = field(default_factory=dict)
    tabular: bool = False
    admin: bool = False
    cached: bool = False
    statuses: tuple[int, ...] = ()
    tag: str = "data"
    operation_id: str = ""


REGISTRY: list[Endpoint] = []


def _bad(param: Param, reason: str, value: Any) -> ApiError:
    shown = value if not isinstance(value, str) else value[:80]
    return ApiError(
        400,
        "invalid_parameter",
        f"{param.name}: {reason}",
        parameter=param.name,
        reason=reason,
        value=shown,
    )


def _check_text(param: Param, raw: str) -> str:
    if "\x00" in raw:
        raise _bad(param, "must not contain NUL characters", raw)
    if len(raw) > param.max_length:
        raise _bad(param, f"at most {param.max_length} characters", raw)
    if len(raw) < param.min_length:
        raise _bad(param, f"at least {param.min_length} characters", raw)
    return raw


def _check_range(param: Param, value: float, raw: Any) -> None:
    if param.minimum is not None and value < param.minimum:
        raise _bad(param, f"must be >= {param.minimum:g}", raw)
    if param.maximum is not None and value > param.maximum:
        raise _bad(param, f"must be <= {param.maximum:g}", raw)


def _parse_date(param: Param, raw: str) -> dt.date:
    if not re.fullmatch(DATE_PATTERN, raw):
        raise _bad(param, "expected a date YYYY-MM-DD", raw)
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise _bad(param, "not a valid calendar date", raw) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise _bad(param, f"year must be {MIN_YEAR}..{MAX_YEAR}", raw)
    return day


def _parse_datetime(param: Param, raw: str) -> dt.datetime:
    if not re.fullmatch(DATETIME_PATTERN, raw):
        raise _bad(param, "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]", raw)
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(param, "not a valid date/time", raw) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise _bad(param, f"year must be {MIN_YEAR}..{MAX_YEAR}", raw)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _as_symbol(param: Param, raw: Any) -> str:
    if not isinstance(raw, str):
        raise _bad(param, "expected a symbol string", raw)
    _check_text(param, raw)
    value = raw.upper()
    if not SYMBOL_RE.fullmatch(value):
        raise _bad(param, "expected a symbol like AAPL or BRK.B", raw)
    return value


def _convert_query(param: Param, raw: str) -> Any:
    kind = param.kind
    if kind in ("integer", "number"):
        what = "an integer" if kind == "integer" else "a number"
        pattern = INTEGER_RE if kind == "integer" else NUMBER_RE
        if len(raw) > 32 or not pattern.fullmatch(raw):
            raise _bad(param, f"expected {what}", raw)
        value: Any = int(raw) if kind == "integer" else float(raw)
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(param, "must be finite", raw)
        _check_range(param, value, raw)
        return value
    if kind == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise _bad(param, "expected true or false", raw)
    return _convert_text(param, raw)


def _convert_text(param: Param, raw: Any) -> Any:
    kind = param.kind
    if kind == "symbol":
        return _as_symbol(param, raw)
    if not isinstance(raw, str):
        raise _bad(param, "expected a string", raw)
    _check_text(param, raw)
    if kind == "enum":
        if raw not in param.choices:
            raise _bad(param, f"expected one of {', '.join(param.choices)}", raw)
        return raw
    if kind == "universe":
        if not re.fullmatch(UNIVERSE_PATTERN, raw):
            raise _bad(
                param,
                "expected universe names (letters, digits, _ -) or watchlist:NAME",
                raw,
            )
        return raw.lower()
    if kind == "date":
        return _parse_date(param, raw)
    if kind == "datetime":
        return _parse_datetime(param, raw)
    if kind == "as_of":
        if not re.fullmatch(AS_OF_PATTERN, raw):
            raise _bad(
                param, "expected now, YYYY-MM-DD or YYYY-MM-DDTHH:MM[Z|+HH:MM]", raw
            )
        if raw != "now":
            _parse_date(param, raw[:10])
            if len(raw) > 10:
                _parse_datetime(param, raw)
        return raw
    if param.parse is not None:
        return param.parse(raw)
    if param.pattern and not re.fullmatch(param.pattern, raw):
        raise _bad(param, "contains characters that are not allowed", raw)
    return raw


def _text_items(param: Param, values: list[Any]) -> list[Any]:
    """Check each value of a text_list like a string parameter."""
    if len(values) > param.max_items:
        raise _bad(param, f"at most {param.max_items} values", len(values))
    item = replace(param, kind="string")
    return [_convert_text(item, v) for v in values]


def _reject_unknown(
    given: Iterable[Any], declared: Mapping[str, Param], code: str, what: str
) -> None:
    """Raise 400 naming (up to five of) the given names that are not declared."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        shown = [str(u)[:40] for u in unknown[:5]]
        raise ApiError(
            400,
            code,
            f"unknown {what}(s): {', '.join(shown)}",
            unknown=shown,
            allowed=sorted(declared),
        )


def parse_params(
    params: tuple[Param, ...], args: Mapping[str, Any], location: str
) -> dict[str, Any]:
    """Validate query or path arguments against declarations; return typed values."""
    declared = {p.name: p for p in params if p.location == location}
    if location == "query":
        _reject_unknown(args, declared, "unknown_parameter", "query parameter")
    out: dict[str, Any] = {}
    for name, param in declared.items():
        values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
        values = [v for v in values if v is not None]
        if param.kind == "text_list":
            out[name] = _text_items(param, values)
            continue
        if len(values) > 1:
            raise _bad(param, "given more than once", values[0])
        if not values:
            if param.required:
                raise ApiError(
                    400,
                    "missing_parameter",
                    f"{name} is required",
                    parameter=name,
                )
            out[name] = param.default
            continue
        out[name] = _convert_query(param, values[0])
    return out


def parse_body(params: tuple[Param, ...], body: Any) -> dict[str, Any]:
    """Validate a JSON object body against declarations; return typed values."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the request body must be a JSON object")
    declared = {p.name: p for p in params}
    _reject_unknown(body, declared, "unknown_field", "field")
    out: dict[str, Any] = {}
    for name, param in declared.items():
        if name not in body or body[name] is None:
            if param.required:
                raise ApiError(400, "missing_field", f"{name} is required", field=name)
            out[name] = param.default
            continue
        out[name] = _convert_body(param, body[name])
    return out


def _convert_body(param: Param, raw: Any) -> Any:
    kind = param.kind
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise _bad(param, "expected true or false", raw)
        return raw
    if kind in ("integer", "number"):
        ok = isinstance(raw, int) if kind == "integer" else isinstance(raw, int | float)
        if isinstance(raw, bool) or not ok:
            raise _bad(
                param,
                f"expected {'an integer' if kind == 'integer' else 'a number'}",
                raw,
            )
        if isinstance(raw, float) and not math.isfinite(raw):
            raise _bad(param, "must be finite", raw)
        _check_range(param, raw, raw)
        return raw
    if kind == "string_list":
        if not isinstance(raw, list):
            raise _bad(param, "expected a list of symbols", raw)
        if len(raw) > param.max_items:
            raise _bad(param, f"at most {param.max_items} items", len(raw))
        item = Param(param.name, "symbol")
        return sorted({_as_symbol(item, v) for v in raw})
    if kind == "text_list":
        if not isinstance(raw, list):
            raise _bad(param, "expected a list of strings", raw)
        return _text_items(param, raw)
    if kind == "object":
        return parse_body(param.fields, raw)
    return _convert_text(param, raw)


Handler = Callable[..., Any]
