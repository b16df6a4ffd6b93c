// Node module hooks that let a child process run the store's TypeScript sources directly, for the multi-process
// tests. Node 20 cannot strip types and tsx is not a dependency; importing dist/ would need a full build, which
// breaks whenever any file in the project does not compile. TypeScript itself (a devDependency) transpiles each
// file on load instead — the same source the tests in this process run, and nothing outside the store's imports.
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: url,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
