"""The orchestrators' share of the work stream: one durable pull consumer they all pull from."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from globalpic_orchestrator.settings import OrchestratorSettings


def work_consumer_config(settings: OrchestratorSettings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=settings.runner_durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_seconds,
        max_deliver=settings.max_deliver,
        filter_subject=f"{settings.work_subject_prefix}.>",
        # bounded so that one orchestrator cannot hoard a whole batch it will take minutes to reach
        max_ack_pending=max(64, settings.concurrency * 4),
    )


async def ensure_work_consumer(js: JetStreamContext, settings: OrchestratorSettings) -> None:
    config = work_consumer_config(settings)
    try:
        await js.consumer_info(settings.work_stream, settings.runner_durable)
    except NotFoundError:
        await js.add_consumer(settings.work_stream, config)
        return
    # ack_wait / max_deliver changed in settings: apply them to the shared consumer.
    await js.add_consumer(settings.work_stream, config)
