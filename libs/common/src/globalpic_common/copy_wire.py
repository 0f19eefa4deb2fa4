"""``CopyFacts`` and ``CopyReport`` <-> their ``globalpic.copywriting.v1`` messages."""

from __future__ import annotations

from globalpic.copywriting.v1 import copywriting_pb2 as pb
from globalpic_common.copy_facts import CopyFacts, SellerFact
from globalpic_common.schemas import CopyCheck, CopyReport, CopyUsage, CopyVariant


def facts_to_proto(facts: CopyFacts) -> pb.CopyFacts:
    return pb.CopyFacts(
        keywords=facts.keywords,
        seller=[pb.SellerFact(name=f.name, value=f.value) for f in facts.seller],
        ocr_lines=facts.ocr_lines,
        colors=facts.colors,
    )


def facts_from_proto(message: pb.CopyFacts) -> CopyFacts:
    return CopyFacts(
        keywords=list(message.keywords),
        seller=[SellerFact(name=f.name, value=f.value) for f in message.seller],
        ocr_lines=list(message.ocr_lines),
        colors=list(message.colors),
    )


def _check_to_proto(check: CopyCheck) -> pb.CopyCheck:
    message = pb.CopyCheck(rule=check.rule, passed=check.passed, message=check.message)
    if check.variant is not None:
        message.variant = check.variant
    if check.measured is not None:
        message.measured = check.measured
    if check.required is not None:
        message.required = check.required
    return message


def _check_from_proto(message: pb.CopyCheck) -> CopyCheck:
    return CopyCheck(
        rule=message.rule,
        variant=message.variant if message.HasField("variant") else None,
        passed=message.passed,
        message=message.message,
        measured=message.measured if message.HasField("measured") else None,
        required=message.required if message.HasField("required") else None,
    )


def report_to_proto(report: CopyReport) -> pb.WriteResponse:
    message = pb.WriteResponse(
        platform=report.platform,
        variants=[pb.CopyVariant(**v.model_dump()) for v in report.variants],
        backend=report.backend,
        facts_en=report.facts_en,
        passed=report.passed,
        checks=[_check_to_proto(c) for c in report.checks],
        repaired=report.repaired,
        usage=pb.CopyUsage(**report.usage.model_dump()),
        seconds=report.seconds,
    )
    if report.fallback is not None:
        message.fallback = report.fallback
    return message


def report_from_proto(message: pb.WriteResponse) -> CopyReport:
    return CopyReport(
        platform=message.platform,
        variants=[
            CopyVariant(
                title=v.title,
                bullets=list(v.bullets),
                description=v.description,
                meta_description=v.meta_description,
                search_terms=v.search_terms,
                caption=v.caption,
                hashtags=list(v.hashtags),
                explanation_zh=v.explanation_zh,
            )
            for v in message.variants
        ],
        backend=message.backend,
        facts_en=list(message.facts_en),
        passed=message.passed,
        checks=[_check_from_proto(c) for c in message.checks],
        repaired=message.repaired,
        fallback=message.fallback if message.HasField("fallback") else None,
        usage=CopyUsage(
            requests=message.usage.requests,
            prompt_tokens=message.usage.prompt_tokens,
            completion_tokens=message.usage.completion_tokens,
            total_tokens=message.usage.total_tokens,
        ),
        seconds=message.seconds,
    )
