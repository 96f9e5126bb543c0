// The service's log: one JSON object per line (time, level, event, fields), to a file in the
// state directory and, in the foreground, to stderr. Levels: debug < info < warn < error.
import { appendFileSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export class Log {
  constructor(
    private readonly file: string | undefined,
    private readonly echo: boolean,
    private readonly threshold: Level = 'info',
  ) {}

  write(level: Level, event: string, fields: Record<string, unknown> = {}): void {
    if (RANK[level] < RANK[this.threshold]) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }) + '\n';
    if (this.file !== undefined) {
      try {
        appendFileSync(this.file, line);
      } catch {
        // A full disk must not take the service down; stderr still has it in the foreground.
      }
    }
    if (this.echo) process.stderr.write(line);
  }

  debug(event: string, fields?: Record<string, unknown>): void {
    this.write('debug', event, fields);
  }
  info(event: string, fields?: Record<string, unknown>): void {
    this.write('info', event, fields);
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.write('warn', event, fields);
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.write('error', event, fields);
  }
}
