/**
 * Child-process entry of load-isolated.ts: receives the LoadConfigOptions, loads the config, sends back the result
 * and exits. Only plain data crosses: the ResolvedConfig, or the ConfigErrors' fields.
 */
import { ConfigErrors } from './errors.ts';
import { loadConfig, type LoadConfigOptions } from './load.ts';
import type { IsolatedLoadResult } from './load-isolated.ts';

function load(options: LoadConfigOptions): IsolatedLoadResult {
  try {
    return { ok: true, config: loadConfig(options) };
  } catch (error) {
    if (ConfigErrors.is(error)) {
      const configErrors = error.errors.map((e) => ({ file: e.file, line: e.line, column: e.column, path: e.path, problem: e.problem, fix: e.fix }));
      return { ok: false, configErrors };
    }
    return { ok: false, failure: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

// The daemon gone (its end of the channel closed) means nobody waits for the answer.
process.once('disconnect', () => process.exit(1));
process.once('message', (options: LoadConfigOptions) => {
  process.send?.(load(options), () => process.exit(0));
});
