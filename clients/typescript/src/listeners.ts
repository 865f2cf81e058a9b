// A list of registered callbacks, each registration with its own unsubscribe function. Shared by
// the client's push handlers, state handlers and reconnect hooks.

/** Callbacks of type `F`, called in registration order. */
export class Listeners<F> {
  readonly #entries = new Set<{ readonly listener: F }>();

  /** Registers `listener` and returns the function that unregisters it (this registration only). */
  add(listener: F): () => void {
    const entry = { listener };
    this.#entries.add(entry);
    return () => {
      this.#entries.delete(entry);
    };
  }

  /**
   * The listeners registered now, each with a check of whether it is still registered: a listener
   * removed by an earlier one in the same round is skipped, one added during it waits for the next.
   */
  current(): Array<{ readonly listener: F; readonly stillRegistered: () => boolean }> {
    return [...this.#entries].map((entry) => ({
      listener: entry.listener,
      stillRegistered: () => this.#entries.has(entry),
    }));
  }

  /**
   * Calls `call` with each listener of {@link current}, skipping those removed meanwhile; one that
   * throws goes to `report` and the next still runs.
   */
  each(call: (listener: F) => void, report: (error: unknown) => void): void {
    for (const { listener, stillRegistered } of this.current()) {
      if (!stillRegistered()) continue;
      try {
        call(listener);
      } catch (error) {
        report(error);
      }
    }
  }
}
