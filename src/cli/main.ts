#!/usr/bin/env node
// The `ebpf` command. Every command returns an exit status; errors are printed as one clear line.

import { loadExtensionsFromEnvironment } from '../extension/environment.js';
import { datapathCommand } from './commands/datapath.js';
import { ExtensionError } from '../extension/registry.js';
import { Command, CommanderError } from 'commander';
import { AssemblyError, DecodeError } from '../isa/index.js';
import { ElfError, ObjectError } from '../elf/index.js';
import { LoadError } from '../runtime/index.js';
import { MapError } from '../maps/index.js';
import { ProgramTypeError } from '../program-types/index.js';
import { ProgramLoadError, BpfRuntimeError } from '../vm/index.js';
import { UsageError } from './errors.js';
import { exitQuietlyOnClosedStdout } from './stdout.js';
import { conformanceCommand } from './commands/conformance.js';
import { disassemblyCommand } from './commands/disassembly.js';
import { assembleCommand } from './commands/assemble.js';
import { tourCommand } from './commands/tour.js';
import { demoCommand } from './commands/demo.js';
import { benchCommand } from './commands/bench.js';
import { sectionsCommand } from './commands/sections.js';
import { verificationCommand } from './commands/verification.js';
import { mapDumpCommand, runCommand } from './commands/run.js';
import {
  addProgramCommand, deleteProgramCommand, mapReference, pinCommand, serviceMapDeleteCommand, serviceMapDumpCommand, serviceMapLookupCommand,
  serviceMapUpdateCommand, serviceRunCommand, setProgramCommand, showAttachPointsCommand, showLinksCommand, showMapsCommand, showPinsCommand,
  showProgramsCommand, unpinCommand,
} from './commands/platform.js';
import { serviceStartCommand, serviceStatusCommand, serviceStopCommand } from './commands/service.js';
import { netnsDownCommand, netnsStatusCommand, netnsUpCommand } from './commands/netns.js';
import { runShell } from './shell.js';
import { ServiceError } from '../service/protocol.js';
import { ServiceUnavailableError } from '../service/client.js';
import { existsSync } from 'node:fs';

exitQuietlyOnClosedStdout();

const out = (s: string): void => {
  process.stdout.write(s);
};

function build(setStatus: (code: number) => void): Command {
  const program = new Command('ebpf')
    .description('eBPF for every platform Node.js runs on')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride();

  program
    .command('conformance')
    .description('run a folder of bpf_conformance .data tests in-process')
    .argument('<dir>', 'folder of .data files')
    .option('--engine <engine>', 'execution engine: interpreter or jit', 'interpreter')
    .option('--cpu <version>', 'skip tests needing a newer ISA version: v1, v2, v3 or v4', 'v4')
    .option('--groups <list>', 'comma-separated instruction groups to allow (default: all)')
    .option('--json', 'machine-readable results')
    .option('-v, --verbose', 'list passing and skipped tests too')
    .action((dir: string, opts) => setStatus(conformanceCommand(dir, opts, out)));

  program
    .command('assemble')
    .description('assemble conformance-dialect assembly into an ELF object or raw bytes')
    .argument('<file>', 'assembly source (.s)')
    .option('-o, --output <file>', 'output file (default: FILE.o, or FILE.bin with --format raw)')
    .option('--format <format>', 'elf or raw', 'elf')
    .option('--section <name>', 'code section name in the ELF object', '.text')
    .option('--json', 'machine-readable output')
    .action((file: string, opts) => setStatus(assembleCommand(file, opts, out)));

  const show = program.command('show').description('inspect programs and objects');
  show
    .command('disassembly')
    .description('disassemble a program (ELF object section or function, .s file, or raw bytes)')
    .argument('<file>', 'object, assembly or raw file')
    .argument('[section]', 'ELF section or function name (default: the first code section)')
    .option('--syntax <syntax>', 'llvm or conformance', 'llvm')
    .option('--bytes', 'show the raw bytes of each instruction')
    .option('--json', 'machine-readable output')
    .action((file: string, section: string | undefined, opts) => setStatus(disassemblyCommand(file, section, opts, out)));

  show
    .command('sections')
    .description('list the programs and maps of an object (netsh: show sections)')
    .argument('<file>', 'eBPF object (.o)')
    .argument('[section]', 'only this section or program')
    .option('--abi <abi>', 'linux or efw (default: detected)')
    .option('--json', 'machine-readable output')
    .action((file: string, section: string | undefined, opts) => setStatus(sectionsCommand(file, section, opts, out)));

  // One-shot runs load the whole object, as libbpf does; --only narrows the load.
  const ONLY_HELP =
    'load only the program asked for: by default every program of the object is loaded (so prog-array slots naming them and tail calls work) and one refused by the verifier fails the command';
  const runOptions = (c: Command): Command =>
    c
      .option('--data <file>', 'input data (the packet for XDP and skb programs)')
      .option('--data-hex <hex>', 'input data as hex bytes')
      .option('--ctx <file>', 'input context struct')
      .option('--repeat <n>', 'run this many times; report the mean time', '1')
      .option('--out <file>', 'write the data as the program left it')
      .option('--ctx-out <file>', 'write the context as the program left it')
      .option('--type <type>', 'program type (default: from the section name)')
      .option('--abi <abi>', 'linux or efw (default: detected)')
      .option('--cpu <n>', 'CPU the run is on', '0')
      .option('--cpus <n>', 'CPUs per-CPU maps have', '1')
      .option('--engine <engine>', 'jit (WebAssembly) or interpreter', 'jit')
      .option('--allow-pointer-leaks', 'verify as Linux does for privileged loaders (addresses may become numbers)')
      .option('--set <MAP:KEY=VALUE...>', 'seed a map entry before the run (integers, or hex:BYTES)')
      .option('--json', 'machine-readable output')
      .option('--only', ONLY_HELP);

  show
    .command('verification')
    .description('verify programs and explain any refusal (C line, failed condition, register state)')
    .argument('<file>', 'eBPF object (.o)')
    .argument('[section]', 'section or program (default: all)')
    .option('--type <type>', 'program type (default: from the section name)')
    .option('--abi <abi>', 'linux or efw (default: detected)')
    .option('--verbose', 'print the invariant before each instruction')
    .option('--allow-pointer-leaks', 'let addresses become numbers, as Linux does for privileged loaders')
    .option('--json', 'machine-readable output')
    .action((file: string, section: string | undefined, opts) => setStatus(verificationCommand(file, section, opts, out)));

  runOptions(
    program
      .command('run')
      .description('test-run a program without a kernel (like bpftool prog run): from an object file, or a program of the service by id')
      .argument('<file>', 'eBPF object (.o)')
      .argument('[program]', 'program or section name (default: the only one)')
      .option('--dump [maps...]', 'show maps after the run (default: all)')
      .option('--endpoint <path>', 'with a program id: the service endpoint')
      .option('--state-dir <dir>', 'with a program id: the service state directory'),
  ).action(async (file: string, name: string | undefined, opts) =>
    setStatus(/^\d+$/.test(file) && !existsSync(file) ? await serviceRunCommand(file, opts, out) : runCommand(file, name, opts, out)),
  );

  const map = program.command('map').description('inspect maps');
  runOptions(
    map
      .command('dump')
      .description("show a service map's contents (ID or pin path), or an object's maps as loaded (after a test run when --data is given)")
      .argument('<file>', 'map id or pin path in the service, or an eBPF object (.o)')
      .argument('[maps...]', 'maps to show (default: all)')
      .option('--program <name>', 'program to run before dumping'),
  )
    .option('--endpoint <path>', 'with a map id or pin path: the service endpoint')
    .option('--state-dir <dir>', 'with a map id or pin path: the service state directory')
    .action(async (file: string, maps: string[], opts) => {
      // A map of the service (an id, or a pin path that is no file here), else an object file.
      const ofService = typeof mapReference(file) === 'number' || !existsSync(file);
      setStatus(ofService && maps.length === 0 ? await serviceMapDumpCommand(file, opts, out) : mapDumpCommand(file, maps, opts, out));
    });

  program
    .command('bench')
    .description('time a program on the interpreter and the JIT (ns per run)')
    .argument('<file>', 'eBPF object (.o)')
    .argument('[program]', 'program or section name (default: the only one)')
    .option('--data <file>', 'input data (the packet for XDP and skb programs)')
    .option('--ctx <file>', 'input context struct')
    .option('--type <type>', 'program type (default: from the section name)')
    .option('--abi <abi>', 'linux or efw (default: detected)')
    .option('--runs <n>', 'measured runs per engine', '100000')
    .option('--json', 'machine-readable output')
    .option('--only', ONLY_HELP)
    .action((file: string, name: string | undefined, opts) => setStatus(benchCommand(file, name, opts, out)));

  program
    .command('demo')
    .description('the DNS flood demo through the platform: a private service, the DNS server as a hook host, droppacket added and deleted with the ebpf CLI')
    .option('--phase-seconds <n>', 'seconds per phase (unprotected, protected, unprotected again)', '5')
    .option('--rate <pps>', 'flood rate, datagrams per second', '200000')
    .option('--flooders <n>', 'flooding processes', '1')
    .option('--query-rate <qps>', 'DNS queries per second from the client', '200')
    .option('--port <port>', 'DNS server port (0: any free port)', '0')
    .option('--engine <engine>', 'how droppacket runs: jit (WebAssembly) or interpreter', 'jit')
    .option('--json', 'no live view; print the summary as JSON')
    .option('--standalone', 'everything in this process, without the service (the library API alone)')
    .action(async (opts) => setStatus(await demoCommand(opts, out)));

  program
    .command('tour')
    .description('assemble, disassemble and run a sample program, then run the conformance suite')
    .option('--json', 'machine-readable results')
    .action((opts) => setStatus(tourCommand(opts, out)));

  // ---- the platform: verbs that talk to the service (netsh `ebpf` context) ----
  const platform = (c: Command): Command =>
    c
      .option('--endpoint <path>', 'the service endpoint (default: EBPF_TS_ENDPOINT, else the platform default)')
      .option('--state-dir <dir>', 'the service state directory, where the admin token is (default: EBPF_TS_STATE_DIR, else the platform default)')
      .option('--json', 'machine-readable output (also -j, anywhere on the line)');

  const service = program.command('service').description('run and control ebpfsvc, the service that keeps programs loaded');
  platform(service.command('start').description('start the service (detached unless --foreground)'))
    .option('--foreground', 'run in this process, logging to stderr, until Ctrl-C')
    .action(async (opts) => setStatus(await serviceStartCommand(opts, out)));
  platform(service.command('stop').description('stop the service (pins are saved and restored at the next start)')).action(async (opts) => setStatus(await serviceStopCommand(opts, out)));
  platform(service.command('status').description('is the service running, and what does it hold')).action(async (opts) => setStatus(await serviceStatusCommand(opts, out)));

  const add = program.command('add').description('load into the service');
  platform(
    add
      .command('program')
      .description('verify, load, pin and attach a program (with no interface, host or pid: to every hook host, present and future): [filename=]FILE [[section=]S] [[type=]T] [[pinpath=]P] [[interface=]I|*] [[pinned=]none|first|all] [[execution=]jit|interpret] [host=NAME] [pid=N]')
      .argument('<args...>', 'netsh-style parameters, by position or as name=value'),
  ).action(async (args: string[], opts) => setStatus(await addProgramCommand(args, opts, out)));
  const del = program.command('delete').description('unload from the service');
  platform(del.command('program').description('unpin, detach and unload a program: [id=]N').argument('<args...>', 'the id')).action(async (args: string[], opts) => setStatus(await deleteProgramCommand(args, opts, out)));
  const set = program.command('set').description('change something in the service');
  platform(
    set
      .command('program')
      .description('attach, detach, pin or unpin a program: [id=]N [[attached=]yes|no] [[pinpath=]PATH|none] [[interface=]NAME|*] [host=NAME] [pid=N]')
      .argument('<args...>', 'netsh-style parameters'),
  ).action(async (args: string[], opts) => setStatus(await setProgramCommand(args, opts, out)));

  platform(
    show
      .command('programs')
      .description('programs loaded in the service: [[type=]T] [[attached=]any|yes|no] [[pinned=]any|yes|no] [[level=]normal|verbose] [[id=]N]')
      .argument('[args...]', 'netsh-style filters'),
  ).action(async (args: string[], opts) => setStatus(await showProgramsCommand(args, opts, out)));
  platform(show.command('program').description('one program in detail').argument('<id>', 'program id')).action(async (id: string, opts) => setStatus(await showProgramsCommand([`id=${id}`], opts, out)));
  platform(show.command('maps').description('maps in the service')).action(async (opts) => setStatus(await showMapsCommand(opts, out)));
  platform(show.command('map').description("a map's contents (as map dump)").argument('<map>', 'map id or pin path')).action(async (ref: string, opts) => setStatus(await serviceMapDumpCommand(ref, opts, out)));
  platform(show.command('links').description('attachments of programs to hook points')).action(async (opts) => setStatus(await showLinksCommand(opts, out)));
  platform(show.command('pins').description('pinned programs and maps')).action(async (opts) => setStatus(await showPinsCommand(opts, out)));
  platform(show.command('attachpoints').description('attach points the hook hosts offer')).action(async (opts) => setStatus(await showAttachPointsCommand(opts, out)));

  platform(program.command('pin').description('pin a program or map: program|map ID PATH').argument('<kind>', 'program or map').argument('<id>', 'its id').argument('<path>', 'pin path'))
    .action(async (kind: string, id: string, path: string, opts) => setStatus(await pinCommand(kind, id, path, opts, out)));
  platform(program.command('unpin').description('unpin a program or map: program|map ID [PATH]').argument('<kind>', 'program or map').argument('<id>', 'its id').argument('[path]', 'one pin path (default: all)'))
    .action(async (kind: string, id: string, path: string | undefined, opts) => setStatus(await unpinCommand(kind, id, path, opts, out)));

  platform(map.command('lookup').description('look a key up in a map of the service').argument('<map>', 'map id or pin path').argument('<key>', 'integer, or hex:BYTES'))
    .action(async (ref: string, key: string, opts) => setStatus(await serviceMapLookupCommand(ref, key, opts, out)));
  platform(map.command('update').description('write a key and value into a map of the service').argument('<map>', 'map id or pin path').argument('<key>', 'integer, or hex:BYTES').argument('<value>', 'integer, or hex:BYTES'))
    .option('--flags <flags>', 'any, noexist or exist', 'any')
    .action(async (ref: string, key: string, value: string, opts) => setStatus(await serviceMapUpdateCommand(ref, key, value, opts, out)));
  platform(map.command('delete').description('delete a key from a map of the service').argument('<map>', 'map id or pin path').argument('<key>', 'integer, or hex:BYTES'))
    .action(async (ref: string, key: string, opts) => setStatus(await serviceMapDeleteCommand(ref, key, opts, out)));

  platform(program.command('datapath').description('bridge two interfaces through the L2 datapath and offer them to the service as xdp attach points (Linux, root)')
    .argument('<a>', 'an interface (e.g. ebts-cli0)').argument('<b>', 'the interface it is bridged with (e.g. ebts-srv0)'))
    .option('--stats', 'print each interface\'s counters every second (JSON lines)')
    .action(async (a: string, b: string, opts) => setStatus(await datapathCommand(a, b, opts, out)));

  const netns = program.command('netns').description('test hosts for the L2 datapath (Linux, root): namespaces client and server, each joined by a veth pair to the root namespace');
  const netnsOptions = (c: Command): Command =>
    c
      .option('--prefix <prefix>', 'prefix of the namespaces and root-side interfaces', 'ebts-')
      .option('--json', 'machine-readable output');
  netnsOptions(netns.command('up').description('create them (removing leftovers of a crashed run first; kept when already up)'))
    .option('--client <cidr>', 'client address inside its namespace', '10.77.0.1/24')
    .option('--server <cidr>', 'server address inside its namespace', '10.77.0.2/24')
    .option('--ipv6', 'keep IPv6 on the veth ends (default: off, a quiet wire)')
    .action(async (opts) => setStatus(await netnsUpCommand(opts, out)));
  netnsOptions(netns.command('down').description('remove every namespace and interface with the prefix')).action(async (opts) => setStatus(await netnsDownCommand(opts, out)));
  netnsOptions(netns.command('status').description('what exists of them')).action(async (opts) => setStatus(await netnsStatusCommand(opts, out)));

  program.command('shell').description('an interactive ebpf> shell running these commands').action(async () => setStatus(await runShell(main)));

  return program;
}

/**
 * `-j`/`--json` anywhere, bpftool's way (`ebpf -j show programs`) as well as after the command:
 * moved behind the command as --json, which every command takes.
 */
export function jsonAnywhere(argv: readonly string[]): string[] {
  const json = argv.some((a) => a === '-j' || a === '--json');
  const rest = argv.filter((a) => a !== '-j' && a !== '--json');
  return json && rest.length > 0 ? [...rest, '--json'] : [...argv];
}

export async function main(argv: readonly string[]): Promise<number> {
  argv = jsonAnywhere(argv);
  let status = 0;
  const program = build((code) => {
    status = code;
  });
  try {
    await loadExtensionsFromEnvironment();
    await program.parseAsync(argv as string[], { from: 'user' });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ServiceUnavailableError || e instanceof ServiceError) {
      process.stderr.write(`ebpf: ${e.message}\n`);
      return 1;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`ebpf: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ExtensionError) {
      process.stderr.write(`ebpf: ${e.message}\n`);
      return 1;
    }
    if (e instanceof AssemblyError || e instanceof DecodeError || e instanceof ElfError || e instanceof ObjectError || e instanceof ProgramLoadError || e instanceof BpfRuntimeError || e instanceof LoadError || e instanceof MapError || e instanceof ProgramTypeError) {
      process.stderr.write(`ebpf: ${e.name}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`ebpf: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}

const argv = process.argv.slice(2);
process.exitCode = await main(argv.length === 0 ? ['shell'] : argv);
