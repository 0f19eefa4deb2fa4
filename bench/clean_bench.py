"""``make bench-clean``: erase / keep / rebuild figures on a tune and a test split, per method.

Splits (``bench.splits``): TUNE = ``bench.synthetic`` cases + the labelled real photos of tune
sources; TEST = ``bench.heldout`` cases (another generator: other fonts, phrases, opacities)
+ the labelled real photos of test sources (posters, ``paddleclas_*``). The test set is
frozen: ``bench.frozen.verify`` runs first and stops the bench if it changed.

Methods, in the same run on the same images: ``ours`` (the working tree's
``embedded.cleaner_from_settings()``), ``baseline`` (every line our detector finds -> quad
mask -> one ``cv2.inpaint`` TELEA) and ``previous`` (the previous release's ``Cleaner``, from ``git
archive``, in a worker process).

Judges: our production ``RapidOcrDetector`` and the PP-OCRv4 ``SecondDetector``, each run
once per input image (shared by the methods) and lazily on outputs. Every figure is defined
in bench/README.md; the pure functions are in ``bench.clean_metrics``.

Output: one JSON line per case and method as measured, a summary table (rows = metric,
columns = split x method, target beside each), ``--json-out``, and the HTML contact sheet of
the test images (``bench.contact_sheet``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench import frozen
from bench.clean_methods import CleanFn, baseline_fn, ours_fn
from bench.clean_metrics import (
    BOX_OVERLAP,
    DET_CHAR_SHARE,
    FAR_PX,
    GT_CHAR_SHARE,
    JUDGES,
    PSNR_CAP_DB,
    LineVerdict,
    OutputJudge,
    changed_mask,
    far_changed_share,
    found,
    keep_verdict,
    matches,
    mean,
    overlay_verdict_synthetic,
    pool_lines,
    product_part,
    psnr,
    quad_mask,
    quad_overlap,
    reads_at,
    text_chars,
    texture_ratio,
    uncertain_keep,
    worst,
    worst_ratio,
)
from bench.colour import mean_delta_e2000
from bench.splits import SPLITS, Split, split_of, wanted
from bench.synthetic import REPO_ROOT, load_photo, make_case, real_photo_paths
from globalpic_common.interfaces import ImageArray, TextDetector
from globalpic_common.schemas import TextLine, TextRegion

# Maps an RGB image to (output RGB, the text regions the method reports).
Printer = Callable[[str], None]

METHODS = ("ours", "baseline", "previous", "oracle")
# The oracle's mask: every pixel the overlays changed, grown by this (px), as a careful
# hand-drawn mask would be.
ORACLE_GROW_PX = 2
DEFAULT_N_TUNE = 20  # as before the split (the test split is bench.heldout: >= 60)
DEFAULT_N_TEST = 20  # bench.heldout's own default decides when it has one (HELDOUT_N)
CONTACT_DIR = REPO_ROOT / "bench" / "results" / "clean_contact"

# metric -> (label, comparison, target or None, unit). Targets: issue 12's Targets table.
ROWS: dict[str, tuple[str, str, float | None, str]] = {
    "syn_overlay_erased": ("synthetic: overlay lines erased", ">=", 0.97, "%"),
    "syn_faint_erased": ("synthetic: faint (<= 35%) erased", ">=", 0.90, "%"),
    # the issue states 97 % for real photos; the synthetic product lines are held to it too
    "syn_keep_kept": ("synthetic: product lines kept", ">=", 0.97, "%"),
    "psnr_mask": ("PSNR in overlay area", ">=", 22.0, "dB"),
    "psnr": ("PSNR whole image", ">=", 30.0, "dB"),
    "far_changed": ("changed > 12 px from overlays", "<=", 0.002, "%3"),
    "pp_psnr_mean": ("product part: PSNR mean", ">=", 26.0, "dB"),
    "pp_psnr_worst": ("product part: PSNR worst", "", None, "dB"),
    "pp_de_mean": ("product part: ΔE2000 mean", "<=", 3.0, "f2"),
    "pp_de_worst": ("product part: ΔE2000 worst", "", None, "f2"),
    "pp_grad_mean": ("product part: gradient ratio mean", "", None, "f2"),
    "pp_grad_worst": ("product part: gradient ratio worst", "", None, "f2"),
    "syn_seconds": ("synthetic: seconds / image", "<=", 5.0, "s"),
    "real_keep_kept": ("real: product/scene print kept", ">=", 0.97, "%"),
    "real_overlay_erased": ("real: overlay lines erased", ">=", 0.95, "%"),
    "real_seconds": ("real: seconds / image", "<=", 5.0, "s"),
}

__all__ = [  # the matching rule is shared with bench.realworld / faint_probe / classifier_fit
    "BOX_OVERLAP", "DET_CHAR_SHARE", "GT_CHAR_SHARE", "PSNR_CAP_DB", "far_changed_share",
    "found", "matches", "psnr", "quad_overlap", "reads_at", "text_chars", "texture_ratio",
]  # fmt: skip


# ----------------------------------------------------------------------------- judges


class MemoDetector:
    """A detector that remembers its last few images' detections (keyed by the pixels) and
    what they cost: judge 1 and the baseline are the same production detector on the same
    input, so the baseline reuses judge 1's input run and is charged its measured seconds."""

    def __init__(self, detector: TextDetector, keep: int = 4) -> None:
        self.detector = detector
        self.name = str(getattr(detector, "name", type(detector).__name__))
        self.keep = keep
        self._memo: dict[str, tuple[list[TextLine], float]] = {}

    def load(self) -> None:
        load = getattr(self.detector, "load", None)
        if callable(load):
            load()

    def detect_timed(self, image: ImageArray) -> tuple[list[TextLine], float, bool]:
        """(lines, seconds the detection took when it ran, whether it came from the memo)."""
        key = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest() + str(image.shape)
        if key in self._memo:
            lines, seconds = self._memo[key]
            return list(lines), seconds, True
        start = time.perf_counter()
        lines = list(self.detector.detect(image))
        seconds = time.perf_counter() - start
        self._memo[key] = (lines, seconds)
        while len(self._memo) > self.keep:
            self._memo.pop(next(iter(self._memo)))
        return list(lines), seconds, False

    def detect(self, image: ImageArray) -> list[TextLine]:
        return self.detect_timed(image)[0]


class Judges:
    """Both OCR judges; input detections are computed once per image and shared."""

    def __init__(self, detectors: dict[str, TextDetector]) -> None:
        self.detectors = detectors
        self.calls = 0

    def on(self, image: ImageArray) -> dict[str, list[TextLine]]:
        return {name: self._detect(name, image) for name in self.detectors}

    def lazy(self, image: ImageArray) -> OutputJudge:
        """Detections on ``image``, per judge, computed on first use."""
        cache: dict[str, list[TextLine]] = {}

        def get(name: str) -> list[TextLine]:
            if name not in cache:
                cache[name] = self._detect(name, image)
            return cache[name]

        return get

    def _detect(self, name: str, image: ImageArray) -> list[TextLine]:
        self.calls += 1
        return list(self.detectors[name].detect(image))


def load_judges() -> Judges:
    """Judge 1: the production detector (as configured: ``build_detector``), memoised so the
    baseline can share its input runs; judge 2: PP-OCRv4."""
    from bench.second_detector import SecondDetector
    from globalpic_ocr.registry import build_detector

    first, second = MemoDetector(build_detector()), SecondDetector()
    first.load()
    second.load()
    return Judges(dict(zip(JUDGES, (first, second), strict=True)))


# ----------------------------------------------------------------------------- synthetic


def glyph_mask(case: Any, line: Any) -> np.ndarray:
    """The line's glyph pixels: ``bench.heldout`` records them; for ``bench.synthetic`` lines
    it is the overlay's ink within the line's quad (pixels the overlays changed there)."""
    glyphs = getattr(line, "glyphs", None)
    if glyphs is not None:
        return np.asarray(glyphs)
    return changed_mask(case.image, case.clean) & quad_mask(case.image.shape, line.box)


def judge_synthetic(
    case: Any,
    output: ImageArray,
    regions: Sequence[TextRegion],
    on_input: dict[str, list[TextLine]],
    on_output: OutputJudge,
) -> list[LineVerdict]:
    verdicts = []
    for line in case.lines:
        if line.kind == "overlay":
            verdicts.append(
                overlay_verdict_synthetic(
                    line, mean_delta_e2000(output, case.clean, glyph_mask(case, line)),
                    on_input, on_output, uncertain=uncertain_keep(line, regions),
                    opacity=getattr(line, "opacity", None),
                )
            )  # fmt: skip
        else:
            box = quad_mask(case.image.shape, line.box)
            de = mean_delta_e2000(output, case.image, box)
            verdicts.append(keep_verdict(line, de, on_input, on_output))
    return verdicts


def synthetic_row(
    case: Any, output: ImageArray, verdicts: list[LineVerdict], seconds: float
) -> dict[str, Any]:
    """Per-case figures of one method (pixel metrics + the pooled line counts)."""
    part = product_part(output, case.clean, case.overlay_mask, case.product_mask)
    return {
        "psnr": psnr(output, case.clean),
        "psnr_mask": psnr(output, case.clean, case.overlay_mask),
        "far_changed": far_changed_share(output, case.image, case.overlay_mask, FAR_PX),
        "product_part": asdict(part) if part is not None else None,
        "texture": texture_ratio(output, case.overlay_mask),
        "seconds": seconds,
        **pool_lines(verdicts),
        "left": [f"{v.text} ({v.style}: {v.why})" for v in verdicts
                 if v.kind == "overlay" and not v.ok],
        "lost": [f"{v.text} ({v.why})" for v in verdicts if v.kind != "overlay" and not v.ok],
    }  # fmt: skip


def tune_cases(n: int, size: int) -> Iterator[Any]:
    """``bench.synthetic`` cases, seeds 0..n-1, odd seeds on real product photos of TUNE
    sources only (a test-source photo must not appear in the tune split)."""
    paths = [p for p in real_photo_paths() if split_of(f"products/{p.name}") == "tune"]
    for seed in range(n):
        if paths and seed % 2 == 1:
            path = paths[(seed // 2) % len(paths)]
            yield make_case(seed, load_photo(path, size), size, source=f"photo:{path.name}")
        else:
            yield make_case(seed, None, size)


def test_cases(n: int | None, size: int) -> Iterator[Any]:
    heldout = importlib.import_module("bench.heldout")
    kwargs: dict[str, Any] = {"size": size}
    if n is not None:
        kwargs["n"] = n
    yield from heldout.heldout_cases(**kwargs)


# ----------------------------------------------------------------------------- methods


class SharedBaseline:
    """``baseline_fn`` on judge 1's memoised detector; ``extra_seconds`` is the detection
    time the memo saved, which ``Run.apply`` adds back so the baseline's seconds are real."""

    def __init__(self, detector: MemoDetector) -> None:
        self.detector = detector
        self.extra_seconds = 0.0

    def __call__(self, rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
        lines, seconds, memo = self.detector.detect_timed(rgb)
        self.extra_seconds = seconds if memo else 0.0
        fixed = _FixedDetector(lines)
        return baseline_fn(fixed)(rgb)


class _FixedDetector:
    name = "fixed"

    def __init__(self, lines: list[TextLine]) -> None:
        self.lines = lines

    def detect(self, image: ImageArray) -> list[TextLine]:
        return list(self.lines)


def build_methods(
    names: Sequence[str], previous_rev: str, judges: Judges, out: Printer
) -> dict[str, CleanFn]:
    methods: dict[str, CleanFn] = {}
    for name in names:
        if name == "ours":
            try:
                methods[name] = ours_fn()
            except Exception as exc:  # a broken pipeline must not hide the other methods
                out(f"ours unavailable, skipped: {type(exc).__name__}: {exc}")
        elif name == "baseline":
            first = judges.detectors[JUDGES[0]]
            if isinstance(first, MemoDetector):
                methods[name] = SharedBaseline(first)
            else:
                from globalpic_ocr.registry import build_detector

                detector = build_detector()
                getattr(detector, "load", lambda: None)()
                methods[name] = baseline_fn(detector)
        elif name == "previous":
            from bench.previous_release import start

            release = start(previous_rev, out)
            if release is not None:
                methods[name] = release
        elif name == "oracle":
            methods[name] = OracleFill()
    return methods


class OracleFill:
    """A reference, not a method: the exact overlay mask the generator knows (grown by
    ``ORACLE_GROW_PX``), one TELEA inpaint. It separates what is lost to finding the
    overlays from what is lost to rebuilding the pixels under them: the ΔE erase rule asks
    for the photo's own pixels back, and no fill that does not know them meets it on
    texture. Synthetic cases only (real photos have no known mask)."""

    needs_case = True

    def __call__(self, rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
        raise TypeError("the oracle needs the case's overlay mask: call with_case")

    def with_case(self, case: Any) -> CleanFn:
        size = 2 * ORACLE_GROW_PX + 1
        mask = cv2.dilate((np.asarray(case.overlay_mask) > 0).astype(np.uint8) * 255,
                          np.ones((size, size), np.uint8))  # fmt: skip

        def run(rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
            out = np.asarray(cv2.inpaint(rgb, mask, 3, cv2.INPAINT_TELEA), np.uint8)
            return out, []

        return run


# ----------------------------------------------------------------------------- summary


def meets(metric: str, value: float | None) -> bool | None:
    _, op, target, _ = ROWS[metric]
    if value is None or target is None:
        return None
    return value >= target if op == ">=" else value <= target


def _fmt(unit: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "%3":
        return f"{value * 100:.3f}%"
    if unit == "dB":
        return f"{value:.2f} dB"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.2f}"


def _target_text(metric: str) -> str:
    _, op, target, unit = ROWS[metric]
    if target is None:
        return "—"
    return f"{op} {_fmt(unit, target)}".replace(".0%", "%").replace(".00 dB", " dB")


def summarize(
    syn_rows: Sequence[dict[str, Any]], real_rows: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """One split x method: pooled line rates, per-image means, product-part mean / worst."""
    syn_lines = _pool_counts(syn_rows)
    real_lines = _pool_counts(real_rows)
    parts = [r["product_part"] for r in syn_rows if r.get("product_part")]
    return {
        "synthetic_cases": len(syn_rows),
        "real_photos": len(real_rows),
        "synthetic_lines": syn_lines,
        "real_lines": real_lines,
        "syn_overlay_erased": syn_lines["overlay_erased"],
        "syn_faint_erased": syn_lines["faint_erased"],
        "syn_keep_kept": syn_lines["keep_kept"],
        "psnr_mask": mean([r["psnr_mask"] for r in syn_rows]),
        "psnr": mean([r["psnr"] for r in syn_rows]),
        "far_changed": mean([r["far_changed"] for r in syn_rows]),
        "product_part_cases": len(parts),
        "pp_psnr_mean": mean([p["psnr"] for p in parts]),
        "pp_psnr_worst": worst([p["psnr"] for p in parts], low_is_bad=True),
        "pp_de_mean": mean([p["delta_e"] for p in parts]),
        "pp_de_worst": worst([p["delta_e"] for p in parts], low_is_bad=False),
        "pp_grad_mean": mean([p["gradient_ratio"] for p in parts]),
        "pp_grad_worst": worst_ratio([p["gradient_ratio"] for p in parts]),
        "syn_seconds": mean([r["seconds"] for r in syn_rows]),
        "real_keep_kept": real_lines["keep_kept"],
        "real_overlay_erased": real_lines["overlay_erased"],
        "real_seconds": mean([r["seconds"] for r in real_rows]),
    }


def _pool_counts(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    keys = ("overlay_lines", "overlay_erased_lines", "faint_lines", "faint_erased_lines",
            "keep_lines", "keep_kept_lines", "kept_uncertain_lines")  # fmt: skip
    total = {k: sum(int(r[k]) for r in rows) for k in keys}

    def rate(part: str, whole: str) -> float | None:
        return total[part] / total[whole] if total[whole] else None

    return {
        **total,
        "overlay_erased": rate("overlay_erased_lines", "overlay_lines"),
        "faint_erased": rate("faint_erased_lines", "faint_lines"),
        "keep_kept": rate("keep_kept_lines", "keep_lines"),
    }


def format_summary(summaries: dict[str, dict[str, dict[str, Any]]]) -> str:
    """``summaries[split][method]`` -> a table: rows = metric, columns = split x method."""
    columns = [(s, m) for s in SPLITS if s in summaries for m in summaries[s]]
    width = max(len(label) for label, *_ in ROWS.values()) + 2
    header = "metric".ljust(width) + "".join(f"{s}/{m}".rjust(16) for s, m in columns)
    header += "   target"
    lines = [header, "-" * len(header)]
    for metric, (label, _, _, unit) in ROWS.items():
        row = label.ljust(width)
        for split, method in columns:
            value = summaries[split][method].get(metric)
            ok = meets(metric, value)
            mark = "" if ok is None else (" ✓" if ok else " ✗")
            row += (_fmt(unit, value) + mark).rjust(16)
        lines.append(row + "   " + _target_text(metric))
    for split, method in columns:
        s = summaries[split][method]
        syn, real = s["synthetic_lines"], s["real_lines"]
        lines.append(
            f"{split}/{method}: {s['synthetic_cases']} synthetic cases: overlay lines "
            f"{syn['overlay_erased_lines']}/{syn['overlay_lines']} erased (faint "
            f"{syn['faint_erased_lines']}/{syn['faint_lines']}), product lines "
            f"{syn['keep_kept_lines']}/{syn['keep_lines']} kept, product part scored on "
            f"{s['product_part_cases']}; {s['real_photos']} real photos: overlay "
            f"{real['overlay_erased_lines']}/{real['overlay_lines']} erased, print "
            f"{real['keep_kept_lines']}/{real['keep_lines']} kept, kept_uncertain "
            f"{syn['kept_uncertain_lines'] + real['kept_uncertain_lines']}"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- run


@dataclass
class Run:
    judges: Judges
    methods: dict[str, CleanFn]
    contact: Any | None  # ContactSheet for the test split
    save_dir: Path | None
    out: Printer = print
    rows: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(self, split: str, kind: str, method: str, row: dict[str, Any]) -> None:
        by_method = self.rows.setdefault(split, {}).setdefault(method, {})
        by_method.setdefault(kind, []).append(row)
        self.out(json.dumps(row, ensure_ascii=False, default=str))

    def apply(
        self, method: str, rgb: ImageArray, case: Any = None
    ) -> tuple[ImageArray, list[TextRegion], float]:
        fn = self.methods[method]
        if getattr(fn, "needs_case", False):
            fn = fn.with_case(case)  # type: ignore[attr-defined]
        start = time.perf_counter()
        output, regions = fn(rgb)
        return output, regions, time.perf_counter() - start + getattr(fn, "extra_seconds", 0.0)

    def synthetic(self, split: Split, case: Any, index: int) -> None:
        on_input = self.judges.on(case.image)
        # The held-out cases share one seed: the index in the set names each.
        name = f"{split}:{index}"
        for method in self.methods:
            try:
                output, regions, seconds = self.apply(method, case.image, case)
            except Exception as exc:  # report the case and go on with the others
                self.failures.append(f"{name} {method}: {type(exc).__name__}: {exc}")
                self.out(f"FAILED {name} {method}: {type(exc).__name__}: {exc}")
                continue
            verdicts = judge_synthetic(case, output, regions, on_input, self.judges.lazy(output))
            row = {"split": split, "set": "synthetic", "case": name, "source": case.source,
                   "method": method, **synthetic_row(case, output, verdicts, seconds)}  # fmt: skip
            self.add(split, "synthetic", method, row)
            self._keep(split, name, case.source, method, case.image, output, row)

    def real(self, photo: Any) -> None:
        from bench.realworld import judge_photo, read_rgb

        rgb = read_rgb(photo.path)
        on_input = self.judges.on(rgb)
        for method in self.methods:
            if getattr(self.methods[method], "needs_case", False):
                continue  # no known overlay mask on a real photo
            try:
                output, regions, seconds = self.apply(method, rgb)
            except Exception as exc:
                self.failures.append(f"{photo.relpath} {method}: {type(exc).__name__}: {exc}")
                self.out(f"FAILED {photo.relpath} {method}: {type(exc).__name__}: {exc}")
                continue
            verdicts = judge_photo(photo, rgb, output, regions, on_input, self.judges.lazy(output))
            row = {
                "split": photo.split, "set": "real", "case": photo.relpath, "method": method,
                "seconds": seconds, **pool_lines(verdicts),
                "left": [f"{v.text} ({v.why})" for v in verdicts
                         if v.kind == "overlay" and not v.ok],
                "lost": [f"{v.text} [{v.kind}] ({v.why})" for v in verdicts
                         if v.kind != "overlay" and not v.ok],
            }  # fmt: skip
            self.add(photo.split, "real", method, row)
            self._keep(photo.split, photo.relpath, "real photo", method, rgb, output, row)

    def _keep(
        self, split: str, name: str, caption: str, method: str, source: ImageArray,
        output: ImageArray, row: dict[str, Any],
    ) -> None:  # fmt: skip
        if self.contact is not None and split == "test":
            self.contact.add(name, caption, method, source, output, _figures(row))
        if self.save_dir is not None:
            from PIL import Image

            self.save_dir.mkdir(parents=True, exist_ok=True)
            stem = name.replace(":", "_").replace("/", "_")
            if not (self.save_dir / f"{stem}_input.jpg").exists():
                Image.fromarray(source).save(self.save_dir / f"{stem}_input.jpg", quality=90)
            Image.fromarray(output).save(self.save_dir / f"{stem}_{method}.jpg", quality=90)


def _figures(row: dict[str, Any]) -> str:
    parts = [
        f"overlay erased {row['overlay_erased_lines']}/{row['overlay_lines']}",
        f"kept {row['keep_kept_lines']}/{row['keep_lines']}",
        f"{row['seconds']:.1f} s",
    ]
    if row.get("psnr_mask") is not None:
        parts.append(f"PSNR overlay {row['psnr_mask']:.1f} / whole {row['psnr']:.1f} dB")
        parts.append(f"far changed {row['far_changed'] * 100:.2f}%")
    part = row.get("product_part")
    if part:
        parts.append(
            f"product part PSNR {_fmt('dB', part['psnr'])}, ΔE {_fmt('f2', part['delta_e'])}, "
            f"grad {_fmt('f2', part['gradient_ratio'])}"
        )
    text = " · ".join(parts)
    if row["left"]:
        text += "\nleft: " + " | ".join(row["left"])
    if row["lost"]:
        text += "\nlost: " + " | ".join(row["lost"])
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.clean_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--split", choices=("tune", "test", "both"), default="both")
    parser.add_argument("--n-tune", type=int, default=DEFAULT_N_TUNE,
                        help="bench.synthetic cases (seeds 0..n-1)")  # fmt: skip
    parser.add_argument("--n-test", type=int, default=None,
                        help="bench.heldout cases (default: its HELDOUT_N)")  # fmt: skip
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma list of " + ", ".join(METHODS)
    )
    parser.add_argument("--previous-rev", default=None, help="the previous release (git rev)")
    parser.add_argument("--no-realworld", action="store_true", help="synthetic cases only")
    parser.add_argument("--max-photos", type=int, default=None,
                        help="at most this many real photos per split (quick runs)")  # fmt: skip
    parser.add_argument(
        "--json-out", type=Path, default=REPO_ROOT / "bench/results/clean_bench.json"
    )
    parser.add_argument("--contact-dir", type=Path, default=CONTACT_DIR)
    parser.add_argument("--no-contact", action="store_true", help="no HTML contact sheet")
    parser.add_argument("--save-dir", type=Path, default=None, help="write input/output JPEGs")
    parser.add_argument("--allow-changed-test-set", action="store_true",
                        help="measure even if the frozen test set changed (warns)")  # fmt: skip
    args = parser.parse_args(argv)
    from bench.previous_release import DEFAULT_REV

    previous_rev = args.previous_rev or DEFAULT_REV
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(METHODS)}")

    warnings = frozen.require(args.allow_changed_test_set) if wanted("test", args.split) else []
    for line in warnings:
        print(f"!!! {line}", flush=True)

    def out(text: str) -> None:
        print(text, flush=True)

    judges = load_judges()
    methods = build_methods(names, previous_rev, judges, out)
    if not methods:
        raise SystemExit("no method could run")
    # RapidOCR's shared logger warns on every image without text (an erased one, say);
    # each engine resets its level when it loads, so quieten it once all have loaded.
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    contact = None
    if not args.no_contact and wanted("test", args.split):
        from bench.contact_sheet import ContactSheet

        contact = ContactSheet(args.contact_dir)
    run = Run(judges, methods, contact, args.save_dir, out)
    started = time.perf_counter()
    try:
        if wanted("tune", args.split):
            for index, case in enumerate(tune_cases(args.n_tune, args.size)):
                run.synthetic("tune", case, index)
        if wanted("test", args.split):
            for index, case in enumerate(test_cases(args.n_test, args.size)):
                run.synthetic("test", case, index)
        if not args.no_realworld:
            from bench.realworld import real_photos

            photos = real_photos(args.split, out=out)
            for split in SPLITS:
                of_split = [p for p in photos if p.split == split][: args.max_photos]
                for photo in of_split:
                    run.real(photo)
    finally:
        for fn in methods.values():
            close = getattr(fn, "close", None)
            if callable(close):
                close()

    summaries = {
        split: {m: summarize(kinds.get("synthetic", []), kinds.get("real", []))
                for m, kinds in by_method.items()}
        for split, by_method in run.rows.items()
    }  # fmt: skip
    print()
    print(format_summary(summaries), flush=True)
    for line in warnings:
        print(f"!!! {line}", flush=True)
    for failure in run.failures:
        print(f"failed: {failure}", flush=True)
    print(f"judge calls {judges.calls}, {time.perf_counter() - started:.0f} s", flush=True)
    report = {
        "config": {k: str(v) for k, v in vars(args).items()},
        "previous_rev": previous_rev if "previous" in methods else None,
        "judges": list(JUDGES),
        "targets": {k: {"label": v[0], "op": v[1], "target": v[2]} for k, v in ROWS.items()},
        "test_set_warnings": warnings,
        "summary": summaries,
        "cases": run.rows,
        "failures": run.failures,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(f"wrote {args.json_out}", flush=True)
    if contact is not None and contact.rows:
        print(f"contact sheet: {contact.write()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
