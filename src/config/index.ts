/** The config module's public surface: everything outside src/config imports from here. */

export type * from './types.ts';
export { ConfigError, ConfigErrors, formatConfigPath } from './errors.ts';
export type { ConfigErrorInit, ConfigPath } from './errors.ts';
export { CONFIG_FILE_NAMES, findConfigPath, loadConfig, loadConfigText } from './load.ts';
export type { FindConfigOptions, LoadConfigOptions } from './load.ts';
export { parseConfigText } from './parse.ts';
export type { ParseConfigOptions } from './parse.ts';
export { resolveConfig } from './resolve.ts';
export type { ResolveContext } from './resolve.ts';
export { configSchema } from './schema.ts';
export type { ConfigInput } from './schema.ts';
export { interpolate, InterpolationError } from './interpolate.ts';
export type { Env } from './interpolate.ts';
export { formatDuration, formatSize, parseDuration, parsePercent, parsePercentOrSize, parseRate, parseSize, UnitError } from './units.ts';
export { renderConfigReference } from './reference.ts';
export { defaultConfig, defaultJob } from './default-job.ts';
