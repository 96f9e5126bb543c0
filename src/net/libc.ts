// The few C library calls packet I/O needs, bound through koffi (a prebuilt FFI library shipped in
// its npm package; no native code of ours). Nothing is loaded at import time: importing src/net on
// Windows, macOS or where koffi cannot load is harmless, and the first use fails with a NetUnavailableError
// that says why.

import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

/** Raw packet I/O is not available here (not Linux, or koffi or libc could not be loaded). */
export class NetUnavailableError extends Error {
  override readonly name = 'NetUnavailableError';
}

/** A system call failed: `syscall` names it, `errno` is the C library's error number. */
export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  constructor(
    readonly syscall: string,
    readonly errno: number,
    detail: string,
  ) {
    super(`${syscall} failed: ${detail} (errno ${errno})`);
  }
}

/** An opaque pointer as koffi returns it (an external value), or null. */
export type Pointer = unknown;

type Buf = Uint8Array | Uint32Array | null;

export interface Libc {
  readonly koffi: typeof Koffi;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buf, addrlen: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buf, length: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buf, length: Uint32Array): number;
  sendto(fd: number, buf: Buf, length: number, flags: number, addr: Buf, addrlen: number): number;
  recvfrom(fd: number, buf: Buf, length: number, flags: number, addr: Buf, addrlen: Uint32Array | null): number;
  poll(fds: Buf, nfds: number, timeoutMs: number): number;
  /** poll(2) on koffi's worker thread; the callback gets poll's return value. */
  pollAsync(fds: Buf, nfds: number, timeoutMs: number, done: (error: unknown, result: number) => void): void;
  close(fd: number): number;
  ifNameToIndex(name: string): number;
  mmap(addr: Pointer, length: number, prot: number, flags: number, fd: number, offset: number): Pointer;
  munmap(addr: Pointer, length: number): number;
  getpagesize(): number;
  setns(fd: number, nstype: number): number;
  errno(): number;
  strerror(errno: number): string;
  /** The memory at `pointer`, `length` bytes, as an ArrayBuffer (no copy). */
  view(pointer: Pointer, length: number): ArrayBuffer;
  /** mmap's MAP_FAILED test. */
  isMapFailed(pointer: Pointer): boolean;
}

let loaded: Libc | undefined;
let failure: Error | undefined;

function bindLibc(): Libc {
  if (process.platform !== 'linux') throw new NetUnavailableError(`raw packet I/O needs Linux (this is ${process.platform})`);
  let koffi: typeof Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
  } catch (error) {
    throw new NetUnavailableError(`raw packet I/O needs the koffi FFI library, which could not be loaded: ${(error as Error).message}`);
  }
  let lib: Koffi.LibraryHandle;
  try {
    lib = koffi.load('libc.so.6');
  } catch (error) {
    throw new NetUnavailableError(`raw packet I/O could not load the C library (libc.so.6): ${(error as Error).message}`);
  }
  const poll = lib.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)');
  const strerror = lib.func('const char *strerror(int errnum)');
  const mapFailed = (1n << 64n) - 1n;
  return {
    koffi,
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    bind: lib.func('int bind(int fd, const void *addr, uint32_t addrlen)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)'),
    getsockopt: lib.func('int getsockopt(int fd, int level, int optname, _Inout_ void *optval, _Inout_ uint32_t *optlen)'),
    sendto: lib.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)'),
    recvfrom: lib.func('intptr_t recvfrom(int fd, _Inout_ void *buf, size_t len, int flags, _Inout_ void *addr, _Inout_ uint32_t *addrlen)'),
    poll,
    pollAsync: (fds, nfds, timeoutMs, done) => poll.async(fds, nfds, timeoutMs, done),
    close: lib.func('int close(int fd)'),
    ifNameToIndex: lib.func('unsigned int if_nametoindex(const char *ifname)'),
    mmap: lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
    munmap: lib.func('int munmap(void *addr, size_t length)'),
    getpagesize: lib.func('int getpagesize()'),
    setns: lib.func('int setns(int fd, int nstype)'),
    errno: () => koffi.errno(),
    strerror: (errno) => String(strerror(errno)),
    view: (pointer, length) => koffi.view(pointer, length),
    isMapFailed: (pointer) => pointer === null || koffi.address(pointer) === mapFailed,
  };
}

/** The C library bindings, loaded on first use. Throws NetUnavailableError where they cannot be. */
export function libc(): Libc {
  if (loaded !== undefined) return loaded;
  if (failure !== undefined) throw failure;
  try {
    loaded = bindLibc();
    return loaded;
  } catch (error) {
    failure = error instanceof NetUnavailableError ? error : new NetUnavailableError(`raw packet I/O is unavailable: ${(error as Error).message}`);
    throw failure;
  }
}

/** Whether raw packet I/O can be used in this process (it says nothing of privileges). */
export function netAvailable(): boolean {
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}

/** Throws a SyscallError for `syscall` with the current errno when `result` is negative; returns it otherwise. */
export function check(syscall: string, result: number): number {
  if (result >= 0) return result;
  const c = libc();
  const errno = c.errno();
  throw new SyscallError(syscall, errno, c.strerror(errno));
}
