"""Storage keys: tenant-scoped and content-addressed.

A key is ``tenants/<tenant_id>/<kind>/<sha256>.<ext>``. It names the same object on every
backend (the S3 backend puts its bucket prefix in front, local disk its root directory), so a
key written to a database row survives a change of backend.

Every operation takes the caller's tenant id explicitly and parses the key against it here,
before any backend sees it: a key must match the whole pattern (no ``..``, no absolute path, no
stray characters can get through a full match) and name the caller's tenant, otherwise it is
refused without being looked up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.tenancy import TENANT_ID_PATTERN

Kind = Literal["originals", "results", "thumbnails"]
KINDS: tuple[Kind, ...] = get_args(Kind)

# The gateway's tenant id pattern (services/gateway ApiKeyEntry): a tenant the gateway admits
# must be storable. It starts with a letter or digit, so "." and ".." can never be a tenant.
_TENANT_RE = re.compile(TENANT_ID_PATTERN)

# Content type -> file extension. One extension per type, so the key alone tells the type back
# (local disk keeps no metadata beside the file).
EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/json": "json",
    "text/plain": "txt",
}
CONTENT_TYPES: dict[str, str] = {ext: ctype for ctype, ext in EXTENSIONS.items()}

_KEY_RE = re.compile(
    rf"tenants/(?P<tenant>{TENANT_ID_PATTERN})/(?P<kind>{'|'.join(KINDS)})/"
    rf"(?P<digest>[0-9a-f]{{64}})\.(?P<ext>{'|'.join(CONTENT_TYPES)})"
)
# What a list prefix (relative to the tenant's namespace) may contain: enough to narrow to a
# kind and a digest prefix, nothing that could climb out.
_LIST_PREFIX_RE = re.compile(r"[a-z0-9/.]{0,80}")


@dataclass(frozen=True)
class ObjectKey:
    tenant_id: str
    kind: Kind
    sha256: str
    ext: str

    @property
    def key(self) -> str:
        return f"{tenant_namespace(self.tenant_id)}{self.kind}/{self.sha256}.{self.ext}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.ext]


def check_tenant_id(tenant_id: str) -> str:
    if not isinstance(tenant_id, str) or _TENANT_RE.fullmatch(tenant_id) is None:
        raise BadInputError(
            f"tenant id {tenant_id!r} is not valid (letters, digits, '_', '.', '-'; at most 64)",
            code=errors.BAD_TENANT_ID,
        )
    return tenant_id


def check_kind(kind: str) -> Kind:
    for known in KINDS:
        if kind == known:
            return known
    raise BadInputError(
        f"unknown object kind {kind!r}; expected one of {', '.join(KINDS)}", code=errors.BAD_OPTION
    )


def extension_for(content_type: str) -> str:
    # Parameters such as "; charset=utf-8" do not change which file this is.
    bare = content_type.split(";", 1)[0].strip().lower()
    try:
        return EXTENSIONS[bare]
    except KeyError:
        raise BadInputError(
            f"content type {content_type!r} is not stored; expected one of {', '.join(EXTENSIONS)}",
            code=errors.UNSUPPORTED_CONTENT_TYPE,
        ) from None


def tenant_namespace(tenant_id: str) -> str:
    """The key prefix (with a trailing slash) under which every key of the tenant lies."""
    return f"tenants/{check_tenant_id(tenant_id)}/"


def build_key(tenant_id: str, kind: str, sha256: str, content_type: str) -> ObjectKey:
    return ObjectKey(
        check_tenant_id(tenant_id), check_kind(kind), sha256, extension_for(content_type)
    )


def parse_key(tenant_id: str, key: str) -> ObjectKey:
    """The parsed key if it is a well-formed key of ``tenant_id``; ``BadInputError`` otherwise
    (``bad_key`` for anything malformed, ``forbidden_key`` for another tenant's key)."""
    check_tenant_id(tenant_id)
    match = _KEY_RE.fullmatch(key) if isinstance(key, str) else None
    if match is None:
        raise BadInputError(f"{key!r} is not a storage key", code=errors.BAD_KEY)
    if match["tenant"] != tenant_id:
        raise BadInputError(
            f"key {key!r} is outside tenant {tenant_id!r}", code=errors.FORBIDDEN_KEY
        )
    return ObjectKey(tenant_id, check_kind(match["kind"]), match["digest"], match["ext"])


def is_key(key: str) -> bool:
    """Whether ``key`` is well formed (whichever tenant): listings skip anything else."""
    return _KEY_RE.fullmatch(key) is not None


def list_prefix(tenant_id: str, prefix: str) -> str:
    """The absolute key prefix for listing ``prefix`` (relative to the tenant's namespace)."""
    namespace = tenant_namespace(tenant_id)
    if _LIST_PREFIX_RE.fullmatch(prefix) is None or ".." in prefix or prefix.startswith("/"):
        raise BadInputError(
            f"list prefix {prefix!r} is not valid: give one relative to the tenant, "
            "such as 'originals/' or 'results/ab'",
            code=errors.BAD_KEY,
        )
    return namespace + prefix
