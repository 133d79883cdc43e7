import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';

const FORMAT_VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** 96-bit IVs are what GCM is specified for; anything else is hashed into one. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * The master key is an operator-chosen string that may be a passphrase rather than random bytes, so it is
 * stretched once per process with a memory-hard KDF. These parameters are one of OWASP's recommended scrypt
 * settings (N=2^15, r=8, p=3: 32 MiB, about 0.25 s on one core) and run once, off the event loop.
 */
const ROOT_SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 3, maxmem: 64 * 1024 * 1024 };
/** Fixed: the root key must be reproducible from the master key alone. It only separates this use of the master key from any other. */
const ROOT_SALT = 'hyvve/ai-provider-api-keys/root/v1';
const VALUE_KEY_INFO = 'hyvve/ai-provider-api-keys/aes-256-gcm/v1';

/** Thrown for every value that cannot be decrypted; the message says why without revealing anything. */
export class ApiKeyDecryptionError extends Error {
  constructor(readonly reason: 'malformed' | 'unsupported_version' | 'authentication_failed') {
    super(
      reason === 'authentication_failed'
        ? 'cannot decrypt the stored API key (wrong ENCRYPTION_MASTER_KEY or corrupted value)'
        : reason === 'unsupported_version'
          ? 'cannot decrypt the stored API key (unknown format version)'
          : 'cannot decrypt the stored API key (malformed value)',
    );
    this.name = 'ApiKeyDecryptionError';
  }
}

/**
 * AES-256-GCM for API keys at rest: `v1:<salt>:<iv>:<tag>:<ciphertext>`, each part base64url.
 *
 * Keys: master key --scrypt (once per process)--> root key --HKDF-SHA256(random salt per value)--> value key.
 * The expensive step is paid once; each value still gets its own key and IV for the price of one HKDF
 * (microseconds), unlike a password KDF per value. The caller's context (workspace and provider) is bound in
 * as associated data, so a ciphertext copied onto another row does not decrypt. A wrong master key, a
 * tampered value or a wrong context all fail the GCM tag check and throw ApiKeyDecryptionError; they never
 * yield garbage.
 */
@Injectable()
export class ApiKeyCipher {
  private rootKey?: Promise<Buffer>;

  constructor(private readonly config: AppConfig) {}

  async encrypt(plaintext: string, context: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, await this.valueKey(salt), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT_VERSION, salt, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join(':');
  }

  async decrypt(stored: string, context: string): Promise<string> {
    const parts = stored.split(':');
    if (parts[0] !== FORMAT_VERSION) {
      throw new ApiKeyDecryptionError(parts.length === 5 ? 'unsupported_version' : 'malformed');
    }
    if (parts.length !== 5) throw new ApiKeyDecryptionError('malformed');
    const [salt, iv, tag, ciphertext] = parts.slice(1).map((part) => Buffer.from(part, 'base64url'));
    if (salt!.length !== SALT_BYTES || iv!.length !== IV_BYTES || tag!.length !== TAG_BYTES) {
      throw new ApiKeyDecryptionError('malformed');
    }
    const decipher = createDecipheriv(ALGORITHM, await this.valueKey(salt!), iv!, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag!);
    try {
      return Buffer.concat([decipher.update(ciphertext!), decipher.final()]).toString('utf8');
    } catch {
      throw new ApiKeyDecryptionError('authentication_failed');
    }
  }

  private async valueKey(salt: Buffer): Promise<Buffer> {
    const root = await this.root();
    return Buffer.from(hkdfSync('sha256', root, salt, VALUE_KEY_INFO, KEY_BYTES));
  }

  private root(): Promise<Buffer> {
    this.rootKey ??= new Promise<Buffer>((resolve, reject) => {
      scrypt(this.config.encryptionMasterKey, ROOT_SALT, KEY_BYTES, ROOT_SCRYPT, (error, key) =>
        error ? reject(error) : resolve(key),
      );
    }).catch((error: unknown) => {
      this.rootKey = undefined;
      throw error;
    });
    return this.rootKey;
  }
}
