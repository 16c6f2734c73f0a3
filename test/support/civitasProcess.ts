/**
 * The built `civitas` command as a child process, the way a user or an
 * operator runs it: on free ports, told apart by what it logs when ready.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, '../../packages/cli/dist/main.js');

/**
 * Starts civitas with `env` over free ports, and resolves once `ready` finds
 * what it waits for in the output (stdout); rejects with the output if the
 * process exits first.
 */
export function startCivitas<T>(env: Record<string, string>, ready: (stdout: string) => T | undefined): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, CIVITAS_PORT: '0', CIVITAS_HOST: '127.0.0.1', IOTA_NORTH_PORT: '0', IOTA_HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let all = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      all += chunk.toString();
      const found = ready(out);
      if (found !== undefined) resolve({ child, ready: found });
    });
    child.stderr!.on('data', (chunk: Buffer) => (all += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`civitas exited with ${code}: ${all}`)));
  });
}

/** The port of the NGSI-LD API, once it listens. */
export const apiPort = (stdout: string): number | undefined => {
  const m = /API listening on [^:]+:(\d+)/.exec(stdout);
  return m ? Number(m[1]) : undefined;
};

/** Stops the process with `signal` (at once if it has already ended) and resolves with its exit code. */
export function stopCivitas(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}
