import { MemoryEventStore } from '../src/memory/memory-store.ts';
import { runEventStoreContract } from './contract-suite.ts';

runEventStoreContract('in-memory', {
  create: async (registry, clock) => new MemoryEventStore({ registry, clock }),
});
