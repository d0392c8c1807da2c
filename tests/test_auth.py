"""Users file, password hashing, roles and the user-management CLI."""
import io
import json
import stat
import subprocess
import sys

import pytest

from analytics.access import auth
from analytics.access.auth import PermissionDenied, User

ROOT = auth.DEFAULT_AUTH.parent.parent
PW = "correct horse"


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_hash_round_trip():
    stored = auth.hash_password(PW)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert (len(bytes.fromhex(salt)), len(bytes.fromhex(digest))) == (16, 64)
    assert auth.verify_password(PW, stored)
    assert not auth.verify_password(PW + "!", stored)
    assert auth.hash_password(PW) != stored  # fresh salt each time
    assert not auth.verify_password(PW, "scrypt$nonsense") and not auth.verify_password(PW, "md5$1$1$1$00$00")
    with pytest.raises(ValueError):
        auth.hash_password("short")


def test_authenticate(tmp_path):
    path = tmp_path / "auth.json"
    assert auth.authenticate("mo", PW, path) is None  # no users file yet
    assert auth.add_user("mo", PW, "moderator", "Mo Mod", path) == User("mo", "Mo Mod", "moderator")
    assert auth.authenticate("mo", PW, path) == User("mo", "Mo Mod", "moderator")
    assert auth.authenticate("mo", "wrong password", path) is None
    assert auth.authenticate("nobody", PW, path) is None
    assert mode(path) == 0o600
    assert PW not in path.read_text() and json.loads(path.read_text())["users"]["mo"]["role"] == "moderator"
    assert [p.name for p in tmp_path.iterdir()] == ["auth.json"]  # no temp file left behind


def test_add_user_validation(tmp_path):
    path = tmp_path / "auth.json"
    auth.add_user("mo", PW, "moderator", path=path)
    for args in [("mo", PW, "analyst"), ("new", PW, "root"), ("bad name", PW, "analyst"), ("new", "short", "analyst")]:
        with pytest.raises(ValueError):
            auth.add_user(*args, path=path)
    assert [u.username for u in auth.list_users(path)] == ["mo"]


def test_set_password(tmp_path):
    path = tmp_path / "auth.json"
    auth.add_user("mo", PW, "moderator", path=path)
    auth.set_password("mo", "another secret", path)
    assert auth.authenticate("mo", PW, path) is None and auth.authenticate("mo", "another secret", path)
    with pytest.raises(KeyError):
        auth.set_password("nobody", "another secret", path)


def test_ensure_admin_once(tmp_path, monkeypatch):
    path = tmp_path / "data" / "auth.json"
    monkeypatch.setenv("SOCIAL_AUTH", str(path))
    assert auth.auth_path() == path
    password = auth.ensure_admin()
    saved = path.parent / "admin_password.txt"
    assert saved.read_text().strip() == password and len(password) >= 16
    assert mode(path) == 0o600 and mode(saved) == 0o600
    assert auth.authenticate("admin", password) == User("admin", "Administrator", "admin", must_change=True)
    before = path.read_text()
    assert auth.ensure_admin() is None and path.read_text() == before
    auth.set_password("admin", "my-own-password")
    assert not saved.exists(), "the generated password's file goes once the admin chose their own"
    assert auth.authenticate("admin", "my-own-password") == User("admin", "Administrator", "admin")
    assert auth.authenticate("admin", password) is None


def test_roles_and_require():
    assert set(auth.CAPABILITIES) == set(auth.ROLES)
    analyst, mod, admin = User("a", "A", "analyst"), User("m", "M", "moderator"), User("r", "R", "admin")
    assert analyst.can("view_analytics") and not analyst.can("moderate")
    assert mod.can("moderate") and mod.can("view_audit") and not mod.can("manage_users")
    assert all(admin.can(c) for caps in auth.CAPABILITIES.values() for c in caps)
    assert admin.can("tune_thresholds") and not User("p", "P", "product").can("moderate")
    auth.require(mod, "moderate")
    for user in (None, analyst, User("x", "X", "no-such-role")):
        with pytest.raises(PermissionDenied):
            auth.require(user, "moderate")
    assert issubclass(PermissionDenied, PermissionError)


def test_last_admin_cannot_be_removed(tmp_path):
    path = tmp_path / "auth.json"
    auth.ensure_admin(path)
    with pytest.raises(ValueError, match="last admin"):
        auth.remove_user("admin", path)
    auth.add_user("root", PW, "admin", path=path)
    auth.remove_user("admin", path)
    assert [u.username for u in auth.list_users(path)] == ["root"]
    with pytest.raises(KeyError):
        auth.remove_user("admin", path)


def cli(args, env_path, stdin=""):
    return subprocess.run([sys.executable, "-m", "analytics.auth", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env={"SOCIAL_AUTH": str(env_path), "PATH": "/usr/bin:/bin"})


def test_cli_subprocess(tmp_path):
    path = tmp_path / "auth.json"
    r = cli(["add", "mo", "--role", "moderator", "--display", "Mo Mod", "--password-stdin"], path, PW + "\n")
    assert (r.returncode, r.stderr) == (0, "") and "Added mo (moderator)" in r.stdout
    assert auth.authenticate("mo", PW, path) == User("mo", "Mo Mod", "moderator")
    r = cli(["list"], path)
    assert (r.returncode, r.stdout) == (0, "mo\tmoderator\tMo Mod\n")
    r = cli(["add", "mo", "--role", "analyst", "--password-stdin"], path, PW + "\n")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = cli(["add", "x", "--role", "superuser", "--password-stdin"], path, PW + "\n")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_cli_main(tmp_path, monkeypatch, capsys):
    path = tmp_path / "auth.json"
    monkeypatch.setenv("SOCIAL_AUTH", str(path))
    monkeypatch.setattr(sys, "stdin", io.StringIO("tiny\n"))
    assert auth.main(["add", "an", "--role", "analyst", "--password-stdin"]) == 1
    assert "at least 8" in capsys.readouterr().err
    answers = iter([PW, PW])
    monkeypatch.setattr(auth.getpass, "getpass", lambda prompt: next(answers))
    assert auth.main(["add", "an", "--role", "analyst"]) == 0
    answers = iter(["new secret!", "typo secret"])
    assert auth.main(["passwd", "an"]) == 1 and "do not match" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("new secret!\n"))
    assert auth.main(["passwd", "an", "--password-stdin"]) == 0
    assert auth.authenticate("an", "new secret!") == User("an", "an", "analyst")
    assert auth.main(["passwd", "ghost", "--password-stdin"]) == 1
    auth.add_user("boss", PW, "admin", "The Boss")
    capsys.readouterr()
    assert auth.main(["remove", "boss"]) == 1 and "last admin" in capsys.readouterr().err
    assert auth.main(["remove", "an"]) == 0
    capsys.readouterr()
    assert auth.main(["list"]) == 0 and capsys.readouterr().out == "boss\tadmin\tThe Boss\n"
    with pytest.raises(SystemExit) as exit_:
        auth.main([])
    assert exit_.value.code == 2
