/**
 * The last lines each running run wrote to stderr, kept in memory so an incident can quote them ("the stderr tail")
 * without reading back a log that may be hundreds of megabytes. Bounded per run (lines and characters per line) and
 * in the number of runs kept, so a crash-looping service cannot grow it.
 */
import { StringDecoder } from 'node:string_decoder';
import type { OutputSink } from '../types.ts';

const TAIL_LINES = 20;
const MAX_LINE_CHARS = 500;
/** Tails of ended runs nobody took (a run lost to a shutdown …) are dropped oldest first past this many. */
const MAX_RUNS = 256;

class Tail {
  readonly lines: string[] = [];
  partial = '';
  readonly #decoder = new StringDecoder('utf8'); // a character split across two chunks stays whole

  push(chunk: Buffer): void {
    const parts = (this.partial + this.#decoder.write(chunk)).split('\n');
    this.partial = (parts.pop() ?? '').slice(-MAX_LINE_CHARS);
    for (const line of parts) this.add(line);
  }

  finish(): void {
    if (this.partial !== '') this.add(this.partial);
    this.partial = '';
  }

  private add(line: string): void {
    const text = line.replace(/\r$/, '');
    this.lines.push(text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
  }
}

export class RunTails {
  readonly #tails = new Map<string, Tail>();
  readonly #sinks = new Map<string, OutputSink>();

  /** A sink that passes everything to `inner` and remembers the stderr tail of `runId`. */
  wrap(runId: string, inner: OutputSink): OutputSink {
    const tail = new Tail();
    this.#tails.set(runId, tail);
    this.#sinks.set(runId, inner);
    while (this.#tails.size > MAX_RUNS) this.#tails.delete(this.#tails.keys().next().value as string);
    return {
      write: (stream, chunk) => {
        if (stream === 'err') tail.push(chunk);
        inner.write(stream, chunk);
      },
      end: () => {
        tail.finish();
        this.#sinks.delete(runId);
        inner.end();
      },
      note: (text) => inner.note?.(text),
    };
  }

  /** Writes a note into a running run's log; false when the run's output is not open here. */
  note(runId: string, text: string): boolean {
    const sink = this.#sinks.get(runId);
    sink?.note?.(text);
    return sink !== undefined;
  }

  /** The run's stderr tail, oldest line first; empty when unknown. Kept (bounded by MAX_RUNS) for every reader. */
  tail(runId: string): string[] {
    return [...(this.#tails.get(runId)?.lines ?? [])];
  }
}
