import { generateKeyPairSync } from 'node:crypto';
import { keyIdOf, privateKeySeedHex, rawPublicKey } from '@v2g/ledger';
import { EXIT, type Command } from '../command.ts';

export const keygenCommand: Command = {
  name: 'keygen',
  usage: `Usage: pnpm ledger keygen [--pem]

Prints a new Ed25519 key pair as environment variables:
  LEDGER_CHECKPOINT_KEY         the signing key (a secret: for the server's environment only)
  LEDGER_CHECKPOINT_PUBLIC_KEY  its public key (for auditors: pnpm ledger verify checks with it)
as 64 hex digits each, or as PEM with --pem. Nothing is stored anywhere.

Options:
  --pem         PEM (PKCS#8 / SPKI) instead of hex
  -h, --help    this text

Exit codes: 0 ok, 2 bad usage.
`,
  options: { pem: { type: 'boolean' } },
  async run({ values }, io) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const [secret, open] =
      values.pem === true
        ? [JSON.stringify(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()), JSON.stringify(publicKey.export({ format: 'pem', type: 'spki' }).toString())]
        : [privateKeySeedHex(privateKey), rawPublicKey(publicKey).toString('hex')];
    io.stdout.write(`# key id ${keyIdOf(publicKey)}\nLEDGER_CHECKPOINT_KEY=${secret}\nLEDGER_CHECKPOINT_PUBLIC_KEY=${open}\n`);
    return EXIT.ok;
  },
};
