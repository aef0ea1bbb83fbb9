import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Work under way (HTTP requests, Slack handlers, a sweep), counted so that a stop can let it finish
 * before the store closes under it.
 */
export class WorkInFlight {
  private count = 0;
  private idleWaiters: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  /** Counts one piece of work; the function returned ends it (calling it again does nothing). */
  begin(): () => void {
    this.count += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.count -= 1;
      if (this.count === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const end = this.begin();
    try {
      return await work();
    } finally {
      end();
    }
  }

  /** Resolves true once nothing is under way, or false when `ms` passes first. */
  idle(ms: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== wake);
          resolve(false);
        },
        Math.max(0, ms),
      );
      this.idleWaiters.push(wake);
    });
  }
}

/** Resolves true once every one of `works` is idle, or false at `deadline` (ms since the epoch). */
export async function allIdle(works: WorkInFlight[], deadline: number): Promise<boolean> {
  // Work may start more work (a handler's request, a sweep's write): look again until all are idle at once.
  for (;;) {
    for (const work of works) {
      if (!(await work.idle(deadline - Date.now()))) return false;
    }
    if (works.every((work) => work.size === 0)) return true;
  }
}

/**
 * Lets `server` stop without dropping a request: `close` stops accepting connections at once (new ones
 * are refused, so a load balancer or client turns to another replica), closes idle keep-alive
 * connections, answers the requests under way with `Connection: close`, and waits for them until
 * `deadline`; what is still open then is cut.
 */
export function drainable(server: Server): {
  requests: WorkInFlight;
  close(deadline: number): Promise<{ finished: boolean; cut: number }>;
} {
  const requests = new WorkInFlight();
  const open = new Set<ServerResponse>();
  let closing = false;
  const lastAnswer = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  // First among the listeners, so every request is counted before any handler runs.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    const end = requests.begin();
    open.add(res);
    if (closing) lastAnswer(res);
    res.once('close', () => {
      open.delete(res);
      end();
      // Its connection is idle now (unless the client pipelined more): close it.
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  return {
    requests,
    async close(deadline) {
      closing = true;
      // Also closes the idle keep-alive connections (Node 19 and later); the callback comes once every
      // connection has ended. A server that never listened answers at once.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of open) lastAnswer(res);
      server.closeIdleConnections();
      const finished = await requests.idle(deadline - Date.now());
      const cut = requests.size;
      server.closeAllConnections();
      await closed;
      return { finished, cut };
    },
  };
}
