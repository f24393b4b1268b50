"""docs/editors.md's Neovim 0.7 configuration, run as written in a real headless Neovim
(Debian's 0.7.2 where that is what is installed): the film's errors arrive, a quick fix is
offered and applied, and the fixed file checks clean."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from filmlang.api import check_file

BAD = 'film "Bad" {\n    size 320x180\n}\n\ncharacter MARA {\n    look "a keeper"\n}\n\n' \
      'scene s {\n    shot wyde MARA {\n        MARA: "Hold the light."\n    }\n}\n'

CHECK = r"""
local ok = vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50)
local out = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(out, "diagnostic " .. tostring(d.code) .. " " .. d.lnum .. ":" .. d.col)
end
local d = vim.diagnostic.get(0)[1]
if d then
  vim.api.nvim_win_set_cursor(0, { d.lnum + 1, d.col })
  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(0, d.lnum) }
  local answers = vim.lsp.buf_request_sync(0, "textDocument/codeAction", params, 20000) or {}
  for _, answer in pairs(answers) do
    for _, action in ipairs(answer.result or {}) do
      table.insert(out, "action " .. action.title)
      if action.kind == "quickfix" and action.isPreferred then
        vim.lsp.util.apply_workspace_edit(action.edit, "utf-16")
        vim.cmd("silent write")
      end
    end
  end
end
vim.fn.writefile(out, os.getenv("NVIM_OUT"))
vim.cmd("qa!")
"""


def neovim_07_config() -> str:
    text = (ROOT / "docs" / "editors.md").read_text()
    section = text.split("### Neovim 0.7 and later", 1)[1].split("\n### ", 1)[0]
    [block] = re.findall(r"```lua\n(.*?)```", section, re.DOTALL)
    return block


def test_the_documented_neovim_07_config_works(tmp_path: Path) -> None:
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("Neovim is not installed")
    version = subprocess.run([nvim, "--version"], capture_output=True, text=True).stdout
    match = re.match(r"NVIM v0\.(\d+)", version)
    assert match and int(match[1]) >= 7, version
    (tmp_path / "init.lua").write_text(neovim_07_config())
    (tmp_path / "check.lua").write_text(CHECK)
    film = tmp_path / "bad.film"
    film.write_text(BAD)
    out = tmp_path / "out.txt"
    env = {**os.environ, "NVIM_OUT": str(out), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([nvim, "--headless", "-u", str(tmp_path / "init.lua"), str(film),
                    "-c", f"luafile {tmp_path / 'check.lua'}"], cwd=tmp_path, env=env,
                   timeout=120, capture_output=True)
    lines = out.read_text().splitlines()
    assert "diagnostic E0104 9:9" in lines, lines
    assert "action Change to wide" in lines, lines
    assert "shot wide MARA {" in film.read_text()
    assert check_file(film).ok
