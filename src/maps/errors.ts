// Map operations fail with Linux errno values: user space sees them as a MapError, programs as
// the negative number a helper returns. One table maps names to numbers so both sides agree.

/** Linux errno numbers (asm-generic/errno-base.h, errno.h; ENOTSUPP is the kernel-internal 524). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
  ENOTSUPP: 524,
} as const;

export type Errno = keyof typeof ERRNO;

/** A bpf(2)-style failure of a map operation. `code` is the positive errno number. */
export class MapError extends Error {
  override readonly name = 'MapError';
  readonly code: number;
  /** Batch operations: how many elements were processed before this error. */
  applied?: number;

  constructor(
    readonly errno: Errno,
    detail: string,
  ) {
    super(`${detail} (${errno})`);
    this.code = ERRNO[errno];
  }
}

/** What a helper returns to the program for this failure. */
export function negative(errno: Errno): number {
  return -ERRNO[errno];
}
