"""Conversion tasks sealed for the trip through a cluster's scheduler.

A task holds secrets (the connection's auth params, the warehouse's FileIO credentials). A
Dask scheduler keeps every task it is given and may write it to its logs or hand it to a
dashboard, so a task leaves the coordinator pickled and encrypted (Fernet: AES-128-CBC with an
HMAC-SHA256) with the executor key, ``LAKEFEED_EXECUTOR_KEY``, which the coordinator and the
workers get from their own environments and the scheduler never sees. A worker without the key,
or with another, cannot open it and says so; a tampered task fails its HMAC.

Make a key with ``lakefeed executor-key`` (or
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``).
"""

from __future__ import annotations

import os
import pickle
from typing import TYPE_CHECKING

from lakefeed.errors import ExecutorConfigError

if TYPE_CHECKING:
    from lakefeed.flows.convert import ConversionTask

KEY_VARIABLE = "LAKEFEED_EXECUTOR_KEY"


class TaskSeal:
    """Seals and opens conversion tasks with one executor key."""

    def __init__(self, key: bytes | str) -> None:
        from cryptography.fernet import Fernet

        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ExecutorConfigError(
                f"{KEY_VARIABLE} is not an executor key (32 url-safe base64-encoded bytes).",
                fix="Make one with `lakefeed executor-key` and set it on the coordinator and "
                "every worker.",
            ) from exc

    @classmethod
    def from_environment(cls) -> TaskSeal:
        key = os.environ.get(KEY_VARIABLE, "").strip()
        if not key:
            raise ExecutorConfigError(
                f"The Dask executor needs {KEY_VARIABLE} on the coordinator and on every worker "
                "(tasks carry connection secrets, sealed with it so the scheduler never holds "
                f"them in clear); it is not set in this process (pid {os.getpid()}).",
                fix="Make a key with `lakefeed executor-key` and set LAKEFEED_EXECUTOR_KEY to "
                "it where lakefeed runs and in the environment of every Dask worker.",
            )
        return cls(key)

    @staticmethod
    def new_key() -> str:
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    def close(self, task: ConversionTask) -> bytes:
        return self._fernet.encrypt(pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL))

    def open(self, sealed: bytes) -> ConversionTask:
        from cryptography.fernet import InvalidToken

        try:
            data = self._fernet.decrypt(sealed)
        except InvalidToken as exc:
            raise ExecutorConfigError(
                f"A conversion task could not be opened on this worker (pid {os.getpid()}): "
                f"its {KEY_VARIABLE} is not the coordinator's, or the task was altered.",
                fix="Set the same LAKEFEED_EXECUTOR_KEY on the coordinator and every worker.",
            ) from exc
        task: ConversionTask = pickle.loads(data)
        return task
