"""GlobalPic pipeline: the ops in order, composed from the service interfaces; and the CLI."""
