import { deflateSync } from 'node:zlib';

/**
 * Hibiki's app icon, drawn in code so the install needs no image files: a dot and three
 * arcs of sound spreading out (響, "resound"), white on the emergency red. The drawing
 * stays inside the middle 80 % circle, so the same square works as a maskable icon (the
 * phone cuts it to a circle or a rounded square). PNG for phones (iOS needs PNG for the
 * home screen), SVG for browsers that take it.
 */

export const ICON_RED = '#b00020';
const RED: [number, number, number] = [0xb0, 0x00, 0x20];

/** The drawing on a 512 × 512 canvas. */
const DOT = { x: 176, y: 256, r: 40 };
const ARC_RADII = [100, 170, 240];
const ARC_WIDTH = 28;
const ARC_HALF_ANGLE = (40 * Math.PI) / 180;

export function pushIconSvg(): string {
  const arcs = ARC_RADII.map((r) => {
    const dx = (r * Math.cos(ARC_HALF_ANGLE)).toFixed(1);
    const dy = (r * Math.sin(ARC_HALF_ANGLE)).toFixed(1);
    const x = (DOT.x + Number(dx)).toFixed(1);
    return `<path d="M ${x} ${(DOT.y - Number(dy)).toFixed(1)} A ${r} ${r} 0 0 1 ${x} ${(DOT.y + Number(dy)).toFixed(1)}"/>`;
  }).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" role="img" aria-label="響 Hibiki">` +
    `<rect width="512" height="512" fill="${ICON_RED}"/>` +
    `<circle cx="${DOT.x}" cy="${DOT.y}" r="${DOT.r}" fill="#fff"/>` +
    `<g fill="none" stroke="#fff" stroke-width="${ARC_WIDTH}" stroke-linecap="round">${arcs}</g></svg>`
  );
}

/**
 * Signed distance from (x, y) on the 512 canvas to the white drawing: negative inside.
 * One evaluation per pixel gives smooth edges (coverage from the distance), where
 * supersampling took seconds for the 512 px icon.
 */
function distance(x: number, y: number): number {
  const dx = x - DOT.x;
  const dy = y - DOT.y;
  const d = Math.hypot(dx, dy);
  let best = d - DOT.r;
  const angle = Math.atan2(dy, dx);
  for (const r of ARC_RADII) {
    let toCurve: number;
    if (Math.abs(angle) <= ARC_HALF_ANGLE) toCurve = Math.abs(d - r);
    else {
      // Past the end of the arc: the nearest point is its end (a round cap).
      const ex = DOT.x + r * Math.cos(ARC_HALF_ANGLE);
      const ey = DOT.y + Math.sign(dy || 1) * r * Math.sin(ARC_HALF_ANGLE);
      toCurve = Math.hypot(x - ex, y - ey);
    }
    best = Math.min(best, toCurve - ARC_WIDTH / 2);
  }
  return best;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A PNG of the icon, `size` pixels square, with anti-aliased edges.
 * badge: the white drawing alone on transparency, for Android's status bar (which shows
 * only the alpha channel); otherwise white on red.
 */
export function pushIconPng(size: number, badge = false): Buffer {
  const channels = 4;
  const rowBytes = size * channels + 1;
  const raw = Buffer.alloc(rowBytes * size);
  const scale = 512 / size;
  for (let py = 0; py < size; py++) {
    raw[py * rowBytes] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      const sd = distance((px + 0.5) * scale, (py + 0.5) * scale) / scale;
      const white = Math.min(1, Math.max(0, 0.5 - sd));
      const o = py * rowBytes + 1 + px * channels;
      if (badge) {
        raw[o] = raw[o + 1] = raw[o + 2] = 255;
        raw[o + 3] = Math.round(white * 255);
      } else {
        for (let ch = 0; ch < 3; ch++) raw[o + ch] = Math.round((RED[ch] as number) * (1 - white) + 255 * white);
        raw[o + 3] = 255;
      }
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  header[10] = 0; // compression
  header[11] = 0; // filter method
  header[12] = 0; // no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The PNG sizes served under /push/: 96 (the badge), 180 (iOS home screen), 192 and 512 (Android, install). */
export const ICON_SIZES = [180, 192, 512] as const;
export const BADGE_SIZE = 96;

/** Each icon is drawn once per process, on first request. */
export function createIconCache() {
  const cache = new Map<string, Buffer>();
  return (size: number, badge = false): Buffer => {
    const key = `${size}${badge ? 'b' : ''}`;
    let png = cache.get(key);
    if (!png) {
      png = pushIconPng(size, badge);
      cache.set(key, png);
    }
    return png;
  };
}
