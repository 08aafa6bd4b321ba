"""`tickstock users ...` and `tickstock tokens ...`: accounts and API tokens.

Passwords are read from standard input (one line; never from the command line,
where they would land in the shell history and the process list).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from dashapp import auth
from dashapp.settings import Settings
from dashapp.store import ROLES

EXIT_ERROR = 1


def _store(settings: Settings):
    from dashapp.factory import prepare_store

    return prepare_store(settings)


def read_password(prompt: str = "Password: ") -> str:
    """Read a password from stdin (no echo on a terminal, one line otherwise)."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat: ") != first:
            raise auth.AuthError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _fail(exc: Exception) -> int:
    print(f"tickstock: {exc}", file=sys.stderr)
    return EXIT_ERROR


def cmd_users_add(settings: Settings, args: argparse.Namespace) -> int:
    """Create a user with a password read from stdin."""
    try:
        auth.create_user(_store(settings), args.name, read_password(), args.role)
    except (auth.AuthError, auth.PasswordRejected) as exc:
        return _fail(exc)
    print(f"user {args.name} created (role {args.role})")
    return 0


def cmd_users_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print every user."""
    print(f"{'id':>4}  {'username':<24} {'role':<6} {'state':<9} created")
    for user in _store(settings).list_users():
        state = "disabled" if user["disabled"] else "active"
        if user["locked_until"] is not None and not user["disabled"]:
            state = "locked?"
        created = (
            user["created_at"].isoformat(timespec="seconds")
            if user["created_at"]
            else ""
        )
        print(
            f"{user['id']:>4}  {user['username']:<24} {user['role']:<6} "
            f"{state:<9} {created}"
        )
    return 0


def _users_action(settings: Settings, args: argparse.Namespace) -> int:
    store = _store(settings)
    try:
        if args.action == "disable":
            auth.set_disabled(store, args.name, True)
        elif args.action == "enable":
            auth.set_disabled(store, args.name, False)
        elif args.action == "set-role":
            auth.set_role(store, args.name, args.role)
        elif args.action == "reset-password":
            auth.set_password(store, args.name, read_password("New password: "))
    except (auth.AuthError, auth.PasswordRejected) as exc:
        return _fail(exc)
    print(f"user {args.name}: {args.action} done")
    return 0


def cmd_tokens_add(settings: Settings, args: argparse.Namespace) -> int:
    """Issue an API token and print it (the only time it is shown)."""
    store = _store(settings)
    owner = args.user
    if owner is None:
        admins = [u for u in store.list_users() if u["role"] == auth.ADMIN]
        if len(admins) != 1:
            return _fail(auth.AuthError("say whose token it is: --user NAME"))
        owner = admins[0]["username"]
    try:
        token_id, token = auth.issue_token(store, owner, args.name)
    except auth.AuthError as exc:
        return _fail(exc)
    print(token)
    print(
        f"token #{token_id} {args.name!r} for {owner}: "
        "store it now, it is not shown again",
        file=sys.stderr,
    )
    return 0


def cmd_tokens_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print API tokens (never the tokens themselves)."""
    print(f"{'id':>4}  {'name':<24} {'user':<16} {'state':<8} last used")
    for tok in _store(settings).list_tokens():
        state = "revoked" if tok["revoked_at"] else "active"
        used = (
            tok["last_used_at"].isoformat(timespec="seconds")
            if tok["last_used_at"]
            else "-"
        )
        print(f"{tok['id']:>4}  {tok['name']:<24} {tok['user']:<16} {state:<8} {used}")
    return 0


def cmd_tokens_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke a token by id."""
    if not auth.revoke_token(_store(settings), args.id):
        return _fail(auth.AuthError(f"no token #{args.id}"))
    print(f"token #{args.id} revoked")
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    """Register `tickstock users ...` and `tickstock tokens ...`."""
    users = sub.add_parser("users", help="manage users (password from stdin)")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = usub.add_parser("add", help="create a user; reads the password from stdin")
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES, default=auth.USER)
    p.set_defaults(func=cmd_users_add)
    p = usub.add_parser("list", help="list users")
    p.set_defaults(func=cmd_users_list)
    for action, text in (
        ("disable", "disable a user and end its sessions"),
        ("enable", "enable a user"),
        ("reset-password", "set a new password (from stdin), unlock, end sessions"),
    ):
        p = usub.add_parser(action, help=text)
        p.add_argument("name")
        p.set_defaults(func=_users_action, action=action)
    p = usub.add_parser("set-role", help="change a user's role")
    p.add_argument("name")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(func=_users_action, action="set-role")

    tokens = sub.add_parser("tokens", help="manage API tokens")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    p = tsub.add_parser("add", help="issue a token and print it")
    p.add_argument("name")
    p.add_argument("--user", default=None, help="owner (default: the only admin)")
    p.set_defaults(func=cmd_tokens_add)
    p = tsub.add_parser("list", help="list tokens")
    p.set_defaults(func=cmd_tokens_list)
    p = tsub.add_parser("revoke", help="revoke a token by id")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_tokens_revoke)
