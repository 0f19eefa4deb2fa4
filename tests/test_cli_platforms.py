"""``globalpic platforms``: the preset table and its JSON form."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from globalpic_cli import app
from globalpic_common.platforms import PLATFORMS, Platform

runner = CliRunner()


def test_table_lists_every_preset_one_line_each() -> None:
    result = runner.invoke(app, ["platforms"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for p in PLATFORMS.values():
        [row] = [line for line in lines if line.startswith(p.id + " ")]
        assert f"{p.width}x{p.height}" in row
    amazon_row = next(line for line in lines if line.startswith("amazon "))
    assert "white background" in amazon_row and "85%" in amazon_row


def test_json_is_the_list_of_models() -> None:
    result = runner.invoke(app, ["platforms", "--json"])
    assert result.exit_code == 0
    models = [Platform.model_validate(item) for item in json.loads(result.stdout)]
    assert models == list(PLATFORMS.values())
