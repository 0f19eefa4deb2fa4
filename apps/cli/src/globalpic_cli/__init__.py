"""``globalpic``: the command line (rembg / IOPaint style), one module per subcommand."""

from globalpic_cli import adjust as adjust  # registers `globalpic adjust`
from globalpic_cli import check as check  # registers `globalpic check`
from globalpic_cli import clean as clean  # registers `globalpic clean`
from globalpic_cli import copy as copy  # registers `globalpic copy`
from globalpic_cli import extract as extract  # registers `globalpic extract`
from globalpic_cli import localize as localize  # registers `globalpic localize`
from globalpic_cli import platforms as platforms  # registers `globalpic platforms`
from globalpic_cli import remix as remix  # registers `globalpic remix`
from globalpic_cli import resize as resize  # registers `globalpic resize`
from globalpic_cli import styles as styles  # registers `globalpic styles`
from globalpic_cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
