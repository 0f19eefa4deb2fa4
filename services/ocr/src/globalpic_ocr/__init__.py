"""GlobalPic OCR service: text detection and overlay-vs-product classification."""
