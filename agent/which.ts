import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** findExecutable resolves a command like the shell does (PATH lookup unless it has a slash); undefined if none. */
export function findExecutable(command: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = command.includes('/') ? [command] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here: try the next PATH entry
    }
  }
  return undefined;
}
