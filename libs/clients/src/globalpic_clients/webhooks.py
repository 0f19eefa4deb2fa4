"""``WebhooksClient``: the webhooks service over gRPC, one method per RPC, each returning the
proto message. Errors come back as the ``GlobalPicError`` class and code the service raised
(``bad_option`` for a refused URL or event type, ``not_found`` for an endpoint not of the
team), an unreachable service as ``ServiceUnavailableError``.
"""

from __future__ import annotations

from collections.abc import Iterable

from globalpic.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from globalpic_common.grpc_client import GrpcClient

HEALTH_NAME = webhooks_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name
# Answers come from the database (CreateEndpoint may resolve the URL's host first).
DEFAULT_TIMEOUT_S = 30.0


class WebhooksClient(GrpcClient):
    def __init__(self, addr: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(addr, HEALTH_NAME, timeout_s=timeout_s)
        self._stub = webhooks_pb2_grpc.WebhookServiceStub(self.channel)

    def create_endpoint(
        self, tenant_id: str, url: str, event_types: Iterable[str], description: str = ""
    ) -> webhooks_pb2.Endpoint:
        request = webhooks_pb2.CreateEndpointRequest(
            tenant_id=tenant_id,
            url=url,
            event_types=list(event_types),
            description=description,
        )
        return self.call(self._stub.CreateEndpoint, request)

    def list_endpoints(self, tenant_id: str) -> webhooks_pb2.ListEndpointsResponse:
        request = webhooks_pb2.ListEndpointsRequest(tenant_id=tenant_id)
        return self.call(self._stub.ListEndpoints, request)

    def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> None:
        request = webhooks_pb2.DeleteEndpointRequest(tenant_id=tenant_id, endpoint_id=endpoint_id)
        self.call(self._stub.DeleteEndpoint, request)

    def send_test(self, tenant_id: str, endpoint_id: str) -> webhooks_pb2.Delivery:
        request = webhooks_pb2.SendTestRequest(tenant_id=tenant_id, endpoint_id=endpoint_id)
        return self.call(self._stub.SendTest, request)

    def list_deliveries(
        self, tenant_id: str, endpoint_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> webhooks_pb2.ListDeliveriesResponse:
        request = webhooks_pb2.ListDeliveriesRequest(
            tenant_id=tenant_id,
            endpoint_id=endpoint_id,
            page_size=page_size,
            page_token=page_token,
        )
        return self.call(self._stub.ListDeliveries, request)
