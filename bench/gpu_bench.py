"""``make bench-gpu``: Z-Image-Turbo speed and memory, ours vs plain diffusers, in one run.

Weights: ``--model`` (or ``GLOBALPIC_GENERATION__MODEL`` when set) is loaded with
``from_pretrained``; without one, the full-size Z-Image-Turbo architecture (6 B transformer,
Qwen3-4B text encoder, Flux VAE) is built in memory with random weights: the cost of a
forward pass does not depend on weight values. ``--tiny`` runs the same code with the tiny
test configs (``tests.support.zimage_tiny``, saved and loaded back through the
production loader) on the CPU in seconds, to check the bench itself.

Two variants on the same modules, in this order:

* ``baseline``: the plain diffusers pipelines, eager, default attention (loaded with
  ``from_pretrained`` / built, moved to the device, nothing else);
* ``ours``: the same modules after ``zimage.prepare_models`` with the settings given
  (``--compile``, ``--attention-backend``, ``--offload``; GLOBALPIC_GENERATION__* apply too),
  then warmed up (``warmup_s`` includes compilation).

Cases: text-to-image and inpaint at ``--size``² for each ``--batches`` (both variants), then
``ours`` end to end: ``clean`` (the generative part: ``ZImageInpainter`` on a frame with a
badge and two text lines; OCR is not part of it), ``remix`` (``Remixer`` with the Z-Image
scene generator, ``--candidates`` candidates), ``outpaint`` (``fit_to_canvas`` of a square
photo into a 9:16 frame, new area generated at ``outpaint_side_px``) and ``upscale``
(``fit_to_canvas`` of a photo a third of ``--size`` into the ``--size``² frame, img2img at
``upscale_strength``). Turbo settings everywhere (9 steps = 8
forwards, guidance 0). Each figure is printed as one JSON line the moment it is measured
(median of ``--repeats`` timed runs after one untimed run, whose time is ``first_s``); peak
GPU memory per case (``torch.cuda.max_memory_allocated``). ``--memory-gib 16`` caps the
process (``torch.cuda.set_per_process_memory_fraction``) for the 16 GB profile. Everything
also goes to ``--json-out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.synthetic import REPO_ROOT
from globalpic_generation.canvas import CanvasBackends, fit_to_canvas
from globalpic_generation.remix import Remixer
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.zimage import ZImageInpainter, ZImageModels, prepare_models, warm_up
from globalpic_generation.zimage_remix import ZImageSceneGenerator
from globalpic_generation.zimage_resize import ZImageResizer

DEFAULT_JSON = REPO_ROOT / "bench" / "results" / "gpu_bench.json"
PROMPT = (
    "lifestyle product photograph on a light oak table in a bright modern living room, "
    "soft window light, shallow depth of field"
)
GIB = 2**30


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--tiny", action="store_true", help="tiny random configs on the CPU")
    ap.add_argument("--model", default=os.environ.get("GLOBALPIC_GENERATION__MODEL"))
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    ap.add_argument("--size", type=int, default=None, help="square side (1024; tiny: 64)")
    ap.add_argument("--batches", default=None, help="comma list (1,4)")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per case (3; tiny 1)")
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--seq", type=int, default=None, help="prompt tokens (512; tiny: 64)")
    ap.add_argument("--compile", action="store_true", help="ours: regional torch.compile")
    ap.add_argument("--attention-backend", default=None)
    ap.add_argument("--offload", action="store_true")
    ap.add_argument("--memory-gib", type=float, default=None, help="cap GPU memory (16 GB run)")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--cases", default="t2i,inpaint,clean,remix,outpaint,upscale")
    ap.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    args = ap.parse_args(argv)
    args.size = args.size or (64 if args.tiny else 1024)
    args.batches = [int(b) for b in (args.batches or "1,4").split(",")]
    args.repeats = args.repeats or (1 if args.tiny else 3)
    args.seq = args.seq or (64 if args.tiny else 512)
    args.cases = set(args.cases.split(","))
    return args


class Recorder:
    """Prints each record as a JSON line at once and keeps them for the summary file."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def emit(self, **record: Any) -> None:
        self.records.append(record)
        print(json.dumps(record), flush=True)


# ----------------------------------------------------------------------------- pipelines


def full_size_pipeline(device: str, dtype: Any) -> Any:
    """The Z-Image-Turbo architecture at full size with random weights, built on ``device``
    in ``dtype`` (no weight files: compute does not depend on weight values)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        ZImageInpaintPipeline,
        ZImageTransformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3Model

    from tests.support.zimage_tiny import tiny_tokenizer

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            transformer = ZImageTransformer2DModel()  # diffusers' defaults = Z-Image-Turbo
            with torch.no_grad():
                transformer.x_pad_token.normal_()
                transformer.cap_pad_token.normal_()
            vae = AutoencoderKL(
                in_channels=3,
                out_channels=3,
                down_block_types=["DownEncoderBlock2D"] * 4,
                up_block_types=["UpDecoderBlock2D"] * 4,
                block_out_channels=[128, 256, 512, 512],
                layers_per_block=2,
                latent_channels=16,
                norm_num_groups=32,
                sample_size=1024,
                scaling_factor=0.3611,
                shift_factor=0.1159,
                use_quant_conv=False,
                use_post_quant_conv=False,
            )
            text_encoder = Qwen3Model(  # Qwen3-4B
                Qwen3Config(
                    hidden_size=2560,
                    intermediate_size=9728,
                    num_hidden_layers=36,
                    num_attention_heads=32,
                    num_key_value_heads=8,
                    head_dim=128,
                    vocab_size=151936,
                    max_position_embeddings=40960,
                    rope_theta=1_000_000.0,
                    rms_norm_eps=1e-6,
                )
            )
    finally:
        torch.set_default_dtype(previous)
    return ZImageInpaintPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tiny_tokenizer(),
        transformer=transformer,
    )


def source_pipeline(args: argparse.Namespace, device: str, dtype: Any, rec: Recorder) -> Any:
    """The plain pipeline the run starts from, and where it came from."""
    from diffusers import ZImageInpaintPipeline

    start = time.perf_counter()
    if args.tiny:
        from tests.support.zimage_tiny import save_tiny_zimage

        model = str(save_tiny_zimage(Path(tempfile.mkdtemp(prefix="gpu-bench-")) / "tiny"))
        pipe = ZImageInpaintPipeline.from_pretrained(model, dtype=dtype)
        weights = f"tiny random ({model})"
    elif args.model:
        pipe = ZImageInpaintPipeline.from_pretrained(args.model, dtype=dtype)
        weights = args.model
    else:
        pipe = full_size_pipeline(device, dtype)
        weights = "full-size architecture, random weights"
    pipe.set_progress_bar_config(disable=True)
    pipe.to(device)
    rec.emit(event="loaded", weights=weights, load_s=round(time.perf_counter() - start, 2))
    args.model_label = weights
    return pipe


# ------------------------------------------------------------------------------- timing


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _peak_reset(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()


def _peak_gib(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return round(torch.cuda.max_memory_allocated() / GIB, 2)


def measure(
    rec: Recorder,
    device: str,
    repeats: int,
    fn: Callable[[], Any],
    per: int,
    **labels: Any,
) -> None:
    """One untimed run (``first_s``), then ``repeats`` timed runs: median seconds, per
    image (``per`` images a run), peak memory over all runs."""
    _peak_reset(device)
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    rec.emit(
        **labels,
        seconds=round(median, 4),
        per_image_s=round(median / per, 4),
        first_s=round(first, 4),
        runs=len(times),
        peak_gib=_peak_gib(device),
    )


def raw_cases(
    rec: Recorder,
    args: argparse.Namespace,
    variant: str,
    inpaint_pipe: Any,
    t2i_pipe: Any,
    device: str,
) -> None:
    """Text-to-image and inpaint straight through the pipelines, at each batch size."""
    import torch

    s = args.size
    rng = np.random.default_rng(0)
    image = rng.random((s, s, 3), dtype=np.float32)
    mask = np.zeros((s, s, 1), np.float32)
    mask[s // 4 : 3 * s // 4, s // 4 : 3 * s // 4] = 1.0
    common = {
        "height": s,
        "width": s,
        "num_inference_steps": 9,
        "guidance_scale": 0.0,
        "max_sequence_length": args.seq,
        "output_type": "np",
    }
    for batch in args.batches:

        def gens(b: int = batch) -> list[Any]:
            return [torch.Generator("cpu").manual_seed(i) for i in range(b)]

        if "t2i" in args.cases:

            def t2i(b: int = batch) -> Any:
                with torch.inference_mode():
                    return t2i_pipe(prompt=[PROMPT] * b, generator=gens(b), **common)

            measure(rec, device, args.repeats, t2i, batch,
                    case="t2i", variant=variant, size=s, batch=batch)  # fmt: skip
        if "inpaint" in args.cases:

            def inpaint(b: int = batch) -> Any:
                with torch.inference_mode():
                    return inpaint_pipe(
                        prompt=[PROMPT] * b,
                        image=np.stack([image] * b),
                        mask_image=np.stack([mask] * b),
                        strength=1.0,
                        generator=gens(b),
                        **common,
                    )

            measure(rec, device, args.repeats, inpaint, batch,
                    case="inpaint", variant=variant, size=s, batch=batch)  # fmt: skip


def end_to_end_cases(
    rec: Recorder, args: argparse.Namespace, models: ZImageModels, settings: GenerationSettings
) -> None:
    """``ours`` through the product code: clean's generative part and remix's candidates."""
    s = args.size
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
    frame = np.asarray(cv2.GaussianBlur(noise, (0, 0), 3), np.uint8)
    if "clean" in args.cases:
        mask = np.zeros((s, s), np.uint8)
        mask[s // 10 : s // 10 + s // 8, s // 10 : s // 2] = 255  # a badge
        mask[int(s * 0.8) : int(s * 0.8) + max(2, s // 40), s // 5 : int(s * 0.9)] = 255  # lines
        mask[int(s * 0.9) : int(s * 0.9) + max(2, s // 40), s // 5 : int(s * 0.7)] = 255
        inpainter = ZImageInpainter(settings, models)
        regions = len(inpainter.plans(frame, mask))
        measure(rec, args.device, args.repeats, lambda: inpainter.inpaint(frame, mask), 1,
                case="clean", variant="ours", size=s, batch=1, regions=regions)  # fmt: skip
    if "remix" in args.cases:
        alpha = np.zeros((s, s), np.float32)
        cv2.circle(alpha, (s // 2, s // 2), s // 4, 1.0, -1)
        remixer = Remixer(scene_generator=ZImageSceneGenerator(settings, models))
        n = args.candidates
        measure(
            rec, args.device, args.repeats,
            lambda: remixer.candidates(frame, alpha, "modern-home", n), n,
            case="remix", variant="ours", size=s, batch=n,
        )  # fmt: skip
    resizer = ZImageResizer(settings, models)
    if "outpaint" in args.cases:
        disc = np.zeros((s, s), np.float32)
        cv2.circle(disc, (s // 2, s // 2), s // 4, 1.0, -1)
        tall = (s, round(s * 16 / 9))  # a square photo into a 9:16 story frame
        outpaint = CanvasBackends(outpainter=resizer)
        measure(
            rec, args.device, args.repeats,
            lambda: fit_to_canvas(frame, disc, *tall, fill=0.6, backends=outpaint), 1,
            case="outpaint", variant="ours", size=s, batch=1, frame=f"{tall[0]}x{tall[1]}",
        )  # fmt: skip
    if "upscale" in args.cases:
        small = max(16, s // 3)
        photo = np.asarray(
            cv2.resize(frame, (small, small), interpolation=cv2.INTER_AREA), np.uint8
        )
        disc = np.zeros((small, small), np.float32)
        cv2.circle(disc, (small // 2, small // 2), small // 3, 1.0, -1)
        upscale = CanvasBackends(upscaler=resizer)
        measure(
            rec, args.device, args.repeats,
            lambda: fit_to_canvas(photo, disc, s, s, fill=0.9, backends=upscale), 1,
            case="upscale", variant="ours", size=s, batch=1, photo=small,
        )  # fmt: skip


def bench_settings(args: argparse.Namespace, device: str) -> GenerationSettings:
    overrides: dict[str, Any] = {"device": device, "max_sequence_length": args.seq}
    if args.compile:
        overrides["compile"] = True
    if args.attention_backend:
        overrides["attention_backend"] = args.attention_backend
    if args.offload:
        overrides["offload"] = True
    if args.tiny:
        overrides |= {
            "warmup_px": 16,
            "zimage_side_px": (32, 64),
            "remix_side_px": (48, 64),
            "outpaint_side_px": (48, 64),
            "upscale_side_px": (32, 64),
        }
    else:
        overrides |= {"zimage_side_px": (512, args.size), "remix_side_px": (args.size, args.size)}
    return GenerationSettings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    args.device = device
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    rec = Recorder()
    shown = vars(args) | {"cases": sorted(args.cases), "json_out": str(args.json_out)}
    env: dict[str, Any] = {
        "event": "start",
        "device": device,
        "dtype": str(dtype),
        "torch": torch.__version__,
        "args": shown,
    }
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        env |= {"gpu": props.name, "gpu_total_gib": round(props.total_memory / GIB, 1)}
        if args.memory_gib:
            torch.cuda.set_per_process_memory_fraction(
                min(1.0, args.memory_gib * GIB / props.total_memory)
            )
    rec.emit(**env)
    pipe = source_pipeline(args, device, dtype, rec)
    settings = bench_settings(args, device)
    if not args.skip_baseline:
        from diffusers import ZImagePipeline

        t2i = ZImagePipeline(**pipe.components)
        t2i.set_progress_bar_config(disable=True)
        raw_cases(rec, args, "baseline", pipe, t2i, device)
    start = time.perf_counter()
    models = prepare_models(pipe, settings, device, str(dtype).removeprefix("torch."))
    warm_up(models, settings)
    _sync(device)
    rec.emit(event="prepared", variant="ours", warmup_s=round(time.perf_counter() - start, 2),
             compile=settings.compile, attention_backend=settings.attention_backend)  # fmt: skip
    raw_cases(rec, args, "ours", models.inpaint, models.text_to_image, device)
    end_to_end_cases(rec, args, models, settings)
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(rec.records, indent=1) + "\n")
    print(f"# {len(rec.records)} records -> {args.json_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
