/*
 * test_display.js — the wall display, the window page and the ticket status
 * page in headless Chromium against the real hallqd:
 *   - a call made on the API shows on /display (text, flash, history,
 *     waiting counts), in both layouts; screenshots kept as artefacts;
 *   - both layouts hold for halls of 8, 24 and 60 windows at 1920x1080 and
 *     1280x720, in Chinese and English: nothing off the screen, overlapping
 *     or cut, and type large enough to read from 15 m;
 *   - the display survives a hallqd crash: "连接中断" while it is away, live
 *     data again after the restart;
 *   - names from the configuration and tickets render as text, never as
 *     markup, and no script dialog ever opens;
 *   - the window page shows the clerk, staff number, current ticket and the
 *     paused state;
 *   - the ticket page follows its ticket live until it is called;
 *   - at the hall's midnight (a utc_offset puts it a few seconds into the
 *     test) the display drops yesterday's calls, with its link up (the
 *     rollover) or down (its own clock), and when it reconnects into a new
 *     business day.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const H = require('./harness.js');

const B = H.sharedBrowser();

const linkUp = H.linkUp;
const text = (page, sel) => page.locator(sel).innerText();

/* hallqd on o.cfg (the base configuration unless given) and a page of o.viewport at o.path on
 * it with its link up: body(page, hall), then hallqd closed. */
async function onPage(o, body) {
    const hall = await new H.Hall(o.cfg).start();
    try {
        const page = await B.newPage(o.viewport);
        await page.goto(hall.url + o.path);
        await linkUp(page);
        await body(page, hall);
    } finally {
        await hall.close();
    }
}

test('a call on the API shows on /display, flashes and goes to the history', async () => {
    await onPage({ path: '/display?dwell=0.2', viewport: { width: 1920, height: 1080 } }, async (page, hall) => {
        assert.match(await text(page, '#hall-name'), /测试大厅/);
        assert.match(await text(page, '#now-body'), /欢迎光临/);

        for (let i = 0; i < 4; i++) assert.equal((await hall.issue('A')).status, 201);
        assert.equal((await hall.window(3, 'login', { staff: '1003' })).status, 200);
        const r = await hall.window(3, 'call-next');
        assert.equal(r.status, 200);
        const first = r.body.ticket.number;

        await page.waitForFunction((n) => document.getElementById('now-body').innerText.includes(n), first, { timeout: 5000 });
        const now = await text(page, '#now-body');
        assert.match(now, new RegExp('请\\s*' + first + '\\s*号'));
        assert.match(now, /到\s*3\s*号窗口/);
        assert.ok(await page.locator('#now.flash').count(), 'a new call flashes');
        /* waiting count follows the events: 4 issued, 1 called */
        await page.waitForFunction(() => document.querySelector('.svc[data-code="A"] b').textContent === '3', null, { timeout: 5000 });

        assert.equal((await hall.window(1, 'login', { staff: '1001' })).status, 200);
        const second = (await hall.window(1, 'call-next')).body.ticket.number;
        await page.waitForFunction((n) => document.getElementById('now-body').innerText.includes(n), second, { timeout: 5000 });
        assert.match(await text(page, '#history'), new RegExp(first + '\\s*3 号窗口'));

        /* a recall puts the ticket back on top, marked */
        assert.equal((await hall.window(3, 'recall')).status, 200);
        await page.waitForFunction((n) => document.getElementById('now-body').innerText.includes(n), first, { timeout: 5000 });
        assert.match(await text(page, '#now-body'), /重复呼叫/);
        await page.waitForTimeout(300);
        await H.artefact(page, 'display-calls.png');

        /* English switch, remembered */
        await page.click('#lang');
        assert.match(await text(page, '#now-body'), new RegExp('Ticket\\s*' + first));
        assert.equal(await page.evaluate(() => localStorage.getItem('hallq.lang')), 'en');
        await page.click('#lang');
        assert.match(await text(page, '#now-body'), /请/);

        /* the windows layout: one tile per window */
        const grid = await B.newPage({ width: 1920, height: 1080 });
        await grid.goto(hall.url + '/display?dwell=0.2&layout=windows&cols=3');
        await linkUp(grid);
        assert.equal(await grid.locator('.tile').count(), 3);
        assert.match(await grid.locator('.tile[data-window="3"]').innerText(), new RegExp(first));
        assert.match(await grid.locator('.tile[data-window="2"]').innerText(), /未开放/);
        assert.equal((await hall.window(1, 'finish')).status, 200);
        await grid.waitForFunction(() => document.querySelector('.tile[data-window="1"]').classList.contains('idle'), null, { timeout: 5000 });
        await H.artefact(grid, 'display-windows.png');
        assert.deepEqual(page.hq.errors.concat(grid.hq.errors), []);
        await page.close();
        await grid.close();
    });
});

/* A hall of n windows, all serving A; staff 2001.. (a few names longer
 * than most, to see the tiles' name cells cut them, not the tiles) and a
 * hall name too long for the bar. */
function hallOf(n) {
    const cfg = H.baseConfig();
    cfg.hall.name = '某某市某某区政务服务中心不动产登记与社会保障综合服务大厅'; /* cut with an ellipsis, clear of the clock */
    cfg.hall.name_en = 'Municipal Government Service Centre, Real Estate and Social Insurance Hall';
    const names = ['王芳', '欧阳晓燕', '李娜', '张伟', '司马文静'];
    cfg.windows = [];
    cfg.staff = [];
    for (let i = 1; i <= n; i++) {
        cfg.windows.push({ number: i, services: ['A'] });
        cfg.staff.push({ id: String(2000 + i), name: names[i % names.length] });
    }
    return cfg;
}

/* In the page: where the display's boxes are, which overlap or leave the
 * screen, which text is wider than its box (a cut with an ellipsis is
 * allowed: names) or lies partly outside it, and the type sizes. */
function measureLayout() {
    const vw = innerWidth;
    const vh = innerHeight;
    const box = (e) => e.getBoundingClientRect();
    const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).split(' ').join('.') : '') +
        (e.closest('.tile') ? '@' + e.closest('.tile').dataset.window : '');
    const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
    const windows = document.body.classList.contains('layout-windows');
    const boxes = Array.from(document.querySelectorAll(windows ? '.bar, #now, .tile, .svc, .notice' : '.bar, #now, #history-box, .svc, .notice'))
        .filter(shown);
    const out = { outside: [], overlaps: [], overflow: [], cut: [], tiles: 0, callNum: 0, tileNum: 0, tileNo: 0 };
    for (const e of boxes) {
        const r = box(e);
        if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5 || r.width < 1 || r.height < 1) out.outside.push(name(e));
    }
    for (const set of [boxes, Array.from(document.querySelectorAll('.bar > *'))]) {
        for (let i = 0; i < set.length; i++) {
            for (let j = i + 1; j < set.length; j++) {
                const a = box(set[i]);
                const b = box(set[j]);
                if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5)
                    out.overlaps.push(name(set[i]) + ' / ' + name(set[j]));
            }
        }
    }
    /* wider than its box: text that runs out sideways (a line-height
     * tighter than the font's own is no overflow: the glyphs fit) */
    for (const e of document.querySelectorAll('.bar *, main, main *')) {
        if (!shown(e) || !e.clientWidth || getComputedStyle(e).textOverflow === 'ellipsis') continue;
        if (e.scrollWidth > e.clientWidth + 1) out.overflow.push(name(e) + ' ' + e.scrollWidth + ' in ' + e.clientWidth);
    }
    /* cut: whatever a box holds lies wholly inside it (but in a box that
     * ends it with an ellipsis) */
    const ellipsis = (e) => e && (getComputedStyle(e).textOverflow === 'ellipsis' || ellipsis(e.parentElement));
    for (const b of boxes) {
        const c = box(b);
        for (const e of b.querySelectorAll('*')) {
            if (!shown(e) || e.closest('.notice') || ellipsis(e)) continue;
            const r = box(e);
            if (r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - 1 || r.bottom > c.bottom + 1) out.cut.push(name(e));
        }
    }
    const px = (sel, f) => Array.from(document.querySelectorAll(sel)).filter(shown).map((e) => parseFloat(getComputedStyle(e).fontSize))
        .reduce((a, b) => f(a, b), f === Math.min ? Infinity : 0);
    out.tiles = document.querySelectorAll('.tile').length;
    out.callNum = px('.call-num', Math.max);
    out.tileNum = windows ? px('.tile-num', Math.min) : 0;
    out.tileNo = windows ? px('.tile-no', Math.min) : 0;
    return out;
}

/* Readable from 15 m. A 55-inch 16:9 screen is 1.22 m wide: 0.63 mm a
 * pixel at 1920x1080 (0.95 mm at 1280x720). Digits are about 0.72 em tall.
 * Normal (6/6) sight just reads a letter of 5 arc minutes, 22 mm at 15 m:
 * 35 px of digit, a 48 px font at 1920x1080. That is the floor for the
 * tiles of a 60-window hall (found, not read at a glance); the latest call
 * is read at a glance, three times that in the calls layout (144 px; it
 * gets 230) and 1.5 times in the windows layout's strip (72 px; it gets
 * 110). All scale with the width: the same screen at 1280x720 has larger
 * pixels. (The often quoted "1 cm letters, 30 px" is half of 6/6 sight's
 * limit at 15 m: too small.) */
const READ_PX = { calls: 144, strip: 72, tile: 48 };
const toggleLang = (p) => p.evaluate(() => document.getElementById('lang').click());

test('the layouts hold for halls of 8, 24 and 60 windows at 1920x1080 and 1280x720', async (t) => {
    for (const n of [8, 24, 60]) {
        const hall = await new H.Hall(hallOf(n)).start();
        try {
            const pages = {};
            for (const layout of ['calls', 'windows']) {
                pages[layout] = await B.newPage({ width: 1920, height: 1080 });
                await pages[layout].goto(hall.url + '/display?dwell=0.2&layout=' + layout);
            }
            for (const p of Object.values(pages)) await linkUp(p);
            /* calls at the first, a middle and the last window, the last one
             * last; one window serving, one paused */
            const at = [1, Math.ceil(n / 2), n - 1, n];
            for (let i = 0; i <= at.length; i++) assert.equal((await hall.issue('A')).status, 201); /* one left waiting */
            for (const w of at.concat([2])) assert.equal((await hall.window(w, 'login', { staff: String(2000 + w) })).status, 200);
            assert.equal((await hall.window(2, 'pause')).status, 200);
            let last = '';
            for (const w of at) last = (await hall.window(w, 'call-next')).body.ticket.number;
            assert.equal((await hall.window(1, 'start')).status, 200);
            await pages.calls.waitForFunction((x) => document.getElementById('now-body').innerText.includes(x), last, { timeout: 5000 });
            await pages.windows.waitForFunction((x) => document.querySelector('.tile[data-window="' + x[1] + '"]').innerText.includes(x[0]) &&
                document.querySelector('.tile[data-window="1"]').classList.contains('serving'), [last, n], { timeout: 5000 });
            assert.match(await text(pages.calls, '#now-body'), new RegExp('到\\s*' + n + '\\s*号窗口'));

            for (const [w, h] of [[1920, 1080], [1280, 720]]) {
                const scale = w / 1920;
                for (const [layout, p] of Object.entries(pages)) {
                    await p.bringToFront(); /* a page behind another gets its frames late */
                    if (w !== 1920) await p.setViewportSize({ width: w, height: h });
                    for (const lang of ['zh', 'en']) {
                        if (lang === 'en') await toggleLang(p);
                        await H.frames(p);
                        const m = await p.evaluate(measureLayout);
                        const what = n + ' windows, ' + layout + ', ' + w + 'x' + h + ', ' + lang + ': ';
                        t.diagnostic(what + 'call ' + m.callNum + ' px' + (layout === 'windows' ? ', tiles ' + m.tileNum + ' px, window no. ' +
                            m.tileNo + ' px' : ''));
                        assert.deepEqual(m.outside, [], what + 'off the screen');
                        assert.deepEqual(m.overlaps, [], what + 'overlapping');
                        assert.deepEqual(m.overflow, [], what + 'text wider than its box');
                        assert.deepEqual(m.cut, [], what + 'cut by its box');
                        assert.ok(m.callNum >= READ_PX[layout === 'calls' ? 'calls' : 'strip'] * scale, what + 'call number ' + m.callNum + ' px');
                        if (layout === 'windows') {
                            assert.equal(m.tiles, n);
                            assert.ok(m.tileNum >= READ_PX.tile * scale, what + 'tile number ' + m.tileNum + ' px');
                        }
                        if (lang === 'zh' && (w === 1920 || n === 60)) await H.artefact(p, 'display-' + layout + '-' + n + 'w-' + w + '.png');
                        if (lang === 'en') await toggleLang(p);
                    }
                }
            }
            for (const p of Object.values(pages)) {
                assert.deepEqual(p.hq.errors, []);
                await p.close();
            }
        } finally {
            await hall.close();
        }
    }
});

test('the display shows 连接中断 while hallqd is down and live data after its restart', async () => {
    await onPage({ path: '/display?dwell=0.2', viewport: { width: 1920, height: 1080 } }, async (page, hall) => {
        await hall.kill();
        await page.waitForFunction(() => !document.getElementById('link').hidden, null, { timeout: 10000 });
        assert.match(await text(page, '#link'), /连接中断/);
        assert.ok(await page.evaluate(() => document.body.classList.contains('link-down')), 'data dimmed while down');
        await H.artefact(page, 'display-disconnected.png');

        await hall.start();
        await hall.issue('A');
        await hall.window(2, 'login', { staff: '1002' });
        const n = (await hall.window(2, 'call-next')).body.ticket.number;
        /* the call made while the page may still be reconnecting must show:
         * from the event, or from the status snapshot of the new link */
        await page.waitForFunction((x) => document.getElementById('now-body').innerText.includes(x), n, { timeout: 15000 });
        await linkUp(page);
        assert.ok(!(await page.evaluate(() => document.body.classList.contains('link-down'))));
        /* and it is live again: a later call arrives as an event */
        await hall.issue('A');
        await hall.window(2, 'finish');
        const m = (await hall.window(2, 'call-next')).body.ticket.number;
        await page.waitForFunction((x) => document.getElementById('now-body').innerText.includes(x), m, { timeout: 5000 });
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    });
});

test('names from the configuration render as text, never markup', async () => {
    const XSS_SVC = '<script>alert(1)</script>';
    const XSS_WIN = '<img src=x onerror=alert(2)>';
    const XSS_STAFF = '<svg onload=alert(3)>';
    const cfg = H.baseConfig();
    cfg.hall.name = '<b>大厅</b><img src=x onerror=alert(4)>';
    cfg.display.notice = '<img src=x onerror=alert(5)>通知';
    cfg.services[0].name = XSS_SVC;
    cfg.windows[2].name = XSS_WIN;
    cfg.staff[2].name = XSS_STAFF;
    const hall = await new H.Hall(cfg).start();
    try {
        await hall.issue('A');
        await hall.issue('A');
        await hall.window(3, 'login', { staff: '1003' });
        const pages = {};
        for (const [name, url, vp] of [['display', '/display', null], ['windows', '/display?dwell=0.2&layout=windows', null],
            ['window', '/display/window/3', { width: 800, height: 480 }], ['kiosk', '/kiosk', { width: 1080, height: 1920 }]]) {
            pages[name] = await B.newPage(vp || { width: 1920, height: 1080 });
            await pages[name].goto(hall.url + url);
            await linkUp(pages[name]);
        }
        const n = (await hall.window(3, 'call-next')).body.ticket.number;
        await pages.display.waitForFunction((x) => document.getElementById('now-body').innerText.includes(x), n, { timeout: 5000 });
        await pages.window.waitForFunction((x) => document.getElementById('wnum').textContent === x, n, { timeout: 5000 });
        await pages.windows.waitForFunction((x) => document.querySelector('.tile[data-window="3"]').innerText.includes(x), n,
            { timeout: 5000 });
        await pages.display.waitForTimeout(500);

        assert.match(await text(pages.display, '#hall-name'), /<b>大厅<\/b><img src=x onerror=alert\(4\)>/);
        assert.match(await pages.display.locator('#notice-text').textContent(), /<img src=x onerror=alert\(5\)>通知/);
        assert.ok((await text(pages.display, '#services')).includes(XSS_SVC));
        assert.ok((await text(pages.display, '#now-body')).includes(XSS_WIN), 'the custom window name is shown as text');
        /* the tile's head names the clerk on duty (the window's own name while nobody is there) */
        assert.ok((await text(pages.windows, '.tile[data-window="3"]')).includes(XSS_STAFF));
        assert.ok((await text(pages.window, '#wname')).includes(XSS_WIN));
        assert.ok((await text(pages.window, '#wstaff')).includes(XSS_STAFF));
        assert.ok((await text(pages.window, '#wsvc')).includes(XSS_SVC));
        assert.ok((await text(pages.kiosk, '#services')).includes(XSS_SVC));
        for (const [name, p] of Object.entries(pages)) {
            /* no element the names could have made, no script beyond the page's own */
            const counts = await p.evaluate(() => ({
                /* (the kiosk's own QR image, #tk-qr, is the page's) */
                img: document.querySelectorAll('img:not(#tk-qr), svg, iframe, script:not([src])').length +
                    Array.from(document.querySelectorAll('*')).filter((e) => Array.from(e.attributes).some((a) => /^on/i.test(a.name)))
                        .length,
                scripts: Array.from(document.scripts).every((s) => s.src && new URL(s.src).pathname.startsWith('/assets/')),
            }));
            assert.equal(counts.img, 0, name + ': markup from a name became an element');
            assert.ok(counts.scripts, name + ': a script other than the page assets');
            assert.deepEqual(p.hq.dialogs, [], name + ': a dialog opened');
            assert.deepEqual(p.hq.errors, [], name + ': page errors');
            await p.close();
        }
    } finally {
        await hall.close();
    }
});

test('the window page shows the clerk, the current ticket and 暂停服务', async () => {
    await onPage({ path: '/display/window/2', viewport: { width: 800, height: 480 } }, async (page, hall) => {
        assert.match(await text(page, '#wname'), /2号窗口/);
        assert.match(await text(page, '#wstaff'), /暂无工作人员/);
        /* nobody signed in: not open, which is not the paused wording */
        assert.equal(await text(page, '#wstate'), '暂未开放');
        assert.match(await text(page, '#wnum'), /本窗口暂未开放/);
        assert.ok(await page.locator('#paused').isHidden());
        await page.click('#lang');
        assert.equal(await text(page, '#wstate'), 'Not open');
        await page.click('#lang');

        await hall.issue('B');
        await hall.window(2, 'login', { staff: '1002' });
        await page.waitForFunction(() => document.getElementById('wstaff').innerText.includes('李娜'), null, { timeout: 5000 });
        assert.match(await text(page, '#wstaff'), /工号\s*1002/);
        const n = (await hall.window(2, 'call-next')).body.ticket.number;
        await page.waitForFunction((x) => document.getElementById('wnum').textContent === x, n, { timeout: 5000 });
        assert.equal(n, 'B001');
        assert.match(await text(page, '#wstate'), /请/);
        assert.match(await text(page, '#wsvc'), /不动产登记/);
        await page.waitForTimeout(5200); /* let the call flash end for the picture */
        await H.artefact(page, 'window.png');

        assert.equal((await hall.window(2, 'start')).status, 200);
        await page.waitForFunction(() => document.getElementById('wstate').textContent === '正在办理', null, { timeout: 5000 });
        assert.equal((await hall.window(2, 'finish')).status, 200);
        assert.equal((await hall.window(2, 'pause')).status, 200);
        await page.waitForFunction(() => !document.getElementById('paused').hidden, null, { timeout: 5000 });
        assert.match(await text(page, '#paused'), /暂停服务/);
        await H.artefact(page, 'window-paused.png');
        assert.equal((await hall.window(2, 'resume')).status, 200);
        await page.waitForFunction(() => document.getElementById('paused').hidden, null, { timeout: 5000 });

        /* a window the hall does not have says so */
        const none = await B.newPage({ width: 800, height: 480 });
        await none.goto(hall.url + '/display/window/9');
        await linkUp(none);
        assert.match(await text(none, '#wnum'), /不存在/);
        assert.deepEqual(page.hq.errors.concat(none.hq.errors), []);
        await page.close();
        await none.close();
    });
});

test('the ticket page follows its ticket live', async () => {
    const hall = await new H.Hall().start();
    try {
        await hall.issue('A');
        const t = (await hall.issue('A')).body.ticket;
        const page = await B.newPage({ width: 390, height: 844 });
        await page.goto(hall.url + '/t/' + t.uuid);
        await linkUp(page);
        await page.waitForFunction((x) => document.getElementById('tnum').textContent === x, t.number, { timeout: 5000 });
        assert.match(await text(page, '#tstatus'), /排队等候中/);
        assert.match(await text(page, '#tahead'), /^1 人$/);
        await H.artefact(page, 'ticket-page.png');

        await hall.window(1, 'login', { staff: '1001' });
        await hall.window(1, 'call-next'); /* the one ahead */
        await page.waitForFunction(() => document.getElementById('tahead').textContent === '0 人', null, { timeout: 5000 });
        await hall.window(1, 'finish');
        await hall.window(1, 'call-next'); /* this one */
        await page.waitForFunction(() => /请到 1 号窗口/.test(document.getElementById('tstatus').textContent), null, { timeout: 5000 });

        const gone = await B.newPage({ width: 390, height: 844 });
        await gone.goto(hall.url + '/t/00000000-0000-4000-8000-000000000000');
        await gone.waitForFunction(() => /未找到/.test(document.getElementById('tstatus').textContent), null, { timeout: 5000 });
        assert.deepEqual(page.hq.errors.concat(gone.hq.errors), []);
        await page.close();
        await gone.close();
    } finally {
        await hall.close();
    }
});

test('a day of calls keeps the display bounded', async () => {
    const hall = await new H.Hall().start();
    try {
        for (let i = 0; i < 70; i++) await hall.issue('A');
        await hall.window(1, 'login', { staff: '1001' });
        const page = await B.newPage({ width: 1920, height: 1080 });
        await page.goto(hall.url + '/display?dwell=0.2');
        await linkUp(page);
        const call = async () => {
            await hall.window(1, 'finish');
            const n = (await hall.window(1, 'call-next')).body.ticket.number;
            await page.waitForFunction((x) => document.getElementById('now-body').innerText.includes(x), n, { timeout: 5000 });
        };
        for (let i = 0; i < 12; i++) await call();
        const nodes = () => page.evaluate(() => document.getElementsByTagName('*').length);
        const after12 = await nodes();
        for (let i = 0; i < 48; i++) await call();
        assert.equal(await page.locator('#history li').count(), 8, 'history capped');
        assert.equal(await nodes(), after12, 'the DOM does not grow with calls');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

/* What the calls layout and the windows layout show of yesterday after the
 * hall's midnight: nothing. */
async function noCallOf(page, numbers) {
    await page.waitForFunction((nums) => {
        const now = document.getElementById('now-body').innerText;
        const hist = document.getElementById('history').innerText;
        const tiles = Array.from(document.querySelectorAll('.tile')).map((t) => t.innerText).join(' ');
        const windows = document.body.classList.contains('layout-windows');
        return (windows || (/欢迎光临/.test(now) && document.querySelector('#history .h-empty') !== null)) &&
            nums.every((n) => !now.includes(n) && !hist.includes(n) && !tiles.includes(n));
    }, numbers, { timeout: 10000 });
}

test('at the hall\'s midnight the display drops yesterday\'s calls, link up or down', async () => {
    const cfg = H.baseConfig();
    const m = H.offsetForMidnight(15);
    cfg.hall.utc_offset = m.offset;
    const hall = await new H.Hall(cfg).start();
    const proxy = await new H.Proxy(hall).start();
    try {
        const day0 = (await hall.status()).hall.day;
        const page = await B.newPage({ width: 1920, height: 1080 });
        const grid = await B.newPage({ width: 1920, height: 1080 });
        const away = await B.newPage({ width: 1920, height: 1080 }); /* its link goes down before midnight */
        await page.goto(hall.url + '/display?dwell=0.2');
        await grid.goto(hall.url + '/display?dwell=0.2&layout=windows');
        await away.goto(proxy.url + '/display?dwell=0.2');
        for (const p of [page, grid, away]) await linkUp(p);

        for (let i = 0; i < 3; i++) assert.equal((await hall.issue('A')).status, 201);
        await hall.window(1, 'login', { staff: '1001' });
        await hall.window(3, 'login', { staff: '1003' });
        const a = (await hall.window(1, 'call-next')).body.ticket.number;
        const b = (await hall.window(3, 'call-next')).body.ticket.number;
        for (const p of [page, away]) {
            await p.waitForFunction((x) => document.getElementById('now-body').innerText.includes(x), b, { timeout: 5000 });
            assert.match(await text(p, '#history'), new RegExp(a));
        }
        await grid.waitForFunction((x) => document.querySelector('.tile[data-window="3"]').innerText.includes(x), b, { timeout: 5000 });
        assert.ok(Date.now() < m.midnight - 3000, 'the calls were made before midnight');

        /* the proxy goes away 3 s before midnight: that page is cut off and
         * must see the day change on its own clock */
        await H.sleep(m.midnight - 3000 - Date.now());
        await proxy.close();
        await away.waitForFunction(() => !document.getElementById('link').hidden, null, { timeout: 5000 });
        const deadline = m.midnight + 15000;
        while ((await hall.status()).hall.day === day0) {
            assert.ok(Date.now() < deadline, 'the hall\'s day did not change');
            await H.sleep(200);
        }

        for (const p of [page, grid, away]) await noCallOf(p, [a, b]);
        await page.waitForFunction(() => document.querySelector('.svc[data-code="A"] b').textContent === '0', null, { timeout: 5000 });
        assert.match(await text(away, '#now-body'), /欢迎光临/);
        assert.equal(await away.locator('.svc[data-code="A"] b').textContent(), '0', 'nobody waits from yesterday');
        await H.artefact(page, 'display-after-midnight.png');

        /* the new day is live: its first call shows */
        assert.equal((await hall.issue('A')).status, 201);
        await hall.window(1, 'finish');
        const c = (await hall.window(1, 'call-next')).body.ticket.number;
        await page.waitForFunction((x) => document.getElementById('now-body').innerText.includes(x), c, { timeout: 5000 });
        assert.match(await text(page, '#history'), /暂无/);
        assert.deepEqual(page.hq.errors.concat(grid.hq.errors, away.hq.errors), []);
        for (const p of [page, grid, away]) await p.close();
    } finally {
        await proxy.close().catch(() => {});
        await hall.close();
    }
});

test('a display that reconnects into a new business day shows none of the old one', async () => {
    /* a box off over midnight: the hall comes back a whole day on (its
     * zone moved from -10:00 to +14:00, the same instant one date later) */
    const cfg = H.baseConfig();
    cfg.hall.utc_offset = '-10:00';
    await onPage({ path: '/display?dwell=0.2', viewport: { width: 1920, height: 1080 }, cfg: cfg }, async (page, hall) => {
        await hall.issue('B');
        await hall.issue('B');
        await hall.window(2, 'login', { staff: '1002' });
        const a = (await hall.window(2, 'call-next')).body.ticket.number;
        await hall.window(2, 'finish');
        const b = (await hall.window(2, 'call-next')).body.ticket.number;
        await page.waitForFunction((x) => document.getElementById('now-body').innerText.includes(x), b, { timeout: 5000 });
        const day0 = (await hall.status()).hall.day;

        await hall.stop();
        await page.waitForFunction(() => !document.getElementById('link').hidden, null, { timeout: 10000 });
        hall.config.hall.utc_offset = '+14:00';
        await hall.start();
        assert.notEqual((await hall.status()).hall.day, day0);
        await linkUp(page);
        await noCallOf(page, [a, b]);
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    });
});

test('a priority ticket says its priority in words, Chinese first and proper English', async () => {
    const hall = await new H.Hall().start();
    try {
        const r = await hall.post('/api/v1/tickets', { service: 'A', priority: 'disabled' }, H.CLERK);
        assert.equal(r.status, 201);
        const t = r.body.ticket;
        assert.equal(t.priority_label, '残疾人优先');
        assert.equal(t.priority_label_en, 'Disabled');
        const g = (await hall.post('/api/v1/tickets', { service: 'A', priority: 'green' }, H.CLERK)).body.ticket;
        assert.equal(g.priority_label_en, 'Green channel');

        const tp = await B.newPage({ width: 390, height: 844 });
        await tp.goto(hall.url + '/t/' + g.uuid);
        await linkUp(tp);
        await tp.waitForFunction(() => document.getElementById('tprio').textContent !== '', null, { timeout: 5000 });
        assert.equal(await text(tp, '#tprio'), '绿色通道');
        await tp.click('#lang');
        assert.equal(await text(tp, '#tprio'), 'Green channel');
        await tp.click('#lang');

        const page = await B.newPage({ width: 800, height: 480 });
        await page.goto(hall.url + '/display/window/1');
        await linkUp(page);
        await hall.window(1, 'login', { staff: '1001' });
        const n = (await hall.window(1, 'call', { number: t.number })).body.ticket.number;
        assert.equal(n, t.number);
        await page.waitForFunction((x) => document.getElementById('wnum').textContent === x, n, { timeout: 5000 });
        assert.match(await text(page, '#wsvc'), /社保业务 · 残疾人优先/);
        await page.click('#lang');
        assert.match(await text(page, '#wsvc'), /Social insurance · Disabled/);
        assert.doesNotMatch(await text(page, '#wsvc'), /disabled/);
        await page.click('#lang');
        assert.deepEqual(page.hq.errors.concat(tp.hq.errors), []);
        await page.close();
        await tp.close();
    } finally {
        await hall.close();
    }
});

test('four calls at once are shown one after the other, each for its turn', async () => {
    const cfg = H.baseConfig();
    cfg.windows.push({ number: 4, name: '4号窗口', name_en: 'Window 4', services: ['A'] });
    cfg.staff.push({ id: '1004', name: '赵敏' });
    const hall = await new H.Hall(cfg).start();
    try {
        for (let i = 0; i < 4; i++) assert.equal((await hall.issue('A')).status, 201);
        for (let w = 1; w <= 4; w++) assert.equal((await hall.window(w, 'login', { staff: String(1000 + w) })).status, 200);
        const page = await B.newPage({ width: 1920, height: 1080 });
        await page.goto(hall.url + '/display?dwell=2');
        await linkUp(page);
        /* every number the big line shows, with when it came */
        await page.evaluate(() => {
            window.shownCalls = [];
            const body = document.getElementById('now-body');
            new MutationObserver(() => {
                const n = body.querySelector('.call-num');
                const last = window.shownCalls[window.shownCalls.length - 1];
                if (n && (!last || last.number !== n.textContent)) window.shownCalls.push({ number: n.textContent, t: performance.now() });
            }).observe(body, { childList: true, subtree: true });
        });
        const called = [];
        for (let w = 1; w <= 4; w++) called.push((await hall.window(w, 'call-next')).body.ticket.number);
        await page.waitForFunction((n) => window.shownCalls.length >= 4 || document.getElementById('now-body').innerText.includes(n) &&
            window.shownCalls.length >= 1 && performance.now() - window.shownCalls[window.shownCalls.length - 1].t > 2500, called[3],
        { timeout: 20000 });
        const shown = await page.evaluate(() => window.shownCalls);
        assert.deepEqual(shown.map((s) => s.number), called, 'each call in turn, in the order called');
        /* each stayed for its turn (2 s asked; 1 s is the generous floor) */
        for (let i = 1; i < shown.length; i++) assert.ok(shown[i].t - shown[i - 1].t >= 1000, called[i - 1] + ' shown ' + (shown[i].t - shown[i - 1].t) + ' ms');
        /* and the earlier ones went to the history, newest first */
        assert.match(await text(page, '#history'), new RegExp(called[2] + '[\\s\\S]*' + called[1] + '[\\s\\S]*' + called[0]));
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('the recent calls come back after hallqd restarts', async () => {
    const hall = await new H.Hall().start();
    try {
        for (let i = 0; i < 5; i++) assert.equal((await hall.issue('A')).status, 201);
        assert.equal((await hall.window(1, 'login', { staff: '1001' })).status, 200);
        const called = [];
        for (let i = 0; i < 4; i++) {
            if (i) assert.equal((await hall.window(1, 'finish')).status, 200);
            called.push((await hall.window(1, 'call-next')).body.ticket.number);
        }
        await hall.stop();
        await hall.start();
        const st = await hall.status();
        assert.deepEqual(st.recent_calls.map((c) => c.number), called.slice().reverse(), 'read back from the event log, newest first');
        assert.equal(st.recent_calls[0].window, 1);
        assert.ok(!('name_masked' in st.recent_calls[0]) && !('priority' in st.recent_calls[0]), 'numbers and windows only');
        const page = await B.newPage({ width: 1920, height: 1080 });
        await page.goto(hall.url + '/display');
        await linkUp(page);
        assert.match(await text(page, '#now-body'), new RegExp(called[3]));
        const hist = await text(page, '#history');
        assert.match(hist, new RegExp(called[2] + '[\\s\\S]*' + called[1] + '[\\s\\S]*' + called[0]));
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('the windows layout: whole service names, English without 人, every tile names its clerk', async () => {
    const cfg = H.baseConfig();
    /* the demo hall's names: a window with a name of its own, long English service names */
    cfg.services = [['A', '社保业务', 'Social insurance'], ['B', '不动产登记', 'Real estate registration'], ['C', '企业开办', 'Business start-up'],
        ['D', '综合受理', 'General services']].map(([code, name, en]) => ({ code: code, name: name, name_en: en, prefix: code, range: [1, 999],
        digits: 3, hours: H.ALL_DAY }));
    cfg.windows = [];
    cfg.staff = [];
    for (let i = 1; i <= 8; i++) {
        cfg.windows.push(i === 8 ? { number: 8, name: '8号综合窗口', name_en: 'Window 8 (all services)', services: ['D', 'A', 'B', 'C'] }
            : { number: i, name: i + '号窗口', name_en: 'Window ' + i, services: ['A', 'B', 'C', 'D'] });
        cfg.staff.push({ id: String(2000 + i), name: '职员' + i });
    }
    const hall = await new H.Hall(cfg).start();
    try {
        for (const s of ['A', 'B', 'C', 'D']) for (let i = 0; i < 6; i++) assert.equal((await hall.issue(s)).status, 201);
        for (let w = 1; w <= 8; w++) assert.equal((await hall.window(w, 'login', { staff: String(2000 + w) })).status, 200);
        const page = await B.newPage({ width: 1920, height: 1080 });
        await page.goto(hall.url + '/display?dwell=0.2&layout=windows');
        await linkUp(page);
        for (const [w, h] of [[1920, 1080], [1280, 720]]) {
            await page.setViewportSize({ width: w, height: h });
            for (const lang of ['zh', 'en']) {
                if (lang === 'en') await toggleLang(page);
                await H.frames(page);
                const what = w + 'x' + h + ' ' + lang + ': ';
                const names = await page.evaluate(() => Array.from(document.querySelectorAll('.svc-name')).map((e) => ({
                    text: e.textContent, cut: e.scrollWidth > e.clientWidth + 1 || getComputedStyle(e).textOverflow === 'ellipsis' &&
                        getComputedStyle(e).overflow === 'hidden' && getComputedStyle(e).whiteSpace === 'nowrap', width: e.getBoundingClientRect().width,
                    em: parseFloat(getComputedStyle(e).fontSize) })));
                const want = lang === 'en' ? ['Social insurance', 'Real estate registration', 'Business start-up', 'General services']
                    : ['社保业务', '不动产登记', '企业开办', '综合受理'];
                assert.deepEqual(names.map((n) => n.text), want, what + 'names');
                for (const n of names) {
                    assert.ok(!n.cut, what + n.text + ' is cut');
                    assert.ok(n.width >= n.em * (lang === 'en' ? 4 : 3.5), what + n.text + ' is ' + n.width + ' px wide');
                }
                const m = await page.evaluate(measureLayout);
                assert.deepEqual(m.outside, [], what + 'off the screen');
                assert.deepEqual(m.overlaps, [], what + 'overlapping');
                assert.deepEqual(m.overflow, [], what + 'text wider than its box');
                const waits = await page.evaluate(() => Array.from(document.querySelectorAll('.svc-wait')).map((e) => e.textContent));
                for (const t of waits) {
                    if (lang === 'en') assert.match(t, /^waiting\s*6$/, what + t);
                    else assert.match(t, /^等候\s*6\s*人$/, what + t);
                }
                /* every tile's head: its clerk (window 8 too) */
                const heads = await page.evaluate(() => Array.from(document.querySelectorAll('.tile')).map((e) => e.querySelector('.tile-name').textContent));
                assert.deepEqual(heads, [1, 2, 3, 4, 5, 6, 7, 8].map((i) => '职员' + i), what + 'tile heads');
                await H.artefact(page, 'display-windows-names-' + w + '-' + lang + '.png');
                if (lang === 'en') await toggleLang(page);
            }
        }
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('GET / is a landing page linking the display, kiosk, window pages, dashboard and status, Chinese first', async () => {
    const hall = await new H.Hall().start();
    try {
        const r = await hall.get('/');
        assert.equal(r.status, 200);
        assert.match(r.headers['content-type'], /^text\/html/);
        /* other unknown paths still answer a JSON 404 */
        const other = await hall.get('/no-such-page');
        assert.equal(other.status, 404);
        assert.equal(other.body.error, 'not_found');
        const page = await B.newPage({ width: 1280, height: 800 });
        await page.goto(hall.url + '/');
        await page.waitForFunction(() => document.querySelectorAll('#windows a').length === 3, null, { timeout: 5000 });
        assert.match(await text(page, 'h1'), /^测试大厅\s*Test Hall$/);
        const links = await page.evaluate(() => Array.from(document.querySelectorAll('a')).map((a) => ({ href: a.getAttribute('href'),
            text: a.innerText })));
        const hrefs = links.map((l) => l.href);
        for (const want of ['/display', '/display?layout=windows', '/kiosk', '/admin', '/api/v1/status', '/display/window/1', '/display/window/2',
            '/display/window/3'])
            assert.ok(hrefs.includes(want), want + ' is linked: ' + hrefs.join(' '));
        for (const l of links) {
            /* Chinese first, English second, in every link */
            assert.match(l.text, /^[^A-Za-z]*[\u4e00-\u9fff][\s\S]*\n[\s\S]*[A-Za-z]/, l.href + ': ' + l.text);
            const res = await hall.get(l.href);
            assert.equal(res.status, 200, l.href + ' answers');
        }
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('the ticket page on a phone beeps, vibrates and says so in large type near the front and when called', async () => {
    const cfg = H.baseConfig();
    cfg.display.ticket_alert_ahead = 2;
    const hall = await new H.Hall(cfg).start();
    try {
        for (let i = 0; i < 3; i++) assert.equal((await hall.issue('A')).status, 201);
        const t = (await hall.issue('A')).body.ticket; /* 3 ahead */
        const st = await hall.status();
        assert.deepEqual(st.pages, { ticket_alert_ahead: 2, no_show_requeue: false, recall_limit: cfg.queue.recall_limit ?? 2 });
        const page = await B.newPage({ width: 390, height: 844 });
        /* record what the page asks of the phone: vibrations and beeps */
        await page.addInitScript(() => {
            window.__vib = [];
            window.__beeps = 0;
            Object.defineProperty(Navigator.prototype, 'vibrate', { configurable: true, value: (p) => {
                window.__vib.push(p);
                return true;
            } });
            /* a phone's browser: no sound before a touch. Chromium here sometimes allows it
             * anyway (it remembers the pages of 127.0.0.1 in the shared profile), so every
             * context starts suspended as on a phone; the page's own resume() on a touch works */
            const Real = window.AudioContext;
            window.AudioContext = function (...a) {
                const c = new Real(...a);
                c.suspend().catch(() => {});
                return c;
            };
            window.AudioContext.prototype = Real.prototype;
            const make = AudioContext.prototype.createOscillator;
            AudioContext.prototype.createOscillator = function () {
                const o = make.call(this);
                const start = o.start.bind(o);
                o.start = (...a) => {
                    window.__beeps++;
                    return start(...a);
                };
                return o;
            };
        });
        await page.goto(hall.url + '/t/' + t.uuid);
        await linkUp(page);
        await page.waitForFunction(() => document.getElementById('tahead').textContent === '3 人', null, { timeout: 5000 });
        const rec = () => page.evaluate(() => ({ vib: window.__vib.length, beeps: window.__beeps, shown: !document.getElementById('talert').hidden,
            main: document.getElementById('talert-main').textContent, sub: document.getElementById('talert-sub').textContent,
            px: parseFloat(getComputedStyle(document.getElementById('talert-main')).fontSize) }));
        let r = await rec();
        assert.equal(r.shown, false, '3 ahead: no alert yet');
        assert.match(await text(page, '#tnote'), /过号请重新取号/, 'the note follows queue.no_show_requeue (false here)');
        assert.equal(r.vib + r.beeps, 0);
        /* the browser needs a touch before it sounds: the page offers one */
        await page.locator('#tsound').waitFor({ state: 'visible', timeout: 5000 }).catch(() => {});
        assert.ok(await page.locator('#tsound').isVisible(), 'a button to allow sound');
        await page.click('#tsound');
        await page.waitForFunction(() => window.__beeps === 1 && document.getElementById('tsound').hidden, null, { timeout: 5000 });

        assert.equal((await hall.window(1, 'login', { staff: '1001' })).status, 200);
        assert.equal((await hall.window(1, 'call-next')).status, 200); /* 2 ahead: near */
        await page.waitForFunction(() => !document.getElementById('talert').hidden, null, { timeout: 5000 });
        r = await rec();
        assert.equal(r.main, '快到您了');
        assert.match(r.sub, /前面还有 2 人/);
        assert.ok(r.px >= 36, 'large type: ' + r.px + ' px');
        assert.equal(r.vib, 1, 'vibrated once');
        assert.ok(r.beeps >= 2, 'beeped: ' + r.beeps);
        await H.artefact(page, 'ticket-alert-near.png');
        const beepsNear = r.beeps;

        /* closer still: the same alert, not again */
        for (let i = 0; i < 2; i++) {
            assert.equal((await hall.window(1, 'finish')).status, 200);
            assert.equal((await hall.window(1, 'call-next')).status, 200);
        }
        await page.waitForFunction(() => document.getElementById('talert-main').textContent === '下一位就是您', null, { timeout: 5000 });
        r = await rec();
        assert.equal(r.vib, 1);
        assert.equal(r.beeps, beepsNear);

        /* called: the window, large, with a longer buzz */
        assert.equal((await hall.window(1, 'finish')).status, 200);
        const c = await hall.window(1, 'call-next');
        assert.equal(c.body.ticket.number, t.number);
        await page.waitForFunction(() => /请到 1 号窗口/.test(document.getElementById('talert-main').textContent), null, { timeout: 5000 });
        r = await rec();
        assert.ok(r.shown);
        assert.match(r.sub, new RegExp(t.number));
        assert.equal(r.vib, 2, 'vibrated when called');
        assert.deepEqual(await page.evaluate(() => window.__vib[1]), [600, 200, 600, 200, 600]);
        assert.ok(r.beeps > beepsNear, 'beeped when called');
        await H.artefact(page, 'ticket-alert-called.png');
        await page.click('#lang');
        assert.equal(await text(page, '#talert-main'), 'Window 1, please');
        await page.click('#lang');
        /* a recall alerts again */
        assert.equal((await hall.window(1, 'recall')).status, 200);
        await page.waitForFunction(() => window.__vib.length === 3, null, { timeout: 5000 });
        /* 知道了 closes it */
        await page.click('#talert-ok');
        assert.equal(await page.locator('#talert').isVisible(), false);
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});
