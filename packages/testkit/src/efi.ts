// A minimal EFI application that sbsign and osslsigncode accept: DOS header, PE signature, COFF
// header, optional header with 16 data directories, .text ("xor eax, eax; ret": return EFI_SUCCESS)
// and .data, file alignment 0x200. `overlay` appends that many bytes after the last section.

export const EFI_FILE_ALIGN = 0x200;
const SECTION_ALIGN = 0x1000;
/** Where the builder puts the PE header (e_lfanew). */
export const EFI_LFANEW = 0x80;

export function buildEfi(opts: { is64: boolean; overlay?: number }): Buffer {
  const { is64, overlay = 0 } = opts;
  const optSize = is64 ? 112 + 16 * 8 : 96 + 16 * 8;
  const sections: [string, number, number[]][] = [
    ['.text', 0x60000020, [0x31, 0xc0, 0xc3]], // code | execute | read
    ['.data', 0xc0000040, [...Buffer.from('keywarden test data')]], // initialised | read | write
  ];
  const headersEnd = EFI_LFANEW + 24 + optSize + sections.length * 40;
  const sizeOfHeaders = Math.ceil(headersEnd / EFI_FILE_ALIGN) * EFI_FILE_ALIGN;
  const b = Buffer.alloc(sizeOfHeaders + sections.length * EFI_FILE_ALIGN + overlay);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(EFI_LFANEW, 0x3c);
  b.write('PE\0\0', EFI_LFANEW, 'latin1');
  const coff = EFI_LFANEW + 4;
  b.writeUInt16LE(is64 ? 0x8664 : 0x014c, coff);
  b.writeUInt16LE(sections.length, coff + 2);
  b.writeUInt16LE(optSize, coff + 16);
  b.writeUInt16LE(is64 ? 0x0022 : 0x0102, coff + 18); // executable, large-address-aware / 32-bit
  const opt = coff + 20;
  b.writeUInt16LE(is64 ? 0x20b : 0x10b, opt);
  b.writeUInt32LE(EFI_FILE_ALIGN, opt + 4); // SizeOfCode
  b.writeUInt32LE(EFI_FILE_ALIGN, opt + 8); // SizeOfInitializedData
  b.writeUInt32LE(SECTION_ALIGN, opt + 16); // AddressOfEntryPoint
  b.writeUInt32LE(SECTION_ALIGN, opt + 20); // BaseOfCode
  if (is64) b.writeBigUInt64LE(0x10000000n, opt + 24);
  else {
    b.writeUInt32LE(2 * SECTION_ALIGN, opt + 24); // BaseOfData
    b.writeUInt32LE(0x10000000, opt + 28);
  }
  b.writeUInt32LE(SECTION_ALIGN, opt + 32);
  b.writeUInt32LE(EFI_FILE_ALIGN, opt + 36);
  b.writeUInt32LE((sections.length + 1) * SECTION_ALIGN, opt + 56); // SizeOfImage
  b.writeUInt32LE(sizeOfHeaders, opt + 60);
  b.writeUInt16LE(10, opt + 68); // EFI_APPLICATION
  b.writeUInt32LE(16, opt + (is64 ? 108 : 92));
  sections.forEach(([name, flags, bytes], i) => {
    const h = opt + optSize + i * 40;
    b.write(name, h, 'latin1');
    b.writeUInt32LE(EFI_FILE_ALIGN, h + 8);
    b.writeUInt32LE((i + 1) * SECTION_ALIGN, h + 12);
    b.writeUInt32LE(EFI_FILE_ALIGN, h + 16);
    b.writeUInt32LE(sizeOfHeaders + i * EFI_FILE_ALIGN, h + 20);
    b.writeUInt32LE(flags, h + 36);
    Buffer.from(bytes).copy(b, sizeOfHeaders + i * EFI_FILE_ALIGN);
  });
  for (let i = 0; i < overlay; i++) b[b.length - overlay + i] = (i * 7 + 1) & 0xff;
  return b;
}
