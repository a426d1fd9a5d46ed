import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds the package (`npm run build`), for benchmarks whose servers import it by name as apps do. Their
 * numbers are then those of the JavaScript an app runs: the TypeScript sources loaded through tsx carry
 * a `__name` call for every closure made, which on the HTTP hit path cost 14 points of the bare
 * framework's throughput (Fastify: 88% built, 74% through tsx, same run).
 */
export function buildPackage(): void {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}
