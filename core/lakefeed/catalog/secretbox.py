"""Encryption of secrets at rest with a key generated on first use (file mode 0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
        if path.exists():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key

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
