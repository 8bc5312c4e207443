/*
 * admin_tempwin.test.js — the dashboard's 开设窗口 form with a temporary window's own devices
 * (issue 16) in headless Chromium against the real hallqd, at 1366×768 and 1920×1080, Chinese
 * and English: the device fields appear because the hall has device buses; a keypad address
 * window 1 has is refused in hallqd's words naming $.devices.keypad and nothing opens; window 7
 * opened with keypad 7, pad 37 and bar 7 is in the list with its devices, and hallqd's status
 * lists them as devices of window 7. The buses' ports are absent: devices are only offline.
 * Screenshot: BUILD/artefacts/admin-tempwin.png.
 */
'use strict';

const path = require('path');
const os = require('os');
const H = require('./harness');

const { check, eq, done } = H.checks('admin_tempwin');

const { MGR, MGR_PIN } = H;

async function main() {
    const cfg = H.baseConfig();
    cfg.queue.max_windows = 8;
    const absent = path.join(os.tmpdir(), 'hallq-web-tempwin-absent-' + process.pid);
    cfg.devices = {
        buses: [
            { id: 'keys', type: 'hall', port: 'pty:' + absent + '/bus.tty' },
            { id: 'bars', type: 'led', port: 'pty:' + absent + '/led.tty' },
        ],
        windows: [{ window: 1, keypad: 1, pad: 33, bar: 1 }],
    };
    await H.withDashboard(cfg, async (hall, br) => {
        eq((await hall.setPin(MGR, MGR_PIN)).status, 200, 'manager PIN set');
        let n = 0;
        for (const [width, height] of [[1366, 768], [1280, 720], [1920, 1080]]) {
            const number = String(7 + n++);
            const page = await br.newPage({ width: width, height: height });
            await page.goto(hall.url + '/admin');
            await H.adminSignIn(page);
            await page.locator('#dash').waitFor({ state: 'visible', timeout: 5000 });
            await page.locator('#chg-open-dev').waitFor({ state: 'visible', timeout: 5000 }).catch(() => {});
            check(await page.locator('#chg-open-dev').isVisible(), width + ': the device fields show (the hall has buses)');
            check((await page.textContent('#chg-open-dev')).includes('呼叫器'), width + ': in Chinese first');
            eq(await page.locator('#chg-open-bus option').allTextContents(), ['keys'], width + ': the only hall bus offered');

            /* window 1's keypad address: refused, naming the field, nothing opens */
            await page.fill('#chg-open-number', number);
            await page.fill('#chg-open-services', 'a');
            await page.fill('#chg-open-keypad', '1');
            await page.fill('#chg-open-bar', number);
            await page.evaluate(() => { document.getElementById('chg-msg').textContent = ''; });
            await page.click('#chg-open button[type=submit]');
            await page.waitForFunction(() => document.getElementById('chg-msg').textContent.length > 0, null, { timeout: 5000 }).catch(() => {});
            const msg = await page.textContent('#chg-msg');
            check(msg.includes('$.devices.keypad') && msg.includes('address 1 on bus "keys"'), width + ': refusal names the field: ' + msg);
            check(!(await hall.status()).windows.some((w) => String(w.number) === number), width + ': nothing opened');

            /* its own addresses: opened with them */
            await page.fill('#chg-open-keypad', number);
            await page.fill('#chg-open-pad', String(30 + Number(number)));
            await page.click('#chg-open button[type=submit]');
            const row = page.locator('#overrides tr[data-kind="window"][data-target="' + number + '"]');
            await row.waitFor({ timeout: 5000 }).catch(() => {});
            eq(await row.count(), 1, width + ': window ' + number + ' in the list');
            if (await row.count()) {
                const text = await row.textContent();
                check(text.includes('呼叫器 ' + number) && text.includes('窗口屏 ' + number), width + ': its devices in the list: ' + text);
            }
            const ids = (await hall.status()).devices.map((d) => d.id);
            check(ids.includes('keypad:keys:' + number) && ids.includes('bar:bars:' + number) &&
                ids.includes('rating_pad:keys:' + (30 + Number(number))), width + ': hallqd lists its devices: ' + ids);

            /* English */
            await page.click('#lang');
            check((await page.textContent('#chg-open-dev')).includes('Keypad'), width + ': the device fields in English');
            if (await row.count()) check((await row.textContent()).includes('keypad ' + number), width + ': the list in English');
            const fits = await page.evaluate(() => {
                const f = document.getElementById('chg-open');
                return f.scrollWidth <= f.clientWidth + 1;
            });
            check(fits, width + ': the form fits its card');
            /* the whole dashboard fits the screen's width in both languages, with the two
             * device alarms' long port paths (before: 1390 px in Chinese and 2103 px in
             * English at 1366, the queues table squeezed into a 56 px column) */
            for (const lang of ['en', 'zh']) {
                const w = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
                check(w[0] <= w[1], width + ' ' + lang + ': the dashboard is not wider than the screen: ' + w);
                const q = await page.evaluate(() => document.querySelector('.queues-card').getBoundingClientRect().width);
                check(q > 300, width + ' ' + lang + ': the queues card has room (' + q + ' px)');
                if (lang === 'en') await page.click('#lang');
            }
            await page.click('#lang');
            await page.locator('#chg-open').scrollIntoViewIfNeeded();
            await H.artefact(page, width === 1366 ? 'admin-tempwin-1366.png' : 'admin-tempwin.png');
            await page.click('#lang');
            eq(page.hq.errors, [], width + ': no page errors');
            await page.close();
        }
    });
    return done();
}

H.exitWith(main());
