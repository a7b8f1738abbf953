"""Peer benchmark for bench/parse.ts: parse a PEM bundle with pyca/cryptography and read every field.

Usage: /usr/bin/python3 bench/parse_cryptography.py BUNDLE [PASSES]

Prints one JSON object: certs per second as the median of PASSES timed passes after one warm-up.
Exits 3 with {"error": ...} when the cryptography module is missing.
"""

import json
import statistics
import sys
import time

try:
    import cryptography
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
except ImportError:
    print(json.dumps({"error": "python3-cryptography not installed (apt-get install python3-cryptography)"}))
    sys.exit(3)

END = b"-----END CERTIFICATE-----"
BEGIN = b"-----BEGIN CERTIFICATE-----"

if hasattr(x509, "load_pem_x509_certificates"):  # cryptography >= 39

    def load_all(data):
        return x509.load_pem_x509_certificates(data)

    LOADER = "load_pem_x509_certificates"
else:  # older releases (Debian bookworm ships 38): split the bundle, then load each block

    def load_all(data):
        out = []
        pos = 0
        while True:
            b = data.find(BEGIN, pos)
            if b < 0:
                return out
            e = data.find(END, b)
            if e < 0:
                return out
            pos = e + len(END)
            out.append(x509.load_pem_x509_certificate(data[b:pos]))

    LOADER = "load_pem_x509_certificate per block"

SHA256 = hashes.SHA256()
SHA1 = hashes.SHA1()
HAS_UTC = hasattr(x509.Certificate, "not_valid_before_utc")


def touch(cert):
    """Read what bench/parse.ts reads from our parser, so every engine does comparable work."""
    acc = len(cert.subject.rfc4514_string()) + len(cert.issuer.rfc4514_string())
    acc += cert.serial_number & 0xFF
    if HAS_UTC:
        acc += cert.not_valid_before_utc.year + cert.not_valid_after_utc.year
    else:
        acc += cert.not_valid_before.year + cert.not_valid_after.year
    acc += len(cert.fingerprint(SHA256)) + len(cert.fingerprint(SHA1))
    key = cert.public_key()
    if isinstance(key, (rsa.RSAPublicKey, dsa.DSAPublicKey)):
        acc += key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        acc += key.key_size + len(key.curve.name)
    elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        acc += 1
    acc += len(cert.signature_algorithm_oid.dotted_string)
    for ext in cert.extensions:
        value = ext.value
        acc += len(ext.oid.dotted_string) + (1 if ext.critical else 0)
        try:
            for item in value:  # SAN, EKU, CRL DP, AIA, ... are sequences of entries
                acc += 1 if item is not None else 0
        except TypeError:
            acc += 1  # scalar values: KeyUsage, BasicConstraints, key identifiers
    return acc


def one_pass(data):
    acc = 0
    certs = load_all(data)
    for c in certs:
        acc += touch(c)
    return len(certs), acc


def main():
    if len(sys.argv) < 2:
        print("usage: parse_cryptography.py BUNDLE [PASSES]", file=sys.stderr)
        sys.exit(2)
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    n, _ = one_pass(data)  # warm-up
    times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        count, _ = one_pass(data)
        times.append(time.perf_counter() - t0)
        if count != n:
            raise SystemExit(f"pass parsed {count} certificates, warm-up {n}")
    median = statistics.median(times)
    print(
        json.dumps(
            {
                "engine": f"python3-cryptography {cryptography.__version__}",
                "python": sys.version.split()[0],
                "loader": LOADER,
                "certs": n,
                "passes_s": times,
                "median_s": median,
                "certs_per_s": n / median,
            }
        )
    )


if __name__ == "__main__":
    main()
