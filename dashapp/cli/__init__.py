"""The `tickstock` command line.

Like `dashapp.factory`, the CLI is a composition root: one module per command
group, each free to import across packages.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from dashapp.settings import ConfigError, Settings, load_settings

log = logging.getLogger("tickstock.cli")
EXIT_CONFIG = 2


def cmd_init_db(settings: Settings, args: argparse.Namespace) -> int:
    """Create or upgrade the schema and load reference data."""
    from dashapp.factory import prepare_store

    store = prepare_store(settings)
    stats = store.table_stats()
    print(f"database ready: {settings.database_url} (schema v{store.schema_version()})")
    for row in stats.itertuples():
        print(f"  {row.table:<12} {row.rows:>10,} rows")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the web app (development server, or gunicorn with --workers)."""
    host = args.host or settings.host
    port = args.port or settings.port
    if args.workers and args.workers > 1:
        from dashapp.gunicorn_conf import run_gunicorn

        if args.no_ingest:
            settings = settings.replace(ingest_enabled=False)
        return run_gunicorn(settings, host, port, args.workers)
    from dashapp.factory import create_app

    app = create_app(settings, ingest=not args.no_ingest and settings.ingest_enabled)
    return serve_app(app, host, port)


def serve_app(app, host: str | None = None, port: int | None = None) -> int:
    """Serve a built app with the development server until SIGTERM or SIGINT."""
    from dashapp.ops.shutdown import install_graceful_shutdown

    settings = app.server.extensions["tickstock_settings"]
    host = host or settings.host
    port = port or settings.port
    install_graceful_shutdown(app.server)
    first_run_admin(app.server.extensions["tickstock_store"], settings)
    log.info("serving on http://%s:%s", host, port)
    app.run(host=host, port=port, debug=False)
    return 0


def first_run_admin(store, settings: Settings) -> str | None:
    """Create `admin` with a random one-time password when no user exists yet.

    There is no default password: a fresh `make run` prints a random one once
    (and keeps it in data/initial-admin-password, mode 0600) so the new user
    can log in; `tickstock users reset-password admin` replaces it.
    """
    import secrets

    from dashapp.auth import ADMIN, create_user

    if store.count_users() > 0:
        return None
    password = secrets.token_urlsafe(18)
    create_user(store, "admin", password, ADMIN)
    path = settings.data_path / "initial-admin-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    banner = admin_banner(password, path, sys.stderr.isatty())
    print(banner, file=sys.stderr, flush=True)
    return password


def admin_banner(password: str, path: Any, color: bool = False) -> str:
    """Return the first-start note with the password alone on a highlighted line."""
    shown = f"\033[1;30;43m  {password}  \033[0m" if color else f">>  {password}  <<"
    rule = "  " + "-" * 66
    return "\n".join(
        [
            "",
            rule,
            "  First start: log in as user 'admin' with this one-time password:",
            "",
            f"    {shown}",
            "",
            f"  (kept in {path}, mode 0600;",
            "   change it with `tickstock users reset-password admin`)",
            rule,
            "",
        ]
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="tickstock", description="TickStock market-state dashboard."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init-db", help="create/upgrade the schema, load reference data")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("serve", help="run the web app")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--workers", type=int, default=0, help="gunicorn workers (>1)")
    p.add_argument("--no-ingest", action="store_true", help="do not co-start ingest")
    p.set_defaults(func=cmd_serve)

    for register in _plugin_registrars():
        register(sub)
    return parser


def _plugin_registrars() -> list:
    """Return `add_cli(subparsers)` functions of the other packages' commands."""
    import importlib

    registrars = []
    for module in PLUGIN_MODULES:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            log.debug("CLI plugin %s unavailable: %s", module, exc)
            continue
        registrars.append(mod.add_cli)
    return registrars


# Modules that contribute subcommands through `add_cli(subparsers)`; each
# subparser sets `func(settings, args) -> int`.
PLUGIN_MODULES: tuple[str, ...] = ("dashapp.cli.export", "dashapp.cli.monitor")
PLUGIN_MODULES += ("dashapp.cli.users",)  # users and API tokens
# History: file import, Massive backfill, EOD roll-up, demo data, universes.
PLUGIN_MODULES += (
    "dashapp.cli.history",
    "dashapp.cli.eod",
    "dashapp.cli.demo",
    "dashapp.cli.universes",
)
PLUGIN_MODULES += (
    "dashapp.cli.ingest",
    "dashapp.cli.simulate",
)  # live ingest, simulator
PLUGIN_MODULES += ("dashapp.cli.splits", "dashapp.cli.datahealth")  # splits, health


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; exit 2 with one clear line on a configuration error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tickstock: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    from dashapp.ops.logs import configure_logging

    configure_logging(settings)
    code = args.func(settings, args)
    raise SystemExit(code or 0)
