/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own summary, so tools that read a
 * run's last lines (CI dashboards, the workplace's CI) see the counts in a runner-neutral form.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  private line = '';

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    this.line = `${passed} passed, ${failed} failed, ${skipped} skipped`;
    // The default reporter prints its summary after every reporter's onTestRunEnd; print ours once it has.
    process.once('beforeExit', () => process.stdout.write(`\n${this.line}\n`));
  }
}
