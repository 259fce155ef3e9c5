import type { ModuleDefinition } from '../module.ts';
import { ApiKeyService } from './api-key-service.ts';

export * from './api-key-service.ts';

/** Access: API keys, created and revoked by operators, checked on every request. */
export type AccessModule = { apiKeys: ApiKeyService };

declare module '../module.ts' {
  interface Modules {
    access: AccessModule;
  }
}

export const accessModule: ModuleDefinition<'access'> = {
  name: 'access',
  projections: [],
  open(platform) {
    const { logger } = platform;
    const apiKeys = new ApiKeyService(platform.store, platform.commands, { logger: logger.child({ component: 'api-keys' }) });
    return {
      apiKeys,
      /** Follows key changes in the log, and records the bootstrap operator key when it is new. */
      async start() {
        await apiKeys.start();
        const bootstrap = platform.settings.bootstrapOperatorKey;
        if (!bootstrap) return;
        const outcome = await apiKeys.ensureBootstrapKey(bootstrap, { actor: 'system:bootstrap' });
        // The key id only: the key is a secret.
        if (outcome === 'revoked') logger.warn({ keyId: bootstrap.keyId }, 'AUTH_BOOTSTRAP_OPERATOR_KEY names a revoked key: it stays revoked');
        else logger.info({ keyId: bootstrap.keyId, outcome }, 'bootstrap operator key in place');
      },
      stop: () => apiKeys.stop(),
    };
  },
};
