/**
 * `${VAR}` interpolation in config values.
 *
 *   ${VAR}            the value of VAR; an error when VAR is unset (an empty VAR gives '')
 *   ${VAR:-default}   VAR, or `default` when VAR is unset or empty; the default is literal text up to the first `}`
 *   $${VAR}           the literal text `${VAR}` (for a shell command that expands VAR itself)
 *   $VAR, $$          left alone: only the braced form is ours, so shell snippets keep working
 *
 * The environment is always passed in, so tests and `nightshift validate` see exactly what the daemon would.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export class InterpolationError extends Error {
  readonly problem: string;
  readonly fix: string;

  constructor(problem: string, fix: string) {
    super(`${problem}; ${fix}`);
    this.name = 'InterpolationError';
    this.problem = problem;
    this.fix = fix;
  }
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `text` with every `${…}` replaced; throws InterpolationError for the first reference it cannot satisfy. */
export function interpolate(text: string, env: Env): string {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar === -1) break;
    out += text.slice(index, dollar);
    if (text.startsWith('$${', dollar)) {
      const close = text.indexOf('}', dollar + 3);
      if (close === -1) {
        out += text.slice(dollar + 1);
        return out;
      }
      out += text.slice(dollar + 1, close + 1);
      index = close + 1;
    } else if (text.startsWith('${', dollar)) {
      const close = text.indexOf('}', dollar + 2);
      if (close === -1) {
        throw new InterpolationError(
          `'${text.slice(dollar, dollar + 30)}' has no closing }`,
          'close it like ${NAME}, or write $${ for a literal ${',
        );
      }
      out += substitute(text.slice(dollar + 2, close), env);
      index = close + 1;
    } else {
      out += '$';
      index = dollar + 1;
    }
  }
  return out + text.slice(index);
}

function substitute(body: string, env: Env): string {
  const separator = body.indexOf(':-');
  const name = separator === -1 ? body : body.slice(0, separator);
  if (!VARIABLE_NAME.test(name)) {
    throw new InterpolationError(
      `'\${${body}}' is not a variable reference`,
      'write ${NAME} or ${NAME:-default} with NAME made of letters, digits and _ (not starting with a digit), or $${…} for literal text',
    );
  }
  const value = env[name];
  if (separator !== -1) return value === undefined || value === '' ? body.slice(separator + 2) : value;
  if (value === undefined) {
    throw new InterpolationError(
      `environment variable ${name} is not set`,
      `export ${name}=… before starting nightshift, or write \${${name}:-default}`,
    );
  }
  return value;
}
