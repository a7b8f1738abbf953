/**
 * ROCA (CVE-2017-15361): RSA keys from Infineon's RSALib have primes of the form
 * k * M + (65537^a mod M), M a primorial, so their modulus modulo each small prime r lies in the
 * subgroup 65537 generates mod r. A random modulus does so for all these primes with negligible
 * probability; a vulnerable one always does (Nemec et al., CCS 2017, and their detector's prime list).
 */
const PRIMES = [
  3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107,
  109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

let groups: { r: bigint; members: Set<number> }[] | undefined;

function subgroups(): { r: bigint; members: Set<number> }[] {
  groups ??= PRIMES.map((r) => {
    const members = new Set<number>();
    const g = 65537 % r;
    for (let x = 1; !members.has(x); x = (x * g) % r) members.add(x);
    return { r: BigInt(r), members };
  });
  return groups;
}

/** True when the modulus has the ROCA fingerprint. */
export function rocaFingerprint(n: bigint): boolean {
  for (const { r, members } of subgroups()) if (!members.has(Number(n % r))) return false;
  return true;
}
