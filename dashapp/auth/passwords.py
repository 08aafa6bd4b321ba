"""Passwords: the policy (length, common passwords) and argon2id hashing."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MIN_DISTINCT_CHARS = 5

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about
# 0.1-0.2 s per check on a small server; stored hashes carry their parameters,
# and a login re-hashes a password whose parameters differ.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19_456
ARGON2_PARALLELISM = 1
_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
)
_DUMMY_HASH = _hasher.hash("tickstock-timing-equaliser")


class PasswordRejected(ValueError):
    """A password does not meet the password policy."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords and password stems."""
    text = resources.files("dashapp.store.refdata").joinpath("common_passwords.txt")
    lines = text.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and line[0] != "#"
    )


def password_problem(password: str, username: str | None = None) -> str | None:
    """Return why a password is not acceptable, or None when it is."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must have at most {MAX_PASSWORD_LENGTH} characters"
    if "\x00" in password:
        return "password must not contain NUL characters"
    lowered = password.lower()
    stem = lowered.strip("0123456789!@#$%^&*()_+-=.,;:?~ ")
    common = common_passwords()
    if lowered in common or stem in common or not stem:
        return "password is too common"
    if len(set(lowered)) < MIN_DISTINCT_CHARS:
        return "password has too few distinct characters"
    if username and len(username) >= 3 and username.lower() in lowered:
        return "password must not contain the username"
    return None


def hash_password(password: str, username: str | None = None) -> str:
    """Return the argon2id hash of an acceptable password (else PasswordRejected)."""
    problem = password_problem(password, username)
    if problem:
        raise PasswordRejected(problem)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether `password` matches the stored argon2 hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_for_timing(password: str) -> None:
    """Spend the cost of a real check, so unknown users answer no faster."""
    verify_password(_DUMMY_HASH, password)


def rehash_if_outdated(password_hash: str, password: str) -> str | None:
    """Return a new hash when the stored one has other argon2 parameters."""
    if _hasher.check_needs_rehash(password_hash):
        return _hasher.hash(password)
    return None
