"""Streaming ``multipart/form-data`` parsing with the limits enforced while bytes arrive.

Starlette's ``request.form()`` spools every file completely before a route sees it, so a 2 GB
"photo" would be written to disk first. Here each chunk is counted as it is parsed: the request
is refused at the first byte past a file's limit, at the first file past the batch limit, and
before reading at all when ``Content-Length`` already says it cannot fit. Files are spooled
(memory up to 1 MiB, then a temp file), so memory stays bounded whatever the batch size.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from globalpic_common import errors
from globalpic_common.quantities import IntegerParseError, format_bytes, parse_int
from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ApiError

_SPOOL_IN_MEMORY = 1024 * 1024
# Per-part overhead (boundary, headers) allowed on top of the payload in the Content-Length
# pre-check; generous, the per-file check is the exact one.
_PART_OVERHEAD = 16 * 1024


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_files: int
    file_field: str = "images"
    max_field_bytes: int = 4096
    max_fields: int = 32
    # Other file fields the route takes (brush masks, a background), each with its most
    # parts; they share max_file_bytes. A name not here (nor file_field) is refused.
    other_files: tuple[tuple[str, int], ...] = ()

    def accepted(self) -> list[str]:
        names = [self.file_field] if self.max_files else []
        return names + [name for name, _ in self.other_files]


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    spool: IO[bytes]
    size: int = 0

    def read(self) -> bytes:
        self.spool.seek(0)
        return self.spool.read()


@dataclass
class ParsedUpload:
    files: list[UploadedFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    others: dict[str, list[UploadedFile]] = field(default_factory=dict)  # other_files'

    def close(self) -> None:
        for upload in self.files + [f for parts in self.others.values() for f in parts]:
            upload.spool.close()


# Browsers (WHATWG's multipart/form-data encoding) write '"', CR and LF of a file name as %22,
# %0D, %0A; httpx writes every control character so. A control character never belongs in a
# name literally, so these escapes are always decoded (the name is made safe where it is used).
_FILENAME_ESCAPE = re.compile(r"%(22|[01][0-9A-Fa-f])")


def _safe_filename(raw: str, position: int) -> str:
    raw = _FILENAME_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw)
    # Browsers send a bare name, some clients a path: keep only the last component.
    name = os.path.basename(raw.replace("\\", "/")).strip()
    return name[:200] or f"image-{position}"


class _Collector:
    """python-multipart callbacks that build a ``ParsedUpload`` and enforce the limits."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.result = ParsedUpload()
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._file: UploadedFile | None = None
        self._file_label = ""  # "images[3]": how errors name the file being read
        self._field_name: str | None = None
        self._field_value = bytearray()
        self.ended = False  # the closing boundary was read: the body is whole

    def on_end(self) -> None:
        self.ended = True

    def on_part_begin(self) -> None:
        self._headers = {}
        self._file = None
        self._field_name = None
        self._field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in params:
            raise ApiError(400, problems.BAD_MULTIPART, "a part has no form-data name")
        name = params[b"name"].decode("utf-8", "replace")
        if b"filename" in params:
            parts, limit = self._file_slot(name)
            position = len(parts)
            if position >= limit:
                if name == self.limits.file_field:
                    raise ApiError(
                        422,
                        problems.TOO_MANY_IMAGES,
                        f"more than {limit} images in one job (your plan's limit)",
                        limit=limit,
                    )
                raise ApiError(
                    422, problems.VALIDATION_ERROR, f"more than {limit} {name!r} files", limit=limit
                )
            content_type = self._headers.get(b"content-type", b"application/octet-stream")
            self._file = UploadedFile(
                filename=_safe_filename(params[b"filename"].decode("utf-8", "replace"), position),
                content_type=content_type.decode("latin-1"),
                # closed by ParsedUpload.close(), on success and on every error path
                spool=tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY),  # noqa: SIM115
            )
            self._file_label = f"{name}[{position}]"
            parts.append(self._file)
        else:
            if len(self.result.fields) >= self.limits.max_fields:
                raise ApiError(413, problems.REQUEST_TOO_LARGE, "too many form fields")
            self._field_name = name

    def _file_slot(self, name: str) -> tuple[list[UploadedFile], int]:
        """Where a file part named ``name`` goes, and how many that field takes."""
        if name == self.limits.file_field and self.limits.max_files:
            return self.result.files, self.limits.max_files
        for other, limit in self.limits.other_files:
            if name == other:
                return self.result.others.setdefault(name, []), limit
        accepted = ", ".join(repr(n) for n in self.limits.accepted()) or "none"
        raise ApiError(
            422,
            problems.VALIDATION_ERROR,
            f"file field {name!r} is not accepted here (file fields: {accepted})",
        )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is not None:
            self._file.size += len(chunk)
            if self._file.size > self.limits.max_file_bytes:
                raise ApiError(
                    413,
                    errors.FILE_TOO_LARGE,
                    f"{self._file_label} {self._file.filename}: larger than "
                    f"the {format_bytes(self.limits.max_file_bytes)} limit",
                    limit=self.limits.max_file_bytes,
                )
            self._file.spool.write(chunk)
        elif self._field_name is not None:
            self._field_value += chunk
            if len(self._field_value) > self.limits.max_field_bytes:
                raise ApiError(
                    413, problems.REQUEST_TOO_LARGE, f"form field {self._field_name!r} too long"
                )

    def on_part_end(self) -> None:
        if self._field_name is not None:
            if self._field_name in self.result.fields:
                raise ApiError(
                    422, problems.VALIDATION_ERROR, f"form field {self._field_name!r} given twice"
                )
            self.result.fields[self._field_name] = self._field_value.decode("utf-8", "replace")


async def parse_upload(request: Request, limits: UploadLimits) -> ParsedUpload:
    """Read the request body as multipart/form-data within ``limits``; ``ApiError`` otherwise.

    On any error every spooled file is closed (deleted) before the error propagates.
    """
    media_type, params = parse_options_header(request.headers.get("content-type"))
    if media_type != b"multipart/form-data":
        raise ApiError(415, problems.UNSUPPORTED_MEDIA_TYPE, "send the job as multipart/form-data")
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, problems.BAD_MULTIPART, "multipart/form-data without a boundary")
    parts = limits.max_files + sum(limit for _, limit in limits.other_files)
    ceiling = parts * (limits.max_file_bytes + _PART_OVERHEAD) + 256 * 1024
    declared = _content_length(request)
    if declared is not None and declared > ceiling:
        raise ApiError(
            413,
            problems.REQUEST_TOO_LARGE,
            f"request of {format_bytes(declared)} cannot fit {limits.max_files} images of "
            f"at most {format_bytes(limits.max_file_bytes)}",
        )
    collector = _Collector(limits)
    callbacks = {
        name: getattr(collector, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if not collector.ended:
            # python-multipart keeps what it parsed of a cut-off body and drops the open part
            # silently: ``ops=resi`` would lose its field and run the default pipeline.
            raise ApiError(
                400,
                problems.BAD_MULTIPART,
                "the multipart body ends before its closing boundary (truncated upload?)",
            )
    except MultipartParseError as exc:
        collector.result.close()
        raise ApiError(400, problems.BAD_MULTIPART, f"malformed multipart body: {exc}") from exc
    except BaseException:
        collector.result.close()
        raise
    return collector.result


def _content_length(request: Request) -> int | None:
    """The declared body size, when the header is a plain number (the server checks the rest)."""
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    try:
        return parse_int(declared.strip())
    except IntegerParseError:
        return None
