/**
 * An aggregate is a decider: two pure functions over a state. `decide` throws a DomainError for a
 * refused command; time and ids arrive inside the command, never from a clock or a random source.
 */
export type Decider<State, Command, Event> = {
  initialState: () => State;
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
};

/** The shape every domain event has before the store wraps it in an envelope. */
export type DomainEvent<Type extends string = string, Data = unknown> = {
  type: Type;
  data: Data;
};
