/**
 * An aggregate is a decider: two pure functions over a state. `decide` throws a DomainError for a
 * refused command; time and ids arrive inside the command, never from a clock or a random source.
 */
export type Decider<State, Command, Event> = {
  initialState: () => State;
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
  /**
   * Optional: folds many events at once, with the same result as `events.reduce(evolve, state)`.
   * For aggregates whose evolve copies a large state per event (a site with thousands of
   * sessions), so that loading a long stream is not quadratic.
   */
  evolveAll?: (state: State, events: readonly Event[]) => State;
};

/** The shape every domain event has before the store wraps it in an envelope. */
export type DomainEvent<Type extends string = string, Data = unknown> = {
  type: Type;
  data: Data;
};
