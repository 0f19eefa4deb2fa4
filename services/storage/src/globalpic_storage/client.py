"""``StorageClient``: the ``Storage`` protocol over gRPC.

Code written against ``Storage`` runs unchanged against the storage service: same return
values, same ``BadInputError`` codes (carried in the call's ``ErrorDetail``), plus
``ServiceUnavailableError`` when the service cannot be reached.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator

import grpc

from globalpic.storage.v1 import storage_pb2, storage_pb2_grpc
from globalpic_common import errors
from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.grpc_client import DEFAULT_TIMEOUT_S, GrpcClient
from globalpic_common.grpc_errors import error_from_rpc
from globalpic_storage.keys import Kind, check_kind
from globalpic_storage.protocol import (
    DEFAULT_PAGE_SIZE,
    ListPage,
    ObjectInfo,
    check_expiry,
    check_page_size,
)
from globalpic_storage.server import HEALTH_SERVICE, KIND_TO_PROTO, info_from_proto
from globalpic_storage.streams import Payload, iter_payload

# Streams can be long: a large object over a slow link must not hit the unary deadline.
DEFAULT_STREAM_TIMEOUT_S = 600.0


class StorageClient(GrpcClient):
    def __init__(
        self,
        addr: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        stream_timeout_s: float = DEFAULT_STREAM_TIMEOUT_S,
    ) -> None:
        super().__init__(addr, HEALTH_SERVICE, timeout_s=timeout_s)
        self.stream_timeout_s = stream_timeout_s
        self._stub = storage_pb2_grpc.StorageServiceStub(self.channel)

    def _peer(self) -> str:
        return f"{self.health_service} at {self.addr}"

    def put(self, tenant_id: str, kind: Kind, data: Payload, content_type: str) -> ObjectInfo:
        header = storage_pb2.PutHeader(
            tenant_id=tenant_id, kind=KIND_TO_PROTO[check_kind(kind)], content_type=content_type
        )

        def requests() -> Iterator[storage_pb2.PutRequest]:
            yield storage_pb2.PutRequest(header=header)
            for chunk in iter_payload(data):
                yield storage_pb2.PutRequest(chunk=chunk)

        reply = self.call(self._stub.Put, requests(), timeout_s=self.stream_timeout_s)
        return info_from_proto(reply.object)

    def get(self, tenant_id: str, key: str) -> bytes:
        return b"".join(self.iter_chunks(tenant_id, key))

    def iter_chunks(self, tenant_id: str, key: str) -> Iterator[bytes]:
        request = storage_pb2.GetRequest(tenant_id=tenant_id, key=key)
        call = self._stub.Get(request, timeout=self.stream_timeout_s)
        responses = iter(call)
        # The server sends the object's info first: reading it here makes a bad key or a
        # missing object raise from this call, as the in-process backends do.
        try:
            first = next(responses, None)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self._peer()) from exc
        if first is None or first.WhichOneof("part") != "info":
            call.cancel()  # type: ignore[no-untyped-call]
            raise GlobalPicError(f"{self._peer()}: Get did not start with the object's info")
        return self._rest(call, responses)

    def _rest(
        self, call: grpc.Call, responses: Iterator[storage_pb2.GetResponse]
    ) -> Iterator[bytes]:
        try:
            for message in responses:
                yield message.chunk
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self._peer()) from exc
        finally:
            # A caller that stops reading early must not leave the stream open until the
            # deadline; after a complete read this does nothing.
            call.cancel()  # type: ignore[no-untyped-call]

    def exists(self, tenant_id: str, key: str) -> bool:
        try:
            self.stat(tenant_id, key)
        except BadInputError as exc:
            if exc.code == errors.OBJECT_NOT_FOUND:
                return False
            raise
        return True

    def stat(self, tenant_id: str, key: str) -> ObjectInfo:
        request = storage_pb2.StatRequest(tenant_id=tenant_id, key=key)
        return info_from_proto(self.call(self._stub.Stat, request).object)

    def delete(self, tenant_id: str, key: str) -> bool:
        request = storage_pb2.DeleteRequest(tenant_id=tenant_id, key=key)
        return self.call(self._stub.Delete, request).existed

    def list(
        self,
        tenant_id: str,
        prefix: str = "",
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> ListPage:
        # Checked here too: 0 on the wire means "the default", which a caller never meant.
        check_page_size(limit)
        request = storage_pb2.ListRequest(
            tenant_id=tenant_id, prefix=prefix, page_size=limit, page_token=page_token or ""
        )
        reply = self.call(self._stub.List, request)
        items: builtins.list[ObjectInfo] = [info_from_proto(o) for o in reply.objects]
        return ListPage(items=items, next_page_token=reply.next_page_token or None)

    def presign_get(self, tenant_id: str, key: str, expires_in: int) -> str:
        check_expiry(expires_in)  # 0 on the wire means "the service's default"
        request = storage_pb2.PresignGetRequest(
            tenant_id=tenant_id, key=key, expires_in_seconds=expires_in
        )
        return self.call(self._stub.PresignGet, request).url

    def __enter__(self) -> StorageClient:
        return self
