// The type of an image from its first bytes (magic numbers); response headers are never trusted.
const SIGNATURES: Array<{ mime: string; test: (b: Buffer) => boolean }> = [
  { mime: 'image/jpeg', test: (b) => b.length > 2 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/png', test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: 'image/gif', test: (b) => /^GIF8[79]a/.test(b.subarray(0, 6).toString('latin1')) },
  { mime: 'image/webp', test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { mime: 'image/bmp', test: (b) => b.subarray(0, 2).toString('latin1') === 'BM' && b.length > 26 },
  { mime: 'image/tiff', test: (b) => ['II*\x00', 'MM\x00*'].includes(b.subarray(0, 4).toString('latin1')) },
  { mime: 'image/x-icon', test: (b) => b.length > 4 && b.readUInt32BE(0) === 0x00000100 },
  {
    mime: 'image/avif',
    test: (b) => b.subarray(4, 8).toString('latin1') === 'ftyp' && /^(avif|avis)/.test(b.subarray(8, 12).toString('latin1')),
  },
  {
    mime: 'image/heic',
    test: (b) => b.subarray(4, 8).toString('latin1') === 'ftyp' && /^(heic|heix|mif1|msf1)/.test(b.subarray(8, 12).toString('latin1')),
  },
];

/** The sniffed image MIME type, or undefined when the bytes are not an image format we know. */
export function sniffImageType(bytes: Buffer): string | undefined {
  for (const { mime, test } of SIGNATURES) if (test(bytes)) return mime;
  // SVG is text: look for an <svg> root near the start, after any XML prolog or comments.
  const head = bytes.subarray(0, 1024).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]/i.test(head)) return 'image/svg+xml';
  return undefined;
}
