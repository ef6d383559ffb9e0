/**
 * The logger autom8 writes warnings and structured lines to: pino's interface (object first, message
 * second), which console-like loggers can be adapted to. Defaults to {@link consoleLogger}.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Writes one JSON line per entry to stderr (warn, error) or stdout (info). */
export const consoleLogger: Logger = Object.freeze({
  info: (obj: object, msg?: string) => console.log(JSON.stringify({ level: 'info', time: Date.now(), ...obj, msg })),
  warn: (obj: object, msg?: string) => console.warn(JSON.stringify({ level: 'warn', time: Date.now(), ...obj, msg })),
  error: (obj: object, msg?: string) => console.error(JSON.stringify({ level: 'error', time: Date.now(), ...obj, msg })),
});
