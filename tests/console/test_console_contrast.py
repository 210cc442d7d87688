"""The console's colours are readable: every text colour of its stylesheet reaches WCAG 2's
AA contrast (4.5:1) on the backgrounds it is used on: white, the panel grey and an alert's
tint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import lakefeed.api.console as console

STYLESHEET = Path(console.__file__).parent / "static" / "console.css"
#: The custom properties that colour text (the others colour lines, backgrounds and focus).
TEXT_COLOURS = ("--ink", "--muted", "--link", "--ok", "--warn", "--bad")
BACKGROUNDS = ("--bg", "--panel")


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def custom_properties() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", STYLESHEET.read_text())
    assert root is not None, "console.css has no :root block"
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", root.group(1)))


def test_the_formula_matches_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # just fails AA


@pytest.mark.parametrize("text", TEXT_COLOURS)
@pytest.mark.parametrize("background", BACKGROUNDS)
def test_text_colours_reach_aa_contrast(text: str, background: str) -> None:
    colours = custom_properties()
    ratio = contrast(colours[text], colours[background])
    assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f} ({colours})"


def test_alerts_are_readable_on_their_tint() -> None:
    colours = custom_properties()
    assert contrast(colours["--bad"], colours["--alert-bg"]) >= 4.5
