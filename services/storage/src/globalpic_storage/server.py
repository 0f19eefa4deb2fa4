"""The storage gRPC service: a thin adapter from ``globalpic.storage.v1`` to a ``Storage``.

``globalpic-storage-server`` runs it with the backend from ``StorageSettings`` through the
shared ``globalpic_common.grpc_server`` (health, metrics, tracing, graceful shutdown).

The shared interceptor maps a ``GlobalPicError`` to status + ``ErrorDetail`` for unary calls
only, so the two streaming calls (Put, Get) do the same mapping themselves (``_abort``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import NoReturn

import grpc
from pydantic import ValidationError

from globalpic.storage.v1 import storage_pb2, storage_pb2_grpc
from globalpic_common import errors
from globalpic_common.errors import BadInputError, GlobalPicError, ServiceUnavailableError
from globalpic_common.grpc_errors import error_trailers, status_for
from globalpic_common.grpc_server import Register, run_service
from globalpic_storage.factory import build_storage
from globalpic_storage.keys import Kind
from globalpic_storage.protocol import DEFAULT_PAGE_SIZE, ObjectInfo, Storage
from globalpic_storage.settings import StorageSettings

SERVICE_NAME = "storage"
HEALTH_SERVICE = storage_pb2.DESCRIPTOR.services_by_name["StorageService"].full_name

KIND_TO_PROTO: dict[Kind, storage_pb2.Kind.ValueType] = {
    "originals": storage_pb2.KIND_ORIGINALS,
    "results": storage_pb2.KIND_RESULTS,
    "thumbnails": storage_pb2.KIND_THUMBNAILS,
}
KIND_FROM_PROTO: dict[storage_pb2.Kind.ValueType, Kind] = {v: k for k, v in KIND_TO_PROTO.items()}

log = logging.getLogger(__name__)


def info_to_proto(info: ObjectInfo) -> storage_pb2.ObjectInfo:
    return storage_pb2.ObjectInfo(key=info.key, size=info.size, content_type=info.content_type)


def info_from_proto(message: storage_pb2.ObjectInfo) -> ObjectInfo:
    return ObjectInfo(key=message.key, size=message.size, content_type=message.content_type)


def _abort(context: grpc.ServicerContext, exc: GlobalPicError) -> NoReturn:
    level = logging.INFO if isinstance(exc, BadInputError) else logging.ERROR
    log.log(level, "storage call failed: %s", exc, extra={"error_code": exc.code})
    context.set_trailing_metadata(error_trailers(exc))
    context.abort(status_for(exc), exc.message)


class StorageServicer(storage_pb2_grpc.StorageServiceServicer):
    """``storage`` may be set after construction: the server's port opens (health
    NOT_SERVING) before the backend is connected, and a call in between is UNAVAILABLE."""

    def __init__(self, storage: Storage | None, *, default_expiry_seconds: int) -> None:
        self._backend = storage
        self.default_expiry_seconds = default_expiry_seconds

    @property
    def storage(self) -> Storage:
        if self._backend is None:
            raise ServiceUnavailableError("storage backend not connected yet")
        return self._backend

    def connect(self, storage: Storage) -> None:
        self._backend = storage

    def Put(  # noqa: N802 - gRPC method names are the proto's
        self, request_iterator: Iterator[storage_pb2.PutRequest], context: grpc.ServicerContext
    ) -> storage_pb2.PutResponse:
        try:
            first = next(request_iterator, None)
            if first is None or first.WhichOneof("part") != "header":
                raise BadInputError(
                    "Put: the first message must be the header", code=errors.BAD_OPTION
                )
            header = first.header
            kind = KIND_FROM_PROTO.get(header.kind)
            if kind is None:
                raise BadInputError("Put: header.kind is not set", code=errors.BAD_OPTION)
            info = self.storage.put(
                header.tenant_id, kind, _chunks(request_iterator), header.content_type
            )
        except GlobalPicError as exc:
            _abort(context, exc)
        return storage_pb2.PutResponse(object=info_to_proto(info))

    def Get(  # noqa: N802
        self, request: storage_pb2.GetRequest, context: grpc.ServicerContext
    ) -> Iterator[storage_pb2.GetResponse]:
        try:
            info = self.storage.stat(request.tenant_id, request.key)
            chunks = self.storage.iter_chunks(request.tenant_id, request.key)
            yield storage_pb2.GetResponse(info=info_to_proto(info))
            for chunk in chunks:
                yield storage_pb2.GetResponse(chunk=chunk)
        except GlobalPicError as exc:
            _abort(context, exc)

    def Stat(  # noqa: N802
        self, request: storage_pb2.StatRequest, context: grpc.ServicerContext
    ) -> storage_pb2.StatResponse:
        info = self.storage.stat(request.tenant_id, request.key)
        return storage_pb2.StatResponse(object=info_to_proto(info))

    def Delete(  # noqa: N802
        self, request: storage_pb2.DeleteRequest, context: grpc.ServicerContext
    ) -> storage_pb2.DeleteResponse:
        return storage_pb2.DeleteResponse(
            existed=self.storage.delete(request.tenant_id, request.key)
        )

    def List(  # noqa: N802
        self, request: storage_pb2.ListRequest, context: grpc.ServicerContext
    ) -> storage_pb2.ListResponse:
        page = self.storage.list(
            request.tenant_id,
            request.prefix,
            limit=request.page_size or DEFAULT_PAGE_SIZE,
            page_token=request.page_token or None,
        )
        return storage_pb2.ListResponse(
            objects=[info_to_proto(item) for item in page.items],
            next_page_token=page.next_page_token or "",
        )

    def PresignGet(  # noqa: N802
        self, request: storage_pb2.PresignGetRequest, context: grpc.ServicerContext
    ) -> storage_pb2.PresignGetResponse:
        expires_in = request.expires_in_seconds or self.default_expiry_seconds
        url = self.storage.presign_get(request.tenant_id, request.key, expires_in)
        return storage_pb2.PresignGetResponse(url=url)


def _chunks(requests: Iterable[storage_pb2.PutRequest]) -> Iterator[bytes]:
    for message in requests:
        if message.WhichOneof("part") != "chunk":
            raise BadInputError("Put: only the first message is a header", code=errors.BAD_OPTION)
        yield message.chunk


def registrar(servicer: StorageServicer) -> Register:
    def register(server: grpc.Server) -> None:
        storage_pb2_grpc.add_StorageServiceServicer_to_server(servicer, server)

    return register


def main() -> None:
    try:
        settings = StorageSettings()
    except ValidationError as exc:
        # Fail fast with the variables to fix, not a traceback.
        print(f"globalpic-storage-server: invalid settings\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    servicer = StorageServicer(None, default_expiry_seconds=settings.default_url_expiry_seconds)

    def load() -> None:
        # Connecting (and checking the bucket) is this service's model load: health says
        # SERVING only once the backend answered, and a wrong endpoint, bad credentials or a
        # missing bucket stop the process with the reason logged.
        servicer.connect(build_storage(settings))

    run_service(
        SERVICE_NAME, registrar(servicer), settings, load=load, health_services=[HEALTH_SERVICE]
    )


if __name__ == "__main__":
    main()
