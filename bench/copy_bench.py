"""``make bench-copy``: the copy op's speed and quality, offline and through the model API.

The set: product photos built here (a product on a textured table, the Chinese a Taobao
seller prints on it: name, spec, a promotion) and, when ``../shared/data/realworld/text``
exists, its real Chinese e-commerce photos. Each photo is read once by RapidOCR and its
product's colours named under U²-Net-p's matte (not timed: that is the OCR / segmentation
ops' cost), then its copy is written for every platform by:

* ``offline``: ``OfflineCopywriter``: seconds per image (one ``write`` = one image, one
  platform, 5 variants);
* ``api``: ``OpenAICopywriter`` against ``FakeOpenAIServer`` on a loopback port: the real
  ``openai`` client over real HTTP, the server answering after ``--latency-ms`` (a model's
  time) with a stand-in model's JSON. Overhead per image = wall seconds of ``write`` minus
  the server's own seconds for its requests (latency + building its answer): what our
  prompt building, the client, parsing, repairing and checking add. Requests per image are
  counted by the server.

For both it prints the share of outputs passing every platform rule and every quality check
(item 4 of the issue), and a side-by-side sample (Amazon titles and a TikTok caption) for
3 photos. Targets: offline <= 0.2 s per image, API overhead <= 50 ms per image, one request
per image, 100 % passing. ``--json-out`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from bench.synthetic import available_fonts
from globalpic_common.colours import product_colors
from globalpic_common.copy_facts import (
    COPY_PLATFORMS,
    CopyFacts,
    ocr_text,
    parse_keywords,
    parse_seller_facts,
)
from globalpic_common.schemas import CopyReport
from globalpic_copywriting.offline import OfflineCopywriter
from globalpic_copywriting.openai_backend import OpenAICopywriter
from globalpic_copywriting.settings import CopywritingSettings
from tests.support.fake_openai import FakeOpenAIServer

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DIR = REPO_ROOT.parent / "shared" / "data" / "realworld" / "text"
SAMPLE_REAL = ("real/cnstd_taobao5", "real/paddleocr_11", "real/chocrlite_5")
TARGETS = {"offline_s": 0.2, "api_overhead_s": 0.05, "requests_per_image": 1.0, "passed": 1.0}

# (name, printed lines, product colour, seller keywords, seller facts)
PRODUCTS: tuple[tuple[str, tuple[str, ...], tuple[int, int, int], str, str], ...] = (
    ("flask", ("不锈钢保温杯", "500ml 大容量", "包邮"), (170, 172, 180), "water bottle", ""),
    ("water", ("农夫山泉 天然水", "550ml", "特价"), (225, 235, 245), "", ""),
    ("tshirt", ("纯棉T恤", "夏季 宽松", "热卖"), (30, 40, 95), "cotton tee", "size=L"),
    ("earbuds", ("蓝牙耳机 无线", "电池容量 500mAh", "新品"), (240, 240, 240), "", ""),
    ("box", ("厨房收纳盒", "30*20*10cm", "¥19.9"), (215, 200, 165), "pantry organizer", ""),
    ("blocks", ("儿童积木玩具", "100片", "秒杀"), (200, 40, 45), "", ""),
    ("wallet", ("真皮钱包 男士", "正品"), (110, 70, 40), "", "brand=Corvel"),
    ("mug", ("陶瓷马克杯", "350ml", "爆款"), (245, 245, 245), "coffee mug", ""),
    ("backpack", ("双肩包 防水", "尼龙", "清仓"), (25, 25, 28), "", ""),
    ("mask", ("面膜 补水保湿", "10片装", "买一送一"), (240, 160, 190), "", ""),
    ("pan", ("不粘锅 炒锅", "32cm", "限时"), (90, 90, 95), "", "material=aluminum"),
    ("lamp", ("台灯 护眼", "5W", "包邮"), (250, 250, 250), "desk lamp", ""),
)


@dataclass
class Photo:
    name: str
    rgb: np.ndarray
    keywords: str = ""
    facts: str = ""


@dataclass
class Result:
    seconds: list[float] = field(default_factory=list)
    overhead: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)  # the model's output tokens
    passed: int = 0
    outputs: int = 0
    repaired: int = 0
    fallbacks: int = 0
    failures: list[str] = field(default_factory=list)


def render(
    index: int, lines: Sequence[str], color: tuple[int, int, int], size: int = 720
) -> np.ndarray:
    """A shaded product box on a wood-like table, the seller's Chinese printed on the photo."""
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    grain = np.sin(x / 9.0 + 3 * np.sin(y / 37.0)) * 10
    table = np.stack([185 + grain, 155 + grain * 0.8, 120 + grain * 0.6], axis=-1)
    img = Image.fromarray(np.clip(table, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    box = (size * 0.32, size * 0.28, size * 0.68, size * 0.86)
    draw.rounded_rectangle(box, radius=int(size * 0.04), fill=color)
    shade = tuple(max(0, c - 35) for c in color)
    draw.rectangle((box[0], box[1] + 10, box[0] + size * 0.05, box[3] - 10), fill=shade)
    img = img.filter(ImageFilter.GaussianBlur(1.0))
    draw = ImageDraw.Draw(img)
    font_spec = available_fonts()[0]
    for k, text in enumerate(lines):
        px = 58 if k == 0 else 44
        font = ImageFont.truetype(font_spec.path, px, index=font_spec.index)
        top = 24 + k * 80 if k < 2 else size - 110
        width = int(draw.textlength(text, font=font))
        badge = k == len(lines) - 1 and len(lines) > 2  # the promotion: a red badge
        fill = (220, 30, 40) if badge else (255, 255, 255)
        draw.rounded_rectangle((24, top, 24 + width + 36, top + px + 26), radius=14, fill=fill)
        ink = (255, 255, 255) if badge else (30, 30, 30)
        draw.text((42, top + 8), text, font=font, fill=ink)
    noisy = np.asarray(img).astype(np.float32) + rng.normal(0, 2.5, (size, size, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def photos(use_real: bool) -> list[Photo]:
    out = [
        Photo(name, render(i, lines, color), keywords, facts)
        for i, (name, lines, color, keywords, facts) in enumerate(PRODUCTS)
    ]
    if use_real and REAL_DIR.is_dir():
        for path in sorted(REAL_DIR.iterdir()):
            if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
                continue
            with Image.open(path) as im:
                out.append(
                    Photo(
                        f"real/{path.stem}", np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
                    )
                )
    return out


def gather_facts(items: list[Photo]) -> tuple[list[CopyFacts], list[list[str]], float]:
    """OCR lines and colours per photo (real RapidOCR and U²-Net-p), and their seconds."""
    from globalpic_ocr.registry import build_detector
    from globalpic_segmentation.registry import build_segmenter

    detector, segmenter = build_detector(), build_segmenter()
    started = time.perf_counter()
    facts: list[CopyFacts] = []
    lines: list[list[str]] = []
    for photo in items:
        read = ocr_text(line.text for line in detector.detect(photo.rgb))
        colors = product_colors(photo.rgb, segmenter.segment(photo.rgb))
        lines.append(read)
        facts.append(
            CopyFacts(
                keywords=parse_keywords(photo.keywords),
                seller=parse_seller_facts(photo.facts),
                ocr_lines=read,
                colors=colors,
            )
        )
    return facts, lines, (time.perf_counter() - started) / max(1, len(items))


def _score(result: Result, report: CopyReport, label: str) -> None:
    result.outputs += 1
    failed = [f"{c.rule}[{c.variant}]" for c in report.checks if not c.passed]
    if report.passed and not failed and len(report.variants) == 5:
        result.passed += 1
    else:
        result.failures.append(f"{label}: {', '.join(failed[:4])}")
    result.repaired += report.repaired
    result.fallbacks += report.fallback is not None
    result.tokens.append(report.usage.completion_tokens)


def run_offline(
    items: list[Photo], facts: list[CopyFacts]
) -> tuple[Result, dict[str, list[CopyReport]]]:
    writer = OfflineCopywriter()
    writer.load()
    result = Result()
    samples: dict[str, list[CopyReport]] = {}
    for photo, fact in zip(items, facts, strict=True):
        for platform in COPY_PLATFORMS:
            started = time.perf_counter()
            report = writer.write(fact, platform)
            result.seconds.append(time.perf_counter() - started)
            _score(result, report, f"{photo.name}/{platform}")
            samples.setdefault(photo.name, []).append(report)
    return result, samples


def run_api(
    items: list[Photo], facts: list[CopyFacts], latency_s: float
) -> tuple[Result, dict[str, list[CopyReport]]]:
    result = Result()
    samples: dict[str, list[CopyReport]] = {}
    with FakeOpenAIServer(latency_s=latency_s) as server:
        settings = CopywritingSettings(
            backend="openai", api_key="test-key", base_url=server.base_url, timeout_s=30
        )
        writer = OpenAICopywriter(settings)
        writer.load()
        writer.write(facts[0], "ebay")  # one warm-up: the connection opens once per process
        for photo, fact in zip(items, facts, strict=True):
            for platform in COPY_PLATFORMS:
                before, server_before = len(server.completions()), len(server.server_seconds)
                started = time.perf_counter()
                report = writer.write(fact, platform)
                wall = time.perf_counter() - started
                served = sum(server.server_seconds[server_before:])
                result.seconds.append(wall)
                result.overhead.append(wall - served)
                result.requests.append(len(server.completions()) - before)
                _score(result, report, f"{photo.name}/{platform}")
                samples.setdefault(photo.name, []).append(report)
        writer.close()
    return result, samples


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "p95": 0.0, "max": 0.0}
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(values), 4),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
        "max": round(ordered[-1], 4),
    }


def _sample(
    name: str, lines: list[str], offline: list[CopyReport], api: list[CopyReport]
) -> list[str]:
    out = [f"--- {name}", f"OCR: {' | '.join(lines[:6]) or '(no text)'}"]
    out.append(f"facts: {'; '.join(offline[0].facts_en)}")
    amazon = COPY_PLATFORMS.index("amazon")
    tiktok = COPY_PLATFORMS.index("tiktok")
    out.append("amazon titles      offline | api")
    for k, (a, b) in enumerate(zip(offline[amazon].variants, api[amazon].variants, strict=True)):
        out.append(f"  [{chr(65 + k)}] {a.title}")
        out.append(f"      {b.title}")
    first_a, first_b = offline[tiktok].variants[0], api[tiktok].variants[0]
    out.append(f"tiktok A offline: {first_a.caption} {' '.join(first_a.hashtags)}")
    out.append(f"tiktok A api:     {first_b.caption} {' '.join(first_b.hashtags)}")
    out.append(f"explanation_zh:   {first_a.explanation_zh}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency-ms", type=float, default=200.0, help="the fake model's time")
    parser.add_argument("--no-real", action="store_true", help="skip ../shared real photos")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)

    items = photos(use_real=not args.no_real)
    real = sum(p.name.startswith("real/") for p in items)
    print(f"copy bench: {len(items)} photos ({len(items) - real} built here, {real} real), "
          f"{len(COPY_PLATFORMS)} platforms, 5 variants each")  # fmt: skip
    facts, lines, ocr_s = gather_facts(items)
    print(f"OCR + colours (not in the copy's time): {ocr_s:.2f} s per photo")
    offline, offline_samples = run_offline(items, facts)
    api, api_samples = run_api(items, facts, args.latency_ms / 1000.0)

    rows: dict[str, Any] = {}
    for name, result in (("offline", offline), ("api", api)):
        rows[name] = {
            "outputs": result.outputs,
            "passed_share": round(result.passed / max(1, result.outputs), 4),
            "seconds_per_image": _stats(result.seconds),
            "overhead_per_image": _stats(result.overhead) if result.overhead else None,
            "requests_per_image": round(statistics.fmean(result.requests), 3)
            if result.requests
            else 0,
            "output_tokens_per_image": round(statistics.fmean(result.tokens), 1),
            "repaired_fields": result.repaired,
            "fallbacks": result.fallbacks,
            "failures": result.failures[:20],
        }
    print()
    header = ("backend", "outputs", "passed", "s/image mean", "p95", "overhead mean", "p95",
              "req/img", "out tok", "repaired")  # fmt: skip
    widths = (8, 7, 7, 12, 7, 13, 7, 7, 7, 8)
    print(" ".join(f"{h:{w}s}" if k == 0 else f"{h:>{w}s}"
                   for k, (h, w) in enumerate(zip(header, widths, strict=True))))  # fmt: skip
    for name, row in rows.items():
        sec, over = row["seconds_per_image"], row["overhead_per_image"]
        over_text = f"{over['mean']:13.4f} {over['p95']:7.4f}" if over else f"{'-':>13s} {'-':>7s}"
        print(f"{name:8s} {row['outputs']:7d} {row['passed_share']:7.1%} {sec['mean']:12.4f} "
              f"{sec['p95']:7.4f} {over_text} {row['requests_per_image']:7.2f} "
              f"{row['output_tokens_per_image']:7.0f} {row['repaired_fields']:8d}")  # fmt: skip
    print(
        f"(api: server latency {args.latency_ms:.0f} ms per request, subtracted with the "
        "server's answer-building time to give the overhead)"
    )
    verdict = {
        "offline <= 0.2 s/image": rows["offline"]["seconds_per_image"]["mean"]
        <= TARGETS["offline_s"],
        "api overhead <= 50 ms/image": rows["api"]["overhead_per_image"]["mean"]
        <= TARGETS["api_overhead_s"],
        "one request per image": rows["api"]["requests_per_image"] == 1.0,
        "100% pass (offline)": rows["offline"]["passed_share"] == 1.0,
        "100% pass (api)": rows["api"]["passed_share"] == 1.0,
    }
    for target, ok in verdict.items():
        print(f"  {'✓' if ok else '✗'} {target}")
    for backend in (offline, api):
        for failure in backend.failures[:10]:
            print(f"  failed: {failure}")
    print()
    # One photo built here and, when ../shared is there, two real product ads.
    real_names = [n for n in SAMPLE_REAL if any(p.name == n for p in items)][:2]
    picks = [items[0].name, *real_names] if real_names else [p.name for p in items[:3]]
    index = {p.name: i for i, p in enumerate(items)}
    for name in picks:
        print(
            "\n".join(_sample(name, lines[index[name]], offline_samples[name], api_samples[name]))
        )
        print()
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"photos": len(items), "real": real, "ocr_s": round(ocr_s, 3), **rows,
                   "latency_ms": args.latency_ms, "targets": verdict}  # fmt: skip
        args.json_out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
