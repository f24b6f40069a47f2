// Imported first by the entrypoint, before any other module runs, so the
// handler exists before the first subprocess starts (a build can signal the
// verifier only once nix runs). Node's own start-up, before any JavaScript,
// cannot be covered from here (Node 20 has no --disable-sigusr1).
//
// Node opens its inspector (127.0.0.1:9229) when the process receives SIGUSR1,
// unless the process has a handler for that signal (node's own source:
// src/inspector_agent.cc, StartDebugSignalHandler; FACTS.md). A process that can
// signal the verifier (a build running as the same uid) could otherwise attach a
// debugger and rewrite the verdict. The handler below does nothing: SIGUSR1 is
// ignored for the whole run. Node has no other signal that starts the inspector.
process.on('SIGUSR1', () => undefined);

export const INSPECTOR_SIGNAL_HANDLED = true;
