"""``lakefeed.config.ENVIRONMENT`` names every variable lakefeed reads: the test fixtures and the
reliability suite clear exactly that list, so one missing there would leak a caller's setting
into them."""

from __future__ import annotations

import re
from pathlib import Path

import lakefeed
from lakefeed.config import ENVIRONMENT

SOURCE = Path(lakefeed.__file__).parent


def test_every_variable_the_code_reads_is_listed() -> None:
    named = {
        name
        for path in SOURCE.rglob("*.py")
        for name in re.findall(r"\bLAKEFEED_[A-Z_]+\b", path.read_text())
        if not name.startswith("LAKEFEED_TEST_")
    }
    assert named, "no LAKEFEED_ variable found: the scan itself is broken"
    assert named == set(ENVIRONMENT)


def test_the_configuration_reference_documents_each_one() -> None:
    reference = (SOURCE.parents[1] / "docs" / "reference" / "configuration.md").read_text()
    assert [name for name in ENVIRONMENT if name not in reference] == []
