/*
 * test_desk.js — the guide desk (/desk, 导服台, issue 16) in headless Chromium against the real
 * hallqd, printing through a private cupsd (tests/integration/cupsd.py serve) to the printer
 * simulator, at 1366x768 and 1920x1080, in Chinese and in English:
 *   - a wrong PIN is refused on the page; the desk person signs in with a desk session;
 *   - a ticket with a priority class (残疾人优先) and the 帮办/陪同 flag: the window page
 *     (/display/window/1) shows the flag when the clerk calls it;
 *   - a typed ID number with a wrong check character is refused with a clear message (and the
 *     number is gone from the input); a good one gives a real-name ticket, elderly from the
 *     number's birth date; the same person again is refused by the per-person limit;
 *   - cancel without a reason is refused, with one it is done and the reason is in the event log;
 *   - reprint prints the ticket again (补打) and the event says the desk did it;
 *   - re-register a paper number; each service's queue and the windows serving it.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const H = require('./harness.js');

const SIZES = [{ width: 1366, height: 768 }, { width: 1920, height: 1080 }];
const GOOD_ID = '110101194803120010'; /* born 1948-03-12: elderly */
const BAD_ID = '110101194803120011'; /* the same with a wrong check character */
const B = H.sharedBrowser(); /* closed before the printer rig stops, as it was */
let rig;
const until = H.until;

const tickets = () => rig.count();
const lines = (n) => rig.lines(n);

test.before(async () => {
    rig = await H.printerRig('hq-web-desk-');
});
test.after(async () => {
    if (rig) await rig.stop();
});

function config() {
    const c = H.baseConfig();
    rig.config(c);
    c.services[0].priorities = ['elderly', 'disabled', 'military', 'green'];
    c.services[2].priorities = ['elderly'];
    c.services[2].per_person_limit = 1;
    c.staff.push({ id: '9101', name: '赵敏', role: 'desk' });
    return c;
}

const T = {
    zh: { check: /校验位不对/, limit: /取号次数已达上限/, reason: /请填写取消原因/, assist: '帮办 / 陪同', elderly: /老年人优先/,
        disabled: /残疾人优先/, flag: /帮办\/陪同/, wrongPin: /工号或密码/, cancelled: /已取消/, reprinted: /已补打/, rereg: /已补登记/,
        win1: /1号窗口/, heading: '取号', noReader: /未配置身份证阅读器/, live: /B001 仍在队列中/ },
    en: { check: /check character is wrong/, limit: /ticket limit/, reason: /must give a reason/, assist: 'Assisted service', elderly: /Elderly/,
        disabled: /Disabled/, flag: /Assisted/, wrongPin: /wrong staff number or PIN/i, cancelled: /cancelled/, reprinted: /reprinted/,
        rereg: /re-registered/, win1: /Window 1/, heading: 'Issue a ticket', noReader: /no card reader/, live: /B001 is still in the queue/ },
};

async function visibleText(page, sel) {
    await page.waitForSelector(sel, { state: 'visible', timeout: 8000 });
    return page.locator(sel).innerText();
}
async function issue(page) {
    const before = await page.getAttribute('#issue-btn', 'data-answers');
    await page.click('#issue-btn');
    /* no answer yet: the attribute is absent (null here, undefined in the page) */
    await page.waitForFunction((b) => (document.getElementById('issue-btn').dataset.answers || '') !== b, before || '', { timeout: 8000 });
    return page.locator('#issue-err').isVisible().then((v) => (v ? page.locator('#issue-err').innerText() : ''));
}

for (const size of SIZES) {
    for (const lang of ['zh', 'en']) {
        test('desk at ' + size.width + 'x' + size.height + ' in ' + lang, async () => {
            const t = T[lang];
            const hall = await new H.Hall(config()).start();
            try {
                assert.equal((await hall.setPin('9101', '2468')).status, 200);
                assert.equal((await hall.window(1, 'login', { staff: '1001' })).status, 200);
                const page = await B.newPage(size);
                await page.goto(hall.url + '/desk?lang=' + lang);

                /* a wrong PIN */
                await page.fill('#si-staff', '9101');
                await page.fill('#si-pin', '0000');
                await page.click('#si-go');
                assert.match(await visibleText(page, '#si-err'), t.wrongPin);
                await page.fill('#si-pin', '2468');
                await page.click('#si-go');
                await page.waitForSelector('#main', { state: 'visible', timeout: 8000 });
                assert.equal(await page.locator('.issue h2').innerText(), t.heading);
                await page.waitForSelector('.svc[data-code="A"]', { timeout: 8000 });
                assert.match(await page.locator('#who').innerText(), /赵敏/);
                /* this hall has no reader for the desk: the page says so and offers no card ticket */
                assert.match(await page.locator('#card-state').innerText(), t.noReader);
                assert.equal(await page.locator('#usecard').isDisabled(), true);

                /* priority and assist; the ticket prints */
                const printed0 = tickets();
                await page.click('.svc[data-code="A"]');
                await page.selectOption('#prio', 'disabled');
                await page.check('#assist');
                assert.equal(await issue(page), '');
                assert.equal(await page.locator('#issued-num').innerText(), 'A001');
                const desc = await page.locator('#issued-desc').innerText();
                assert.match(desc, t.disabled);
                assert.match(desc, t.flag);
                assert.equal(await page.locator('#assist').isChecked(), false, 'the form is reset for the next citizen');
                const a1 = (await hall.get('/api/v1/tickets/A001', H.CLERK)).body;
                assert.equal(a1.priority, 'disabled');
                assert.equal(a1.assist, true);
                assert.ok(await until(() => tickets() > printed0, 10000), 'the desk ticket printed');

                /* the window page shows the flag when the clerk calls it */
                const win = await B.newPage({ width: 800, height: 480 });
                await win.goto(hall.url + '/display/window/1?lang=' + lang);
                await H.linkUp(win);
                assert.equal((await hall.window(1, 'call-next')).status, 200);
                await win.waitForFunction(() => document.getElementById('wnum').textContent === 'A001', null, { timeout: 8000 });
                assert.equal(await visibleText(win, '#wassist'), t.assist);
                assert.match(await win.locator('#wsvc').innerText(), t.disabled);
                await H.artefact(win, 'desk-window-assist-' + lang + '.png');
                assert.deepEqual(win.hq.errors, []);
                await win.close();

                /* a typed ID number with a wrong check character */
                await page.click('.svc[data-code="C"]');
                await page.fill('#idnum', BAD_ID);
                await issue(page);
                assert.match(await visibleText(page, '#issue-err'), t.check);
                assert.equal(await page.inputValue('#idnum'), '', 'the typed number does not stay on the page');
                /* a good one: real name, elderly from its birth date */
                await page.fill('#idnum', GOOD_ID);
                await issue(page);
                assert.equal(await page.locator('#issued-num').innerText(), 'C001');
                assert.match(await page.locator('#issued-desc').innerText(), t.elderly);
                const c1 = hall.db("SELECT flags, id_hash, priority FROM tickets WHERE label='C001'")[0];
                assert.equal(c1.flags & 1, 1, 'a real-name ticket');
                assert.equal(c1.priority, 'elderly');
                assert.match(c1.id_hash, /^[0-9a-f]{16}$/);
                /* the same person again, typed differently: the per-person limit holds */
                await page.fill('#idnum', '110101 19480312 0010');
                await issue(page);
                assert.match(await visibleText(page, '#issue-err'), t.limit);
                await H.artefact(page, 'desk-' + size.width + '-' + lang + '-limit.png');

                /* cancel: without a reason refused, with one done and logged */
                await page.fill('#tk-num', 'C001');
                await page.fill('#tk-reason', '');
                await page.click('#tk-cancel');
                await page.waitForFunction(() => document.getElementById('tk-msg').classList.contains('bad'), null, { timeout: 5000 });
                assert.match(await page.locator('#tk-msg').innerText(), t.reason);
                await page.fill('#tk-reason', '群众改日再办');
                await page.click('#tk-cancel');
                await page.waitForFunction(() => document.getElementById('tk-msg').classList.contains('good'), null, { timeout: 5000 });
                assert.match(await page.locator('#tk-msg').innerText(), t.cancelled);
                const ev = hall.db("SELECT actor, data FROM events WHERE kind='cancel'");
                assert.equal(ev.length, 1);
                assert.equal(ev[0].actor, 'staff:9101/desk');
                assert.equal(JSON.parse(ev[0].data).reason, '群众改日再办');
                assert.equal((await hall.get('/api/v1/tickets/C001', H.CLERK)).body.status, 'cancelled');

                /* reprint: a waiting ticket prints again, marked 补打 */
                await page.click('.svc[data-code="B"]');
                await page.fill('#idnum', '');
                await issue(page);
                const b1 = await page.locator('#issued-num').innerText();
                assert.equal(b1, 'B001');
                /* A001, C001 and B001 printed before the reprint is asked for */
                assert.ok(await until(() => tickets() >= printed0 + 3, 10000));
                const n0 = tickets();
                await page.fill('#tk-num', b1.toLowerCase());
                await page.click('#tk-reprint');
                await page.waitForFunction(() => document.getElementById('tk-msg').classList.contains('good') &&
                    /B001/.test(document.getElementById('tk-msg').textContent), null, { timeout: 5000 });
                assert.match(await page.locator('#tk-msg').innerText(), t.reprinted);
                assert.ok(await until(() => tickets() > n0, 10000), 'reprint printed');
                const l = lines(n0 + 1);
                assert.equal(l[0], '补打 / REPRINT');
                assert.ok(l.includes('B001'));
                const rp = hall.db("SELECT data FROM outbox WHERE type='event' AND data LIKE '%\"reprint\"%'");
                assert.equal(JSON.parse(rp[rp.length - 1].data).by, 'desk');

                /* re-register a number held on paper; one that is live is refused */
                await page.fill('#tk-num', 'B007');
                await page.click('#tk-rereg');
                await page.waitForFunction(() => /B007/.test(document.getElementById('tk-msg').textContent), null, { timeout: 5000 });
                assert.match(await page.locator('#tk-msg').innerText(), t.rereg);
                assert.equal((await hall.get('/api/v1/tickets/B007', H.CLERK)).body.status, 'waiting');
                await page.fill('#tk-num', 'B001');
                await page.click('#tk-rereg');
                await page.waitForFunction(() => document.getElementById('tk-msg').classList.contains('bad'), null, { timeout: 5000 });
                assert.match(await page.locator('#tk-msg').innerText(), t.live);

                /* queues: B has B001 and B007 waiting; windows 2 and 3 take B, window 1 serves A */
                await page.waitForFunction(() => {
                    const r = document.querySelector('#queues tr[data-code="B"] td.wait');
                    return r && r.textContent === '2';
                }, null, { timeout: 8000 });
                const rowA = await page.locator('#queues tr[data-code="A"]').innerText();
                assert.match(rowA, t.win1);
                assert.equal(await page.locator('#queues tr[data-code="B"] .win').count(), 2);
                assert.equal(await page.locator('#queues tr[data-code="A"] .win.calling').count(), 1);

                /* hallqd restarts in the middle: the page says the link is down, comes back by
                 * itself, and the desk session (stored hashed) still issues; a double click
                 * issues one ticket */
                await hall.stop();
                await page.waitForSelector('#link', { state: 'visible', timeout: 10000 });
                await hall.start();
                await page.waitForSelector('#link', { state: 'hidden', timeout: 20000 });
                await page.click('.svc[data-code="A"]');
                const before = await page.getAttribute('#issue-btn', 'data-answers');
                await page.dblclick('#issue-btn');
                await page.waitForFunction((b) => (document.getElementById('issue-btn').dataset.answers || '') !== b, before || '',
                    { timeout: 8000 });
                await H.sleep(500); /* a second request, had there been one, would have landed */
                assert.equal(await page.locator('#issued-num').innerText(), 'A002');
                assert.deepEqual(hall.db("SELECT count(*) AS n FROM tickets WHERE service='A'"), [{ n: 2 }], 'one ticket for a double click');

                /* nothing is cut off at this size: the page does not scroll sideways */
                const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
                assert.ok(overflow <= 0, 'no horizontal scroll: ' + overflow);
                await H.artefact(page, 'desk-' + size.width + '-' + lang + '.png');
                assert.deepEqual(page.hq.errors, []);

                /* the typed number was never stored or logged in full */
                const raw = fs.readFileSync(hall.logPath, 'utf8');
                assert.equal(raw.includes(GOOD_ID), false);
                assert.equal(raw.includes(BAD_ID), false);
                await page.close();
            } finally {
                await hall.close();
            }
        });
    }
}

test('desk: the card on the desk\'s own reader is shown masked and used for the ticket', async () => {
    const c = config();
    const hall = new H.Hall(c);
    c.devices = { card_readers: [{ kiosk: 'desk', port: 'pty:' + path.join(hall.dir, 'desk.tty') },
        { kiosk: 'k1', port: 'pty:' + path.join(hall.dir, 'k1.tty') }] };
    await hall.start();
    const proxy = await new H.Proxy(hall).start();
    try {
        assert.equal((await hall.setPin('9101', '2468')).status, 200);
        const page = await B.newPage(SIZES[0]);
        await page.goto(proxy.url + '/desk');
        await page.fill('#si-staff', '9101');
        await page.fill('#si-pin', '2468');
        await page.click('#si-go');
        await H.linkUp(page);
        await page.waitForFunction(() => /读卡器上没有证件/.test(document.getElementById('card-state').textContent), null, { timeout: 8000 });
        assert.equal(await page.locator('#usecard').isDisabled(), false);
        /* a card on a kiosk's reader is not the desk's */
        proxy.inject('card', { kiosk: 'k1', present: true, name_masked: '李*', elderly: false });
        await H.sleep(300);
        assert.match(await page.locator('#card-state').innerText(), /读卡器上没有证件/);
        assert.equal(await page.locator('#usecard').isChecked(), false);
        /* the desk's: shown masked (as text, never markup), and taken for the next ticket */
        assert.ok(proxy.inject('card', { kiosk: 'desk', present: true, name_masked: '<b>王</b>**', elderly: true }) >= 1);
        await page.waitForFunction(() => /王/.test(document.getElementById('card-state').textContent), null, { timeout: 5000 });
        assert.match(await page.locator('#card-state').innerText(), /<b>王<\/b>\*\*（老年人优先）/);
        assert.equal(await page.locator('#card-state b').count(), 0);
        assert.equal(await page.locator('#usecard').isChecked(), true);
        await page.click('.svc[data-code="C"]');
        assert.match(await issue(page), /身份证/, 'hallqd has no card on its real reader: its refusal is shown');
        const posts = proxy.requests.filter((r) => r.url === '/api/v1/desk/issue');
        assert.equal(posts.length, 1);
        assert.deepEqual(JSON.parse(posts[0].body), { service: 'C', priority: 'normal', assist: false, card: true });
        proxy.inject('card', { kiosk: 'desk', present: false });
        await page.waitForFunction(() => /读卡器上没有证件/.test(document.getElementById('card-state').textContent), null, { timeout: 5000 });
        assert.equal(await page.locator('#usecard').isChecked(), false);
        await H.artefact(page, 'desk-card.png');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await proxy.close();
        await hall.close();
    }
});
