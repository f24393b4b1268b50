#!/bin/sh
# Build the VS Code extension into editors/vscode/filmlang-VERSION.vsix.
# Needs node and npm; fetches vscode-languageclient and @vscode/vsce from the npm registry.
set -eu
cd "$(dirname "$0")"
# The grammar is generated: make sure the packaged one is current.
if command -v python3 >/dev/null 2>&1 && python3 -c "import filmlang" 2>/dev/null; then
    (cd ../.. && python3 -m filmlang.lsp.textmate --check)
fi
npm install --no-audit --no-fund
npx --no-install vsce package --allow-missing-repository
ls -l ./*.vsix
