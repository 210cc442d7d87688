"""``/data/foundation/catalog``: datasets and batches, in the Catalog's keyed-object shapes."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/data/foundation/catalog"
router = APIRouter(tags=["catalog"])
