/** Version of @autom8/core, reported as the OTel instrumentation scope version. */
export const VERSION = '0.1.0';
