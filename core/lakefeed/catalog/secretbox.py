"""Encryption of secrets at rest with a key generated on first use (file mode 0600)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from lakefeed.config import make_private_folder
from lakefeed.errors import SecretKeyError


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) over JSON values, keyed by one file."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._fernet: Any = None

    def _cipher(self) -> Any:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(self._load_or_create_key())
        return self._fernet

    def _load_or_create_key(self) -> bytes:
        from cryptography.fernet import Fernet

        path = self.key_file
        if not path.exists():
            make_private_folder(path.parent)
            _create_once(path, Fernet.generate_key())
        return _read_key(path)

    def seal(self, value: dict[str, Any]) -> bytes:
        return bytes(self._cipher().encrypt(json.dumps(value, sort_keys=True).encode()))

    def open(self, token: bytes) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            return dict(json.loads(self._cipher().decrypt(token)))
        except InvalidToken as exc:
            raise SecretKeyError(
                f"Stored secrets cannot be decrypted with the key in {self.key_file}.",
                fix="Restore the key file this database was written with "
                "(LAKEFEED_SECRET_KEY_FILE), or recreate the connections.",
            ) from exc


#: How long a reader waits for a key file another process created but has not written yet.
KEY_WRITE_WAIT_SECONDS = 10.0


def _create_once(path: Path, key: bytes) -> None:
    """Make ``key`` the content of ``path`` unless another process made its own first: the key
    is written whole to a private temporary file, then hard-linked into place, which fails when
    ``path`` exists — so every process ends up reading the one key that won, never a file
    still being written."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(key)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process's key won
    except OSError:
        # No hard links here: O_EXCL still lets one process write; readers wait for its bytes.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
    finally:
        temporary.unlink()


def _read_key(path: Path) -> bytes:
    deadline = time.monotonic() + KEY_WRITE_WAIT_SECONDS
    while not (key := path.read_bytes().strip()) and time.monotonic() < deadline:
        time.sleep(0.01)  # created by another process (or an older lakefeed) that is writing it
    return key
