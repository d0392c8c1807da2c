"""Sign-in with roles: a JSON users file of scrypt hashes, role capabilities, and a small CLI to manage users.

The analytics layer calls `require` itself, so a page that forgets a check still cannot act beyond its role.

    python -m analytics.auth add NAME --role moderator [--display "Full Name"] [--password-stdin]
    python -m analytics.auth passwd NAME [--password-stdin]
    python -m analytics.auth remove NAME
    python -m analytics.auth list
"""
from __future__ import annotations

import argparse
import functools
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_AUTH = Path(__file__).resolve().parents[2] / "data" / "auth.json"
ROLES = ("analyst", "moderator", "admin", "product")
CAPABILITIES = {
    "analyst": frozenset({"view_analytics", "import_posts"}),
    "moderator": frozenset({"view_analytics", "moderate", "view_audit"}),
    "product": frozenset({"view_analytics", "view_feeds"}),
    "admin": frozenset({"view_analytics", "moderate", "view_audit", "view_feeds", "manage_users", "tune_thresholds",
                        "import_posts"}),
}
MIN_PASSWORD = 8
FIRST_PASSWORD_FILE = "admin_password.txt"  # beside the users file until the admin sets their own password
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_MAXMEM = 64 * 2 ** 20


class PermissionDenied(PermissionError):
    """The signed-in user (or nobody) lacks the capability an action needs."""


@dataclass(frozen=True)
class User:
    """A signed-in user."""

    username: str
    name: str
    role: str
    must_change: bool = False  # the first-run admin: must set a new password before anything else

    def can(self, cap: str) -> bool:
        """Whether the user's role grants capability `cap`."""
        return cap in CAPABILITIES.get(self.role, ())


def require(user: User | None, cap: str) -> None:
    """Raise PermissionDenied unless `user` is signed in and may `cap`."""
    if user is None or not user.can(cap):
        who = f"{user.username} ({user.role})" if user else "anonymous"
        raise PermissionDenied(f"{who} may not {cap}")


def auth_path() -> Path:
    """Path of the users file: env SOCIAL_AUTH if set, else data/auth.json."""
    return Path(os.environ.get("SOCIAL_AUTH") or DEFAULT_AUTH)


def hash_password(password: str) -> str:
    """'scrypt$n$r$p$salt_hex$hash_hex' for `password` (at least MIN_PASSWORD characters)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must be at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (False for a malformed hash, never an exception)."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=_MAXMEM)
        return hmac.compare_digest(digest, bytes.fromhex(expected))
    except (ValueError, TypeError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(12))


def _load(path: Path) -> dict:
    if not path.exists():
        return {"users": {}}
    return json.loads(path.read_text())


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temp file in the same folder, then rename), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _save(path: Path, data: dict) -> None:
    _write_private(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _user(username: str, rec: dict) -> User:
    return User(username, rec.get("name") or username, rec["role"], bool(rec.get("must_change")))


def get_user(username: str, path: Path | None = None) -> User | None:
    """The user as the users file has them now (current role), or None once removed."""
    rec = _load(Path(path) if path else auth_path())["users"].get(username)
    return _user(username, rec) if rec else None


def authenticate(username: str, password: str, path: Path | None = None) -> User | None:
    """The user if the password matches, else None; an unknown name costs the same hashing as a known one."""
    rec = _load(Path(path) if path else auth_path())["users"].get(username)
    ok = verify_password(password, rec["hash"] if rec else _dummy_hash())
    return _user(username, rec) if rec and ok else None


def list_users(path: Path | None = None) -> list[User]:
    """Every user, by username."""
    users = _load(Path(path) if path else auth_path())["users"]
    return [_user(u, users[u]) for u in sorted(users)]


def add_user(username: str, password: str, role: str, name: str | None = None, path: Path | None = None) -> User:
    """Create a user (ValueError for a bad or taken name, an unknown role or a short password)."""
    path = Path(path) if path else auth_path()
    if not _USERNAME.match(username):
        raise ValueError(f"username {username!r} must be 1-64 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    data = _load(path)
    if username in data["users"]:
        raise ValueError(f"user {username!r} already exists")
    data["users"][username] = {"name": name or username, "role": role, "hash": hash_password(password)}
    _save(path, data)
    return _user(username, data["users"][username])


def set_password(username: str, password: str, path: Path | None = None) -> None:
    """Replace a user's password (KeyError if unknown, ValueError if too short). Clears the first-run must-change
    flag and deletes the first-run password file."""
    path = Path(path) if path else auth_path()
    data = _load(path)
    if username not in data["users"]:
        raise KeyError(f"no user {username!r}")
    rec = data["users"][username]
    rec["hash"] = hash_password(password)
    first_run = rec.pop("must_change", False)
    _save(path, data)
    if first_run:
        (path.parent / FIRST_PASSWORD_FILE).unlink(missing_ok=True)


def remove_user(username: str, path: Path | None = None) -> None:
    """Delete a user (KeyError if unknown; ValueError for the last admin, which would lock everyone out)."""
    path = Path(path) if path else auth_path()
    data = _load(path)
    users = data["users"]
    if username not in users:
        raise KeyError(f"no user {username!r}")
    if users[username]["role"] == "admin" and sum(u["role"] == "admin" for u in users.values()) == 1:
        raise ValueError(f"{username!r} is the last admin; add another admin first")
    del users[username]
    _save(path, data)


def ensure_admin(path: Path | None = None) -> str | None:
    """First run: create the users file with `admin` and a random password, saved to admin_password.txt beside it.

    Returns that password, or None when the users file already exists.
    """
    path = Path(path) if path else auth_path()
    if path.exists():
        return None
    password = secrets.token_urlsafe(12)
    add_user("admin", password, "admin", "Administrator", path)
    data = _load(path)
    data["users"]["admin"]["must_change"] = True
    _save(path, data)
    _write_private(path.parent / FIRST_PASSWORD_FILE, password + "\n")
    return password


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise ValueError("passwords do not match")
    return password


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns 0 on success, 1 when the operation fails, 2 for bad usage (from argparse)."""
    ap = argparse.ArgumentParser(prog="python -m analytics.auth",
                                 description=f"Manage dashboard users in {auth_path()}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display", help="full name shown in the app")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    pw = sub.add_parser("passwd", help="change a user's password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true")
    sub.add_parser("remove", help="delete a user").add_argument("name")
    sub.add_parser("list", help="list users")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "add":
            user = add_user(args.name, _read_password(args.password_stdin), args.role, args.display)
            print(f"Added {user.username} ({user.role}) to {auth_path()}")
        elif args.cmd == "passwd":
            set_password(args.name, _read_password(args.password_stdin))
            print(f"Password of {args.name} changed")
        elif args.cmd == "remove":
            remove_user(args.name)
            print(f"Removed {args.name}")
        else:
            for u in list_users():
                print(f"{u.username}\t{u.role}\t{u.name}")
    except (ValueError, KeyError) as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 1
    return 0

