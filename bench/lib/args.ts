import { parseArgs } from 'node:util';

/** A numeric flag: its default and what it means (for --help). */
export interface NumberFlag {
  readonly default: number;
  readonly help: string;
}

export type Flags<N extends string> = { readonly [K in N]: number } & {
  /** --report: also rewrite this scenario's section of bench/README.md and its charts. */
  readonly report: boolean;
  /** Comma-separated list from --only, if given (scenarios with rows to pick from). */
  readonly only: readonly string[] | undefined;
};

/**
 * Parses `--name value` numeric flags plus `--report`, `--help` and, where `only` describes the rows to
 * pick from, `--only a,b`, with node:util parseArgs. Unknown flags and non-numbers fail loudly: a typo
 * must not silently run the default benchmark.
 */
export function parseFlags<N extends string>(
  scenario: string,
  spec: { readonly [K in N]: NumberFlag },
  argv: readonly string[] = process.argv.slice(2),
  only?: string,
): Flags<N> {
  const names = Object.keys(spec) as N[];
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    report: { type: 'boolean' },
    help: { type: 'boolean' },
  };
  if (only !== undefined) options.only = { type: 'string' };
  for (const name of names) options[name] = { type: 'string' };
  const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  if (values.help === true) {
    const lines = names.map((name) => `  --${name} <n>  ${spec[name].help} (default ${spec[name].default})`);
    console.log(
      [
        `usage: npx tsx bench/${scenario}.ts [flags]`,
        ...lines,
        ...(only === undefined ? [] : [`  --only <a,b>  run only these rows: ${only}`]),
        '  --report       rewrite this scenario in bench/README.md and bench/charts',
      ].join('\n'),
    );
    process.exit(0);
  }
  const result: Record<string, number | boolean | readonly string[] | undefined> = {
    report: values.report === true,
    only: typeof values.only === 'string' ? values.only.split(',').map((s) => s.trim()) : undefined,
  };
  for (const name of names) {
    const raw = values[name];
    if (raw === undefined) {
      result[name] = spec[name].default;
      continue;
    }
    const parsed = Number(raw);
    if (typeof raw !== 'string' || !Number.isFinite(parsed) || parsed < 0) {
      throw new Error(`--${name} must be a non-negative number, got ${String(raw)}`);
    }
    result[name] = parsed;
  }
  return result as Flags<N>;
}
