/** Where in the estate a file probably belongs, guessed from the words in its path. */
export type Layer = 'silicon' | 'firmware' | 'device' | 'cloud' | 'enterprise' | 'unknown';

const WORDS: [Layer, RegExp][] = [
  [
    'silicon',
    /^(silicon|rot|root-?of-?trust|otp|fuses?|efuse|tpm|se|secure-?element|idevid|soc|bootrom|hsm)$/,
  ],
  [
    'firmware',
    /^(firmware|fw|boot|u-?boot|bootloader|mcuboot|uefi|efi|kernel|modules?|fit|images?|signing|codesign(ing)?)$/,
  ],
  ['device', /^(devices?|fleet|cohorts?|vehicles?|ecus?|ldevid|provisioning|factory)$/],
  [
    'cloud',
    /^(cloud|ota|updates?|update-service|servers?|api|k8s|kubernetes|tls|backend|aws|azure|gcp|tuf|uptane)$/,
  ],
  ['enterprise', /^(enterprise|corp|ci|build|jenkins|gitlab|github|ldap|vpn|home|users|\.ssh|etc)$/],
];

/** The deepest directory name that names a layer wins: `cloud/ota/fw/` is firmware kept by the cloud. */
export function guessLayer(path: string): Layer {
  const parts = path.toLowerCase().split(/[\\/]/);
  parts.pop();
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!;
    for (const [layer, re] of WORDS) if (re.test(p)) return layer;
  }
  return 'unknown';
}
