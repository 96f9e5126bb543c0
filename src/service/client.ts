// The client library of the service protocol: connect to the endpoint, say hello with a role, send
// requests and get their results (or a ServiceError with the service's code and message). The CLI,
// hook hosts, tests and benchmarks all speak to the service through this one module.
import { connect, type Socket } from 'node:net';
import { Connection, type RequestHandler } from './connection.js';
import { readToken } from './credential.js';
import { endpointProblem, locations } from './endpoint.js';
import { PROTOCOL_VERSION, ServiceError, type ClientArgs, type ClientOp } from './protocol.js';

export interface ClientOptions {
  /** Default: EBPF_TS_ENDPOINT, else the platform default. */
  readonly endpoint?: string;
  /** Where the admin token is read from. Default: EBPF_TS_STATE_DIR, else the platform default. */
  readonly stateDir?: string;
  /** 'auto' (default): admin when the token can be read, else reader. */
  readonly role?: 'reader' | 'admin' | 'auto';
  /** The admin token itself (instead of reading it from the state directory). */
  readonly token?: string;
  /** A name for the service's log and for hosts ("ebpf", "dns-server"). */
  readonly client?: string;
  /** Answers requests the service sends (hook hosts). */
  readonly handler?: RequestHandler;
  /** How long to wait for any one reply; 0 waits for ever. Default 0. */
  readonly timeoutMs?: number;
}

/** No service answers at the endpoint: the message says how to start one. */
export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
  constructor(readonly endpoint: string, why: string) {
    super(`no ebpf-ts service is running at ${endpoint} (${why}); start one with 'ebpf service start' (or point EBPF_TS_ENDPOINT at it)`);
  }
}

function open(endpoint: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(endpoint);
    const fail = (e: NodeJS.ErrnoException): void => reject(new ServiceUnavailableError(endpoint, e.code ?? e.message));
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

export class ServiceClient {
  private constructor(
    readonly connection: Connection,
    readonly endpoint: string,
    readonly role: 'reader' | 'admin',
    /** The service's process id (from its hello). */
    readonly servicePid: number,
    private readonly timeoutMs: number,
  ) {}

  static async connect(options: ClientOptions = {}): Promise<ServiceClient> {
    const where = locations({ endpoint: options.endpoint, stateDir: options.stateDir });
    const wanted = options.role ?? 'auto';
    const token = options.token ?? (wanted === 'reader' ? undefined : readToken(where.stateDir));
    if (wanted === 'admin' && token === undefined) {
      // No service at all is the first thing to say (open throws ServiceUnavailableError).
      (await open(where.endpoint)).destroy();
      throw new ServiceError('permission', `the admin role needs the token in ${where.stateDir}/admin.token, which this user cannot read`);
    }
    // The token goes only to an endpoint no other user can have put there.
    const problem = token === undefined ? undefined : endpointProblem(where.endpoint);
    if (problem !== undefined && wanted === 'admin') throw new ServiceError('permission', `will not send the admin token to ${where.endpoint}: ${problem}`);
    const role = token !== undefined && problem === undefined ? 'admin' : 'reader';
    try {
      return await ServiceClient.hello(where.endpoint, role, role === 'admin' ? token : undefined, options);
    } catch (e) {
      // 'auto' found a token that is not this service's (another state directory's): read only.
      if (wanted === 'auto' && role === 'admin' && e instanceof ServiceError && e.code === 'bad-token') return ServiceClient.hello(where.endpoint, 'reader', undefined, options);
      throw e;
    }
  }

  private static async hello(endpoint: string, role: 'reader' | 'admin', token: string | undefined, options: ClientOptions): Promise<ServiceClient> {
    const socket = await open(endpoint);
    const connection = new Connection(socket, options.handler);
    const timeoutMs = options.timeoutMs ?? 0;
    try {
      const hello = (await connection.request('hello', { version: PROTOCOL_VERSION, role, ...(token === undefined ? {} : { token }), ...(options.client === undefined ? {} : { client: options.client }) }, timeoutMs)) as { pid: number };
      return new ServiceClient(connection, endpoint, role, hello.pid, timeoutMs);
    } catch (e) {
      connection.close();
      throw e;
    }
  }

  /** Sends one request; resolves with its result or rejects with the service's ServiceError. */
  request<O extends ClientOp>(op: O, args: ClientArgs<O>): Promise<unknown> {
    return this.connection.request(op, args, this.timeoutMs);
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  close(): void {
    this.connection.close();
  }
}
