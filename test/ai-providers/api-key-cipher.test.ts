import fc from 'fast-check';
import { ApiKeyCipher, ApiKeyDecryptionError } from '../../src/ai-providers/api-key-cipher.js';
import { loadConfig } from '../../src/config/app-config.js';

const cipherWith = (masterKey: string) => new ApiKeyCipher(loadConfig({ NODE_ENV: 'test', ENCRYPTION_MASTER_KEY: masterKey }));

describe('ApiKeyCipher', () => {
  const cipher = cipherWith('the-first-master-key-used-in-these-tests');
  const context = 'ai-provider-config:workspace-1:openai';
  const apiKey = 'sk-proj-0123456789abcdefghijklmnopqrstuvwxyz';

  it('round-trips any printable key, with a fresh salt and IV every time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[\x21-\x7e]{20,120}$/), async (key) => {
        expect(await cipher.decrypt(await cipher.encrypt(key, context), context)).toBe(key);
      }),
      { numRuns: 50 },
    );
    const [one, two] = [await cipher.encrypt(apiKey, context), await cipher.encrypt(apiKey, context)];
    expect(one).not.toBe(two);
    const [, saltOne, ivOne] = one.split(':');
    const [, saltTwo, ivTwo] = two.split(':');
    expect(saltOne).not.toBe(saltTwo);
    expect(ivOne).not.toBe(ivTwo);
  });

  it('writes v1:<salt>:<iv>:<tag>:<ciphertext> in base64url, with nothing of the key in it', async () => {
    const stored = await cipher.encrypt(apiKey, context);
    const [version, salt, iv, tag, ciphertext] = stored.split(':');
    expect(version).toBe('v1');
    expect(Buffer.from(salt!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(ciphertext!, 'base64url')).toHaveLength(apiKey.length);
    for (const form of [apiKey, Buffer.from(apiKey).toString('base64'), Buffer.from(apiKey).toString('base64url'), Buffer.from(apiKey).toString('hex')]) {
      expect(stored).not.toContain(form.slice(4, 24));
    }
  });

  it('fails loudly, never with garbage, on a wrong master key, a wrong context or a tampered value', async () => {
    const stored = await cipher.encrypt(apiKey, context);
    const failure = { name: 'ApiKeyDecryptionError', message: 'cannot decrypt the stored API key (wrong ENCRYPTION_MASTER_KEY or corrupted value)' };
    await expect(cipherWith('a-second-master-key-that-is-not-the-first').decrypt(stored, context)).rejects.toMatchObject(failure);
    await expect(cipher.decrypt(stored, 'ai-provider-config:workspace-2:openai')).rejects.toMatchObject(failure);

    const parts = stored.split(':');
    for (const index of [1, 2, 3, 4]) {
      const bytes = Buffer.from(parts[index]!, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      const tampered = parts.map((part, i) => (i === index ? bytes.toString('base64url') : part)).join(':');
      await expect(cipher.decrypt(tampered, context), `part ${index} flipped`).rejects.toBeInstanceOf(ApiKeyDecryptionError);
    }
  });

  it('rejects malformed and unknown-version values with their own reason', async () => {
    const stored = await cipher.encrypt(apiKey, context);
    await expect(cipher.decrypt(apiKey, context)).rejects.toMatchObject({ reason: 'malformed' });
    await expect(cipher.decrypt(stored.split(':').slice(0, 4).join(':'), context)).rejects.toMatchObject({ reason: 'malformed' });
    await expect(cipher.decrypt(stored.replace(/^v1:/, 'v2:'), context)).rejects.toMatchObject({ reason: 'unsupported_version' });
    await expect(cipher.decrypt(stored.replace(/^v1:[^:]+:/, 'v1:AAAA:'), context)).rejects.toMatchObject({ reason: 'malformed' });
  });

  it('uses the development master key when none is configured, and the two do not mix', async () => {
    const development = new ApiKeyCipher(loadConfig({ NODE_ENV: 'test' }));
    const stored = await development.encrypt(apiKey, context);
    expect(await development.decrypt(stored, context)).toBe(apiKey);
    await expect(cipher.decrypt(stored, context)).rejects.toBeInstanceOf(ApiKeyDecryptionError);
  });
});
