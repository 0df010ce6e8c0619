import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const repo = fileURLToPath(new URL('../..', import.meta.url));

/** What a process printed. */
export interface Output {
  stdout: string;
  stderr: string;
}

/** Runs a real process; on a non-zero exit, fails with everything it printed. */
export function exec(file: string, args: readonly string[], cwd: string): Promise<Output> {
  const command = [file.startsWith(repo) ? path.relative(repo, file) : file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr });
      const why = error.message.split('\n')[0];
      reject(new Error(`\`${command}\` failed (${why})\n${stdout}${stderr}`));
    });
  });
}
