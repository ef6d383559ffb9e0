/**
 * Coded errors. Configuration errors are thrown at construction only; nothing on the request path
 * throws for telemetry or metrics.
 */
export class Autom8Error extends Error {
  /** A stable machine-readable code, `AUTOM8_ERR_*`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'Autom8Error';
    this.code = code;
  }
}

/** An option is missing, of the wrong type, or out of range. The message names the option path. */
export class InvalidOptionError extends TypeError {
  readonly code = 'AUTOM8_ERR_INVALID_OPTION';
  /** Path of the offending option, e.g. `metrics.maxSeries`. */
  readonly option: string;
  constructor(option: string, expected: string, actual: unknown, message?: string) {
    super(message ?? `autom8: expected ${option} to be ${expected}, got ${describe(actual)}`);
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'undefined') return String(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  return `an ${typeof v}`;
}
