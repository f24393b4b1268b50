// The filmlang extension: starts `filmc lsp` and connects VS Code to it over stdio.
// Plain JavaScript (no build step). The filmc program is the `filmlang.filmcPath` setting.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function filmcPath() {
  const configured = vscode.workspace.getConfiguration("filmlang").get("filmcPath") || "filmc";
  const folders = vscode.workspace.workspaceFolders;
  // A relative path such as .venv/bin/filmc is taken from the first workspace folder.
  if (folders && folders.length && configured.includes("/") && !configured.startsWith("/")) {
    return vscode.Uri.joinPath(folders[0].uri, configured).fsPath;
  }
  return configured;
}

async function start(context) {
  const command = filmcPath();
  const serverOptions = {
    run: { command, args: ["lsp"], transport: TransportKind.stdio },
    debug: { command, args: ["lsp"], transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "film" }, { scheme: "untitled", language: "film" }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.film") },
    outputChannelName: "filmlang",
  };
  client = new LanguageClient("filmlang", "filmlang", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `filmlang: could not start '${command} lsp' (${err.message || err}). ` +
      "Install filmlang (pip install filmlang) or set filmlang.filmcPath.");
  }
}

async function activate(context) {
  context.subscriptions.push(vscode.commands.registerCommand("filmlang.restartServer", async () => {
    if (client) {
      await client.stop();
    }
    await start(context);
  }));
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration(async (event) => {
    if (event.affectsConfiguration("filmlang.filmcPath")) {
      await vscode.commands.executeCommand("filmlang.restartServer");
    }
  }));
  await start(context);
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
