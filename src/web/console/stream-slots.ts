/**
 * How many progress streams one console session may hold open in this process. A person
 * watches a notice or two, in a tab or two; 400 streams from one session cost 29 % of a
 * core, each polling the store every second.
 */
export const STREAMS_PER_SESSION = 4;

export interface StreamSlots {
  /** A slot for the session, and the function that gives it back (once, however often called); undefined when all are taken. */
  take(session: string): (() => void) | undefined;
  /** Slots the session holds now. */
  held(session: string): number;
}

/** Counts open streams per session in this process (each process pays for its own). */
export function createStreamSlots(max = STREAMS_PER_SESSION): StreamSlots {
  const open = new Map<string, number>();
  return {
    take(session) {
      const held = open.get(session) ?? 0;
      if (held >= max) return undefined;
      open.set(session, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(session) ?? 1) - 1;
        if (left > 0) open.set(session, left);
        else open.delete(session);
      };
    },
    held: (session) => open.get(session) ?? 0,
  };
}

/** A stream's body that gives its slot back when it ends, however it ends. */
export function releasing<S>(release: () => void, body: (stream: S) => Promise<void>): (stream: S) => Promise<void> {
  return async (stream) => {
    try {
      await body(stream);
    } finally {
      release();
    }
  };
}
