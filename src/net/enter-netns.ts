// Running code inside a named network namespace (one `ip netns add` made, under /run/netns): the
// calling thread enters it with setns(2), runs the function, and returns to its own namespace.
// Sockets opened meanwhile stay in the namespace they were opened in, so a process can open packet
// sockets on interfaces of several namespaces.

import { closeSync, openSync } from 'node:fs';
import { check, libc } from './libc.js';

const CLONE_NEWNET = 0x40000000;

/** Runs `fn` with this thread in network namespace `name` (synchronously: do not await inside). Needs CAP_SYS_ADMIN. */
export function inNetns<T>(name: string, fn: () => T): T {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`not a network namespace name: ${name}`);
  const c = libc();
  const home = openSync('/proc/thread-self/ns/net', 'r');
  try {
    const target = openSync(`/run/netns/${name}`, 'r');
    try {
      check(`setns(${name})`, c.setns(target, CLONE_NEWNET));
    } finally {
      closeSync(target);
    }
    try {
      return fn();
    } finally {
      check('setns(back)', c.setns(home, CLONE_NEWNET));
    }
  } finally {
    closeSync(home);
  }
}
