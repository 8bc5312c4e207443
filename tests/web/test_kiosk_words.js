/*
 * test_kiosk_words.js — what the kiosk says (issue 14), in headless Chromium against the real
 * hallqd; text only (the kiosk's layout at every size is test_kiosk.js's):
 *   - a service that no window takes now says 当前无窗口受理, never 无需等待; once a clerk logs
 *     in at a window that serves it, 无需等待 (nobody waiting); English second;
 *   - a service closed now says when it opens again (its next hours, from hallqd);
 *   - an ID card that cannot be read (the simulated reader answers SW3 41 to every read):
 *     after hallqd's three tries the kiosk asks, Chinese first, to place the card again and
 *     says why.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const H = require('./harness.js');

const KIOSK = { width: 1080, height: 1920 };
const B = H.sharedBrowser();

const linkUp = H.linkUp;
const tile = (page, code) => page.locator('.svc-btn[data-code="' + code + '"] .svc-info').innerText();
async function tileSays(page, code, re) {
    await page.waitForFunction(([c, src]) => {
        const el = document.querySelector('.svc-btn[data-code="' + c + '"] .svc-info');
        return el && new RegExp(src).test(el.textContent);
    }, [code, re.source], { timeout: 10000 });
}

test('no window serving a service: 当前无窗口受理, not 无需等待; a closed service says when it opens', async () => {
    const cfg = H.baseConfig();
    /* D: open only tomorrow (hall time, +08:00) 08:00-09:00 */
    const tomorrow = new Date(Date.now() + 8 * 3600000 + 86400000);
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][tomorrow.getUTCDay()];
    cfg.services.push({ code: 'D', name: '公积金', name_en: 'Housing fund', prefix: 'D', range: [1, 999], digits: 3,
        hours: { [day]: ['08:00-09:00'] } });
    const hall = await new H.Hall(cfg).start();
    try {
        const page = await B.newPage(KIOSK);
        await page.goto(hall.url + '/kiosk');
        await linkUp(page);
        /* nobody logged in */
        assert.match(await tile(page, 'A'), /当前无窗口受理/);
        assert.doesNotMatch(await tile(page, 'A'), /无需等待/);
        assert.match(await tile(page, 'D'), /08:00 起办理/);
        const st = await hall.status();
        const a = st.services.find((s) => s.code === 'A');
        assert.equal(a.windows_open, 0);
        assert.equal(a.waiting, 0);

        /* window 1 (A only) opens: A has no wait, B still has no window */
        assert.equal((await hall.window(1, 'login', { staff: '1001' })).status, 200);
        await tileSays(page, 'A', /无需等待/);
        assert.match(await tile(page, 'B'), /当前无窗口受理/);

        /* English */
        await page.click('#lang');
        await tileSays(page, 'B', /no window now/);
        assert.match(await tile(page, 'A'), /no wait/);
        assert.match(await tile(page, 'D'), /opens \w{3} \d+, 08:00/);
        await page.click('#lang');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('a card that cannot be read: place it again, and why', async () => {
    const SIM = [path.join(H.BUILD, 'tools', 'hallq-sim'), path.join(H.BUILD, 'hallq-sim')].find((p) => fs.existsSync(p));
    assert.ok(SIM, 'hallq-sim is built');
    const cfg = H.baseConfig();
    const hall = new H.Hall(cfg);
    const tty = path.join(hall.dir, 'card.tty');
    cfg.devices = { card_readers: [{ kiosk: 'k1', port: 'pty:' + tty }] };
    await hall.start();
    const sim = spawn(SIM, ['idcard', '--pty', tty, '--log', path.join(hall.dir, 'card.log')],
        { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
        await H.childLine(sim, /^ready/m, 5000); /* hallq-sim idcard is up */
        const page = await B.newPage(KIOSK);
        await page.goto(hall.url + '/kiosk?kiosk=k1');
        await linkUp(page);
        /* every read answers SW3 41 (读卡操作失败) */
        sim.stdin.write('readfail 9\n');
        sim.stdin.write('place ' + path.join(H.SOURCE, 'tests/data/idcard/resident_adult.bin') + '\n');
        await page.waitForFunction(() => !document.getElementById('screen-error').hidden, null, { timeout: 15000 });
        const main = await page.locator('#err-main').innerText();
        const sub = await page.locator('#err-sub').innerText();
        assert.match(main, /读卡失败，请取下身份证后重新放置/);
        assert.match(main, /读卡器报告读卡失败/);
        assert.match(sub, /place it again/);
        assert.match(sub, /the reader reported a failed read/);
        await H.artefact(page, 'kiosk-card-unreadable.png');
        assert.deepEqual(hall.db("SELECT count(*) AS n FROM tickets"), [{ n: 0 }]);
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        sim.kill('SIGTERM');
        await hall.close();
    }
});
