// One end of a protocol connection over a stream socket: sends requests and waits for their
// replies, answers the peer's requests through a handler, one at a time and in order (so a
// client's map updates apply in the order it sent them). Garbage from the peer gets an error
// reply and never reaches the handler; a frame too large to skip ends the connection.
import type { Socket } from 'node:net';
import { encodeFrame, FrameDecoder, parseEnvelope, ServiceError, type Envelope, type ErrorCode } from './protocol.js';

export type RequestHandler = (op: string, args: unknown, connection: Connection) => Promise<unknown>;

interface Waiting {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

/** Most requests a peer may have queued on us at once; more is a peer that does not wait. */
const MAX_QUEUED = 1024;

export class Connection {
  private readonly decoder = new FrameDecoder();
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private ended = false;
  private readonly closeListeners: (() => void)[] = [];
  /** What the handler knows of this peer (its role after hello, the host it is ...). */
  state: Record<string, unknown> = {};

  constructor(
    readonly socket: Socket,
    private readonly handler: RequestHandler | undefined,
    private readonly onProblem: (what: string) => void = () => {},
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.end());
    socket.on('close', () => this.end());
  }

  get closed(): boolean {
    return this.ended;
  }

  onClose(listener: () => void): void {
    if (this.ended) listener();
    else this.closeListeners.push(listener);
  }

  /** Sends a request; resolves with the result, rejects with the ServiceError of an error reply. */
  request(op: string, args: unknown, timeoutMs = 0): Promise<unknown> {
    if (this.ended) return Promise.reject(new ServiceError('host', 'the connection is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const w: Waiting = { resolve, reject };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => {
          this.waiting.delete(id);
          reject(new ServiceError('host', `no reply to ${op} after ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      this.waiting.set(id, w);
      this.send({ kind: 'request', id, op, args });
    });
  }

  /** Ends the connection; what was already written still goes out before the socket closes. */
  close(): void {
    this.socket.end();
    this.end(false);
  }

  private send(message: Envelope): void {
    if (this.ended || this.socket.destroyed) return;
    let frame: Buffer;
    try {
      frame = encodeFrame(message);
    } catch (e) {
      if (!(e instanceof ServiceError) || message.kind !== 'reply') throw e;
      frame = encodeFrame({ kind: 'reply', id: message.id, ok: false, error: { code: 'invalid', message: `the reply is too large to send: ${e.message}` } });
    }
    this.socket.write(frame);
  }

  private replyError(id: number, code: ErrorCode, message: string): void {
    this.send({ kind: 'reply', id, ok: false, error: { code, message } });
  }

  private receive(chunk: Buffer): void {
    const { frames, error } = this.decoder.push(chunk);
    for (const frame of frames) this.frame(frame);
    if (error !== undefined) {
      this.onProblem(error);
      this.replyError(0, 'bad-frame', error);
      // The stream is out of step: nothing after this length can be framed. Close once the reply is out.
      this.socket.end();
    }
  }

  private frame(frame: Buffer): void {
    let json: unknown;
    try {
      json = JSON.parse(frame.toString('utf8'));
    } catch {
      this.onProblem('a frame that is not JSON');
      this.replyError(0, 'bad-frame', 'the frame is not a JSON message');
      return;
    }
    const parsed = parseEnvelope(json);
    if (!parsed.ok) {
      // Answered under the message's own id when it has a usable one, else 0.
      const given = typeof json === 'object' && json !== null ? (json as { id?: unknown }).id : undefined;
      const replyTo = typeof given === 'number' && Number.isInteger(given) && given > 0 && given <= 2 ** 31 ? given : 0;
      this.onProblem(`a malformed message: ${parsed.problem}`);
      // A malformed reply is not answered (that would bounce between two confused ends), only counted.
      if ((json as { kind?: unknown } | null)?.kind !== 'reply') this.replyError(replyTo, 'bad-message', `malformed message: ${parsed.problem}`);
      return;
    }
    const message = parsed.message;
    if (message.kind === 'reply') {
      const w = this.waiting.get(message.id);
      if (w === undefined) {
        this.onProblem(`a reply to request ${message.id}, which is not waiting`);
        return;
      }
      this.waiting.delete(message.id);
      if (w.timer !== undefined) clearTimeout(w.timer);
      if (message.ok) w.resolve(message.result);
      else w.reject(new ServiceError(message.error.code, message.error.message));
      return;
    }
    if (this.handler === undefined) {
      this.replyError(message.id, 'unknown-op', `this end answers no requests (${message.op})`);
      return;
    }
    if (this.queued >= MAX_QUEUED) {
      this.replyError(message.id, 'invalid', `more than ${MAX_QUEUED} requests are waiting; wait for replies`);
      return;
    }
    this.queued++;
    const handler = this.handler;
    this.queue = this.queue.then(async () => {
      try {
        const result = await handler(message.op, message.args, this);
        this.send({ kind: 'reply', id: message.id, ok: true, result: result ?? null });
      } catch (e) {
        if (e instanceof ServiceError) this.replyError(message.id, e.code, e.message);
        else {
          this.onProblem(`internal error in ${message.op}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
          this.replyError(message.id, 'internal', `internal error in ${message.op}: ${e instanceof Error ? e.message : String(e)}`);
        }
      } finally {
        this.queued--;
      }
    });
  }

  private end(destroy = true): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiting.values()) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.reject(new ServiceError('host', 'the connection closed before the reply'));
    }
    this.waiting.clear();
    if (destroy && !this.socket.destroyed) this.socket.destroy();
    // A peer that never closes its side is not waited for.
    else if (!this.socket.destroyed) setTimeout(() => this.socket.destroy(), 1000).unref();
    for (const l of this.closeListeners) l();
  }
}
