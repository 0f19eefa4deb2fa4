"""GlobalPic segmentation service: where the product is."""

from globalpic_segmentation.registry import build_segmenter
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter, product_mask

__all__ = ["SegmentationSettings", "U2NetSegmenter", "build_segmenter", "product_mask"]
