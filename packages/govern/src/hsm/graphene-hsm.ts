import { createHash, randomBytes } from 'node:crypto';
import graphene from 'graphene-pk11';
import { GovernError } from '../error.ts';
import { ecdsaRawToDer } from './ecdsa-signature.ts';
import type {
  GenerateOptions,
  HashName,
  Hsm,
  HsmObjectAttributes,
  HsmOpenOptions,
  HsmSlot,
  HsmToken,
  HsmVersion,
  KeyPairSpec,
  KeyRef,
  KeyUsageName,
  SignMechanism,
} from './hsm.ts';
import { resolvePin } from './pin.ts';
import {
  CKA,
  CKC_X_509,
  CKG_MGF1,
  CKK,
  CKM,
  CKO,
  flagNames,
  SLOT_FLAGS,
  TOKEN_FLAGS,
} from './pkcs11-constants.ts';
import { ecdsaHalfLength } from './spki.ts';

type Module = graphene.Module;
type Slot = graphene.Slot;
type Session = graphene.Session;
type SessionObject = graphene.SessionObject;

const MAX_OBJECTS = 10_000;
const MAX_ATTRIBUTE = 64 * 1024;
const MAX_SIGN_DATA = 256 * 1024 * 1024;
const CHUNK = 64 * 1024;

const USAGE_ATTRIBUTES: ReadonlyArray<readonly [KeyUsageName, number]> = [
  ['encrypt', CKA.ENCRYPT],
  ['decrypt', CKA.DECRYPT],
  ['wrap', CKA.WRAP],
  ['unwrap', CKA.UNWRAP],
  ['sign', CKA.SIGN],
  ['sign-recover', CKA.SIGN_RECOVER],
  ['verify', CKA.VERIFY],
  ['verify-recover', CKA.VERIFY_RECOVER],
  ['derive', CKA.DERIVE],
];

const HASH_MECHANISMS: Record<HashName, { pkcs1: number; pss: number; digest: number; bytes: number }> = {
  sha256: { pkcs1: CKM.SHA256_RSA_PKCS, pss: CKM.SHA256_RSA_PKCS_PSS, digest: CKM.SHA256, bytes: 32 },
  sha384: { pkcs1: CKM.SHA384_RSA_PKCS, pss: CKM.SHA384_RSA_PKCS_PSS, digest: CKM.SHA384, bytes: 48 },
  sha512: { pkcs1: CKM.SHA512_RSA_PKCS, pss: CKM.SHA512_RSA_PKCS_PSS, digest: CKM.SHA512, bytes: 64 },
};

const EC_CURVE_OIDS: Record<string, string> = {
  'P-256': '06082a8648ce3d030107',
  'P-384': '06052b81040022',
  'P-521': '06052b81040023',
};
const ED25519_OID = '06032b6570';

/**
 * The CKR_ name of a PKCS#11 failure. Only that is kept: binding messages carry native stacks, and a
 * message is no place to risk echoing what was passed in (a PIN).
 */
function ckr(e: unknown): string {
  const m = /CKR_[A-Z0-9_]+/.exec(String((e as { message?: unknown })?.message ?? ''));
  return m ? m[0] : 'an error of the PKCS#11 library';
}

function version(v: { major: number; minor: number } | undefined): HsmVersion {
  return { major: v?.major ?? 0, minor: v?.minor ?? 0 };
}

function slotId(s: Slot): number {
  const h = s.handle;
  return h.length >= 8 ? Number(h.readBigUInt64LE(0)) : h.readUInt32LE(0);
}

function hexId(id: string, what: string): Buffer {
  if (!/^([0-9a-fA-F]{2}){1,128}$/.test(id))
    throw new GovernError('BAD_ARGUMENT', `${what} "${id}" is not an even number of hex digits`);
  return Buffer.from(id, 'hex');
}

function tokenOf(s: Slot): HsmToken {
  const t = s.getToken();
  return {
    slotId: slotId(s),
    label: t.label.trim(),
    manufacturer: t.manufacturerID.trim(),
    model: t.model.trim(),
    serial: t.serialNumber.trim(),
    flags: flagNames(t.flags, TOKEN_FLAGS),
    hardwareVersion: version(t.hardwareVersion),
    firmwareVersion: version(t.firmwareVersion),
  };
}

/** Modules loaded in this process, shared: C_Initialize and C_Finalize are per library, not per caller. */
const loaded = new Map<string, { module: Module; users: number }>();
/** Adapters logged in per module and slot, for the same reason: login state is shared. */
const logins = new Map<string, number>();

/** The Hsm adapter over graphene-pk11. One instance holds at most one session on one token. */
export class GrapheneHsm implements Hsm {
  #path?: string;
  #module?: Module;
  #slot?: Slot;
  #session?: Session;
  #loggedIn = false;
  #loginKey?: string;

  async open(modulePath: string, opts: HsmOpenOptions = {}): Promise<void> {
    if (this.#module) throw new GovernError('BAD_ARGUMENT', 'this HSM adapter is already open');
    // The PIN is resolved before the module loads, so a missing variable fails without touching the token.
    const pin = opts.pin ? await resolvePin(opts.pin) : undefined;
    this.#module = acquire(modulePath);
    this.#path = modulePath;
    try {
      this.#slot = this.#select(opts);
      const label = tokenOf(this.#slot).label;
      const flags =
        graphene.SessionFlag.SERIAL_SESSION | (opts.readWrite ? graphene.SessionFlag.RW_SESSION : 0);
      try {
        this.#session = this.#slot.open(flags);
      } catch (e) {
        throw new GovernError('HSM_UNAVAILABLE', `cannot open a session on token "${label}": ${ckr(e)}`);
      }
      if (pin !== undefined) {
        const key = `${modulePath}#${slotId(this.#slot)}`;
        try {
          this.#session.login(pin, graphene.UserType.USER);
        } catch (e) {
          const code = ckr(e);
          // PKCS#11 login is per process and token: another adapter here already logged in. The PIN
          // is then not checked again; that is the standard's semantics, not something we can change.
          if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
            const why =
              code === 'CKR_PIN_INCORRECT'
                ? ' (wrong PIN)'
                : code === 'CKR_PIN_LOCKED'
                  ? ' (PIN locked)'
                  : '';
            throw new GovernError('HSM_UNAVAILABLE', `login to token "${label}" failed: ${code}${why}`);
          }
        }
        logins.set(key, (logins.get(key) ?? 0) + 1);
        this.#loginKey = key;
        this.#loggedIn = true;
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #select(opts: HsmOpenOptions): Slot {
    const present = this.#slots(true);
    const named = present.filter((s) => {
      if (opts.slot !== undefined && slotId(s) !== opts.slot) return false;
      if (opts.tokenLabel !== undefined && tokenOf(s).label !== opts.tokenLabel) return false;
      return (
        opts.slot !== undefined ||
        opts.tokenLabel !== undefined ||
        tokenOf(s).flags.includes('token-initialized')
      );
    });
    const [only, second] = named;
    if (only && !second) return only;
    const labels = present.map((s) => `"${tokenOf(s).label}" (slot ${slotId(s)})`).join(', ') || 'none';
    const wanted =
      opts.tokenLabel !== undefined
        ? `token "${opts.tokenLabel}"`
        : opts.slot !== undefined
          ? `slot ${opts.slot}`
          : 'one initialised token';
    throw new GovernError(
      only ? 'BAD_ARGUMENT' : 'HSM_UNAVAILABLE',
      `${only ? 'more than ' : 'no '}${wanted} in ${this.#path}; tokens present: ${labels}`,
    );
  }

  #slots(tokenPresent: boolean): Slot[] {
    const m = this.#need();
    const out: Slot[] = [];
    try {
      const c = m.getSlots(tokenPresent);
      for (let i = 0; i < c.length && i < 1024; i++) out.push(c.items(i));
    } catch (e) {
      throw new GovernError('HSM_UNAVAILABLE', `cannot list the slots of ${this.#path}: ${ckr(e)}`);
    }
    return out;
  }

  #need(): Module {
    if (!this.#module) throw new GovernError('BAD_ARGUMENT', 'the HSM adapter is not open');
    return this.#module;
  }

  #sessionOrThrow(): Session {
    if (!this.#session) throw new GovernError('BAD_ARGUMENT', 'the HSM adapter is not open');
    return this.#session;
  }

  slots(): HsmSlot[] {
    return this.#slots(false).map((s) => ({
      id: slotId(s),
      description: s.slotDescription.trim(),
      manufacturer: s.manufacturerID.trim(),
      flags: flagNames(s.flags, SLOT_FLAGS),
      hardwareVersion: version(s.hardwareVersion),
      firmwareVersion: version(s.firmwareVersion),
      tokenPresent: (s.flags & graphene.SlotFlag.TOKEN_PRESENT) !== 0,
    }));
  }

  tokens(): HsmToken[] {
    return this.#slots(true).map(tokenOf);
  }

  token(): HsmToken {
    if (!this.#slot) throw new GovernError('BAD_ARGUMENT', 'the HSM adapter is not open');
    return tokenOf(this.#slot);
  }

  objects(): HsmObjectAttributes[] {
    const session = this.#sessionOrThrow();
    let found;
    try {
      found = session.find();
    } catch (e) {
      throw new GovernError('HSM_OPERATION', `cannot list objects on "${this.token().label}": ${ckr(e)}`);
    }
    if (found.length > MAX_OBJECTS)
      throw new GovernError(
        'HSM_OPERATION',
        `token "${this.token().label}" holds over ${MAX_OBJECTS} objects`,
      );
    const out: HsmObjectAttributes[] = [];
    for (let i = 0; i < found.length; i++) out.push(readAttributes(found.items(i)));
    return out;
  }

  async sign(ref: KeyRef, mechanism: SignMechanism, data: Uint8Array): Promise<Uint8Array> {
    const session = this.#sessionOrThrow();
    if (data.length > MAX_SIGN_DATA)
      throw new GovernError('BAD_ARGUMENT', `${data.length} bytes to sign is over ${MAX_SIGN_DATA}`);
    const key = this.#privateKey(session, ref);
    const keyType = readUlong(key, CKA.KEY_TYPE);
    const what = describeRef(ref);
    const expected =
      mechanism.kind === 'ecdsa' ? CKK.EC : mechanism.kind === 'eddsa' ? CKK.EC_EDWARDS : CKK.RSA;
    if (keyType !== expected)
      throw new GovernError(
        'BAD_ARGUMENT',
        `${mechanism.kind} needs a different key type than key ${what} has`,
      );
    try {
      const k = key.toType<graphene.Key>();
      switch (mechanism.kind) {
        case 'ecdsa': {
          const digest = createHash(mechanism.hash).update(data).digest();
          const raw = session.createSign({ name: CKM.ECDSA, params: null }, k).once(digest);
          if (raw.length !== 2 * ecdsaHalfLength(readBuffer(key, CKA.EC_PARAMS)))
            throw new GovernError('HSM_OPERATION', `the token returned a ${raw.length}-byte ECDSA signature`);
          return mechanism.format === 'der' ? ecdsaRawToDer(raw) : raw;
        }
        case 'rsa-pkcs1':
          return streamed(
            session.createSign({ name: HASH_MECHANISMS[mechanism.hash].pkcs1, params: null }, k),
            data,
          );
        case 'rsa-pss': {
          const h = HASH_MECHANISMS[mechanism.hash];
          const params = new graphene.RsaPssParams(
            h.digest as graphene.MechanismEnum,
            CKG_MGF1[mechanism.hash] as graphene.RsaMgf,
            mechanism.saltLength ?? h.bytes,
          );
          return streamed(session.createSign({ name: h.pss, params }, k), data);
        }
        case 'eddsa':
          return session.createSign({ name: CKM.EDDSA, params: null }, k).once(Buffer.from(data));
      }
    } catch (e) {
      if (e instanceof GovernError) throw e;
      throw new GovernError('HSM_OPERATION', `${mechanism.kind} signing with key ${what} failed: ${ckr(e)}`);
    }
  }

  #privateKey(session: Session, ref: KeyRef): SessionObject {
    if (ref.id === undefined && ref.label === undefined)
      throw new GovernError('BAD_ARGUMENT', 'a key reference needs a CKA_ID or a label');
    const template: graphene.ITemplate = { class: graphene.ObjectClass.PRIVATE_KEY };
    if (ref.id !== undefined) template.id = hexId(ref.id, 'CKA_ID');
    if (ref.label !== undefined) template.label = ref.label;
    let found;
    try {
      found = session.find(template);
    } catch (e) {
      throw new GovernError('HSM_OPERATION', `cannot look up key ${describeRef(ref)}: ${ckr(e)}`);
    }
    if (found.length === 1) return found.items(0);
    const hint = this.#loggedIn ? '' : ' (the session is not logged in: private keys are hidden)';
    throw new GovernError(
      'BAD_ARGUMENT',
      `${found.length === 0 ? 'no' : found.length} private keys match ${describeRef(ref)} on "${this.token().label}"${hint}`,
    );
  }

  async generateKeyPair(
    spec: KeyPairSpec,
    opts: GenerateOptions,
  ): Promise<{ privateKey: HsmObjectAttributes; publicKey: HsmObjectAttributes }> {
    const session = this.#sessionOrThrow();
    if ((session.flags & graphene.SessionFlag.RW_SESSION) === 0)
      throw new GovernError(
        'BAD_ARGUMENT',
        'generating a key needs a read-write session (open with readWrite)',
      );
    if (!this.#loggedIn) throw new GovernError('BAD_ARGUMENT', 'generating a key needs a logged-in session');
    const id = opts.id !== undefined ? hexId(opts.id, 'CKA_ID') : randomBytes(16);
    const common = { token: true, label: opts.label, id };
    const pub: graphene.ITemplate = { ...common, private: false, verify: true, encrypt: false, wrap: false };
    const priv: graphene.ITemplate = {
      ...common,
      private: true,
      sensitive: true,
      extractable: false,
      sign: true,
      decrypt: false,
      unwrap: false,
      derive: false,
    };
    let mech: number;
    if (spec.kind === 'rsa') {
      mech = CKM.RSA_PKCS_KEY_PAIR_GEN;
      pub.modulusBits = spec.bits;
      pub.publicExponent = Buffer.from([1, 0, 1]);
    } else if (spec.kind === 'ec') {
      mech = CKM.EC_KEY_PAIR_GEN;
      pub.paramsEC = Buffer.from(EC_CURVE_OIDS[spec.curve]!, 'hex');
    } else {
      mech = CKM.EC_EDWARDS_KEY_PAIR_GEN;
      pub.paramsEC = Buffer.from(ED25519_OID, 'hex');
    }
    try {
      const pair = session.generateKeyPair({ name: mech, params: null }, pub, priv);
      return { privateKey: readAttributes(pair.privateKey), publicKey: readAttributes(pair.publicKey) };
    } catch (e) {
      throw new GovernError(
        'HSM_OPERATION',
        `generating a ${spec.kind} key pair on "${this.token().label}" failed: ${ckr(e)}`,
      );
    }
  }

  close(): void {
    // Logging out ends the login of every session of this process on the token: only the last goes.
    if (this.#loginKey !== undefined) {
      const left = (logins.get(this.#loginKey) ?? 1) - 1;
      if (left > 0) logins.set(this.#loginKey, left);
      else {
        logins.delete(this.#loginKey);
        try {
          this.#session?.logout();
        } catch {
          // A session the token already dropped cannot be logged out; closing it is what matters.
        }
      }
    }
    try {
      this.#session?.close();
    } catch {
      // Same: the module is released below either way.
    }
    if (this.#path && this.#module) release(this.#path);
    this.#session = undefined;
    this.#slot = undefined;
    this.#module = undefined;
    this.#loggedIn = false;
    this.#loginKey = undefined;
  }
}

function describeRef(ref: KeyRef): string {
  return [ref.id !== undefined && `id=${ref.id}`, ref.label !== undefined && `label="${ref.label}"`]
    .filter(Boolean)
    .join(' ');
}

function streamed(s: graphene.Sign, data: Uint8Array): Buffer {
  for (let i = 0; i < data.length; i += CHUNK) s.update(Buffer.from(data.subarray(i, i + CHUNK)));
  return s.final();
}

function acquire(path: string): Module {
  const have = loaded.get(path);
  if (have) {
    have.users++;
    return have.module;
  }
  let module: Module;
  try {
    module = graphene.Module.load(path);
    module.initialize();
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    // dlopen's reason (no such file, wrong ELF class) is useful and holds no secret; keep its first line.
    const reason = /CKR_/.test(m) ? ckr(e) : (m.split('\n')[0] ?? 'load failed').slice(0, 300);
    throw new GovernError('HSM_UNAVAILABLE', `cannot load PKCS#11 module ${path}: ${reason}`);
  }
  loaded.set(path, { module, users: 1 });
  return module;
}

function release(path: string): void {
  const have = loaded.get(path);
  if (!have) return;
  if (--have.users > 0) return;
  loaded.delete(path);
  try {
    have.module.finalize();
  } catch {
    // Finalising a library that failed mid-session must not hide the error that got us here.
  }
}

/** One attribute's bytes, or undefined when the token lacks it, refuses it, or it is oversized. */
function readBuffer(o: SessionObject, type: number): Buffer | undefined {
  try {
    const b = o.getAttribute(type);
    return Buffer.isBuffer(b) && b.length <= MAX_ATTRIBUTE ? b : undefined;
  } catch {
    return undefined;
  }
}

function readBool(o: SessionObject, type: number): boolean | undefined {
  const b = readBuffer(o, type);
  return b && b.length === 1 ? b[0] !== 0 : undefined;
}

function readUlong(o: SessionObject, type: number): number | undefined {
  const b = readBuffer(o, type);
  if (!b) return undefined;
  if (b.length === 8) return Number(b.readBigUInt64LE(0));
  if (b.length === 4) return b.readUInt32LE(0);
  return undefined;
}

/**
 * Every attribute the inventory needs. Secret values are never asked for: CKA_VALUE is read only on
 * certificate objects, and no private-key component attribute is named here at all.
 */
export function readAttributes(o: SessionObject): HsmObjectAttributes {
  const cls = readUlong(o, CKA.CLASS) ?? -1;
  const isKey = cls === CKO.PUBLIC_KEY || cls === CKO.PRIVATE_KEY || cls === 4;
  const usage: Partial<Record<KeyUsageName, boolean>> = {};
  if (isKey)
    for (const [name, type] of USAGE_ATTRIBUTES) {
      const v = readBool(o, type);
      if (v !== undefined) usage[name] = v;
    }
  const label = readBuffer(o, CKA.LABEL);
  const fields: Record<string, unknown> = {
    handle: o.handle.toString('hex'),
    class: cls,
    keyType: isKey ? readUlong(o, CKA.KEY_TYPE) : undefined,
    label: label?.toString('utf8'),
    id: readBuffer(o, CKA.ID),
    token: readBool(o, CKA.TOKEN),
    private: readBool(o, CKA.PRIVATE),
    modifiable: readBool(o, CKA.MODIFIABLE),
    usage,
  };
  if (isKey) {
    Object.assign(fields, {
      sensitive: readBool(o, CKA.SENSITIVE),
      extractable: readBool(o, CKA.EXTRACTABLE),
      neverExtractable: readBool(o, CKA.NEVER_EXTRACTABLE),
      alwaysSensitive: readBool(o, CKA.ALWAYS_SENSITIVE),
      local: readBool(o, CKA.LOCAL),
      valueLength: cls === 4 ? readUlong(o, CKA.VALUE_LEN) : undefined,
    });
  }
  if (cls === CKO.PUBLIC_KEY || cls === CKO.PRIVATE_KEY)
    Object.assign(fields, {
      modulus: readBuffer(o, CKA.MODULUS),
      publicExponent: readBuffer(o, CKA.PUBLIC_EXPONENT),
      ecParams: readBuffer(o, CKA.EC_PARAMS),
      ecPoint: cls === CKO.PUBLIC_KEY ? readBuffer(o, CKA.EC_POINT) : undefined,
      publicKeyInfo: readBuffer(o, CKA.PUBLIC_KEY_INFO),
    });
  if (cls === CKO.CERTIFICATE) {
    const certificateType = readUlong(o, CKA.CERTIFICATE_TYPE);
    fields.certificateType = certificateType;
    if (certificateType === CKC_X_509) fields.certificate = readBuffer(o, CKA.VALUE);
  }
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k];
  return fields as unknown as HsmObjectAttributes;
}
