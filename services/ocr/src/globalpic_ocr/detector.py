"""Text detectors behind the ``TextDetector`` interface.

RapidOCR (PP-OCR ONNX models shipped inside the ``rapidocr`` wheel) is the default; EasyOCR is
an optional backend for sites that have its weights on disk. Each model is loaded once, under a
lock, on first use, and reused for every image after that (immich's model lifecycle).
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import ImageArray
from globalpic_common.models import Model
from globalpic_common.schemas import TextLine
from globalpic_ocr import faint
from globalpic_ocr.combine import SAME_TEXT_OVERLAP, credible, merge_lines, overlap
from globalpic_ocr.merged import CharBox, split_merged_lines
from globalpic_ocr.settings import OcrSettings
from globalpic_ocr.tile_search import search_copies

# A "line" whose box covers this share of the photo is no line: on a photo filled by one
# plain object (a red T-shirt on grey), PP-OCR's detector can return the whole frame as one
# region, which the recogniser then reads as a glyph ("T"); erased, it takes the photo with it.
MAX_LINE_AREA_SHARE = 0.25


def _frame_sized(points: Any, height: int, width: int) -> bool:
    quad = np.asarray(points, np.float32).reshape(-1, 2)
    return float(cv2.contourArea(quad)) > MAX_LINE_AREA_SHARE * height * width


def _quad(points: Any) -> list[tuple[float, float]]:
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return [(round(float(x), 1), round(float(y), 1)) for x, y in arr[:4]]


class RapidOcrDetector(Model):
    """PP-OCR (det + cls + rec) through RapidOCR on onnxruntime.

    The colour pass reads the photo as it is. Faint text (semi-transparent watermarks, plain
    lines on texture) is then looked for in contrast views of it (``faint``), and the unread
    copies of a tiled watermark by template search (``tile_search``); their lines join the
    colour pass's (``combine``).
    """

    name = "rapidocr"

    def __init__(self, settings: OcrSettings | None = None, **engine_params: Any) -> None:
        super().__init__()
        self.settings = settings or OcrSettings()
        faint.views(np.zeros((8, 8, 3), np.uint8), self.settings.faint_views)  # names checked
        self._engine_params = engine_params
        self._engine: Any = None
        # RapidOCR keeps the step switches of the last call (det / cls / rec) on the engine:
        # calls with different switches must not interleave.
        self._call_lock = threading.Lock()

    def _load(self) -> None:
        from rapidocr import RapidOCR  # imported late: loading the package costs ~1 s

        params: dict[str, Any] = {
            "Global.log_level": "error",  # "no text found" is not a warning for us
            "Global.text_score": self.settings.min_confidence,
            "Global.max_side_len": self.settings.max_side,
        }
        if self.settings.threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.settings.threads
        params.update(self._engine_params)
        self._engine = RapidOCR(params=params)

    def _unload(self) -> None:
        self._engine = None

    def detect(self, image: ImageArray) -> list[TextLine]:
        return self.detect_passes(image)["all"]

    def detect_colour(self, image: ImageArray) -> list[TextLine]:
        """The colour pass alone (about 2/3 of ``detect``'s time): for re-reading a cleaned
        crop, where what is looked for is leftovers of lines already found."""
        self.load()
        with self._call_lock:
            return self._colour_pass(image)

    def detect_passes(self, image: ImageArray) -> dict[str, list[TextLine]]:
        """The lines of each pass (``colour``, each view's name, ``tiles``: new lines only)
        and their merge (``all``)."""
        self.load()
        with self._call_lock:
            colour = self._colour_pass(image)
            passes: dict[str, list[TextLine]] = {"colour": colour}
            merged = colour
            s = self.settings
            if not s.faint_views and not s.tile_search:
                passes["all"] = merged
                return passes
            for view in faint.views(image, s.faint_views):
                found = self._view_pass(view.image, merged)
                passes[view.name] = found
                merged = merge_lines(merged, found)
            if s.tile_search:
                residual = faint.text_residual(image)
                grey = faint.residual_grey(residual)
                copies = search_copies(
                    residual, merged, self._read_grey, grey, s.faint_min_confidence
                )
                passes["tiles"] = copies.found
                # Not merged by overlap: a copy found on the product's print overlaps that
                # print's line and is still a line of its own (the search checked it
                # against the held copies).
                merged = [*copies.lines, *copies.found]
            passes["all"] = merged
            return passes

    def _colour_pass(self, image: ImageArray) -> list[TextLine]:
        # RapidOCR takes OpenCV's BGR order for ndarray input.
        # Character boxes let a line that merged a watermark tile with the product's print
        # be split (``merged``); they cost a few ms per image.
        result = self._engine(
            np.ascontiguousarray(image[:, :, ::-1]),
            use_det=True,
            use_cls=True,
            use_rec=True,
            return_word_box=True,
        )
        if result.boxes is None or result.txts is None:
            return []
        words = result.word_results or ((),) * len(result.txts)
        lines: list[TextLine] = []
        chars: list[list[CharBox] | None] = []
        for box, text, score, word in zip(
            result.boxes, result.txts, result.scores, words, strict=True
        ):
            if not str(text).strip() or _frame_sized(box, image.shape[0], image.shape[1]):
                continue
            conf = float(min(1.0, max(0.0, float(score))))
            lines.append(TextLine(box=_quad(box), text=str(text), confidence=conf))
            chars.append([CharBox(str(w[0]), _quad(w[2])) for w in word] if word else None)
        return split_merged_lines(lines, chars)

    def _view_pass(self, view: ImageArray, held: list[TextLine]) -> list[TextLine]:
        """Lines of ``view`` that no held line covers and that read as text."""
        h, w = view.shape[:2]
        scale = min(1.0, self.settings.faint_max_side / max(h, w))
        small = (
            view
            if scale >= 1.0
            else cv2.resize(
                view, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        )
        bgr = np.ascontiguousarray(small[:, :, ::-1])
        # Detection only: the recogniser reads just the boxes that are new.
        det = self._engine(bgr, use_det=True, use_cls=False, use_rec=False)
        if getattr(det, "boxes", None) is None:
            return []
        boxes, crops = [], []
        for raw in det.boxes:
            box = _quad(np.asarray(raw, np.float64) / scale)
            if any(overlap(box, line.box)[0] >= SAME_TEXT_OVERLAP for line in held):
                continue
            crop = _crop(view, box)
            if crop is not None:
                boxes.append(box)
                crops.append(crop)
        found: list[TextLine] = []
        for box, (text, conf) in zip(boxes, self._read(crops), strict=True):
            line = TextLine(box=box, text=text or " ", confidence=conf)
            if credible(line, self.settings.faint_min_confidence, self.settings.faint_min_chars):
                found.append(line)
        return found

    def _read_grey(self, crops: list[npt.NDArray[np.uint8]]) -> list[tuple[str, float]]:
        """Read level grey crops (tile search)."""
        return self._read(
            [np.asarray(cv2.cvtColor(c, cv2.COLOR_GRAY2RGB), np.uint8) for c in crops]
        )

    def _read(self, crops: list[ImageArray]) -> list[tuple[str, float]]:
        """The recogniser's text and score for each RGB line crop, in one batch (one engine
        call per crop costs its pre- and post-processing each time)."""
        if not crops:
            return []
        from rapidocr.ch_ppocr_rec import TextRecInput

        self.load()  # the tile search reads through here, maybe before any detect()
        recogniser = self._engine._load_rec_model()
        bgr = [np.ascontiguousarray(c[:, :, ::-1]) for c in crops]
        result = recogniser(TextRecInput(img=bgr, return_word_box=False))
        txts = result.txts or ("",) * len(crops)
        scores = result.scores or (0.0,) * len(crops)
        return [
            (str(t), float(min(1.0, max(0.0, float(sc)))))
            for t, sc in zip(txts, scores, strict=True)
        ]


def _crop(image: ImageArray, box: list[tuple[float, float]]) -> ImageArray | None:
    """The quad warped to an upright rectangle (turned level when it is standing: vertical
    text), as the recogniser expects a line."""
    pts = np.asarray(box, np.float32).reshape(4, 2)
    width = int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[2] - pts[3])))
    height = int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2])))
    if width < 4 or height < 4:
        return None
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    mat = cv2.getPerspectiveTransform(pts, dst)
    out = cv2.warpPerspective(
        image, mat, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if height >= 1.5 * width:
        out = np.rot90(out)
    return np.ascontiguousarray(out, np.uint8)


class EasyOcrDetector(Model):
    """EasyOCR (CRAFT + CRNN); optional, needs ``pip install globalpic-ocr[easyocr]``."""

    name = "easyocr"

    def __init__(self, settings: OcrSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or OcrSettings()
        self._reader: Any = None

    def _load(self) -> None:
        model_dir = self.settings.easyocr_model_dir
        if model_dir is None or not (model_dir / "craft_mlt_25k.pth").is_file():
            raise ModelUnavailableError(
                "EasyOCR needs its weights on disk: set GLOBALPIC_OCR__EASYOCR_MODEL_DIR to a "
                "directory holding craft_mlt_25k.pth and zh_sim_g2.pth"
            )
        try:
            import easyocr
        except ImportError as exc:
            raise ModelUnavailableError(
                "EasyOCR backend not installed: pip install 'globalpic-ocr[easyocr]'"
            ) from exc
        self._reader = easyocr.Reader(
            ["ch_sim", "en"],
            gpu=False,
            model_storage_directory=str(model_dir),
            download_enabled=False,
        )

    def _unload(self) -> None:
        self._reader = None

    def detect(self, image: ImageArray) -> list[TextLine]:
        self.load()
        lines = []
        for box, text, score in self._reader.readtext(image):
            if float(score) < self.settings.min_confidence or not str(text).strip():
                continue
            lines.append(TextLine(box=_quad(box), text=str(text), confidence=float(score)))
        return lines
