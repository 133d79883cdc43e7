import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { alertCasesIn, alertNamesIn, KIT } from './promql.js';

const run = promisify(execFile);

/** Runs promtool and returns its output; a non-zero exit fails the test with that output. */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: KIT.root });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

const ruleTestFiles = readdirSync(KIT.ruleTestsDir)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => `${KIT.ruleTestsDir}/${f}`);

describe('Prometheus configuration and alert rules (promtool)', () => {
  it('promtool check config accepts deploy/prometheus/prometheus.yml (and the rule file it loads)', async () => {
    const out = await promtool('check', 'config', KIT.prometheusConfig);
    expect(out).toMatch(/SUCCESS: .*prometheus\.yml is valid/);
  });

  it('promtool check rules accepts deploy/prometheus/alerts.yml', async () => {
    const out = await promtool('check', 'rules', KIT.alerts);
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool test rules passes every fixture in deploy/prometheus/tests', async () => {
    expect(ruleTestFiles.length).toBeGreaterThan(0);
    const out = await promtool('test', 'rules', ...ruleTestFiles);
    expect(out).not.toMatch(/FAILED/);
  });

  it('every alert has a firing case and a silent case in the fixtures, and no fixture names an unknown alert', () => {
    const alerts = alertNamesIn(readFileSync(KIT.alerts, 'utf8'));
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    const cases = ruleTestFiles.flatMap((f) => alertCasesIn(readFileSync(f, 'utf8')));
    const missing: string[] = [];
    for (const alert of alerts) {
      if (!cases.some((c) => c.alertname === alert && c.fires)) missing.push(`${alert}: no firing case`);
      if (!cases.some((c) => c.alertname === alert && !c.fires)) missing.push(`${alert}: no silent case`);
    }
    expect(missing).toEqual([]);
    expect(cases.map((c) => c.alertname).filter((name) => !alerts.includes(name))).toEqual([]);
  });

  it('the issue\'s required alerts exist', () => {
    const alerts = alertNamesIn(readFileSync(KIT.alerts, 'utf8'));
    expect(alerts).toEqual(
      expect.arrayContaining([
        'HyvveApiTargetDown',
        'HyvveApiHigh5xxRatio',
        'HyvveApiHighLatencyP99',
        'HyvveEventBusConsumerLagHigh',
        'HyvveEventBusConsumerLagGrowing',
        'HyvveEventBusDlqBacklog',
        'HyvveEventBusDlqGrowing',
        'HyvveApprovalsOverdue',
        'HyvveApprovalOldestPendingTooOld',
        'HyvveAiProviderDown',
        'HyvveMetricsCollectorDown',
      ]),
    );
  });
});
