"""``sync.py`` is generated from ``aio.py``: the committed file is what the generator makes of
it, the rewrite's rules, the twins' methods, and what ``lakefeed.client`` imports."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lakefeed.client import AsyncClient, Client, _generate
from lakefeed.client._generate import GenerationError, drift, unasync

CLIENT = Path(_generate.__file__).resolve().parent


def test_the_committed_sync_py_is_what_aio_py_generates() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lakefeed.client._generate", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_hand_edit_of_sync_py_is_drift(tmp_path: Path) -> None:
    edited = tmp_path / "sync.py"
    text = (CLIENT / "sync.py").read_text(encoding="utf-8")
    edited.write_text(text.replace("retries: int = 3", "retries: int = 5"), encoding="utf-8")
    difference = drift(target=edited)
    assert "-        retries: int = 5,\n+        retries: int = 3," in difference
    assert drift(target=tmp_path / "missing.py").startswith("--- sync.py (committed)")


def test_the_rewrite() -> None:
    source = textwrap.dedent(
        '''\
        import asyncio
        from collections.abc import AsyncIterator


        class AsyncClient:
            """Use it as ``async with AsyncClient() as c`` and ``await c.aclose()``."""

            async def __aenter__(self) -> AsyncClient:
                return self

            async def aclose(self) -> None:
                await asyncio.sleep(0)  # await the httpx.AsyncClient

            async def items(self) -> AsyncIterator[int]:
                async for page in self.pages():
                    for item in page:
                        yield item

            async def counted(self) -> AsyncIterator[int]:
                for item in [1, 2]:
                    yield item
                    self.n += 1

            async def all(self) -> list[int]:
                return [i async for i in self.items()]
        '''
    )
    assert unasync(source) == textwrap.dedent(
        '''\
        import time
        from collections.abc import Iterator


        class Client:
            """Use it as ``with Client() as c`` and ``c.close()``."""

            def __enter__(self) -> Client:
                return self

            def close(self) -> None:
                time.sleep(0)  # the httpx.Client

            def items(self) -> Iterator[int]:
                for page in self.pages():
                    yield from page

            def counted(self) -> Iterator[int]:
                for item in [1, 2]:
                    yield item
                    self.n += 1

            def all(self) -> list[int]:
                return [i for i in self.items()]
        '''
    )


def test_something_async_without_a_twin_is_an_error() -> None:
    with pytest.raises(GenerationError, match="twin for 'AsyncExitStack' in 'stack = contextlib"):
        unasync("import contextlib\nstack = contextlib.AsyncExitStack()\n")
    with pytest.raises(GenerationError, match="twin for 'awaited'"):
        unasync('"""Calls are awaited."""\n')


def test_both_clients_have_the_same_methods() -> None:
    """What the tests' ``Blocking`` adapter relies on: each ``Client`` method has an
    ``AsyncClient`` twin with the same parameters."""
    twins = {"__aenter__": "__enter__", "__aexit__": "__exit__", "aclose": "close"}
    kept = {"__init__", "__enter__", "__exit__", *twins}

    def methods(cls: type) -> dict[str, list[tuple[str, object, object]]]:
        return {
            twins.get(name, name): [
                (p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
            ]
            for name, fn in vars(cls).items()
            if inspect.isfunction(fn) and (not name.startswith("_") or name in kept)
        }

    sync, aio = methods(Client), methods(AsyncClient)
    assert {"wait_for_run", "row_errors", "iter_pages", "close", "__enter__"} <= sync.keys()
    assert sync == aio


def test_the_client_imports_only_errors_from_the_core() -> None:
    """``lakefeed.client`` sits at the bottom of the layers: beside its own modules it may
    import ``lakefeed.errors`` only."""
    found: dict[str, set[str]] = {}
    for path in sorted(CLIENT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found.setdefault(path.name, set()).update(
                name for name in names if name == "lakefeed" or name.startswith("lakefeed.")
            )
    outside = {
        module: sorted(
            name
            for name in names
            if name != "lakefeed.errors" and not name.startswith("lakefeed.client")
        )
        for module, names in found.items()
    }
    assert not any(outside.values()), outside
    assert "lakefeed.errors" in found["errors.py"]
