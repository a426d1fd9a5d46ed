import { InvalidOptionError } from '../errors.js';
import { unknownOption } from '../options.js';

/**
 * Checks an integration's options object: a plain object (or undefined) with only the `known` properties;
 * throws `InvalidOptionError` naming the offending option and value.
 */
export function checkOptions(input: unknown, known: readonly string[]): Record<string, unknown> {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidOptionError('options', input, 'an object');
  }
  const record = input as Record<string, unknown>;
  const names = new Set(known);
  for (const name of Object.keys(record)) {
    if (!names.has(name)) throw unknownOption(name, record[name], names);
  }
  return record;
}

/** A boolean option, `fallback` when undefined. */
export function booleanOption(record: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = record[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, value, 'true or false');
  return value;
}
