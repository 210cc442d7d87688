"""What operators run: the database schema, the secret key file and table maintenance."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from lakefeed.catalog.store import (
    schema_status,
    upgrade_schema,
)

if TYPE_CHECKING:
    from datetime import timedelta

    from lakefeed.catalog.datasets import Dataset
    from lakefeed.catalog.key_rotation import (
        KeyAddition,
        KeyRetirement,
        KeyRotation,
        KeyStatus,
    )
    from lakefeed.catalog.migrate import SchemaStatus, SchemaUpgrade
    from lakefeed.datasets.compaction import CompactionResult
    from lakefeed.datasets.maintenance import ExpiryResult, OrphanResult
from lakefeed.engine.installation import Installation


class Administration(Installation):
    """Database schema, secret keys and table maintenance."""

    def database_schema(self) -> SchemaStatus:
        """Where the database schema stands against this lakefeed (``lakefeed db current``);
        nothing changed or created (a missing SQLite file is state ``missing``), whatever
        ``LAKEFEED_DATABASE_AUTO_UPGRADE`` says."""
        return schema_status(self.settings.database_url)

    def upgrade_database(self) -> SchemaUpgrade:
        """Upgrade the database schema to this lakefeed's revision (``lakefeed db upgrade``),
        whatever ``LAKEFEED_DATABASE_AUTO_UPGRADE`` says; nothing to do at it already."""
        return upgrade_schema(self.settings.database_url)

    def add_secret_key(self) -> KeyAddition:
        """Stage a new key in the key file (``lakefeed keys add``): it opens from now on but
        seals nothing until :meth:`rotate_secret_key`; nothing is re-sealed. Copy the file to
        every machine that keeps its own copy before rotating."""
        from lakefeed.catalog.key_rotation import add_key

        return add_key(self.secret_box)

    def rotate_secret_key(self, *, new_key: bool = False) -> KeyRotation:
        """Move the staged key first in the key file (older keys stay, to open what they
        sealed) and re-seal every stored secret of every org and sandbox with it (``lakefeed
        keys rotate``). ``new_key``: with no key staged, make one and use it at once (one key
        file for every process). :class:`KeyRotationRefused` when the staged key says
        otherwise."""
        from lakefeed.catalog.key_rotation import rotate_key

        return rotate_key(self.db, self.secret_box, new_key=new_key)

    def retire_old_secret_keys(self, *, backup: bool = True) -> KeyRetirement:
        """Remove all but the current key (and a staged one) from the key file once every
        stored secret opens with it alone, re-sealing those that do not (``lakefeed keys
        retire``); ``backup`` keeps the keys it held beside it. :class:`SecretsUnreadable`
        while a secret opens with no key."""
        from lakefeed.catalog.key_rotation import retire_keys

        return retire_keys(self.db, self.secret_box, backup=backup)

    def secret_key_status(self) -> KeyStatus:
        """The key file's keys by fingerprint and the stored secrets each opens. Changes
        nothing: a database not opened yet is only read (never created nor migrated)."""
        from lakefeed.catalog.key_rotation import existing_database, key_status

        if "db" in self.__dict__:  # open already: its schema is this lakefeed's
            return key_status(self.db, self.secret_box)
        with existing_database(self.settings.database_url) as engine:
            return key_status(engine, self.secret_box)

    def compact_dataset(
        self, id_or_name: str, *, target_file_bytes: int = 128 << 20, min_input_files: int = 5,
        dry_run: bool = False,
    ) -> CompactionResult:  # fmt: skip
        """Rewrite a dataset's data files smaller than 3/4 of ``target_file_bytes`` into files
        of that size, in one ``replace`` snapshot (nothing when fewer than ``min_input_files``)."""
        from lakefeed.datasets.compaction import compact_table

        table = self.datasets.table(self.datasets.get(id_or_name))
        return compact_table(table, target_file_bytes=target_file_bytes,
                             min_input_files=min_input_files, dry_run=dry_run)  # fmt: skip

    def expire_snapshots(
        self, id_or_name: str, *, older_than: timedelta | str = "7d", retain_last: int = 1,
        dry_run: bool = False,
    ) -> ExpiryResult:  # fmt: skip
        """Expire a dataset's snapshots older than ``older_than`` (``7d``), keeping the
        ``retain_last`` newest and those of batches still loading; deletes what only they held."""
        from lakefeed.datasets.maintenance import expire_snapshots, parse_duration

        dataset = self.datasets.get(id_or_name)
        loading = self.batches.search(dataset_id=dataset.id, status="loading")
        return expire_snapshots(
            self.datasets.table(dataset), older_than=parse_duration(older_than),
            retain_last=retain_last, protected_batches={b.id for b in loading}, dry_run=dry_run,
        )  # fmt: skip

    def run_maintenance(self, id_or_name: str) -> dict[str, Any]:
        """Run a dataset's scheduled maintenance now (what ``lakefeed scheduler`` runs when it
        is due); returns each step's result, or its error, by step."""
        from lakefeed.datasets.maintenance_policy import MaintenancePolicy, run_policy

        dataset = self.datasets.get(id_or_name)
        policy = MaintenancePolicy.stored(dataset.name, dataset.maintenance)
        return run_policy(policy, compact=partial(self.compact_dataset, dataset.id),
                          expire=partial(self.expire_snapshots, dataset.id),
                          remove_orphans=partial(self.remove_orphan_files, dataset.id),
                          dataset_name=dataset.name)  # fmt: skip

    def maintained_datasets(self) -> list[Dataset]:
        """The datasets of every org and sandbox with scheduled maintenance (the scheduler's)."""
        from lakefeed.catalog.datasets import DatasetRecords

        return DatasetRecords(self.db, self.scope).all_scopes_maintained()

    def remove_orphan_files(
        self, id_or_name: str, *, older_than: timedelta | str = "3d", dry_run: bool = False,
        force: bool = False,
    ) -> OrphanResult:  # fmt: skip
        """Delete the files under a dataset's table that nothing references and that are older
        than ``older_than`` (``3d``, at least 24h); the folders of batches still loading are
        skipped. ``force`` allows a retention under 24h: dangerous, it deletes the files of a
        compaction or run in progress, so only when none is."""
        from lakefeed.datasets.maintenance import (
            check_orphan_retention,
            parse_duration,
            remove_orphan_files,
        )

        retention = parse_duration(older_than)
        check_orphan_retention(retention, force=force)  # before anything is read
        dataset = self.datasets.get(id_or_name)
        loading = self.batches.search(dataset_id=dataset.id, status="loading")
        return remove_orphan_files(
            self.datasets.table(dataset), older_than=retention,
            protected_prefixes=[b.data_prefix for b in loading], dry_run=dry_run, force=force,
        )  # fmt: skip
