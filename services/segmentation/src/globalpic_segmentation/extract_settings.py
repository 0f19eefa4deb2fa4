"""Settings of the ``extract`` cut-out (``GLOBALPIC_SEGMENTATION__EXTRACT_<FIELD>``).

Its own class, with the segmentation service's prefix, so the U²-Net-p settings stay as they
are and each field reads ``GLOBALPIC_SEGMENTATION__EXTRACT_REFINE`` and so on.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from globalpic_common.settings import ServiceSettings, settings_config


class RefineMethod(StrEnum):
    """How the coarse U²-Net-p map becomes the final matte (bench/README.md compares them)."""

    NONE = "none"  # the coarse map itself, cut to the products kept
    MATTING = "matting"  # closed-form matting in the uncertain band of the coarse map
    GRABCUT = "grabcut"  # background key + GrabCut on a downscaled crop, then thin parts
    GRABCUT_MATTING = "grabcut-matting"  # the same, then closed-form matting of the edge band


class ObjectChoice(StrEnum):
    """How the product is chosen among the objects of the coarse map."""

    # Product-likeness from evidence (print, repeated units, a person, not flat badges or
    # backdrops) and every unit of the product (``objects``).
    OBJECTS = "objects"
    # The previous release: the biggest, most central confident component (bench baseline).
    LEGACY = "legacy"


class ExtractSettings(ServiceSettings):
    model_config = settings_config("segmentation")

    extract_refine: RefineMethod = RefineMethod.GRABCUT_MATTING
    # Which object is the product (bench/product_box_bench.py compares the two).
    extract_choice: ObjectChoice = ObjectChoice.OBJECTS
    # A person wearing the product (a model in a dress): cut out the garment alone, without
    # the face, arms, legs, hair and shoes (``objects.garment``). Off: the person and garment.
    extract_worn_garment: bool = True
    # Run the segmenter again on a square crop around the products (``zoom``): U²-Net-p's
    # 320 px input then sees them at up to 2x the resolution and resolves gaps, holes and thin
    # legs. Off by default since IS-Net (1024 px) is the segmenter: on the tune composites the
    # second pass changed IoU by < 0.001 and cost a second IS-Net run (+70 % extract time);
    # turn it on with the U²-Net-p fallback.
    extract_zoom: bool = False
    # Background margin on each side of the products in that crop, share of their long side.
    extract_zoom_margin: float = Field(0.15, ge=0.0, le=1.0)
    # Coarse alpha at or above this is "confidently product": it seeds the products.
    extract_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    # Weaker coarse alpha still joins a product when it touches it or lies within
    # ``extract_attach_reach`` of it: straps, cables and handles the network half-sees.
    extract_attach_threshold: float = Field(0.15, gt=0.0, lt=1.0)
    extract_attach_reach: float = Field(0.03, ge=0.0, le=0.5)  # share of the image diagonal
    # ``ExtractMode.ALL`` keeps a product when it covers this share of the image and this share
    # of the largest product: smaller blobs are the network's false alarms, not products.
    extract_min_area: float = Field(0.002, ge=0.0, lt=1.0)
    extract_min_relative_area: float = Field(0.05, ge=0.0, le=1.0)
    # GrabCut and the background plate run on the product's crop scaled to this long side.
    extract_work_side: int = Field(384, ge=64, le=4096)
    # Half-width of the band that matting re-estimates, as a share of the image diagonal
    # (0.003 is 4 px at 1024 x 1024).
    extract_matting_band: float = Field(0.003, gt=0.0, le=0.05)
    # Holes are carved only where the background plate predicts the background this well
    # (median colour error in 0-255 RGB units, times 3): busy backgrounds switch carving off.
    extract_max_key_tolerance: float = Field(30.0, gt=0.0)
    # Also carve background-coloured regions that reach the product's outline (the gaps
    # between a stool's legs). Off by default: on a white product on a white sweep such a
    # region may be the product's own face, and losing it is worse than keeping a gap.
    extract_carve_open_holes: bool = False
