"""``globalpic platforms``: the marketplace presets ``resize`` and ``check`` accept."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

from globalpic_cli.app import Json, app
from globalpic_common.platforms import PLATFORMS, Platform


def _rules(p: Platform) -> str:
    rules = []
    if p.white_background:
        rules.append("white background")
    if p.min_fill is not None:
        rules.append(f"fill >= {p.min_fill:.0%}")
    if p.forbid_overlay_text:
        rules.append("no overlay text")
    rules.append(f">= {p.min_side} px")
    return ", ".join(rules)


@app.command()
def platforms(as_json: Json = False) -> None:
    """List the platform presets (frame size and the rules `check` applies)."""
    if as_json:
        data = [p.model_dump(mode="json") for p in PLATFORMS.values()]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "name", "size", "max file", "rules"):
        table.add_column(column)
    for p in PLATFORMS.values():
        size_mb = f"{p.max_bytes / 1024 / 1024:.0f} MB"
        table.add_row(p.id, p.name, f"{p.width}x{p.height}", size_mb, _rules(p))
    console = Console()
    if not console.is_terminal:
        console.width = 200  # piped: one line per preset, never wrapped at 80 columns
    console.print(table)
