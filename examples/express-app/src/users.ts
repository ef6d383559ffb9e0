/** A tiny in-memory data set the examples serve. */
export interface User {
  id: number;
  name: string;
}

export const users: User[] = Array.from({ length: 100 }, (_, i) => ({ id: i + 1, name: `user-${i + 1}` }));

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
