/*
 * test_layout_words.js — English words that once did not fit (issue 14), measured in headless
 * Chromium against the real hallqd, in English and Chinese:
 *   - the wall display's service tiles (calls layout) at 1920x1080 and 1280x720, with the demo
 *     hall's services (config/demo-hall.json) and a large hall's seven (tools/hallq-load's):
 *     every name whole (no ellipsis, nothing wider or taller than its box, nothing outside its
 *     tile), at the full type size, and the latest call and the history still whole above;
 *   - the kiosk's service tiles at every size the kiosk tests use (1080x1920, 800x1280,
 *     1920x1080, 1366x768, 1280x800), normal and large text: the badge (需刷身份证 / ID card
 *     needed) never lies over the name, the Chinese line under an English name or the count;
 *     and the Chinese line under a two-line English name lies whole inside its tile (portrait
 *     and landscape), as does every line of a Chinese tile;
 *   - the kiosk's service names whole at every size, normal and large text, in both languages:
 *     the demo hall's and the long English names ("Housing provident fund withdrawal") were
 *     once clamped to two lines (one in large text) and ended in an ellipsis. Each name shows
 *     its full text, no ellipsis or line clamp, its box holds it (scrollHeight <= clientHeight,
 *     scrollWidth <= clientWidth), on at most three lines (two in large text), and every
 *     service is on some page.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const H = require('./harness.js');

const B = H.sharedBrowser();

const linkUp = H.linkUp;
const frames = H.frames;

/* In the page: whatever of the boxes matching `sel` is cut. Each element in such a box (and
 * the box itself) that is shown: wider than its own box while it clips or ends in an ellipsis,
 * shorter than its lines while it clips, or lying partly outside the box; and each line of its
 * text (a Range's rectangles) outside the element (when it clips) or the box. A line's
 * rectangle is the font's whole height, which overhangs a line-height tighter than the font
 * (54 px type on 62 px lines) by half the difference each side: that much is no cut. Each
 * problem as "where: what". */
function cutIn(sel) {
    const out = [];
    const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
    const label = (b, e) => (b.dataset.code || b.id || '?') + ' ' + (e === b ? 'tile' : e.className || e.tagName) + ' "' +
        e.textContent.trim().slice(0, 30) + '"';
    for (const b of document.querySelectorAll(sel)) {
        if (!shown(b)) continue;
        const box = b.getBoundingClientRect();
        const k = box.width / (b.offsetWidth || box.width || 1); /* the kiosk scales its page: rectangles are scaled, sizes not */
        const outside = (r, c, slack) => r.width > 0 && (r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - slack || r.bottom > c.bottom + slack);
        for (const e of [b].concat(Array.from(b.querySelectorAll('*')))) {
            if (!shown(e)) continue;
            const cs = getComputedStyle(e);
            const clips = cs.overflowX !== 'visible' || cs.overflowY !== 'visible';
            if (e.scrollWidth > e.clientWidth + 1 && (clips || cs.textOverflow === 'ellipsis'))
                out.push(label(b, e) + ': ' + e.scrollWidth + ' px wide in ' + e.clientWidth + (cs.textOverflow === 'ellipsis' ? ' (ellipsis)' : ''));
            if (e !== b && outside(e.getBoundingClientRect(), box, 1)) out.push(label(b, e) + ': outside its tile');
            const er = e.getBoundingClientRect();
            const tops = new Set();
            let lh = 0;
            for (const n of e.childNodes) {
                if (n.nodeType !== Node.TEXT_NODE || !n.textContent.trim()) continue;
                const rg = document.createRange();
                rg.selectNodeContents(n);
                for (const r of rg.getClientRects()) {
                    const h = parseFloat(cs.lineHeight) || r.height / k;
                    const slack = Math.max(0, (r.height - h * k) / 2) + 1;
                    lh = Math.max(lh, h);
                    tops.add(Math.round(r.top + r.height / 2));
                    if (outside(r, box, slack)) out.push(label(b, e) + ': a line outside its tile');
                    else if (clips && outside(r, er, slack)) out.push(label(b, e) + ': a line outside its box');
                }
            }
            if (clips && tops.size && e.clientHeight + 1 < tops.size * lh * 0.98)
                out.push(label(b, e) + ': ' + tops.size + ' lines of ' + lh + ' px in ' + e.clientHeight);
        }
    }
    return out;
}

/* ------------------------------------------------------------------ the wall display */

const DEMO = JSON.parse(fs.readFileSync(path.join(H.SOURCE, 'config/demo-hall.json'), 'utf8')).services.map((s) => [s.code, s.name, s.name_en]);
const LARGE = [['A', '社保业务', 'Social insurance'], ['B', '医保业务', 'Medical insurance'], ['C', '公积金', 'Housing fund'],
    ['D', '不动产登记', 'Real estate'], ['E', '税务', 'Tax'], ['F', '出入境', 'Exit and entry'], ['G', '综合咨询', 'Enquiries']];

function hallWith(services, idRequired) {
    const cfg = H.baseConfig();
    cfg.services = services.map(([code, name, en]) => ({ code: code, name: name, name_en: en, prefix: code, range: [1, 999], digits: 3,
        hours: H.ALL_DAY, id_required: !!(idRequired && idRequired.includes(code)) }));
    const all = services.map((s) => s[0]);
    for (const w of cfg.windows) w.services = all;
    return cfg;
}

for (const [which, services] of [['the demo hall', DEMO], ['a large hall', LARGE]]) {
    test('wall display, ' + which + ': every service name whole at 1920x1080 and 1280x720, in both languages', async () => {
        assert.ok(services.length >= 4 && services.every((s) => s[2]), 'services with English names');
        const hall = await new H.Hall(hallWith(services)).start();
        try {
            /* someone waiting at each service, one window serving (an estimate), nine calls (a full history) */
            for (const [code] of services) for (let i = 0; i < 3; i++) assert.equal((await hall.issue(code)).status, 201);
            assert.equal((await hall.window(1, 'login', { staff: '1001' })).status, 200);
            for (let i = 0; i < 9; i++) {
                for (const a of i < 8 ? ['call-next', 'start', 'finish'] : ['call-next']) assert.equal((await hall.window(1, a)).status, 200, a + ' ' + i);
            }
            for (const [w, h] of [[1920, 1080], [1280, 720]]) {
                for (const lang of ['zh', 'en']) {
                    const what = which + ' ' + w + 'x' + h + ' ' + lang + ': ';
                    const page = await B.newPage({ width: w, height: h });
                    await page.goto(hall.url + '/display?dwell=0.2&lang=' + lang);
                    await linkUp(page);
                    await page.waitForFunction(() => document.querySelectorAll('#history li:not(.h-empty)').length > 0, null, { timeout: 10000 });
                    await page.waitForTimeout(700); /* the burst's dwell */
                    await frames(page);
                    const names = await page.$$eval('.svc-name', (es) => es.map((e) => e.innerText.replace(/\s+/g, ' ').trim()));
                    assert.deepEqual(names, services.map((s) => (lang === 'en' ? s[2] : s[1])), what + 'the names, whole');
                    assert.deepEqual(await page.evaluate(cutIn, '.svc'), [], what + 'service tiles cut');
                    /* at the full size, not shrunk to fit: read from across the hall */
                    const u = Math.min(w / 1920, h / 1080);
                    const em = await page.$$eval('.svc-name', (es) => Math.min(...es.map((e) => parseFloat(getComputedStyle(e).fontSize))));
                    assert.ok(em >= 34 * u - 0.5, what + 'service names at ' + em + ' px');
                    /* the latest call and the history above the tiles stay whole */
                    assert.deepEqual(await page.evaluate(cutIn, '#now, #history-box'), [], what + 'call or history cut');
                    const call = await page.evaluate(() => {
                        const r = document.getElementById('now-body').getBoundingClientRect();
                        return Array.from(document.querySelectorAll('#now-body > *')).map((e) => e.getBoundingClientRect())
                            .filter((c) => c.top < r.top - 1 || c.bottom > r.bottom + 1).length;
                    });
                    assert.equal(call, 0, what + 'a line of the call outside its box');
                    const num = await page.$eval('.call-num', (e) => parseFloat(getComputedStyle(e).fontSize));
                    assert.ok(num >= 144 * w / 1920, what + 'the call\'s number at ' + num + ' px'); /* test_display's READ_PX.calls */
                    await H.artefact(page, 'display-words-' + (which === 'the demo hall' ? 'demo' : 'large') + '-' + w + '-' + lang + '.png');
                    assert.deepEqual(page.hq.errors, []);
                    await page.close();
                }
            }
        } finally {
            await hall.close();
        }
    });
}

/* ------------------------------------------------------------------------- the kiosk */

/* the kiosk test's eight services, with the long English names, most of them real-name */
const KIOSK_SVCS = [['A', '社保业务', 'Social insurance'], ['B', '医保业务', 'Medical insurance'], ['C', '公积金', 'Housing fund'],
    ['D', '不动产登记', 'Real estate registration'], ['E', '出入境', 'Exit and entry'], ['F', '综合咨询', 'Enquiries'],
    ['G', '企业开办', 'Business start-up'], ['H', '税务', 'Tax']];
const KIOSK_ID = ['A', 'B', 'D', 'E', 'G'];
const KIOSK_SIZES = [{ width: 1080, height: 1920 }, { width: 800, height: 1280 }, { width: 1920, height: 1080 }, { width: 1366, height: 768 },
    { width: 1280, height: 800 }];

/* see(at, pg) on each of the kiosk's pages of services in turn (#next to the next), at most 9. */
async function eachServicePage(k, see) {
    for (let pg = 1; ; pg++) {
        const at = k.where + ' page ' + pg + ': ';
        await see(at, pg);
        if (!(await k.page.locator('#next').isVisible()) || !(await k.page.locator('#next').isEnabled())) break;
        await k.page.click('#next');
        await frames(k.page);
        assert.ok(pg < 9, at + 'pages end');
    }
}

/* In the page: each shown tile's badge against the tile's text (each line's rectangles), as
 * "code: the badge over <what>"; and the two-line names seen. */
function badgeOverText() {
    const out = { over: [], twoLine: [], badges: 0 };
    const hit = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
    for (const t of document.querySelectorAll('.svc-btn')) {
        if (!t.getClientRects().length) continue;
        const name = t.querySelector('.svc-name');
        const rg = document.createRange();
        rg.selectNodeContents(name);
        const tops = new Set(Array.from(rg.getClientRects()).map((r) => Math.round(r.top)));
        if (tops.size > 1) out.twoLine.push(t.dataset.code);
        const badge = t.querySelector('.svc-badge');
        if (!badge) continue;
        out.badges++;
        const br = badge.getBoundingClientRect();
        for (const e of t.querySelectorAll('.svc-name, .svc-sub, .svc-info')) {
            if (hit(br, e.getBoundingClientRect())) out.over.push(t.dataset.code + ': the badge over ' + e.className + ' (its box)');
            const r2 = document.createRange();
            r2.selectNodeContents(e);
            for (const r of r2.getClientRects()) if (hit(br, r)) out.over.push(t.dataset.code + ': the badge over a line of ' + e.className);
        }
    }
    return out;
}

test('kiosk: the ID-card badge never covers a name, and the Chinese line under a two-line English name is whole, at every size',
    async () => {
        const hall = await new H.Hall(hallWith(KIOSK_SVCS, KIOSK_ID)).start();
        try {
            const twoLinePortraitEn = new Set();
            for await (const k of H.kiosks(hall.url, KIOSK_SIZES, { frames: true })) {
                const { page, where, lang, large } = k;
                const portrait = k.size.height > k.size.width;
                let badges = 0;
                await eachServicePage(k, async (at, pg) => {
                    const m = await page.evaluate(badgeOverText);
                    assert.deepEqual(m.over, [], at + 'badge overlaps');
                    badges += m.badges;
                    if (portrait && lang === 'en' && !large) for (const c of m.twoLine) twoLinePortraitEn.add(c);
                    /* the Chinese line under the English name (and every line of a tile,
                     * the name too, in large mode as well) inside the tile and not clipped */
                    const cut = await page.evaluate(cutIn, '.svc-btn');
                    assert.deepEqual(cut, [], at + 'tile text cut');
                    if (lang === 'en') {
                        const subs = await page.$$eval('.svc-btn', (ts) => ts.map((t) => {
                            const s = t.querySelector('.svc-sub');
                            const a = s && s.getBoundingClientRect();
                            const b = t.getBoundingClientRect();
                            return t.dataset.code + ' ' + (s ? s.textContent + (a.height > 0 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5 &&
                                s.scrollHeight <= s.clientHeight + 1 && t.scrollHeight <= t.clientHeight + 1 ? ' whole' : ' cut') : 'none');
                        }));
                        for (const s of subs) assert.match(s, /^[A-H] \S+ whole$/, at + 'the Chinese line: ' + s);
                    } else {
                        assert.equal(await page.locator('.svc-sub').count(), 0, at + 'no second line in Chinese');
                    }
                    if (pg === 1) await H.artefact(page, 'kiosk-words-' + where.replace(/ /g, '-') + '.png');
                });
                assert.equal(badges, KIOSK_ID.length, where + ': every real-name service shows its badge');
            }
            /* the case the issue saw: two-line English names under a badge, in portrait */
            assert.ok(['A', 'B', 'D'].some((c) => twoLinePortraitEn.has(c)), 'a real-name service with a two-line English name in portrait: ' +
                Array.from(twoLinePortraitEn).join(','));
        } finally {
            await hall.close();
        }
    });

/* the demo hall's services and the long English names the kiosk test uses, three of them real-name */
const LONG_SVCS = DEMO.concat([['E', '公积金提取', 'Housing provident fund withdrawal'], ['F', '医保报销', 'Medical insurance claims'],
    ['G', '户籍办理', 'Household registration'], ['H', '出入境', 'Exit and entry']]);
const LONG_ID = ['B', 'E', 'G'];

/* In the page: each shown tile's name as {code, text, lines, why it is not whole}. */
function namesShown() {
    return Array.from(document.querySelectorAll('.svc-btn')).filter((t) => t.getClientRects().length).map((t) => {
        const e = t.querySelector('.svc-name');
        const cs = getComputedStyle(e);
        const rg = document.createRange();
        rg.selectNodeContents(e);
        const lines = new Set(Array.from(rg.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top + r.height / 2))).size;
        const why = [];
        if (cs.textOverflow === 'ellipsis') why.push('text-overflow: ellipsis');
        if (cs.webkitLineClamp && cs.webkitLineClamp !== 'none') why.push('line-clamp ' + cs.webkitLineClamp);
        if (e.scrollHeight > e.clientHeight) why.push('scrollHeight ' + e.scrollHeight + ' > clientHeight ' + e.clientHeight);
        if (e.scrollWidth > e.clientWidth) why.push('scrollWidth ' + e.scrollWidth + ' > clientWidth ' + e.clientWidth);
        if (e.clientHeight === 0 || e.clientWidth === 0) why.push('no size');
        return { code: t.dataset.code, text: e.innerText.replace(/\s+/g, ' ').trim(), lines: lines, why: why };
    });
}

test('kiosk: every service name whole (no ellipsis, nothing clipped) at every size, normal and large text, in both languages',
    async () => {
        const hall = await new H.Hall(hallWith(LONG_SVCS, LONG_ID)).start();
        try {
            for await (const k of H.kiosks(hall.url, KIOSK_SIZES, { frames: true })) {
                const { page, where, lang, large } = k;
                const seen = new Set();
                await eachServicePage(k, async (at, pg) => {
                    for (const n of await page.evaluate(namesShown)) {
                        const s = LONG_SVCS.find((x) => x[0] === n.code);
                        seen.add(n.code);
                        assert.equal(n.text, lang === 'en' ? s[2] : s[1], at + n.code + ' the full name');
                        assert.deepEqual(n.why, [], at + n.code + ' "' + n.text + '" not whole');
                        assert.ok(n.lines >= 1 && n.lines <= (large ? 2 : 3), at + n.code + ' "' + n.text + '" on ' + n.lines + ' lines');
                    }
                    assert.deepEqual(await page.evaluate(cutIn, '.svc-btn'), [], at + 'tile text cut');
                    if (pg === 1) await H.artefact(page, 'kiosk-names-' + where.replace(/ /g, '-') + '.png');
                });
                assert.deepEqual(Array.from(seen).sort(), LONG_SVCS.map((s) => s[0]), where + ': every service on some page');
            }
        } finally {
            await hall.close();
        }
    });
