"""Data Prep mapping sets through the Python API (:mod:`lakefeed.mappings.service`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakefeed.catalog.mapping_sets import MappingSet
    from lakefeed.mappings.service import MappingPreview, MappingValidation
from lakefeed.engine.installation import Installation


class MappingSetOperations(Installation):
    """Data Prep mapping sets."""

    def create_mapping_set(
        self, mapping_set: Mapping[str, Any], *, actor: str | None = None
    ) -> MappingSet:
        """Store a mapping set (Data Prep's ``POST /mappingSets`` body) as version 0.
        :class:`MappingError` when a mapping has bad syntax or an unknown function or maps to
        a field the output schema lacks; :class:`InvalidRequest` for a body of the wrong
        shape. ``actor`` is recorded as ``createdBy`` (default ``lakefeed``)."""
        from lakefeed.mappings.service import LOCAL_ACTOR

        return self.mapping_set_service.create(mapping_set, actor=actor or LOCAL_ACTOR)

    def mapping_sets(
        self, *, name: str | None = None, order_by: str | None = None
    ) -> list[MappingSet]:
        """The latest version of every mapping set (named ``name``); ``order_by`` is
        ``createdDate`` or ``updatedDate``, ``-`` first for newest first (the default is
        ``-updatedDate``)."""
        return self.mapping_set_service.latest(name=name, order_by=order_by)

    def update_mapping_set(
        self, id: str, mapping_set: Mapping[str, Any], *, actor: str | None = None
    ) -> MappingSet:
        """Store ``mapping_set`` as the next version of mapping set ``id`` (checked as
        :meth:`create_mapping_set` checks it); the older versions stay for the flows that
        name them."""
        from lakefeed.mappings.service import LOCAL_ACTOR

        return self.mapping_set_service.update(id, mapping_set, actor=actor or LOCAL_ACTOR)

    def delete_mapping_set(self, id: str) -> None:
        """Delete every version of a mapping set; :class:`ResourceInUse` naming the flows
        whose ``transformations`` apply it."""
        self.mapping_set_service.delete(id)

    def validate_mapping_set(
        self, mapping_set: Mapping[str, Any], *, data: Any = None
    ) -> MappingValidation:
        """Every problem of a mapping set, per mapping, without storing it: what
        :meth:`create_mapping_set` refuses and, given a source schema (its ``inputSchema``,
        else the sample rows ``data``), source attributes the source lacks."""
        return self.mapping_set_service.validate(mapping_set, data)

    def preview_mapping_set(self, mapping_set: Mapping[str, Any], data: Any) -> MappingPreview:
        """Sample rows ``data`` (a list of dicts, or one) as the mapping set maps them, with
        the values that failed."""
        return self.mapping_set_service.preview(mapping_set, data)
