/*
 * What every part of the configuration parses with: the error that names a bad variable, and the
 * readers of one variable. Below config.ts and the sections it assembles (auth/auth-config.ts,
 * hardening-config.ts), which import these from here rather than from config.ts.
 */

/** A bad environment variable: the message names it and says what is wrong. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable} ${reason}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** An unset or empty variable is absent (docker-compose writes `VAR=` for "no value"). */
export function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = read(env, name);
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value)) throw new ConfigError(name, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(name, `must be from ${min} to ${max}, not ${value}`);
  }
  return parsed;
}
