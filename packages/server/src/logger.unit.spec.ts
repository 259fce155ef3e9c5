import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

const capture = () => {
  const chunks: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk.toString('utf8')), done()) });
  return { stream, text: () => chunks.join('') };
};

describe('createLogger', () => {
  it('writes one JSON object a line by default, secrets redacted', () => {
    const out = capture();
    createLogger('info', out.stream).info({ authorization: 'Bearer s3cret', siteId: 'depot-1' }, 'site registered');
    expect(JSON.parse(out.text())).toMatchObject({ level: 'info', msg: 'site registered', siteId: 'depot-1', authorization: '[redacted]' });
  });

  it('writes lines for a person with format pretty: level, message, fields, the same redaction', () => {
    const out = capture();
    createLogger('info', out.stream, 'pretty').info({ authorization: 'Bearer s3cret', siteId: 'depot-1' }, 'site registered');
    const text = out.text();
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toMatch(/INFO.*: site registered/);
    expect(text).toContain('siteId: "depot-1"');
    expect(text).not.toContain('s3cret');
  });
});
