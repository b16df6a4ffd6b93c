/** Exit codes of every command (DESIGN.md): 0 ok, 1 the thing checked failed, 2 usage or config error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** An error the CLI prints as one line on stderr before exiting with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  /** Print the message as it is, without the `nightshift: ` prefix (config errors start with file:line:col). */
  readonly raw: boolean;

  constructor(message: string, exitCode: number = EXIT_FAILED, options: { raw?: boolean } = {}) {
    super(message);
    this.exitCode = exitCode;
    this.raw = options.raw ?? false;
  }
}

/** Config problems, one `file:line:col: path: problem; fix` line each, so editors and grep can jump to them. */
export function configError(message: string): CliError {
  return new CliError(message, EXIT_USAGE, { raw: true });
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

export function unknownJobError(name: string, jobs: string[]): CliError {
  const list = jobs.length ? `configured jobs: ${jobs.join(', ')}` : 'the config has no jobs';
  return usageError(`no job named '${name}' (${list})`);
}
