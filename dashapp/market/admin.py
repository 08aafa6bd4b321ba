"""The Admin page's reads and actions: users, tokens, universes, jobs, data health.

Every action is written to the audit log (`tickstock.audit`) and answers
`(ok, message)` for the page to show; the page itself only lays out and renders.
"""

from __future__ import annotations

import base64
import logging
import re
from typing import Any

import pandas as pd

from dashapp import auth
from dashapp.auth import AuthError
from dashapp.market.context import current_store, extension
from dashapp.store import StoreError

audit = logging.getLogger("tickstock.audit")
ADMIN = auth.ADMIN
# The REST API's symbol rule (dashapp.api.spec.SYMBOL_RE): universes hold the same.
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,11}$")
SYMBOL_SPLIT = re.compile(r"[\s,;]+")
UNIVERSE_NAME = re.compile(r"^[a-z0-9_\-]{1,64}$")
MAX_SYMBOLS = 5_000
HEALTH_ROWS = 200
USER_COLUMNS = [
    "id",
    "username",
    "role",
    "disabled",
    "failed_logins",
    "locked_until",
    "created_at",
]
TOKEN_COLUMNS = ["id", "name", "user", "created_at", "last_used_at", "revoked_at"]
DATA_HEADERS = {
    "label": "What",
    "table": "Table",
    "rows": "Rows",
    "symbols": "Symbols",
    "newest": "Newest bar (UTC)",
}
UNIVERSE_HEADERS = {
    "name": "Universe",
    "label": "Description",
    "builtin": "Built-in",
    "members": "Members",
    "with_data": "With daily data",
}
HEALTH_VALUE_CHARS = 120


def health_rows(health: dict[str, Any], prefix: str = "") -> pd.DataFrame:
    """Return a health dict as (what, value) rows; nested dicts become "a › b" rows."""
    rows: list[dict[str, str]] = []
    for key, value in health.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += health_rows(value, f"{name} › ").to_dict("records")
        elif isinstance(value, dict):
            rows.append({"what": name, "value": "—"})
        elif isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value) or "—"
            rows.append({"what": name, "value": text[:HEALTH_VALUE_CHARS]})
        else:
            text = "—" if value is None else str(value)
            rows.append({"what": name, "value": text[:HEALTH_VALUE_CHARS]})
    return pd.DataFrame(rows, columns=["what", "value"])


def stored_data_frame() -> pd.DataFrame:
    """Return what the database holds: rows, symbols and newest bar per table."""
    from dashapp.market.overview import database_overview

    return database_overview()


def actor() -> str:
    """Return the username of the admin acting ("?" when nobody is logged in)."""
    principal = auth.current_principal()
    return principal.username if principal else "?"


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Return rows as a frame with its times as "YYYY-MM-DD HH:MM:SS" text."""
    frame = pd.DataFrame(rows, columns=columns)
    for col in frame.columns:
        if col.endswith("_at") or col == "locked_until":
            frame[col] = frame[col].map(
                lambda v: "" if v is None or pd.isna(v) else str(v)[:19]
            )
    return frame


def users_frame() -> pd.DataFrame:
    """Return every user account as a table."""
    return _frame(current_store().list_users(), USER_COLUMNS)


def tokens_frame() -> pd.DataFrame:
    """Return every API token (without its secret) as a table."""
    return _frame(current_store().list_tokens(), TOKEN_COLUMNS)


def list_universes() -> pd.DataFrame:
    """Return every universe with its member counts."""
    return current_store().list_universes()


def list_jobs() -> list[dict[str, Any]]:
    """Return the history jobs as table rows, newest first."""
    from dashapp.ops.jobs import list_jobs as stored_jobs

    return [
        {
            **{
                k: j.get(k)
                for k in ("id", "kind", "status", "user", "message", "error")
            },
            "progress": f"{100 * (j.get('progress') or 0):.0f}%",
            "created": j.get("created_at"),
        }
        for j in stored_jobs(current_store())
    ]


def ingest_service() -> Any:
    """Return the live ingest service of this process (None when not running)."""
    return extension("ingest")


def data_health_summary() -> tuple[str, pd.DataFrame]:
    """Return the data-health summary line and the symbols with issues."""
    from dashapp.store.datahealth import BIG_MOVE, data_health, issues_frame

    report = data_health(current_store())
    summary = report["summary"]
    text = (
        f"{summary['symbols']} symbols, newest session {report['newest_session']}: "
        f"{summary['with_missing_sessions']} with missing sessions, "
        f"{summary['rescaled']} rescaled, {summary['flagged']} flagged, "
        f"{summary['with_suspect_moves']} with day moves over {BIG_MOVE:.0%}, "
        f"{summary['stale']} stale."
    )
    issues = issues_frame(report).drop(columns=["sources"]).head(HEALTH_ROWS)
    return text, issues


def change_user(action: str, name: str, password: str, role: str) -> tuple[bool, str]:
    """Create a user or change one (role, disabled, password)."""
    store = current_store()
    try:
        if action == "create":
            auth.create_user(store, name, password, role)
        elif action == "set-role":
            auth.set_role(store, name, role)
        elif action in ("disable", "enable"):
            auth.set_disabled(store, name, action == "disable")
        elif action == "reset-password":
            auth.set_password(store, name, password)
        else:
            return False, "unknown action"
    except (AuthError, auth.PasswordRejected) as exc:
        return False, str(exc)
    audit.info("audit: %s (admin page) %s user %s", actor(), action, name)
    return True, f"{action}: {name} done"


def issue_token(owner: str, name: str) -> tuple[int, str]:
    """Issue an API token for `owner`: return (id, token); AuthError if refused."""
    new_id, token = auth.issue_token(current_store(), owner, name)
    audit.info("audit: %s (admin page) issued token #%s", actor(), new_id)
    return new_id, token


def revoke_token(token_id: Any) -> tuple[bool, str]:
    """Revoke a token by id."""
    if not isinstance(token_id, int | float) or token_id < 1:
        return False, "give a token id"
    if not auth.revoke_token(current_store(), int(token_id)):
        return False, f"no token #{int(token_id)}"
    audit.info("audit: %s (admin page) revoked token #%s", actor(), int(token_id))
    return True, f"token #{int(token_id)} revoked"


def symbols_from(text: str | None, upload: str | None) -> list[str]:
    """Return the symbols typed in `text` plus the first column of an upload."""
    raw = text or ""
    if upload and "," in upload:
        payload = upload.split(",", 1)[1]
        decoded = base64.b64decode(payload).decode("utf-8", "replace")
        raw += "\n" + "\n".join(line.split(",")[0] for line in decoded.splitlines())
    items = [s.strip().upper() for s in SYMBOL_SPLIT.split(raw) if s.strip()]
    return [s for s in items if s not in ("SYMBOL", "TICKER")]


def edit_universe(
    name: str | None,
    label: str | None,
    text: str | None,
    upload: str | None,
    delete: bool,
) -> tuple[bool, str]:
    """Create/replace a user-defined universe, or delete one."""
    store = current_store()
    key = (name or "").strip().lower()
    if not UNIVERSE_NAME.match(key):
        return False, "universe name: 1-64 of a-z 0-9 _ -"
    builtin = store.list_universes()
    if key in set(builtin.loc[builtin["builtin"].astype(bool), "name"]):
        return False, f"universe {key} is built in"
    if delete:
        try:
            found = store.delete_universe(key)
        except StoreError as exc:
            return False, str(exc)
        audit.info("audit: %s (admin page) deleted universe %s", actor(), key)
        return (True, f"deleted {key}") if found else (False, f"no universe {key}")
    symbols = symbols_from(text, upload)
    bad = [s for s in symbols if not SYMBOL_RE.fullmatch(s)]
    if bad:
        return False, f"not symbols: {', '.join(bad[:10])}"
    if not symbols or len(symbols) > MAX_SYMBOLS:
        return False, f"give 1..{MAX_SYMBOLS} symbols"
    count = store.set_universe(key, symbols, label=(label or None))
    audit.info("audit: %s (admin page) set universe %s (%s)", actor(), key, count)
    return True, f"universe {key}: {count} members"


def start_history_job(
    kind: str, days: Any, universe: Any, minute: Any, path: Any
) -> tuple[bool, str]:
    """Start a backfill or file import in the background."""
    from flask import current_app

    from dashapp.ops.jobs import JobError, start_job

    params: dict = {}
    if kind == "backfill":
        if not isinstance(days, int | float) or not 1 <= days <= 5000:
            return False, "days: 1..5000"
        params = {"days": int(days), "minute": bool(minute)}
        if universe:
            params["universe"] = str(universe).strip().lower()[:200]
    else:
        if not path or "\x00" in path:
            return False, "give a file path on the server"
        params = {
            "path": str(path)[:1024],
            "timeframe": "minute" if minute else "daily",
        }
    try:
        job = start_job(current_app, kind, params, user=actor())
    except JobError as exc:
        return False, str(exc)
    return True, f"job {job['id']} started"
