import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { needTools } from './tools.ts';

/** Debian's interpreter; a pyenv shim earlier on PATH cannot import the Debian module. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/**
 * A small TUF repository written by python-securesystemslib (keys, keyids, canonical JSON and
 * signatures all its own): root v3 (ed25519, threshold 1) names targets (ecdsa P-256 + rsa,
 * threshold 2), snapshot (rsa) and timestamp (ed25519, expired 2020); targets delegates `unclaimed`
 * (ed25519). `2.root.json` is the previous root, whose key also signs v3 (a proper rotation);
 * `rogue/` holds the same two roots with v3 signed by the new key alone.
 * Private keys live only inside the python process. `expect.json` holds securesystemslib's canonical
 * JSON of an awkward object and keyid → key object for three keys, for cross-checks.
 */
const SCRIPT = String.raw`
import json, sys, os
from securesystemslib import keys, formats
out = sys.argv[1]
def pub(k):
    return keys.format_keyval_to_metadata(k['keytype'], k['scheme'], k['keyval'], private=False)
root_k = keys.generate_ed25519_key()
tg_a = keys.generate_ecdsa_key()
tg_b = keys.generate_rsa_key(bits=2048)
snap_k = keys.generate_rsa_key(bits=2048)
ts_k = keys.generate_ed25519_key()
del_k = keys.generate_ed25519_key()
def sign(signed, ks, name):
    data = formats.encode_canonical(signed).encode('utf-8')
    sigs = [keys.create_signature(k, data) for k in ks]
    with open(os.path.join(out, name), 'w') as f:
        json.dump({'signed': signed, 'signatures': sigs}, f, indent=1)
spec = '1.0.31'
root = {'_type': 'root', 'spec_version': spec, 'version': 3, 'expires': '2031-01-01T00:00:00Z',
  'consistent_snapshot': True,
  'keys': {k['keyid']: pub(k) for k in (root_k, tg_a, tg_b, snap_k, ts_k)},
  'roles': {'root': {'keyids': [root_k['keyid']], 'threshold': 1},
            'targets': {'keyids': [tg_a['keyid'], tg_b['keyid']], 'threshold': 2},
            'snapshot': {'keyids': [snap_k['keyid']], 'threshold': 1},
            'timestamp': {'keyids': [ts_k['keyid']], 'threshold': 1}}}
# Version 2 trusted an older root key; version 3 is signed by it too, as rotation requires.
old_k = keys.generate_ed25519_key()
root2 = dict(root, version=2, keys=dict(root['keys'], **{old_k['keyid']: pub(old_k)}),
  roles=dict(root['roles'], root={'keyids': [old_k['keyid']], 'threshold': 1}))
sign(root2, [old_k], '2.root.json')
sign(root, [root_k, old_k], 'root.json')
# A rotation that skipped the old key: v3 signed by the new root key alone.
os.mkdir(os.path.join(out, 'rogue'))
sign(root2, [old_k], 'rogue/2.root.json')
sign(root, [root_k], 'rogue/3.root.json')
targets = {'_type': 'targets', 'spec_version': spec, 'version': 7, 'expires': '2030-06-01T12:00:00Z',
  'targets': {'firmware.bin': {'length': 1024, 'hashes': {'sha256': 'ab' * 32},
      'custom': {'ecu_identifier': 'ecu-1', 'hardwareId': 'hw-a'}}},
  'delegations': {'keys': {del_k['keyid']: pub(del_k)},
      'roles': [{'name': 'unclaimed', 'keyids': [del_k['keyid']], 'threshold': 1,
                 'paths': ['unclaimed/*'], 'terminating': True}]}}
sign(targets, [tg_a, tg_b], 'targets.json')
sign({'_type': 'targets', 'spec_version': spec, 'version': 1, 'expires': '2030-01-01T00:00:00Z',
      'targets': {}}, [del_k], 'unclaimed.json')
sign({'_type': 'snapshot', 'spec_version': spec, 'version': 7, 'expires': '2030-01-01T00:00:00Z',
      'meta': {'targets.json': {'version': 7}}}, [snap_k], 'snapshot.json')
sign({'_type': 'timestamp', 'spec_version': spec, 'version': 9, 'expires': '2020-01-01T00:00:00Z',
      'meta': {'snapshot.json': {'version': 7}}}, [ts_k], 'timestamp.json')
with open(os.path.join(out, 'targets-signer.pub.pem'), 'w') as f:
    f.write(tg_a['keyval']['public'])
odd = {'b': [1, 'x"y\\z', None, True, -5], 'a': {'z': 0, '\u00e9': '\u00fc\n'}, '': []}
with open(os.path.join(out, 'expect.json'), 'w') as f:
    json.dump({'canonical': formats.encode_canonical(odd), 'object': odd,
               'keyids': {k['keyid']: pub(k) for k in (root_k, tg_a, tg_b)}}, f)
`;

/**
 * needTools for the system python plus the securesystemslib import: skips (fails in CI) when
 * either is missing, naming the Debian package.
 */
export function needSecuresystemslib(t: TestContext): boolean {
  return needTools(t, SYSTEM_PYTHON, SECURESYSTEMSLIB);
}

/** The requirement name toolsMissing/needTools know for the python module. */
export const SECURESYSTEMSLIB = 'securesystemslib (python module)';

/** Write the repository described above into `dir` (root.json, targets.json, ...). */
export function tufRepository(dir: string): void {
  const script = join(dir, 'make-tuf.py');
  writeFileSync(script, SCRIPT);
  execFileSync(SYSTEM_PYTHON, [script, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}
