// The ends (readers, writers) of channels this process has open. Those
// still open when the process exits are closed then, so that their peers
// learn "closed" (end-of-stream, or ECLOSED for a writer) rather than, a
// moment later, that a process died. An open end holds a place in shared
// memory: it is kept here until closed, never collected unclosed. A writer
// closed here does not wait for readers (see Writer._closeAtExit).
const open = new Set<Disposable>();
let closeAtExit = false;

export function track(end: Disposable): void {
  open.add(end);
  if (closeAtExit) return;
  closeAtExit = true;
  process.on("exit", () => {
    for (const end of open) {
      const atExit = (end as { _closeAtExit?: () => void })._closeAtExit;
      if (atExit) atExit.call(end);
      else end[Symbol.dispose]();
    }
  });
}

export function untrack(end: Disposable): void {
  open.delete(end);
}
