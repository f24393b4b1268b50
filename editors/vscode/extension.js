// The filmlang extension: starts `filmc lsp` and connects VS Code to it over stdio, and adds
// the commands that build, watch and preview, show the storyboard and explain the last build.
// Plain JavaScript (no build step). The filmc program is the `filmlang.filmcPath` setting.
"use strict";

const vscode = require("vscode");
const childProcess = require("child_process");
const path = require("path");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;
let preview; // the "Watch and preview" panel and its `filmc watch --serve` process
let explainChannel;

// ------------------------------------------------------------------ settings

function setting(name) {
  return vscode.workspace.getConfiguration("filmlang").get(name);
}

function fromWorkspace(configured) {
  const folders = vscode.workspace.workspaceFolders;
  // A relative path such as .venv/bin/filmc is taken from the first workspace folder.
  if (folders && folders.length && configured.includes("/") && !path.isAbsolute(configured)) {
    return vscode.Uri.joinPath(folders[0].uri, configured).fsPath;
  }
  return configured;
}

function filmcPath() {
  return fromWorkspace(setting("filmcPath") || "filmc");
}

// The options every build-like command passes: the cache and the model folder settings.
function buildOptions() {
  const args = [];
  const cache = setting("cache");
  if (cache) args.push("--cache", fromWorkspace(cache));
  const model = setting("modelFolder");
  if (model) args.push("--model", fromWorkspace(model));
  return args;
}

function activeFilm() {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "film" || editor.document.isUntitled) {
    vscode.window.showWarningMessage("filmlang: open a saved .film file first.");
    return undefined;
  }
  return editor.document;
}

// ------------------------------------------------------------------ the language server

async function start() {
  const command = filmcPath();
  const serverOptions = {
    run: { command, args: ["lsp"], transport: TransportKind.stdio },
    debug: { command, args: ["lsp"], transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "film" }, { scheme: "untitled", language: "film" }],
    // Imported files changed on disk (a git pull): the server checks their films again.
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

// ------------------------------------------------------------------ build: a task

const TASK_TYPE = "filmc";

function buildTask(definition, scope) {
  const args = ["build", definition.file, "--progress=plain", "--color=never"];
  if (definition.preview) args.push("--preview");
  args.push(...buildOptions(), ...(definition.args || []));
  const name = `build ${path.basename(definition.file)}${definition.preview ? " (preview)" : ""}`;
  // filmc names files relative to its working folder: the workspace folder, where the
  // problem matcher looks for them (the film's own folder outside a workspace).
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(definition.file));
  const cwd = folder ? folder.uri.fsPath : path.dirname(definition.file);
  const task = new vscode.Task(definition, scope || vscode.TaskScope.Workspace, name, "filmc",
    new vscode.ProcessExecution(filmcPath(), args, { cwd }), ["$filmc"]);
  task.group = vscode.TaskGroup.Build;
  return task;
}

const taskProvider = {
  provideTasks() {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== "film" || editor.document.isUntitled) return [];
    const file = editor.document.uri.fsPath;
    return [buildTask({ type: TASK_TYPE, file }), buildTask({ type: TASK_TYPE, file, preview: true })];
  },
  resolveTask(task) {
    const definition = task.definition;
    if (definition.type !== TASK_TYPE || !definition.file) return undefined;
    return buildTask(definition, task.scope);
  },
};

async function buildFilm() {
  const doc = activeFilm();
  if (!doc) return;
  await doc.save();
  await vscode.tasks.executeTask(buildTask({ type: TASK_TYPE, file: doc.uri.fsPath }));
}

// ------------------------------------------------------------------ watch and preview

function previewHtml(url, nonce) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; frame-src ${url.origin}; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>html, body, iframe { margin: 0; padding: 0; border: 0; width: 100%; height: 100%; overflow: hidden; }</style>
</head><body>
<iframe id="page" src="${url.href}"></iframe>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  const page = document.getElementById("page");
  window.addEventListener("message", (event) => {
    const m = event.data || {};
    if (event.source === page.contentWindow && m.filmlang === "clicked") {
      vscode.postMessage(m);            // a shot clicked on the page: show its line
    } else if (m.filmlang === "reveal") {
      page.contentWindow.postMessage(m, "*");  // the cursor moved: show its shot
    }
  });
</script>
</body></html>`;
}

function stopPreview() {
  if (!preview) return;
  const { proc, panel } = preview;
  preview = undefined;
  if (proc.exitCode === null) proc.kill("SIGTERM");
  panel.dispose();
}

async function watchAndPreview(context) {
  const doc = activeFilm();
  if (!doc) return;
  stopPreview();
  const file = doc.uri.fsPath;
  const args = ["watch", file, "--serve", "--port", String(setting("previewPort") || 0),
                "--color=never", ...buildOptions()];
  const proc = childProcess.spawn(filmcPath(), args, { cwd: path.dirname(file) });
  const output = vscode.window.createOutputChannel("filmlang: watch");
  context.subscriptions.push(output);
  const panel = vscode.window.createWebviewPanel("filmlang.preview", `Preview: ${path.basename(file)}`,
    vscode.ViewColumn.Beside, { enableScripts: true, retainContextWhenHidden: true });
  preview = { proc, panel, file };
  panel.onDidDispose(() => { if (preview && preview.panel === panel) stopPreview(); });
  panel.webview.html = "<p>Starting filmc watch…</p>";
  proc.stderr.on("data", (data) => output.append(data.toString()));
  proc.on("error", (err) => vscode.window.showErrorMessage(
    `filmlang: could not run '${filmcPath()} watch' (${err.message}); set filmlang.filmcPath.`));
  proc.on("exit", (code) => { if (code) output.appendLine(`filmc watch stopped (exit ${code})`); });
  let seen = "";
  proc.stdout.on("data", async (data) => {
    const text = data.toString();
    output.append(text);
    seen += text;
    const found = /preview page: (\S+)/.exec(seen);
    if (!found || preview?.url) return;
    const local = vscode.Uri.parse(found[1]);
    const external = await vscode.env.asExternalUri(local);
    preview.url = new URL(external.toString(true));
    panel.webview.html = previewHtml(preview.url, Math.random().toString(36).slice(2));
  });
  panel.webview.onDidReceiveMessage(async (m) => {
    if (m.filmlang !== "clicked" || !m.path) return;
    const target = await vscode.workspace.openTextDocument(vscode.Uri.file(m.path));
    const line = Math.max(0, (m.line || 1) - 1);
    const editor = await vscode.window.showTextDocument(target, vscode.ViewColumn.One);
    const where = new vscode.Range(line, 0, line, 0);
    editor.selection = new vscode.Selection(where.start, where.start);
    editor.revealRange(where, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  });
}

function followCursor(event) {
  if (!preview || !preview.url || event.textEditor.document.languageId !== "film") return;
  const line = event.selections[0].active.line + 1;
  preview.panel.webview.postMessage({ filmlang: "reveal", path: event.textEditor.document.uri.fsPath, line });
}

// ------------------------------------------------------------------ storyboard, explain

async function showStoryboard() {
  const doc = activeFilm();
  if (!doc) return;
  await doc.save();
  const file = doc.uri.fsPath;
  const out = path.join(path.dirname(file), "build", `${path.parse(file).name}-storyboard.png`);
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification,
                                     title: "filmlang: drawing the storyboard" }, () =>
    new Promise((resolve) => {
      childProcess.execFile(filmcPath(), ["storyboard", file, "-o", out, "--color=never"],
        { cwd: path.dirname(file) }, async (err, stdout, stderr) => {
          if (err) {
            vscode.window.showErrorMessage(`filmlang: no storyboard: ${(stderr || err.message).trim()}`);
          } else {
            await vscode.commands.executeCommand("vscode.open", vscode.Uri.file(out), vscode.ViewColumn.Beside);
          }
          resolve();
        });
    }));
}

async function explainBuild() {
  const doc = activeFilm();
  if (!doc || !client) return;
  // The server's command (it advertises filmlang.explainLastBuild): reads the build log.
  const text = await client.sendRequest("workspace/executeCommand", {
    command: "filmlang.explainLastBuild",
    arguments: [doc.uri.toString(), setting("cache") ? fromWorkspace(setting("cache")) : ""],
  });
  if (!explainChannel) explainChannel = vscode.window.createOutputChannel("filmlang: last build");
  explainChannel.clear();
  explainChannel.appendLine(String(text));
  explainChannel.show(true);
}

// ------------------------------------------------------------------ activation

async function activate(context) {
  const commands = {
    "filmlang.build": buildFilm,
    "filmlang.watchPreview": () => watchAndPreview(context),
    "filmlang.storyboard": showStoryboard,
    "filmlang.explainBuild": explainBuild,
    "filmlang.restartServer": async () => {
      if (client) await client.stop();
      await start();
    },
  };
  for (const [id, handler] of Object.entries(commands)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  }
  context.subscriptions.push(vscode.tasks.registerTaskProvider(TASK_TYPE, taskProvider));
  context.subscriptions.push(vscode.window.onDidChangeTextEditorSelection(followCursor));
  context.subscriptions.push({ dispose: stopPreview });
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration(async (event) => {
    if (event.affectsConfiguration("filmlang.filmcPath")) {
      await vscode.commands.executeCommand("filmlang.restartServer");
    }
  }));
  await start();
}

async function deactivate() {
  stopPreview();
  if (client) await client.stop();
}

module.exports = { activate, deactivate, taskProvider };
