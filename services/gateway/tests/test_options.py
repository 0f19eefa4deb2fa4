"""Job options: defaults, stable error codes, and agreement with the pipeline's own checks."""

from __future__ import annotations

import pytest

from globalpic_common.errors import BadInputError
from globalpic_common.schemas import parse_ops
from globalpic_jobs.options import JobOptions, parse_options
from globalpic_orchestrator.pipeline.frame import frame_for
from globalpic_orchestrator.pipeline.localize import LocalizeOptions


def test_defaults_run_every_op_for_amazon() -> None:
    options = parse_options({})
    assert options == JobOptions(
        ops=("clean", "extract", "remix", "resize"),
        style="amazon-white",
        platform="amazon",
        candidates=1,
    )


def test_ops_come_back_in_pipeline_order() -> None:
    assert parse_options({"ops": "resize, extract"}).ops == ("extract", "resize")
    assert parse_options({"ops": "COPY,clean"}).ops == ("clean", "copy")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"ops": "clean,sharpen"}, "bad_option"),
        ({"ops": " , "}, "bad_option"),
        ({"style": "neon-jungle"}, "unknown_style"),
        ({"platform": "myspace"}, "unknown_platform"),
        ({"ops": "clean", "style": "minimal-white"}, "bad_option"),
        ({"ops": "clean", "platform": "ebay"}, "bad_option"),
        ({"candidates": "0"}, "bad_option"),
        ({"candidates": "9"}, "bad_option"),
        ({"candidates": "two"}, "bad_option"),
        ({"ops": "extract", "candidates": "2"}, "bad_option"),
    ],
)
def test_bad_options_have_stable_codes(fields: dict[str, str], code: str) -> None:
    with pytest.raises(BadInputError) as info:
        parse_options(fields)
    assert info.value.code == code


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"ops": "extract"},
        {"ops": "clean"},
        {"ops": "remix", "style": "minimal-grey", "candidates": "3"},
        {"ops": "resize", "platform": "tiktok"},
        {"ops": "extract,resize", "platform": "ebay"},
    ],
)
def test_what_the_gateway_accepts_the_pipeline_accepts(fields: dict[str, str]) -> None:
    # The runner builds LocalizeOptions from these: a job accepted here must never fail there.
    options = parse_options(fields)
    ops = parse_ops(options.ops_text)
    LocalizeOptions(
        ops=ops,
        style=options.style,
        candidates=options.candidates,
        frame=frame_for(options.platform, None) if options.platform else None,
    )


def test_the_cache_key_changes_with_every_option() -> None:
    base = parse_options({})
    variants = [
        parse_options({"style": "minimal-white"}),
        parse_options({"platform": "ebay"}),
        parse_options({"candidates": "2"}),
        parse_options({"ops": "clean,extract,remix"}),
    ]
    hashes = {base.hash("png"), base.hash("jpg"), *(v.hash("png") for v in variants)}
    assert len(hashes) == 6
    assert base.hash("png") == parse_options({"ops": "resize,remix,extract,clean"}).hash("png")
