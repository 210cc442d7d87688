"""``/data/foundation/schemaregistry``: tenant and global schemas, field groups, data types,
classes and stats."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/data/foundation/schemaregistry"
router = APIRouter(tags=["schemaregistry"])
