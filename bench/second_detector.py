"""An independent text detector for judging erase rates: PP-OCRv4 instead of our PP-OCRv6.

A method tuned against the detector that grades it can look perfect while leaving text a
different model still reads. So the benchmark judges with older, separately trained models:
the PP-OCRv4 det / rec (and the v2 direction classifier) ONNX files shipped inside the PyPI
wheel ``rapidocr-onnxruntime==1.4.4``, run by the ``rapidocr`` engine we already install, at
low thresholds so faint leftovers still count.

We do not install that wheel (it depends on the non-headless ``opencv-python``): pip downloads
it into ``~/.cache/globalpic/bench``, only the three ``.onnx`` members are extracted, each
checked against a pinned SHA-256 and written atomically.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from globalpic_common.errors import ModelUnavailableError
from globalpic_ocr.detector import RapidOcrDetector
from globalpic_ocr.settings import OcrSettings

WHEEL_REQUIREMENT = "rapidocr-onnxruntime==1.4.4"
# role -> (member inside the wheel, SHA-256 of its bytes)
MODEL_MEMBERS: dict[str, tuple[str, str]] = {
    "det": (
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    ),
    "rec": (
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
    ),
    "cls": (
        "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
    ),
}
PIP_TIMEOUT_S = 300

# Downloads the wheel into the given directory and returns the wheel's path.
WheelDownloader = Callable[[Path], Path]


def default_cache_dir() -> Path:
    override = os.environ.get("GLOBALPIC_BENCH_CACHE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "globalpic" / "bench" / "ppocrv4"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pip_download_wheel(dest: Path) -> Path:
    """``pip download --no-deps`` the wheel (the ordinary PyPI client, no other source)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--only-binary=:all:", "-d", str(dest), WHEEL_REQUIREMENT]  # fmt: skip
    try:
        subprocess.run(cmd, check=True, timeout=PIP_TIMEOUT_S, capture_output=True, text=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ModelUnavailableError(
            f"could not download {WHEEL_REQUIREMENT} with pip: {detail.strip()[-300:]}"
        ) from exc
    wheels = sorted(dest.glob("rapidocr_onnxruntime-*.whl"))
    if not wheels:
        raise ModelUnavailableError(f"pip download of {WHEEL_REQUIREMENT} produced no wheel")
    return wheels[0]


def extract_member(wheel: Path, member: str, sha256: str, dest: Path) -> Path:
    """Copy one zip member to ``dest`` if its bytes hash to ``sha256`` (atomic, else nothing)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(member) as src,
            os.fdopen(fd, "wb") as out,
        ):
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ModelUnavailableError(
                f"{member} in {wheel.name} has SHA-256 {digest.hexdigest()}, expected {sha256}"
            )
        os.replace(tmp, dest)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ModelUnavailableError(f"{wheel.name} has no readable member {member}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def ensure_models(
    cache_dir: Path | None = None, download: WheelDownloader = pip_download_wheel
) -> dict[str, Path]:
    """The det / rec / cls model paths, downloading and extracting them on first use."""
    cache = cache_dir or default_cache_dir()
    paths = {role: cache / Path(member).name for role, (member, _) in MODEL_MEMBERS.items()}
    missing = [
        role for role, path in paths.items()
        if not path.is_file() or _sha256(path) != MODEL_MEMBERS[role][1]
    ]  # fmt: skip
    if missing:
        with tempfile.TemporaryDirectory(prefix="globalpic-wheel-") as tmp:
            wheel = download(Path(tmp))
            for role in missing:
                member, sha = MODEL_MEMBERS[role]
                extract_member(wheel, member, sha, paths[role])
    return paths


class SecondDetector(RapidOcrDetector):
    """PP-OCRv4 det + cls + rec on the ``rapidocr`` engine, at low thresholds.

    The same engine wrapper as production (``RapidOcrDetector``), other model files: an
    independent judge of what a reader still finds, not a second copy of our own detector.
    """

    name = "ppocrv4-judge"

    def __init__(
        self,
        box_thresh: float = 0.3,
        text_score: float = 0.3,
        max_side: int = 2000,
        cache_dir: Path | None = None,
    ) -> None:
        super().__init__(OcrSettings(min_confidence=text_score, max_side=max_side))
        self.box_thresh = box_thresh
        self.cache_dir = cache_dir

    def load(self) -> None:
        if "Det.model_path" not in self._engine_params:
            paths = ensure_models(self.cache_dir)
            from rapidocr.utils.typings import ModelType, OCRVersion

            self._engine_params.update(
                {
                    "Det.ocr_version": OCRVersion.PPOCRV4,
                    "Det.model_type": ModelType.MOBILE,
                    "Det.model_path": str(paths["det"]),
                    "Det.box_thresh": self.box_thresh,
                    "Det.thresh": 0.2,  # pixel threshold: faint strokes still join a region
                    "Cls.model_path": str(paths["cls"]),
                    "Rec.ocr_version": OCRVersion.PPOCRV4,
                    "Rec.model_type": ModelType.MOBILE,
                    "Rec.model_path": str(paths["rec"]),  # its character list is in the metadata
                }
            )
        super().load()
