"""Distinct photos for the platform benchmark: ``bench.synthetic`` product shots (procedural
bottle / can / box on wood, fabric, wall or marble, a printed brand label) with Chinese promo
overlays drawn in the installed CJK fonts (badges, price stickers, banners, watermarks), one
per seed, as the JPEGs a seller would upload."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

from PIL import Image

from bench.synthetic import make_case

JPEG_QUALITY = 90


def photo_jpeg(seed: int, side: int) -> bytes:
    image = make_case(seed, size=side).image
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


@dataclass
class PhotoSet:
    """Photos by seed, rendered once. Seeds name the photo: equal seeds, equal bytes."""

    side: int
    _cache: dict[int, bytes] = field(default_factory=dict)

    def photo(self, seed: int) -> tuple[str, bytes]:
        if seed not in self._cache:
            self._cache[seed] = photo_jpeg(seed, self.side)
        return f"photo_{seed:05d}.jpg", self._cache[seed]

    def batch(self, first_seed: int, count: int) -> list[tuple[str, bytes]]:
        """``count`` photos, seeds ``first_seed`` ...; checked to be byte-distinct."""
        photos = [self.photo(first_seed + k) for k in range(count)]
        digests = {hashlib.sha256(data).hexdigest() for _, data in photos}
        if len(digests) != len(photos):
            raise RuntimeError(f"seeds {first_seed}..{first_seed + count - 1} repeat a photo")
        return photos
