// eslint-disable-next-line no-restricted-imports -- the key is generated already encoded (see load)
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KEYSET_NAMESPACE, SIGNER_PRINCIPAL } from './deliveryKeySet';
import { allowedSignersLine, signSshsig, sshFingerprint } from './keys/sshsig';
import type { DocumentStore } from './storage';

/**
 * The deployment's signing key (Ed25519): made once, at first start, under a lock so that replicas
 * starting together make one, and kept in one deployment-wide document every replica reads. Only its
 * public half ever leaves this module; the private half is never logged or shown.
 */

export const SIGNING_KEY_DOCUMENT = 'deployment:signing-key';

interface SigningKeyDocument {
  algorithm: 'ed25519';
  /** PKCS#8 PEM. */
  privateKey: string;
  createdAt: string;
}

export interface SigningKey {
  /** `keyhouse namespaces="keyhouse-authorized-keys" ssh-ed25519 AAAA…` */
  allowedSigners: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The SSHSIG signature of `body`, base64 without line breaks. */
  sign(body: string | Buffer): string;
}

function signingKeyOf(privateKey: KeyObject): SigningKey {
  return {
    allowedSigners: allowedSignersLine(SIGNER_PRINCIPAL, KEYSET_NAMESPACE, privateKey),
    fingerprint: sshFingerprint(privateKey),
    sign: (body) => signSshsig(privateKey, KEYSET_NAMESPACE, body),
  };
}

export class DeploymentSigningKey {
  private loading: Promise<SigningKey> | undefined;

  constructor(
    private readonly store: DocumentStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The key, read (or made) once per process; a failed read is tried again by the next caller. */
  get(): Promise<SigningKey> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  private async load(): Promise<SigningKey> {
    const stored = await this.store.get<SigningKeyDocument>(SIGNING_KEY_DOCUMENT);
    const document =
      stored ??
      (await this.store.withLock(SIGNING_KEY_DOCUMENT, async () => {
        const raced = await this.store.get<SigningKeyDocument>(SIGNING_KEY_DOCUMENT);
        if (raced) return raced;
        // Made already encoded: Node 20 can deadlock exporting a key fresh from generateKeyPairSync if the
        // garbage collector finalizes the job that made it meanwhile (both take the key's lock).
        const { privateKey } = generateKeyPairSync('ed25519', {
          privateKeyEncoding: { format: 'pem', type: 'pkcs8' },
          publicKeyEncoding: { format: 'pem', type: 'spki' },
        });
        const made: SigningKeyDocument = {
          algorithm: 'ed25519',
          privateKey,
          createdAt: this.now().toISOString(),
        };
        await this.store.write({ set: [{ key: SIGNING_KEY_DOCUMENT, value: made }] });
        return made;
      }));
    return signingKeyOf(createPrivateKey(document.privateKey));
  }
}
