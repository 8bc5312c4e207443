/*
 * test_print_reprint.js — reprints from the pages, in headless Chromium
 * against the real hallqd printing through a private cupsd
 * (tests/integration/cupsd.py serve) to the printer simulator:
 *   - kiosk: the ticket screen offers 补打号票; a tap prints the ticket again
 *     marked 补打 / REPRINT; a second tap is refused by hallqd and the
 *     refusal shows under the ticket; print_failed for the ticket on screen
 *     (injected through the proxy) says it was not printed;
 *   - dashboard: the manager reprints by number, the printer gets it;
 *   - kiosk: with the printer's paper out (the simulator's status link says
 *     paper end) a touch shows hallqd's refusal large and issues nothing;
 *     with paper again it issues.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const H = require('./harness.js');

const KIOSK = { width: 1080, height: 1920 };
const B = H.sharedBrowser(); /* closed before the printer rig stops, as it was */
let rig;
const until = H.until;

const printed = (n) => rig.path(n);
const lines = (n) => rig.lines(n);

test.before(async () => {
    rig = await H.printerRig('hq-web-reprint-');
});
test.after(async () => {
    if (rig) await rig.stop();
});

function config() {
    const c = H.baseConfig();
    rig.config(c);
    return c;
}

test('kiosk: 补打号票 prints once, a second tap shows the refusal, print_failed is said', async () => {
    const hall = await new H.Hall(config()).start();
    const proxy = await new H.Proxy(hall).start();
    try {
        const base = rig.count();
        const page = await B.newPage(KIOSK);
        await page.goto(proxy.url + '/kiosk');
        await H.linkUp(page);
        await page.click('.svc-btn[data-code="A"]');
        await page.waitForFunction(() => !document.getElementById('screen-ticket').hidden, null, { timeout: 8000 });
        const number = await page.locator('#tk-num').innerText();
        assert.ok(await until(() => fs.existsSync(printed(base + 1)), 10000), 'ticket printed');
        assert.equal(await page.locator('#tk-reprint').isVisible(), true, 'reprint offered');

        await page.click('#tk-reprint');
        await page.waitForFunction(() => !document.getElementById('tk-note').hidden, null, { timeout: 5000 });
        assert.match(await page.locator('#tk-note').innerText(), /已补打/);
        assert.ok(await until(() => fs.existsSync(printed(base + 2)), 10000), 'reprint printed');
        const l = lines(base + 2);
        assert.equal(l[0], '补打 / REPRINT');
        assert.ok(l.includes(number));
        assert.equal(await page.locator('#tk-reprint').isDisabled(), true, 'one reprint: the button is spent');
        const rq = proxy.requests.filter((r) => r.url.startsWith('/api/v1/reprint/'));
        assert.equal(rq.length, 1);
        assert.match(rq[0].url, /^\/api\/v1\/reprint\/[0-9a-f-]{36}$/, 'the kiosk asks by uuid');

        /* the next citizen: hallqd refuses a second kiosk reprint (made here
         * through the API first), and the page shows why */
        await page.click('#tk-done');
        await page.click('.svc-btn[data-code="A"]');
        await page.waitForFunction((n) => document.getElementById('tk-num').textContent !== n, number, { timeout: 8000 });
        const n2 = await page.locator('#tk-num').innerText();
        const t2 = (await hall.get('/api/v1/tickets/' + n2, H.CLERK)).body; /* the uuid only for staff */
        assert.equal((await hall.post('/api/v1/reprint/' + t2.uuid, {})).status, 202);
        await page.click('#tk-reprint');
        await page.waitForFunction(() => document.getElementById('tk-note').classList.contains('bad'), null, { timeout: 5000 });
        assert.match(await page.locator('#tk-note').innerText(), /服务台/);

        /* the printer failed on the ticket on screen */
        assert.ok(proxy.inject('print_failed', { ticket: n2, uuid: t2.uuid, error: 'job 9 aborted', text: '号票未打印' }) >= 1);
        await page.waitForFunction(() => /未能打印/.test(document.getElementById('tk-note').textContent), null, { timeout: 5000 });
        await H.artefact(page, 'kiosk-print-failed.png');
        /* another ticket's failure is not this citizen's */
        await page.click('#tk-done');
        await page.click('.svc-btn[data-code="A"]');
        await page.waitForFunction((n) => document.getElementById('tk-num').textContent !== n, n2, { timeout: 8000 });
        proxy.inject('print_failed', { ticket: n2, uuid: t2.uuid, error: 'x', text: 'x' });
        await H.sleep(300);
        assert.equal(await page.locator('#tk-note').isHidden(), true);
        assert.deepEqual(page.hq.errors, []);
    } finally {
        await proxy.close();
        await hall.stop();
    }
});

test('dashboard: a manager reprints by number', async () => {
    const cfg = config();
    cfg.staff.push({ id: '9001', name: '赵主任', role: 'manager' }); /* the dashboard signs in as a person */
    const hall = await new H.Hall(cfg).start();
    try {
        assert.equal((await hall.setPin('9001', '2468-13579')).status, 200, 'manager PIN set');
        const base = rig.count() + 1;
        const r = await hall.post('/api/v1/tickets', { service: 'A' });
        assert.equal(r.status, 201);
        const number = r.body.ticket.number;
        assert.ok(await until(() => fs.existsSync(printed(base)) && lines(base).includes(number), 10000));
        const page = await B.newPage({ width: 1920, height: 1080 });
        await page.goto(hall.url + '/admin');
        await page.fill('#staff', '9001');
        await page.fill('#pin', '2468-13579');
        await page.click('#login-form button[type=submit]');
        await page.waitForFunction(() => !document.getElementById('dash').hidden, null, { timeout: 8000 });
        await page.fill('#reprint-key', number.toLowerCase());
        await page.click('#reprint-form button[type=submit]');
        await page.waitForFunction(() => /已补打/.test(document.getElementById('reprint-msg').textContent), null, { timeout: 5000 });
        assert.ok(await until(() => fs.existsSync(printed(base + 1)), 10000), 'reprint printed');
        assert.equal(lines(base + 1)[0], '补打 / REPRINT');
        await page.fill('#reprint-key', 'Z999');
        await page.click('#reprint-form button[type=submit]');
        await page.waitForFunction(() => document.getElementById('reprint-msg').classList.contains('bad'), null, { timeout: 5000 });
        const rows = hall.db("SELECT data FROM outbox WHERE type='event' AND data LIKE '%reprint%'");
        assert.equal(rows.length, 1);
        assert.equal(JSON.parse(rows[0].data).by, 'manager');
        await H.artefact(page, 'admin-reprint.png');
    } finally {
        await hall.stop();
    }
});

test('kiosk: the printer out of paper is said large on screen, and nothing is issued', async () => {
    const hall = await new H.Hall(config()).start();
    const paper = async (what) => {
        rig.paper(what);
        const want = what === 'ok' ? 'ok' : 'end';
        assert.ok(await until(async () => ((await hall.status()).printers || []).some((p) => p.paper === want), 10000),
            'hallqd sees paper ' + want);
    };
    try {
        const page = await B.newPage(KIOSK);
        await page.goto(hall.url + '/kiosk');
        await H.linkUp(page);
        await paper('end');
        await page.click('.svc-btn[data-code="A"]');
        await page.waitForFunction(() => !document.getElementById('screen-error').hidden, null, { timeout: 8000 });
        const direct = await hall.post('/api/v1/tickets', { service: 'A', channel: 'kiosk' });
        assert.equal(direct.status, 503);
        assert.equal(direct.body.error, 'printer');
        assert.equal(await page.locator('#err-main').innerText(), direct.body.message);
        assert.match(direct.body.message, /打印机缺纸/);
        assert.equal(await page.locator('#err-sub').innerText(), direct.body.message_en);
        const px = await page.evaluate(() => parseFloat(getComputedStyle(document.getElementById('err-main')).fontSize));
        assert.ok(px >= 60, 'the message is large: ' + px + ' px');
        await H.artefact(page, 'kiosk-no-paper.png');
        assert.deepEqual(hall.db('SELECT count(*) AS n FROM tickets'), [{ n: 0 }], 'nothing issued');

        await paper('ok');
        await page.click('#err-back');
        await page.click('.svc-btn[data-code="A"]');
        await page.waitForFunction(() => !document.getElementById('screen-ticket').hidden, null, { timeout: 8000 });
        assert.match(await page.locator('#tk-num').innerText(), /^A\d{3}$/);
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        rig.paper('ok');
        await hall.stop();
    }
});
