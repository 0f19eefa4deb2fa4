"""GlobalPic generation service: erase overlays and rebuild the background (CPU backends)."""
