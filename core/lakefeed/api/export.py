"""``/data/foundation/export``: batch diagnostics (input files and row errors)."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/data/foundation/export"
router = APIRouter(tags=["export"])
