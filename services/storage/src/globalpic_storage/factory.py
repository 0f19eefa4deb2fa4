"""The composition root's one call: the configured ``Storage`` backend."""

from __future__ import annotations

from globalpic_storage.local import LocalDiskStorage
from globalpic_storage.protocol import Storage
from globalpic_storage.s3 import S3Storage
from globalpic_storage.settings import StorageSettings


def build_storage(settings: StorageSettings | None = None) -> Storage:
    settings = settings or StorageSettings()
    if settings.backend == "s3":
        return S3Storage.from_settings(settings)
    return LocalDiskStorage.from_settings(settings)
