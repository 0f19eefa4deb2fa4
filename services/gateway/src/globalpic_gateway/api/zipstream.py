"""A ZIP archive written as it is sent: no temp file, memory bounded by one storage chunk.

``zipfile`` can write to an unseekable stream (it then puts each entry's CRC and sizes in a
data descriptor after the data); the sink below is such a stream and hands out what was written
so far. Entries are STORED: the results are PNG / JPEG / WEBP, compressing them again gains
nothing and costs CPU on every download.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime

from globalpic_storage import Storage


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]
        self._chunks.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def zip_entries(
    storage: Storage,
    tenant_id: str,
    entries: Iterable[tuple[str, str]],
    extra_files: Iterable[tuple[str, bytes]],
    when: datetime,
) -> Iterator[bytes]:
    """ZIP bytes of ``entries`` (archive name, storage key) then ``extra_files`` (name, bytes)."""
    sink = _Sink()
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, key in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=True) as member:
                for chunk in storage.iter_chunks(tenant_id, key):
                    member.write(chunk)
                    if out := sink.take():
                        yield out
            if out := sink.take():
                yield out
        for name, data in extra_files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    if out := sink.take():
        yield out
