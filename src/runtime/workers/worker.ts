// Entry point of a WorkerPool thread: loads the extensions EBPF_TS_EXTENSIONS names, builds a
// WorkerRuntime from workerData, then answers run requests until the pool terminates it. Errors
// go back as messages (the run fails, the worker stays usable).
import { parentPort, workerData } from 'node:worker_threads';
import type { RunRequest, WorkerInit, WorkerReply } from './protocol.js';
import { WorkerRuntime } from './worker-runtime.js';
import { loadExtensionsFromEnvironment } from '../../extension/environment.js';

function failure(e: unknown): WorkerReply {
  return { kind: 'error', name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) };
}

if (parentPort !== null) {
  const port = parentPort;
  let runtime: WorkerRuntime | undefined;
  try {
    // The program types extensions add (EBPF_TS_EXTENSIONS): a registration lives in one thread.
    await loadExtensionsFromEnvironment();
    runtime = new WorkerRuntime(workerData as WorkerInit);
    port.postMessage({ kind: 'ready' } satisfies WorkerReply);
  } catch (e) {
    port.postMessage(failure(e));
  }
  port.on('message', (request: RunRequest) => {
    if (runtime === undefined) return;
    let reply: WorkerReply;
    try {
      reply = runtime.run(request);
    } catch (e) {
      reply = failure(e);
    }
    port.postMessage(reply);
  });
}
