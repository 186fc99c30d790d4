import { inspect } from 'node:util';

/**
 * A token that prints as `[redacted]` everywhere: toString, JSON, util.inspect, template strings. Only `reveal()`
 * gives the value, and only the code that builds an Authorization header or a Slicer secret calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** True when there is a value, without showing it. */
  get present(): boolean {
    return this.#value.length > 0;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}
