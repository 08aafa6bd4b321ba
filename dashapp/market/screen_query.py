"""`FIELD OP VALUE` screener conditions: parsing with errors that name what is allowed.

`CONDITION_PATTERN` is exactly the set of conditions `parse_condition` accepts;
the REST API publishes it as the OpenAPI pattern of `where`.
"""

from __future__ import annotations

import math
import re
from typing import Any

from analytics.screener import (
    FIELDS,
    NUMERIC_FIELDS,
    NUMERIC_OPS,
    TEXT_FIELDS,
    TEXT_OPS,
    Condition,
)

MAX_CONDITIONS = 20
MAX_TEXT_VALUE = 64
TEXT_HINT = "text (letters, digits, space and &,.'/()-)"

_OPS = "|".join(re.escape(op) for op in sorted(NUMERIC_OPS, key=len, reverse=True))
_NUMBER = r"-?[0-9]{1,18}(?:\.[0-9]{1,18})?(?:[eE][-+]?[0-9]{1,2})?"
_TEXT = r"[A-Za-z0-9&,.'/()\-][A-Za-z0-9 &,.'/()\-]{0,63}"
# Loose shape: a name, an operator, anything; used to say what exactly is wrong.
SHAPE_RE = re.compile(r"^\s*([A-Za-z0-9_]*)\s*([=<>!]+)?\s*(.*?)\s*$")
# Exactly the conditions `parse_condition` accepts (also the OpenAPI pattern).
CONDITION_PATTERN = (
    rf"^ *(?:(?:{'|'.join(NUMERIC_FIELDS)}) *(?:{_OPS}) *{_NUMBER}"
    rf"|(?:{'|'.join(TEXT_FIELDS)}) *(?:!=|=) *(?:{_TEXT}|\"{_TEXT}\")) *$"
)
CONDITION_RE = re.compile(CONDITION_PATTERN)


class ScreenerError(ValueError):
    """A condition or sort that cannot be used, with what is allowed instead."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def parse_condition(text: str) -> Condition:
    """Parse `FIELD OP VALUE` (e.g. `rs_rating>=90`, `sector=Energy`)."""
    shape = SHAPE_RE.match(text or "")
    field, op, raw = shape.groups() if shape else ("", None, "")
    if field not in FIELDS:
        raise ScreenerError(
            "unknown_field",
            f"unknown screener field {field[:40]!r}; allowed: {', '.join(FIELDS)}",
            field=field[:40],
            allowed=list(FIELDS),
        )
    allowed_ops = TEXT_OPS if field in TEXT_FIELDS else NUMERIC_OPS
    if op not in allowed_ops:
        raise ScreenerError(
            "unknown_operator",
            f"operator {str(op or '')!r} not allowed for {field}; allowed: "
            f"{' '.join(allowed_ops)}",
            field=field,
            operator=op or "",
            allowed=list(allowed_ops),
        )
    if not CONDITION_RE.fullmatch(text):
        what = "a number" if field in NUMERIC_FIELDS else TEXT_HINT
        raise ScreenerError(
            "invalid_value",
            f"{field}: expected {what}, got {raw[:40]!r}",
            field=field,
            value=raw[:40],
        )
    if field in TEXT_FIELDS:
        return Condition(field, op, raw.strip('"').strip())
    value = float(raw)
    if not math.isfinite(value):
        raise ScreenerError("invalid_value", f"{field}: must be finite", field=field)
    return Condition(field, op, value)
