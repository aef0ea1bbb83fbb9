import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  allowedSignersLine,
  armorSshsig,
  signSshsig,
  sshFingerprint,
  sshPublicKeyLine,
} from '../../src/domain/keys/sshsig';

/** Signatures made in-process, checked by the oracle: `ssh-keygen -Y verify` and `ssh-keygen -lf`. */
const dir = mkdtempSync(join(tmpdir(), 'keyhouse-sshsig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
import { keyPair } from '../helpers/sshKeygen';

const NAMESPACE = 'keyhouse-authorized-keys';
const { privateKey } = keyPair('ed25519');
const { privateKey: otherKey } = keyPair('ed25519');

function verify(body: string, signature: string, signer = privateKey, namespace = NAMESPACE) {
  const signers = join(dir, 'allowed_signers');
  const file = join(dir, 'body.sig');
  writeFileSync(signers, `${allowedSignersLine('keyhouse', NAMESPACE, signer)}\n`);
  writeFileSync(file, armorSshsig(signature));
  return spawnSync(
    'ssh-keygen',
    ['-Y', 'verify', '-f', signers, '-I', 'keyhouse', '-n', namespace, '-s', file],
    { input: body, encoding: 'utf8' },
  );
}

const body = '# keyhouse project=p serial=3\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample alice\n';

test('ssh-keygen verifies what we sign', () => {
  const result = verify(body, signSshsig(privateKey, NAMESPACE, body));
  expect(result.stdout + result.stderr).toContain('Good "keyhouse-authorized-keys" signature for keyhouse');
  expect(result.status).toBe(0);
});

test('a changed body, another signer or another namespace does not verify', () => {
  const signature = signSshsig(privateKey, NAMESPACE, body);
  expect(verify(`${body}ssh-ed25519 AAAA extra\n`, signature).status).not.toBe(0);
  expect(verify(body, signSshsig(otherKey, NAMESPACE, body)).status).not.toBe(0);
  expect(verify(body, signSshsig(privateKey, 'file', body), privateKey, 'file').status).not.toBe(0);
});

test('the public key line and fingerprint are what ssh-keygen reads and prints', () => {
  const pub = join(dir, 'signer.pub');
  writeFileSync(pub, `${sshPublicKeyLine(privateKey)} keyhouse\n`);
  const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub], { encoding: 'utf8' });
  expect(printed).toContain(sshFingerprint(privateKey));
  expect(printed).toMatch(/^256 SHA256:\S+ keyhouse \(ED25519\)/);
});
