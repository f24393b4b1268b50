// Loads editors/vscode/extension.js under node with a stand-in `vscode` module (VS Code
// itself is not here) and prints, as JSON, what its activation registered and the command
// line its build task runs. tests/test_vscode_extension.py runs it.
"use strict";
const Module = require("module");
const path = require("path");

const registered = [];
const taskTypes = [];
const disposable = { dispose() {} };
class Task { constructor(definition, scope, name, source, execution, matchers) {
  Object.assign(this, { definition, scope, name, source, execution, matchers }); } }
class ProcessExecution { constructor(command, args, options) {
  Object.assign(this, { command, args, options }); } }
const settings = JSON.parse(process.argv[3] || "{}");
const vscode = {
  commands: { registerCommand: (id) => { registered.push(id); return disposable; },
              executeCommand: async () => undefined },
  workspace: { getConfiguration: () => ({ get: (name) => settings[name] }), workspaceFolders: [],
               createFileSystemWatcher: () => disposable, onDidChangeConfiguration: () => disposable,
               getWorkspaceFolder: () => ({ uri: { fsPath: "/films" } }) },
  Uri: { file: (fsPath) => ({ fsPath }) },
  window: { onDidChangeTextEditorSelection: () => disposable, activeTextEditor: undefined,
            showErrorMessage() {}, showWarningMessage() {} },
  tasks: { registerTaskProvider: (type) => { taskTypes.push(type); return disposable; } },
  TaskScope: { Workspace: 2 }, TaskGroup: { Build: "build" }, Task, ProcessExecution,
};
class LanguageClient { async start() {} async stop() {} }
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") return { LanguageClient, TransportKind: { stdio: 0 } };
  return load.call(this, request, ...rest);
};
const extension = require(path.resolve(process.argv[2]));
extension.activate({ subscriptions: [] }).then(() => {
  const task = extension.taskProvider.resolveTask(
    { definition: { type: "filmc", file: "/films/bad.film", preview: true } });
  console.log(JSON.stringify({ registered, taskTypes, task: {
    command: task.execution.command, args: task.execution.args, cwd: task.execution.options.cwd,
    matchers: task.matchers } }));
});
