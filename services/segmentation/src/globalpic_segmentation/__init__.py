"""GlobalPic segmentation service: where the product is."""
