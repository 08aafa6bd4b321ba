"""A notebook client for the TickStock REST API: every table as a typed DataFrame.

    from dashapp.client import Client

    c = Client("http://localhost:8050", token)
    c.rankings(universe="sp500").head()
    c.screener(where=["rs_rating>=80", "stage=2"])
    c.groups(by="sector"); c.bars("AAPL", "1d"); c.regime()

Only the standard library and pandas: it runs in any notebook without the app
installed beside it. What each table was computed from (session, data origins,
counts) is kept in `frame.attrs`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

TIMEOUT_S = 30.0
USER_AGENT = "tickstock-client/1"
# Columns holding dates or times, parsed to datetime64 (times as UTC).
TIME_COLUMNS = frozenset(
    {
        "date",
        "time",
        "ts",
        "timestamp",
        "session",
        "bar_ts",
        "regime_since",
        "follow_through_day",
    }
)
TIME_SUFFIXES = ("_at", "_date")
Transport = Callable[[str, str, dict[str, Any] | None], tuple[int, bytes]]


class ApiError(RuntimeError):
    """The API answered an error: HTTP status, error code and message."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class Client:
    """Call the TickStock REST API with a bearer token; answer DataFrames."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = TIMEOUT_S,
        transport: Transport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._transport = transport or self._urllib

    # ------------------------------------------------------------ tables
    def rankings(
        self, universe: str = "sp500", as_of: str = "now", **params: Any
    ) -> pd.DataFrame:
        """Return RS rankings (`sector`, `stage`, `sort`, `order`, `limit` too)."""
        body = self.get("/api/rankings", universe=universe, as_of=as_of, **params)
        return table(body)

    def screener(
        self,
        where: Iterable[str] = (),
        universe: str = "sp500",
        as_of: str = "now",
        **params: Any,
    ) -> pd.DataFrame:
        """Return the names meeting every `where` condition such as "rs_rating>=80"."""
        body = self.get(
            "/api/screener", where=list(where), universe=universe, as_of=as_of, **params
        )
        return table(body)

    def groups(
        self,
        universe: str = "sp500",
        as_of: str = "now",
        by: str = "sector",
        **params: Any,
    ) -> pd.DataFrame:
        """Return sector (or `by="sub_industry"`) ranks by mean RS score."""
        body = self.get("/api/groups", universe=universe, as_of=as_of, by=by, **params)
        return table(body)

    def bars(self, symbol: str, timeframe: str = "1d", **params: Any) -> pd.DataFrame:
        """Return OHLCV bars (`1min`, `1d`, `1w`), oldest first, `time` parsed."""
        body = self.get(
            f"/api/bars/{urllib.parse.quote(symbol)}", timeframe=timeframe, **params
        )
        return table(body, rows_key="bars")

    def regime(self, as_of: str = "now") -> pd.DataFrame:
        """Return the market regime, one row per index (SPY first)."""
        return table(self.get("/api/market-regime", as_of=as_of), rows_key="indexes")

    def watchlists(self) -> pd.DataFrame:
        """Return your watchlists (`symbols` as lists)."""
        return table(self.get("/api/watchlists"))

    def alerts(self) -> pd.DataFrame:
        """Return your alerts with their armed state."""
        return table(self.get("/api/alerts"))

    def alert_events(self, limit: int = 100) -> pd.DataFrame:
        """Return your fired alerts, newest first."""
        return table(self.get("/api/alerts/events", limit=limit))

    # ------------------------------------------------------------ HTTP
    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET a JSON endpoint; raise `ApiError` on an error answer."""
        return self.request("GET", path, params)

    def request(
        self, method: str, path: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Make one call; return the decoded JSON body."""
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != []}
        status, raw = self._transport(method, path, clean)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            text = raw[:200].decode(errors="replace")
            raise ApiError(status, "invalid_json", text) from None
        if status >= 400:
            raise ApiError(
                status,
                body.get("error", "error"),
                body.get("message", ""),
                body.get("details"),
            )
        return body

    def _urllib(
        self, method: str, path: str, params: dict[str, Any] | None
    ) -> tuple[int, bytes]:
        query = urllib.parse.urlencode(params or {}, doseq=True)
        url = f"{self.url}{path}" + (f"?{query}" if query else "")
        request = urllib.request.Request(
            url,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def table(body: dict[str, Any], rows_key: str = "rows") -> pd.DataFrame:
    """Return an answer's rows as a typed DataFrame; the other fields go to attrs."""
    frame = pd.DataFrame.from_records(body.get(rows_key) or [])
    for column in frame.columns:
        frame[column] = _typed(str(column), frame[column])
    frame.attrs.update({k: v for k, v in body.items() if k != rows_key})
    return frame


def _typed(name: str, column: pd.Series) -> pd.Series:
    if name in TIME_COLUMNS or name.endswith(TIME_SUFFIXES):
        values = column.dropna().astype(str)
        has_time = values.str.contains("T").any()
        return pd.to_datetime(column, utc=bool(has_time), errors="coerce")
    if column.dtype == object:
        present = column.dropna()
        if len(present) and present.map(lambda v: isinstance(v, bool)).all():
            return column.astype("boolean")
        if len(present) and present.map(_is_number).all():
            return pd.to_numeric(column, errors="coerce")
    return column


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
