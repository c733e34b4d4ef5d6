"""SECRET_KEY: ADMIN_SECRET_KEY if set, else one key generated once and shared by every worker.

Django signs the session cookie and the CSRF token with SECRET_KEY. The server runs several
uvicorn worker processes, each importing the settings on its own: a key drawn at random in
each of them would make a cookie signed by one worker invalid in the next, and a browser
would be sent back to the login page on every other request. So, when ADMIN_SECRET_KEY is
unset, the key is generated once into a file (`.data/secret_key`, mode 0600) and read by
every worker; it also survives restarts, so sessions do too. Deriving the key from the
configuration instead would make it guessable by anyone who knows the configuration, which
would let them forge cookies.

Two workers starting together may both find no file: each writes its candidate to a private
temporary file and `os.link`s it into place, which fails when the name already exists, so
exactly one candidate wins and both read the winner.

Several replicas (pods) do not share a disk: set ADMIN_SECRET_KEY to the same value in each.
If the file cannot be written (read-only disk), a per-process key is used with a warning on
stderr; that works with one worker only.

The token of a browser session does not depend on this key staying secret (see
`foundation.auth.browser_sessions`): the key guards the integrity of cookies, not the token.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

MIN_KEY_LENGTH = 32


def _read(key_file: Path) -> str | None:
    try:
        key = key_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return key if len(key) >= MIN_KEY_LENGTH else None


def _create(key_file: Path) -> None:
    """Write a new key into `key_file` unless another process does it first."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    candidate = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as stream:
            stream.write(secrets.token_hex(32))
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(candidate, key_file)
    finally:
        candidate.unlink(missing_ok=True)


def stable_secret_key(*, environ: Mapping[str, str], key_file: Path) -> str:
    """ADMIN_SECRET_KEY, else the key of `key_file` (created on first use)."""
    configured = (environ.get("ADMIN_SECRET_KEY") or "").strip()
    if configured:
        return configured
    try:
        key = _read(key_file)
        if key is None:
            _create(key_file)
            key = _read(key_file)
    except OSError as error:
        sys.stderr.write(f"warning: cannot keep a secret key in {key_file} ({error.strerror}); set ADMIN_SECRET_KEY\n")
        key = None
    if key is None:
        sys.stderr.write("warning: ADMIN_SECRET_KEY unset and no usable key file: sessions work with one worker only\n")
        return secrets.token_hex(32)
    return key
