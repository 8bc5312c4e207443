/*
 * test_console.js — the window console (/console, issue 16) in headless
 * Chromium against the real hallqd, at the window PC's two screen sizes
 * (1366x768 and 1920x1080) and in both languages. A clerk's morning runs in
 * seconds (tickets issued through the API as fast as the page can call
 * them; HQ_TIME_SCALE stretches the waits under a slow build):
 *   - a wrong PIN is refused on the page, the right one signs in;
 *   - a double click on 叫下一位 calls one citizen, not two;
 *   - recall (count and limit shown), start, finish, no-show, park and call
 *     back, pause with a reason and resume, by the keyboard shortcuts shown
 *     on the buttons;
 *   - a transfer to a window nobody is signed in at is refused, with the
 *     reason on the page; a transfer to a service goes through;
 *   - hallqd restarts in the middle: the page reconnects, stays signed in
 *     and shows the state hallqd has; a command after it works;
 *   - the network drops (a TCP relay cut and mended) while the window's
 *     state changes: the page says so, reconnects, shows hallqd's state;
 *   - a help call reaches the dashboard's alarms and shows until answered;
 *   - today's figures and the window's queue follow;
 *   - every control is visible and clickable (the topmost element at its
 *     centre) at both sizes; sign-out ends the session.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const H = require('./harness.js');

const SCALE = parseFloat(process.env.HQ_TIME_SCALE || '1') || 1;
const T = (ms) => Math.round(ms * SCALE);
const SMALL = { width: 1366, height: 768 };
const LARGE = { width: 1920, height: 1080 };
const PIN = '2468';

const B = H.sharedBrowser();

const linkUp = (page) => H.linkUp(page, T(15000));
const text = (page, sel) => page.locator(sel).innerText();
async function waitText(page, sel, re) {
    await page.waitForFunction(([s, src]) => {
        const el = document.querySelector(s);
        return !!el && new RegExp(src).test(el.textContent);
    }, [sel, re.source], { timeout: T(10000) });
}
async function windowOf(hall, n) {
    const st = await hall.status();
    return st.windows.find((w) => w.number === n);
}

/* Every control of the console is in the viewport and is the topmost
 * element at its centre (nothing covers it), and a click reaches it. */
async function allControlsReachable(page, viewport) {
    const ids = await page.evaluate(() => Array.from(document.querySelectorAll('#actions .act, #b-callnum, #callnum, #logout, #lang')).map((b) => b.id));
    assert.ok(ids.length >= 13, 'the controls are there: ' + ids.join(','));
    for (const id of ids) {
        const box = await page.locator('#' + id).boundingBox();
        assert.ok(box, id + ' has a box');
        assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width && box.y + box.height <= viewport.height,
            id + ' inside ' + viewport.width + 'x' + viewport.height + ': ' + JSON.stringify(box));
        assert.ok(box.width >= 40 && box.height >= 28, id + ' big enough to hit: ' + JSON.stringify(box));
        const top = await page.evaluate((x) => {
            const el = document.getElementById(x);
            const r = el.getBoundingClientRect();
            const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return at === el || el.contains(at);
        }, id);
        assert.ok(top, id + ' is not covered');
    }
}

/* A shortcut key, pressed once its button is enabled (as a clerk sees it:
 * the console takes one command at a time and a key on a disabled button
 * does nothing). */
async function key(page, k) {
    await page.waitForFunction((x) => {
        const b = document.querySelector('#actions .act[data-key="' + x + '"]');
        return !b || !b.disabled;
    }, k.toUpperCase(), { timeout: T(10000) });
    await page.keyboard.press(k);
}

/* A plain TCP relay in front of hallqd that can cut the line (every open
 * connection reset, nothing accepted) and mend it on the same port: the
 * window PC's network cable pulled and plugged back. */
class Line {
    constructor(target) {
        this.target = target;
        this.socks = new Set();
    }
    get url() {
        return 'http://127.0.0.1:' + this.port;
    }
    async up() {
        if (!this.port) this.port = await H.freePort();
        this.server = net.createServer((c) => {
            const u = net.connect(this.target, '127.0.0.1');
            for (const s of [c, u]) {
                this.socks.add(s);
                s.on('close', () => this.socks.delete(s));
                s.on('error', () => {});
            }
            c.pipe(u);
            u.pipe(c);
            c.on('close', () => u.destroy());
            u.on('close', () => c.destroy());
        });
        await new Promise((r) => this.server.listen(this.port, '127.0.0.1', r));
    }
    async cut() {
        if (!this.server || !this.server.listening) return;
        const closed = new Promise((r) => this.server.close(r));
        for (const s of this.socks) s.destroy();
        await closed;
    }
}

async function signIn(page, hall, staff, pin, win) {
    await page.waitForFunction(() => !document.getElementById('login').hidden, null, { timeout: T(10000) });
    await page.waitForFunction((n) => !!document.querySelector('#window option[value="' + n + '"]'), win, { timeout: T(10000) });
    await page.fill('#staff', staff);
    await page.fill('#pin', pin);
    await page.selectOption('#window', String(win));
    await page.click('#login-btn');
}

test('a clerk\'s morning at 1366x768 in Chinese: sign-in, calls, transfer refused, restart, shortcuts', async () => {
    const hall = await new H.Hall().start();
    try {
        assert.equal((await hall.setPin('1001', PIN)).status, 200);
        assert.equal((await hall.setPin('1002', PIN)).status, 200);
        const page = await B.newPage(SMALL);
        await page.goto(hall.url + '/console?lang=zh');
        await linkUp(page);

        /* a wrong PIN: refused, in words, still on the sign-in */
        await signIn(page, hall, '1001', '0000', 1);
        await waitText(page, '#login-error', /工号或密码错误/);
        assert.equal(await page.locator('#desk').isHidden(), true);
        assert.equal((await windowOf(hall, 1)).state, 'closed', 'a wrong PIN opened nothing');

        await signIn(page, hall, '1001', PIN, 1);
        await page.waitForFunction(() => !document.getElementById('desk').hidden, null, { timeout: T(10000) });
        await waitText(page, '#win-state', /空闲/);
        assert.match(await text(page, '#who'), /1001 王芳/);
        const w1 = await windowOf(hall, 1);
        assert.equal(w1.state, 'idle');
        assert.equal(w1.staff.id, '1001');
        await allControlsReachable(page, SMALL);

        /* the queue fills; the list shows it in call order */
        for (let i = 0; i < 4; i++) assert.equal((await hall.issue('A')).status, 201);
        assert.equal((await hall.post('/api/v1/tickets', { service: 'A', priority: 'disabled' }, H.CLERK)).status, 201);
        await waitText(page, '#wait-total', /^5$/);

        /* a double click on call: one citizen called */
        await page.dblclick('#b-next');
        await waitText(page, '#cur-num', /^A\d{3}$/);
        await H.sleep(T(1500)); /* the second click would have landed by now */
        const st1 = await hall.status();
        assert.equal(st1.services.find((s) => s.code === 'A').waiting, 4, 'one call only');
        const first = st1.windows[0].current.number;
        assert.equal(await text(page, '#cur-num'), first);
        const calls = hall.db("SELECT count(*) AS n FROM events WHERE kind = 'call' AND window = 1");
        assert.equal(calls[0].n, 1, 'one call in the event log');
        await waitText(page, '#wait-total', /^4$/);

        /* recall by its key: the count and the limit are shown */
        await waitText(page, '#cur-recalls', /0\/2/);
        await key(page, 'r');
        await waitText(page, '#cur-recalls', /1\/2/);
        assert.equal((await windowOf(hall, 1)).current.recalls, 1);
        await waitText(page, '#recall-count', /1\/2/);

        /* start and finish by their keys */
        await key(page, 's');
        await waitText(page, '#win-state', /办理中/);
        assert.equal((await windowOf(hall, 1)).state, 'serving');
        await key(page, 'f');
        await waitText(page, '#win-state', /空闲/);
        await waitText(page, '#f-served', /^1$/);

        /* a transfer to a window nobody is signed in at: refused, with why */
        await key(page, 'n');
        await page.waitForFunction((f) => {
            const el = document.getElementById('cur-num');
            return el && el.textContent !== f;
        }, first, { timeout: T(10000) });
        const second = await text(page, '#cur-num');
        await H.sleep(T(1200)); /* the call's cool-down */
        await key(page, 't');
        await page.waitForFunction(() => !document.getElementById('transfer-panel').hidden);
        await page.check('input[name=tr-kind][value=window]');
        await page.selectOption('#tr-window', '2');
        await page.click('#tr-ok');
        await waitText(page, '#tr-error', /目标窗口未开放/);
        await H.artefact(page, 'console-1366-zh-transfer-refused.png');
        assert.equal((await windowOf(hall, 1)).current.number, second, 'the ticket stayed at the window');
        await waitText(page, '#msg', /目标窗口未开放/);
        await page.keyboard.press('Escape');
        await page.waitForFunction(() => document.getElementById('panel-back').hidden);

        /* a transfer to a service (to the back of its queue) goes through */
        await key(page, 't');
        await page.waitForFunction(() => !document.getElementById('transfer-panel').hidden);
        await page.selectOption('#tr-service', 'B');
        await page.check('input[name=tr-pos][value=back]');
        await page.click('#tr-ok');
        await page.waitForFunction(() => document.getElementById('panel-back').hidden, null, { timeout: T(10000) });
        const moved = (await hall.get('/api/v1/tickets/' + second)).body;
        assert.equal(moved.service, 'B');
        assert.equal(moved.status, 'waiting');
        await waitText(page, '#win-state', /空闲/);

        /* park and call back from the parked list */
        await key(page, 'n');
        await waitText(page, '#win-state', /叫号中/);
        const third = await text(page, '#cur-num');
        await H.sleep(T(1200));
        await key(page, 'p');
        await waitText(page, '#parked', new RegExp(third));
        await waitText(page, '#parked-count', /^1$/);
        await key(page, 'b');
        await waitText(page, '#cur-num', new RegExp('^' + third + '$'));
        await waitText(page, '#parked-count', /^0$/);
        await H.sleep(T(1200));
        await key(page, 'f');
        await waitText(page, '#win-state', /空闲/);
        await waitText(page, '#f-served', /^2$/);

        /* hallqd restarts in the middle of the morning: the page reconnects,
         * is still signed in and shows hallqd's state */
        await key(page, 'n');
        await waitText(page, '#win-state', /叫号中/);
        const fourth = await text(page, '#cur-num');
        await hall.stop();
        await page.waitForFunction(() => !document.getElementById('link').hidden, null, { timeout: T(60000) });
        await hall.start();
        await linkUp(page);
        await waitText(page, '#cur-num', new RegExp('^' + fourth + '$'));
        assert.equal(await page.locator('#login').isHidden(), true, 'still signed in after the restart');
        await H.sleep(T(1200));
        await key(page, 's');
        await waitText(page, '#win-state', /办理中/);
        assert.equal((await windowOf(hall, 1)).state, 'serving', 'a command after the restart reached hallqd');
        await key(page, 'f');
        await waitText(page, '#f-served', /^3$/);

        /* a no-show (this hall does not re-queue) */
        await key(page, 'n');
        await waitText(page, '#win-state', /叫号中/);
        const fifth = await text(page, '#cur-num');
        await H.sleep(T(1200));
        await key(page, 'm');
        await waitText(page, '#win-state', /空闲/);
        assert.equal((await hall.get('/api/v1/tickets/' + fifth)).body.status, 'no_show');
        await waitText(page, '#f-noshow', /^1$/);

        /* pause with a reason (its number key in the list of the hall's
         * reasons), shown on the console and kept by hallqd; then resume */
        await key(page, 'z');
        await page.waitForFunction(() => !document.getElementById('pause-panel').hidden);
        const offered = await page.locator('#pa-reasons button').allInnerTexts();
        const st2 = await hall.status();
        assert.ok(Array.isArray(st2.pause_reasons) && st2.pause_reasons.length >= 1, 'the hall lists its pause reasons');
        assert.equal(offered.length, st2.pause_reasons.length, 'every reason offered: ' + offered.join('|'));
        const pick = st2.pause_reasons.length > 1 ? 2 : 1;
        const reason = st2.pause_reasons[pick - 1];
        assert.match(offered[pick - 1], new RegExp(reason.name));
        await page.keyboard.press(String(pick));
        await waitText(page, '#win-state', /暂停/);
        const paused = await windowOf(hall, 1);
        assert.equal(paused.state, 'paused');
        assert.equal(paused.pause_reason, reason.code);
        await waitText(page, '#pause-reason', new RegExp(reason.name));
        await waitText(page, '#pause-label', /恢复服务/);
        await key(page, 'z');
        await waitText(page, '#win-state', /空闲/);

        /* call a number: the form, reached by its key */
        const next = (await hall.issue('A')).body.ticket.number;
        await key(page, 'g');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'callnum');
        await page.keyboard.type(next);
        await page.keyboard.press('Enter');
        await waitText(page, '#cur-num', new RegExp('^' + next + '$'));

        /* a help call reaches hallqd (the dashboard shows it); the call's
         * cool-down over, the number field hands the keys back */
        await page.waitForFunction(() => document.activeElement.id !== 'callnum' && !document.getElementById('b-help').disabled,
            null, { timeout: T(10000) });
        const helpReq = page.waitForResponse((r) => r.url().endsWith('/api/v1/windows/1/help'));
        await key(page, 'h');
        assert.equal((await helpReq).status(), 200);
        await waitText(page, '#msg', /已通知值班长/);
        const ov = (await hall.get('/api/v1/admin/overview', H.MANAGER)).body;
        assert.ok((ov.alarms || []).some((a) => a.key === 'help:1'), 'the dashboard has the help call: ' + JSON.stringify(ov.alarms));
        await waitText(page, '#help-state', /求助已发出/);
        /* the manager answers: the console stops showing it */
        assert.equal((await hall.post('/api/v1/admin/alarms/help:1/ack', {}, H.MANAGER)).status, 200);
        await page.waitForFunction(() => document.getElementById('help-state').hidden, null, { timeout: T(10000) });

        /* English: the same console in the other language */
        await page.click('#lang');
        await waitText(page, '#b-next', /Call next/);
        await waitText(page, '#win-state', /Calling/);
        assert.match(await text(page, '#figures'), /Served/);
        await allControlsReachable(page, SMALL);
        await H.artefact(page, 'console-1366-en-calling.png');
        await page.click('#lang');
        await waitText(page, '#b-next', /叫下一位/);

        /* sign out: the session ends on hallqd too */
        await H.sleep(T(1200));
        await key(page, 'f');
        await waitText(page, '#win-state', /空闲/);
        const tok = await page.evaluate(() => localStorage.getItem('hallq.console.token'));
        assert.match(tok, /^hqs_/);
        await page.click('#logout');
        await page.waitForFunction(() => !document.getElementById('login').hidden, null, { timeout: T(10000) });
        assert.equal((await hall.get('/api/v1/session', tok)).status, 401);
        assert.equal((await windowOf(hall, 1)).state, 'closed');
        await H.artefact(page, 'console-1366-zh.png');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('1920x1080 in English: sign-in, the whole console reachable, a reload keeps the session', async () => {
    const cfg = H.baseConfig();
    cfg.staff.push({ id: '1009', name: '周丽', role: 'desk' });
    const hall = await new H.Hall(cfg).start();
    let line = null;
    try {
        assert.equal((await hall.setPin('1002', PIN)).status, 200);
        const page = await B.newPage(LARGE);
        await page.goto(hall.url + '/console?lang=en');
        await linkUp(page);
        await waitText(page, '#login h1', /Clerk sign-in/);
        await signIn(page, hall, '1002', '9999', 3);
        await waitText(page, '#login-error', /wrong staff number or PIN/);
        await signIn(page, hall, '1002', PIN, 3);
        await page.waitForFunction(() => !document.getElementById('desk').hidden, null, { timeout: T(10000) });
        await waitText(page, '#win-state', /Idle/);
        assert.match(await text(page, '#b-next'), /Call next\s*N/);
        await allControlsReachable(page, LARGE);
        assert.equal((await hall.issue('B')).status, 201);
        await waitText(page, '#queue', /Real estate/);
        await page.click('#b-next');
        await waitText(page, '#cur-num', /^B\d{3}$/);
        await waitText(page, '#current', /Real estate/);
        await H.artefact(page, 'console-1920-en-calling.png');
        /* a reload (the PC restarted the browser) keeps the clerk signed in */
        await page.reload();
        await linkUp(page);
        await page.waitForFunction(() => !document.getElementById('desk').hidden, null, { timeout: T(10000) });
        await waitText(page, '#cur-num', /^B\d{3}$/);
        await allControlsReachable(page, LARGE);
        /* the network drops while the window's state changes on hallqd: the
         * page says so, reconnects and shows the state hallqd has */
        line = new Line(hall.port);
        await line.up();
        await page.goto(line.url + '/console?lang=en'); /* another origin: sign in there */
        await linkUp(page);
        await signIn(page, hall, '1002', PIN, 3);
        await page.waitForFunction(() => !document.getElementById('desk').hidden, null, { timeout: T(10000) });
        await waitText(page, '#cur-num', /^B\d{3}$/);
        await line.cut();
        await page.waitForFunction(() => !document.getElementById('link').hidden, null, { timeout: T(60000) });
        assert.equal((await hall.window(3, 'finish', {}, H.MANAGER)).status, 200, 'finished meanwhile (the manager)');
        assert.equal((await hall.issue('A')).status, 201);
        await H.sleep(T(500));
        await line.up();
        await linkUp(page);
        await waitText(page, '#win-state', /Idle/);
        assert.equal(await page.locator('#current .cur-none').count(), 1, 'no ticket at the window any more');
        await waitText(page, '#wait-total', /^1$/);
        await waitText(page, '#f-served', /^1$/); /* the ticket she called counts as hers */
        assert.equal(await page.locator('#login').isHidden(), true, 'still signed in after the drop');

        /* a ticket the guide desk issued with 帮办 (assist) and a priority: the
         * console shows both on the current ticket */
        assert.equal((await hall.setPin('1009', PIN)).status, 200);
        const desk = (await hall.signIn('1009', PIN, { desk: true })).body.token;
        const ad = await hall.post('/api/v1/desk/issue', { service: 'A', priority: 'disabled', assist: true }, desk);
        assert.equal(ad.status, 201, JSON.stringify(ad.body));
        await page.click('#b-next');
        await waitText(page, '#cur-num', new RegExp('^' + ad.body.ticket.number + '$'));
        await waitText(page, '#cur-assist', /Assisted/);
        assert.match(await text(page, '#cur-prio'), /\S/);
        await H.artefact(page, 'console-1920-en-assist.png');

        /* a session ended elsewhere (the manager resets the PIN): back to the sign-in */
        assert.equal((await hall.setPin('1002', '1357')).status, 200);
        await key(page, 'n');
        await page.waitForFunction(() => !document.getElementById('login').hidden, null, { timeout: T(10000) });
        await waitText(page, '#login-error', /session ended/);
        await H.artefact(page, 'console-1920-en.png');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        if (line) await line.cut();
        await hall.close();
    }
});
