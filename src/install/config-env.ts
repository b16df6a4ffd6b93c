/**
 * Which environment variables a config file reads through `${VAR}` (src/config/interpolate.ts): the unit must give
 * them to the daemon (systemd starts it with an almost empty environment), and `install` must be able to load a
 * config whose variables are set only on the server.
 */

export interface ConfigVariable {
  name: string;
  /** `${VAR:-default}`: the config still loads without it. */
  hasDefault: boolean;
}

/** Every `${NAME}` / `${NAME:-…}` in `text`, first appearance order, skipping the literal `$${…}`. */
export function referencedVariables(text: string): ConfigVariable[] {
  const found = new Map<string, ConfigVariable>();
  for (const match of text.matchAll(/(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)) {
    if (match[1] === '$') continue; // `$${VAR}` is literal text for a shell, not ours
    const name = match[2]!;
    const hasDefault = match[3] !== undefined;
    const seen = found.get(name);
    // A variable used once without a default is required, whatever its other uses say.
    found.set(name, { name, hasDefault: (seen?.hasDefault ?? true) && hasDefault });
  }
  return [...found.values()];
}

/** `env` plus an empty value for each required variable it lacks, so the config can be loaded on a build machine. */
export function withPlaceholders(env: NodeJS.ProcessEnv, variables: ConfigVariable[]): { env: NodeJS.ProcessEnv; unset: string[] } {
  const unset = variables.filter((v) => !v.hasDefault && env[v.name] === undefined).map((v) => v.name);
  return { env: { ...env, ...Object.fromEntries(unset.map((name) => [name, ''])) }, unset };
}
