"""GlobalPic storage: originals, results and thumbnails, tenant-scoped and content-addressed,
on local disk or S3 (see README.md)."""

from globalpic_storage.keys import KINDS, Kind
from globalpic_storage.protocol import ListPage, ObjectInfo, Storage

__all__ = ["KINDS", "Kind", "ListPage", "ObjectInfo", "Storage"]
