import type { ModuleDefinition } from '../module.ts';
import { FileCheckpointSink } from './checkpoint-sink.ts';
import { Checkpointer } from './checkpointer.ts';

export * from './merkle.ts';
export * from './checkpoint.ts';
export * from './checkpoint-sink.ts';
export * from './log-digest.ts';
export * from './checkpointer.ts';
export * from './verify-log.ts';

/** Tamper evidence: a signed Merkle checkpoint of the log every N events or T seconds (checked by `ledger verify`). */
export type EvidenceModule = { checkpointer: Checkpointer | null };

declare module '../module.ts' {
  interface Modules {
    evidence: EvidenceModule;
  }
}

export const evidenceModule: ModuleDefinition<'evidence'> = {
  name: 'evidence',
  projections: [],
  open(platform) {
    const settings = platform.settings.checkpoint;
    const checkpointer = settings
      ? new Checkpointer({
          store: platform.store,
          signingKey: settings.signingKey,
          everyEvents: settings.everyEvents,
          everyMs: settings.everyMs,
          sink: settings.sinkFile ? new FileCheckpointSink(settings.sinkFile) : null,
          logger: platform.logger.child({ component: 'checkpointer' }),
        })
      : null;
    return {
      checkpointer,
      async start() {
        checkpointer?.start();
      },
      async stop() {
        await checkpointer?.stop();
      },
    };
  },
};
