/**
 * RFC 7512 PKCS#11 URIs: where an HSM object lives, in the form OpenSSL engines, p11-kit and most
 * signing tools accept. Used as the occurrence location of HSM keys, never as their identity.
 */

// RFC 7512 section 2.3: unreserved characters and a few sub-delims stay literal, the rest is %XX.
function pct(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~:[\]@!$'()*+,=&]/.test(c)
      ? c
      : `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

export interface UriParts {
  readonly token?: string;
  readonly serial?: string;
  readonly model?: string;
  readonly manufacturer?: string;
  readonly object?: string;
  readonly id?: Uint8Array;
  readonly type?: 'cert' | 'data' | 'private' | 'public' | 'secret-key';
}

export function pkcs11Uri(p: UriParts): string {
  const attrs: string[] = [];
  if (p.model !== undefined) attrs.push(`model=${pct(p.model)}`);
  if (p.manufacturer !== undefined) attrs.push(`manufacturer=${pct(p.manufacturer)}`);
  if (p.serial !== undefined) attrs.push(`serial=${pct(p.serial)}`);
  if (p.token !== undefined) attrs.push(`token=${pct(p.token)}`);
  if (p.id !== undefined && p.id.length > 0)
    attrs.push(`id=${[...p.id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`);
  if (p.object !== undefined) attrs.push(`object=${pct(p.object)}`);
  if (p.type !== undefined) attrs.push(`type=${p.type}`);
  return `pkcs11:${attrs.join(';')}`;
}

const URI_TYPES: Record<number, UriParts['type']> = {
  0: 'data',
  1: 'cert',
  2: 'public',
  3: 'private',
  4: 'secret-key',
};

export function uriType(cls: number): UriParts['type'] {
  return URI_TYPES[cls];
}
