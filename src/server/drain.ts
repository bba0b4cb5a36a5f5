/**
 * Graceful shutdown shared by the gRPC and REST APIs: once `start()` is called, new requests are
 * refused (each API answers its own "unavailable") while the ones already running finish.
 * TF-Serving has no such step (SIGTERM ends tensorflow_model_server at once); duoserve drains
 * as Triton's --exit-timeout-secs and Kubernetes' terminationGracePeriodSeconds expect.
 * Everything here runs on the JS thread.
 */
export class Drain {
  private running = 0;
  private draining = false;
  private readonly idleWaiters: Array<() => void> = [];

  /** Whether new requests are refused. */
  get started(): boolean {
    return this.draining;
  }

  /** Requests admitted and not yet finished. */
  get inFlight(): number {
    return this.running;
  }

  /**
   * Admits a request: returns the function to call once it is over (calling it again does
   * nothing), or undefined when draining has started and the request must be refused.
   */
  admit(): (() => void) | undefined {
    if (this.draining) return undefined;
    this.running++;
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      this.running--;
      if (this.running === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
    };
  }

  /**
   * Refuses new requests from now on; resolves once the admitted ones have finished or after
   * `gracePeriodMs`, with the number still running then (0: all finished).
   */
  async start(gracePeriodMs: number): Promise<number> {
    this.draining = true;
    if (this.running > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, gracePeriodMs))),
      ]);
      clearTimeout(timer);
    }
    return this.running;
  }
}

/** What a refused request is told, over either API. */
export const SHUTTING_DOWN_MESSAGE = 'The server is shutting down; send the request to another replica';
