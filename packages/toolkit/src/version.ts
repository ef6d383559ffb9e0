/** Version of @autom8/toolkit. */
export const VERSION = '0.1.0';
