"""``globalpic styles``: the background styles ``remix`` and ``localize`` accept."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

from globalpic_cli.app import Json, app
from globalpic_common.styles import STYLES


@app.command()
def styles(as_json: Json = False) -> None:
    """List the remix styles: id, names, whether the CPU rendering is exact, the prompt."""
    if as_json:
        data = [s.model_dump(mode="json") for s in STYLES]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "name", "名称", "CPU rendering", "description"):
        table.add_column(column)
    for s in STYLES:
        table.add_row(s.id, s.name_en, s.name_zh, s.rendering, s.description)
    console = Console()
    if not console.is_terminal:
        console.width = 220  # piped: one line per style, never wrapped at 80 columns
    console.print(table)
