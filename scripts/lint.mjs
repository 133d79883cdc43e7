// Project rules the type checker cannot see. Exits 1 listing each offending line.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const RULES = [
  { dirs: ['test'], pattern: /\b(it|test|describe)\.(only|skip|todo)\(/, message: 'focused or skipped test' },
  { dirs: ['src'], pattern: /\bconsole\.(log|debug|info)\(/, message: 'console logging in src (use the Nest logger)' },
  { dirs: ['src', 'test'], pattern: /ioredis-mock|pg-mem|redis-mock/, message: 'mocked Redis/PostgreSQL' },
];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

let failures = 0;
for (const rule of RULES) {
  for (const dir of rule.dirs) {
    for (const file of files(dir)) {
      readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
        if (rule.pattern.test(line)) {
          failures++;
          console.error(`${file}:${index + 1}: ${rule.message}`);
        }
      });
    }
  }
}
process.exit(failures ? 1 : 0);
