/*
 * qr.js — a small QR Code encoder (ISO/IEC 18004, byte mode, error
 * correction level M, versions 1-40) so the kiosk can show the status URL as
 * a QR code without any external library (the hall has no internet and the
 * pages load nothing from elsewhere). Follows the structure of Project
 * Nayuki's reference encoder.
 *
 *   HQ_QR.encode(text) -> {size, dark(x, y)}
 *   HQ_QR.draw(canvas, text, pixelsPerModule)
 */
'use strict';

(function (global) {
    /* Level M: error-correction codewords per block and number of blocks,
     * indexed by version (index 0 unused). */
    const ECC_PER_BLOCK = [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28,
        28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28];
    const NUM_BLOCKS = [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28,
        29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49];
    const FORMAT_BITS_M = 0; /* the two-bit level field: L=1, M=0, Q=3, H=2 */

    function rawModules(ver) {
        let r = (16 * ver + 128) * ver + 64;
        if (ver >= 2) {
            const na = Math.floor(ver / 7) + 2;
            r -= (25 * na - 10) * na - 55;
            if (ver >= 7) r -= 36;
        }
        return r;
    }
    function dataCodewords(ver) {
        return Math.floor(rawModules(ver) / 8) - ECC_PER_BLOCK[ver] * NUM_BLOCKS[ver];
    }

    /* GF(2^8) with the polynomial 0x11D */
    function gfMul(x, y) {
        let z = 0;
        for (let i = 7; i >= 0; i--) {
            z = (z << 1) ^ ((z >>> 7) * 0x11d);
            z ^= ((y >>> i) & 1) * x;
        }
        return z & 0xff;
    }
    function rsDivisor(degree) {
        const r = new Array(degree).fill(0);
        r[degree - 1] = 1;
        let root = 1;
        for (let i = 0; i < degree; i++) {
            for (let j = 0; j < degree; j++) {
                r[j] = gfMul(r[j], root);
                if (j + 1 < degree) r[j] ^= r[j + 1];
            }
            root = gfMul(root, 0x02);
        }
        return r;
    }
    function rsRemainder(data, div) {
        const r = new Array(div.length).fill(0);
        for (const b of data) {
            const f = b ^ r.shift();
            r.push(0);
            for (let i = 0; i < r.length; i++) r[i] ^= gfMul(div[i], f);
        }
        return r;
    }

    function utf8(text) {
        return Array.from(new TextEncoder().encode(text));
    }

    function encode(text) {
        const bytes = utf8(text);
        let ver = 1;
        for (; ver <= 40; ver++) {
            const ccBits = ver <= 9 ? 8 : 16;
            if (4 + ccBits + bytes.length * 8 <= dataCodewords(ver) * 8) break;
        }
        if (ver > 40) throw new Error('qr: text too long');
        const cap = dataCodewords(ver) * 8;
        /* bit stream: mode 0100 (byte), count, data, terminator, padding */
        const bits = [];
        const put = (v, n) => {
            for (let i = n - 1; i >= 0; i--) bits.push((v >>> i) & 1);
        };
        put(4, 4);
        put(bytes.length, ver <= 9 ? 8 : 16);
        for (const b of bytes) put(b, 8);
        put(0, Math.min(4, cap - bits.length));
        put(0, (8 - (bits.length % 8)) % 8);
        for (let p = 0xec; bits.length < cap; p ^= 0xec ^ 0x11) put(p, 8);
        const data = [];
        for (let i = 0; i < bits.length; i += 8) {
            let v = 0;
            for (let k = 0; k < 8; k++) v = (v << 1) | bits[i + k];
            data.push(v);
        }

        /* split into blocks, add error correction, interleave */
        const nb = NUM_BLOCKS[ver], eccLen = ECC_PER_BLOCK[ver];
        const raw = Math.floor(rawModules(ver) / 8);
        const nShort = nb - (raw % nb);
        const shortLen = Math.floor(raw / nb);
        const div = rsDivisor(eccLen);
        const blocks = [];
        for (let i = 0, k = 0; i < nb; i++) {
            const dat = data.slice(k, k + shortLen - eccLen + (i < nShort ? 0 : 1));
            k += dat.length;
            const ecc = rsRemainder(dat, div);
            if (i < nShort) dat.push(0);
            blocks.push(dat.concat(ecc));
        }
        const cw = [];
        for (let i = 0; i < blocks[0].length; i++)
            for (let j = 0; j < blocks.length; j++)
                if (i !== shortLen - eccLen || j >= nShort) cw.push(blocks[j][i]);

        /* the symbol */
        const size = ver * 4 + 17;
        const mod = [], fn = [];
        for (let y = 0; y < size; y++) {
            mod.push(new Array(size).fill(false));
            fn.push(new Array(size).fill(false));
        }
        const set = (x, y, d) => {
            mod[y][x] = d;
            fn[y][x] = true;
        };
        for (let i = 0; i < size; i++) {
            set(6, i, i % 2 === 0);
            set(i, 6, i % 2 === 0);
        }
        const finder = (cx, cy) => {
            for (let dy = -4; dy <= 4; dy++)
                for (let dx = -4; dx <= 4; dx++) {
                    const d = Math.max(Math.abs(dx), Math.abs(dy));
                    const x = cx + dx, y = cy + dy;
                    if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, d !== 2 && d !== 4);
                }
        };
        finder(3, 3);
        finder(size - 4, 3);
        finder(3, size - 4);
        if (ver > 1) {
            const na = Math.floor(ver / 7) + 2;
            const step = ver === 32 ? 26 : Math.ceil((ver * 4 + 4) / (na * 2 - 2)) * 2;
            const pos = [6];
            for (let p = size - 7; pos.length < na; p -= step) pos.splice(1, 0, p);
            for (let i = 0; i < na; i++)
                for (let j = 0; j < na; j++) {
                    if ((i === 0 && j === 0) || (i === 0 && j === na - 1) || (i === na - 1 && j === 0)) continue;
                    for (let dy = -2; dy <= 2; dy++)
                        for (let dx = -2; dx <= 2; dx++)
                            set(pos[i] + dx, pos[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
                }
        }
        const drawFormat = (mask) => {
            const d = (FORMAT_BITS_M << 3) | mask;
            let rem = d;
            for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
            const b = ((d << 10) | rem) ^ 0x5412;
            const bit = (i) => ((b >>> i) & 1) !== 0;
            for (let i = 0; i <= 5; i++) set(8, i, bit(i));
            set(8, 7, bit(6));
            set(8, 8, bit(7));
            set(7, 8, bit(8));
            for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
            for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
            for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
            set(8, size - 8, true);
        };
        drawFormat(0); /* reserves the format area before the data goes in */
        if (ver >= 7) {
            let rem = ver;
            for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
            const b = (ver << 12) | rem;
            for (let i = 0; i < 18; i++) {
                const d = ((b >>> i) & 1) !== 0;
                const a = size - 11 + (i % 3), c = Math.floor(i / 3);
                set(a, c, d);
                set(c, a, d);
            }
        }
        /* codewords in the two-column zigzag from the bottom right */
        let i = 0;
        for (let right = size - 1; right >= 1; right -= 2) {
            if (right === 6) right = 5;
            for (let v = 0; v < size; v++)
                for (let j = 0; j < 2; j++) {
                    const x = right - j;
                    const up = ((right + 1) & 2) === 0;
                    const y = up ? size - 1 - v : v;
                    if (!fn[y][x] && i < cw.length * 8) {
                        mod[y][x] = ((cw[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0;
                        i++;
                    }
                }
        }

        const MASKS = [
            (x, y) => (x + y) % 2 === 0,
            (x, y) => y % 2 === 0,
            (x) => x % 3 === 0,
            (x, y) => (x + y) % 3 === 0,
            (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
            (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
            (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
            (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
        ];
        const applyMask = (m) => {
            for (let y = 0; y < size; y++)
                for (let x = 0; x < size; x++) if (!fn[y][x] && MASKS[m](x, y)) mod[y][x] = !mod[y][x];
        };
        /* Penalty rules 1, 2 and 4 (runs, 2x2 blocks, balance): enough to
         * avoid the ugly masks; any mask decodes. */
        const penalty = () => {
            let p = 0, dark = 0;
            for (let a = 0; a < size; a++) {
                let rr = 1, rc = 1;
                for (let b = 1; b < size; b++) {
                    if (mod[a][b] === mod[a][b - 1]) rr++;
                    else {
                        if (rr >= 5) p += rr - 2;
                        rr = 1;
                    }
                    if (mod[b][a] === mod[b - 1][a]) rc++;
                    else {
                        if (rc >= 5) p += rc - 2;
                        rc = 1;
                    }
                }
                if (rr >= 5) p += rr - 2;
                if (rc >= 5) p += rc - 2;
            }
            for (let y = 0; y < size; y++)
                for (let x = 0; x < size; x++) {
                    if (mod[y][x]) dark++;
                    if (x + 1 < size && y + 1 < size) {
                        const c = mod[y][x];
                        if (c === mod[y][x + 1] && c === mod[y + 1][x] && c === mod[y + 1][x + 1]) p += 3;
                    }
                }
            const total = size * size;
            p += (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
            return p;
        };
        let best = 0, bestP = Infinity;
        for (let m = 0; m < 8; m++) {
            applyMask(m);
            drawFormat(m);
            const p = penalty();
            if (p < bestP) {
                best = m;
                bestP = p;
            }
            applyMask(m); /* XOR twice: undone */
        }
        applyMask(best);
        drawFormat(best);
        return { size: size, version: ver, dark: (x, y) => mod[y][x] };
    }

    /* Draw text as a QR code on canvas with a four-module quiet zone. */
    function draw(canvas, text, ppm) {
        const q = encode(text);
        const n = q.size + 8;
        const scale = ppm || Math.max(2, Math.floor(canvas.width / n) || 6);
        canvas.width = canvas.height = n * scale;
        const g = canvas.getContext('2d');
        g.fillStyle = '#fff';
        g.fillRect(0, 0, canvas.width, canvas.height);
        g.fillStyle = '#000';
        for (let y = 0; y < q.size; y++)
            for (let x = 0; x < q.size; x++) if (q.dark(x, y)) g.fillRect((x + 4) * scale, (y + 4) * scale, scale, scale);
        return q;
    }

    global.HQ_QR = { encode: encode, draw: draw };
})(window);
