"""Code shared by every GlobalPic service: schemas, errors, image I/O, settings, interfaces."""
