"""Plugins are independent: each imports only ``lakefeed`` (and its own package), never another
plugin, so any one can be installed, disabled or replaced alone. Code two backends share lives
in ``lakefeed.storage`` (``s3_protocol``, ``azure``), whose import stays free of cloud SDKs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The bundled plugin packages and the example third-party one.
PLUGIN_PACKAGES = sorted(
    [*(ROOT / "plugins").glob("lakefeed_*"), *(ROOT / "examples").glob("*/lakefeed_*")]
)
CLOUD_MODULES = ("s3fs", "adlfs", "gcsfs", "paramiko", "azure", "botocore", "aiobotocore", "google")


def imported_modules(source: str) -> set[str]:
    """Every absolute module name ``source`` imports, at module level or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def imports_of_other_plugins(package: Path) -> dict[str, set[str]]:
    """``{file: other plugins' modules it imports}`` for the files of the plugin ``package``."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        others = {
            module
            for module in imported_modules(path.read_text(encoding="utf-8"))
            if module.split(".")[0].startswith("lakefeed_") and module.split(".")[0] != package.name
        }
        if others:
            found[str(path.relative_to(package.parent))] = others
    return found


def test_the_plugin_packages_are_found() -> None:
    names = {package.name for package in PLUGIN_PACKAGES}
    assert {"lakefeed_local", "lakefeed_s3", "lakefeed_gcs", "lakefeed_memory"} <= names


@pytest.mark.parametrize("package", PLUGIN_PACKAGES, ids=lambda package: package.name)
def test_no_plugin_imports_another(package: Path) -> None:
    assert imports_of_other_plugins(package) == {}


def test_an_import_of_another_plugin_is_found(tmp_path: Path) -> None:
    """The check sees imports in every form, including inside functions."""
    package = tmp_path / "lakefeed_new"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from lakefeed_new.spec import SPEC\nimport lakefeed.storage\n"
        "from lakefeed_s3.spec import BUCKET\n"
        "def f():\n    import lakefeed_azure_blob.source as blob\n"
    )
    assert imports_of_other_plugins(package) == {
        "lakefeed_new/__init__.py": {"lakefeed_s3.spec", "lakefeed_azure_blob.source"}
    }


@pytest.mark.parametrize("module", ["lakefeed.storage.s3_protocol", "lakefeed.storage.azure"])
def test_shared_storage_modules_import_no_cloud_sdk(module: str) -> None:
    probe = (
        f"import {module}\nimport sys\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {CLOUD_MODULES!r}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
