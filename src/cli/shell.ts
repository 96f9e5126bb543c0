// The interactive `ebpf>` shell (`ebpf` with no arguments, or `ebpf shell`), as netsh's context
// prompt: each line runs as an `ebpf` command line, with history (kept in the home directory),
// `help`, and completion of verbs, parameters and the ids the service holds.
import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { ServiceClient } from '../service/client.js';
import type { ProgramInfo, MapInfo } from '../service/protocol.js';

const HISTORY_FILE = join(homedir(), '.ebpf_ts_history');
const HISTORY_SIZE = 500;

/** What may follow each word (the rest of a command line is completed from ids). */
const GRAMMAR: Record<string, string[]> = {
  '': ['add', 'delete', 'set', 'show', 'pin', 'unpin', 'map', 'run', 'service', 'help', 'exit', 'quit'],
  add: ['program'],
  delete: ['program'],
  set: ['program'],
  show: ['programs', 'program', 'maps', 'map', 'links', 'pins', 'attachpoints', 'sections', 'disassembly', 'verification'],
  pin: ['program', 'map'],
  unpin: ['program', 'map'],
  map: ['dump', 'lookup', 'update', 'delete'],
  service: ['start', 'stop', 'status'],
};
const PARAMETERS: Record<string, string[]> = {
  'add program': ['section=', 'type=', 'pinpath=', 'interface=', 'pinned=', 'execution='],
  'set program': ['attached=yes', 'attached=no', 'pinpath=', 'interface='],
  'show programs': ['type=', 'attached=', 'pinned=', 'level=verbose', 'id='],
};

/** Splits a line into words; "double" and 'single' quotes keep spaces. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

async function ids(kind: 'program' | 'map'): Promise<string[]> {
  try {
    const c = await ServiceClient.connect({ role: 'reader', timeoutMs: 1000 });
    try {
      if (kind === 'program') return ((await c.request('program.list', {})) as { programs: ProgramInfo[] }).programs.map((p) => String(p.id));
      return ((await c.request('map.list', {})) as { maps: MapInfo[] }).maps.map((m) => String(m.id));
    } finally {
      c.close();
    }
  } catch {
    return [];
  }
}

async function complete(line: string): Promise<[string[], string]> {
  const words = splitWords(line);
  const partial = /\s$/.test(line) || line === '' ? '' : (words.pop() ?? '');
  const key = words.join(' ');
  let options = GRAMMAR[words.length === 0 ? '' : key] ?? PARAMETERS[key] ?? [];
  if (/^(delete|set) program$|^show program$|^run$/.test(key) || /^(pin|unpin) program$/.test(key)) options = await ids('program');
  else if (/^map (dump|lookup|update|delete)$|^show map$|^(pin|unpin) map$/.test(key)) options = await ids('map');
  return [options.filter((o) => o.startsWith(partial)), partial];
}

const HELP = `Commands (as the ebpf command line, without "ebpf"):
  add program FILE [SECTION] [type=T] [pinpath=P] [interface=I] [pinned=none|first|all] [execution=jit|interpret]
  delete program ID          set program ID [attached=yes|no] [pinpath=P|none] [interface=I]
  show programs [...]        show program ID    show maps    show map ID    show links    show pins    show attachpoints
  pin program|map ID PATH    unpin program|map ID [PATH]
  map dump|lookup|update|delete ID|PATH [KEY [VALUE]]      run ID [--data-hex HEX]
  show sections|disassembly|verification FILE [SECTION]     service start|stop|status
  help, exit (or Ctrl-D). Tab completes verbs and ids; --json on any command.
`;

function loadHistory(): string[] {
  try {
    return readFileSync(HISTORY_FILE, 'utf8').split('\n').filter((l) => l !== '').slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

/** Runs the shell until exit or end of input; `run` executes one command line. */
export async function runShell(run: (argv: readonly string[]) => Promise<number>): Promise<number> {
  const interactive = process.stdin.isTTY === true;
  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: interactive,
    history: interactive ? loadHistory() : [],
    historySize: HISTORY_SIZE,
    completer: (line: string, callback: (e: null, r: [string[], string]) => void) => void complete(line).then((r) => callback(null, r)),
  });
  let last = 0;
  const prompt = (): void => {
    if (interactive) rl.prompt();
  };
  rl.setPrompt('ebpf> ');
  if (interactive) process.stdout.write('ebpf-ts shell: "help" lists the commands, "exit" leaves.\n');
  prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      prompt();
      continue;
    }
    if (interactive) {
      try {
        appendFileSync(HISTORY_FILE, `${line}\n`, { mode: 0o600 });
      } catch {
        // No writable home: history lasts for this session only.
      }
    }
    if (line === 'exit' || line === 'quit' || line === 'bye') break;
    if (line === 'help' || line === '?') process.stdout.write(HELP);
    else {
      const words = splitWords(line);
      last = words[0] === 'shell' ? 2 : await run(words[0] === 'ebpf' ? words.slice(1) : words);
      if (words[0] === 'shell') process.stderr.write('ebpf: already in the shell\n');
    }
    prompt();
  }
  rl.close();
  return last;
}
