import { describe, expect, it } from 'vitest';
import { interpolate, InterpolationError } from '../../src/config/index.ts';
import { resolveYaml } from './helpers.ts';

const env = { HOME_DIR: '/home/ops', EMPTY: '', PORT: '9000' };

describe('interpolate', () => {
  it.each([
    ['plain text', 'plain text'],
    ['${HOME_DIR}/bin', '/home/ops/bin'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY}', ''],
    ['${MISSING:-}', ''],
    ['${HOME_DIR:-unused}', '/home/ops'],
    ['${MISSING:-a,b} and ${PORT}', 'a,b and 9000'],
    ['$${HOME_DIR}', '${HOME_DIR}'],
    ['echo $$${HOME_DIR}', 'echo $${HOME_DIR}'],
    ['echo $HOME_DIR $$ $', 'echo $HOME_DIR $$ $'],
    ['cost: 5$', 'cost: 5$'],
  ])('%j → %j', (text, expected) => {
    expect(interpolate(text, env)).toBe(expected);
  });

  it.each([
    ['${NOPE}', 'environment variable NOPE is not set; export NOPE=… before starting nightshift, or write ${NOPE:-default}'],
    ['${}', "'${}' is not a variable reference; write ${NAME} or ${NAME:-default} with NAME made of letters, digits and _ (not starting with a digit), or $${…} for literal text"],
    ['${A B}', "'${A B}' is not a variable reference; write ${NAME} or ${NAME:-default} with NAME made of letters, digits and _ (not starting with a digit), or $${…} for literal text"],
    ['${OPEN', "'${OPEN' has no closing }; close it like ${NAME}, or write $${ for a literal ${"],
  ])('rejects %j', (text, message) => {
    expect(() => interpolate(text, env)).toThrow(InterpolationError);
    expect(() => interpolate(text, env)).toThrow(message);
  });
});

describe('interpolation in a config file', () => {
  it('applies to every string value, commands and list items included, but not to keys', () => {
    const config = resolveYaml(
      [
        'project: ${PROJECT:-demo}',
        'http: { listen: "127.0.0.1:${PORT}", ping_body_limit: ${LIMIT} }',
        'jobs:',
        '  scan:',
        '    command: [python3, "${HOME_DIR}/run.py", $${NOT_OURS}]',
        '    env: { DIR: ${HOME_DIR} }',
        '    timeout: ${SCAN_TIMEOUT:-10m}',
        '  shell:',
        '    command: echo $${HOME} $HOME',
        'channels:',
        '  hook: { type: webhook, url: "http://127.0.0.1:${PORT}/hook", headers: { ${KEY}: ${HOME_DIR} } }',
      ].join('\n'),
      { ...env, LIMIT: '2000' },
    );
    expect(config.project).toBe('demo');
    expect(config.http.port).toBe(9000);
    expect(config.http.pingBodyLimitBytes).toBe(2000);
    const scan = config.jobs['scan'];
    expect(scan?.command).toEqual({ kind: 'argv', argv: ['python3', '/home/ops/run.py', '${NOT_OURS}'] });
    expect(scan?.env).toEqual({ DIR: '/home/ops' });
    expect(scan?.timeoutMs).toBe(600_000);
    expect(config.jobs['shell']?.command).toEqual({ kind: 'shell', script: 'echo ${HOME} $HOME' });
    expect(config.channels['hook']).toEqual({ type: 'webhook', url: 'http://127.0.0.1:9000/hook', headers: { '${KEY}': '/home/ops' }, secret: null });
  });

  it('keeps a value from the environment as text: no YAML typing of what a variable holds', () => {
    const config = resolveYaml('jobs:\n  scan: { command: run, env: { LEVEL: "${LEVEL}", FLAG: ${FLAG} } }\n', { LEVEL: '007', FLAG: 'no' });
    expect(config.jobs['scan']?.env).toEqual({ LEVEL: '007', FLAG: 'no' });
  });

  it('does not let a value from the environment change the structure of the file', () => {
    const config = resolveYaml('jobs:\n  scan: { command: ${CMD} }\n', { CMD: 'echo a, b: [c] # d' });
    expect(config.jobs['scan']?.command).toEqual({ kind: 'shell', script: 'echo a, b: [c] # d' });
  });
});
