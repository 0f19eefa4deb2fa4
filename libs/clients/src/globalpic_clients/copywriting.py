"""``CopywritingClient``: the copywriting service over gRPC, behind the ``Copywriter``
interface: same ``write(facts, platform, n)``, same ``CopyReport``, same ``BadInputError``
codes; an unreachable service raises ``ServiceUnavailableError``."""

from __future__ import annotations

from globalpic.copywriting.v1 import copywriting_pb2, copywriting_pb2_grpc
from globalpic_common.copy_facts import CopyFacts
from globalpic_common.copy_wire import facts_to_proto, report_from_proto
from globalpic_common.grpc_client import DEFAULT_TIMEOUT_S, GrpcClient
from globalpic_common.interfaces import DEFAULT_VARIANTS
from globalpic_common.schemas import CopyReport

HEALTH_NAME = copywriting_pb2.DESCRIPTOR.services_by_name["CopywritingService"].full_name


class CopywritingClient(GrpcClient):
    def __init__(self, addr: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(addr, HEALTH_NAME, timeout_s=timeout_s)
        self._stub = copywriting_pb2_grpc.CopywritingServiceStub(self.channel)
        self.name = "copywriting-service"  # the remote writer's name, after the first answer

    def write(self, facts: CopyFacts, platform: str, n: int = DEFAULT_VARIANTS) -> CopyReport:
        request = copywriting_pb2.WriteRequest(
            facts=facts_to_proto(facts), platform=platform, variants=n
        )
        report = report_from_proto(self.call(self._stub.Write, request))
        self.name = report.backend or self.name
        return report
