"""``globalpic``: the command line (rembg / IOPaint style), one module per subcommand."""

from globalpic_pipeline.cli import clean as clean  # registers `globalpic clean`
from globalpic_pipeline.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
