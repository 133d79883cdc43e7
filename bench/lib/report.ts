/** Collects the results file's sections and the headline rows the README summarises. */
export class Report {
  private readonly sections: string[] = [];
  readonly headlines: Array<{ measure: string; result: string; target: string; met: string }> = [];

  section(title: string, ...body: string[]): void {
    this.sections.push(`## ${title}\n\n${body.join('\n\n')}\n`);
  }

  headline(measure: string, result: string, target: string, met: boolean | undefined): void {
    this.headlines.push({ measure, result, target, met: met === undefined ? 'n/a' : met ? 'yes' : '**no**' });
  }

  /** Appends another report's sections and headlines (phases that run at the same time each fill their own). */
  append(other: Report): void {
    this.sections.push(...other.sections);
    this.headlines.push(...other.headlines);
  }

  render(title: string, preamble: string[]): string {
    const summary = table(
      ['Measure', 'Result', 'Target', 'Met'],
      this.headlines.map((h) => [h.measure, h.result, h.target, h.met]),
    );
    return [`# ${title}`, '', ...preamble, '', '## Summary', '', summary, '', ...this.sections].join('\n');
  }
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const fmt = {
  ratio: (value: number) => (Number.isFinite(value) ? value.toFixed(3) : 'n/a'),
  pct: (ratio: number) => (Number.isFinite(ratio) ? `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)} %` : 'n/a'),
  ms: (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a'),
  us: (value: number) => (Number.isFinite(value) ? value.toFixed(1) : 'n/a'),
  int: (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'),
  mib: (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1024 / 1024).toFixed(1) : 'n/a'),
};
