/*
 * admin_changes.test.js — the dashboard's 运行时调整 section (issue 16) in headless Chromium
 * against the real hallqd: a manager opens window 7 from the form (hallqd's status and the
 * list of overrides agree), closing service B early with a citizen waiting is refused in
 * hallqd's words and accepted with a re-route, the English switch, and 撤销 / Revert of the
 * window from the list. Screenshot: BUILD/artefacts/admin-changes.png.
 */
'use strict';

const H = require('./harness');

const { check, eq, done } = H.checks('admin_changes');

const { MGR, MGR_PIN } = H;

async function main() {
    const cfg = H.baseConfig();
    await H.withDashboard(cfg, async (hall, br) => {
        eq((await hall.setPin(MGR, MGR_PIN)).status, 200, 'manager PIN set');
        const page = await br.newPage({ width: 1600, height: 1400 });
        await page.goto(hall.url + '/admin');
        await H.adminSignIn(page);
        await page.locator('#dash').waitFor({ state: 'visible', timeout: 5000 });
        await page.locator('#overrides td.hint').waitFor({ timeout: 5000 });
        check((await page.textContent('#overrides')).includes('与配置文件一致'), 'no overrides at first');

        /* open window 7 from the form */
        await page.fill('#chg-open-number', '7');
        await page.fill('#chg-open-services', 'b, a');
        await page.fill('#chg-open-name', '7号临时窗口');
        await page.click('#chg-open button[type=submit]');
        const row7 = page.locator('#overrides tr[data-kind="window"][data-target="7"]');
        await row7.waitFor({ timeout: 5000 }).catch(() => {});
        eq(await row7.count(), 1, 'window 7 in the list of overrides');
        if (await row7.count()) check((await row7.textContent()).includes('临时窗口'), 'shown as a temporary window');
        const w7 = (await hall.status()).windows.find((w) => w.number === 7);
        check(w7 && w7.temporary && JSON.stringify(w7.services) === '["B","A"]', 'hallqd has window 7: ' + JSON.stringify(w7));
        await page.locator('#windows .win[data-window="7"]').waitFor({ timeout: 5000 }).catch(() => {});
        eq(await page.locator('#windows .win[data-window="7"]').count(), 1, 'its tile appears without a reload');

        /* the wall display is open */
        const wall = await br.newPage({ width: 1920, height: 1080 });
        await wall.goto(hall.url + '/display');
        await wall.locator('#services .svc[data-code="B"]').waitFor({ timeout: 5000 });

        /* close B early with someone waiting: refused in words, then re-routed */
        const tb = await hall.issue('B');
        eq(tb.status, 201, 'a B ticket waits');
        /* its holder's phone page is open */
        const phone = await br.newPage({ width: 390, height: 844 });
        await phone.goto(hall.url + '/t/' + tb.body.ticket.uuid);
        await phone.locator('#tnum').waitFor({ timeout: 5000 });
        await phone.waitForFunction(() => document.getElementById('tnum').textContent !== '—', null, { timeout: 5000 }).catch(() => {});
        check(await phone.locator('#treroute').isHidden(), 'no re-route note before');
        await page.selectOption('#chg-svc-code', 'B');
        await page.selectOption('#chg-svc-what', 'close');
        check(await page.locator('#chg-svc-msg').isVisible(), 'the message field shows for an early close');
        await page.fill('#chg-svc-msg', '不动产登记今日已停止取号');
        await page.evaluate(() => { document.getElementById('chg-msg').textContent = ''; });
        await page.click('#chg-svc button[type=submit]');
        await page.waitForFunction(() => document.getElementById('chg-msg').textContent.length > 0, null, { timeout: 5000 }).catch(() => {});
        check((await page.textContent('#chg-msg')).includes('仍有群众等候'), 'refusal in Chinese: ' + (await page.textContent('#chg-msg')));
        await page.fill('#chg-svc-reroute', '2');
        await page.click('#chg-svc button[type=submit]');
        const rowB = page.locator('#overrides tr[data-kind="hours"][data-target="B"]');
        await rowB.waitFor({ timeout: 5000 }).catch(() => {});
        eq(await rowB.count(), 1, 'B closed early in the list');
        const b = (await hall.status()).services.find((s) => s.code === 'B');
        eq([b.open, b.closed_message], [false, '不动产登记今日已停止取号'], 'hallqd: B closed with its message');

        await phone.waitForFunction(() => !document.getElementById('treroute').hidden, null, { timeout: 8000 }).catch(() => {});
        check((await phone.textContent('#treroute')).includes('请到 2 号窗口'), 'the holder is told on the phone: ' + (await phone.textContent('#treroute')));
        await H.artefact(phone, 'ticket-rerouted.png');
        eq(phone.hq.errors, [], 'no errors on the phone page');

        await wall.waitForFunction(() => {
            const el = document.querySelector('#services .svc[data-code="B"] .svc-est');
            return el && el.textContent.includes('停止取号');
        }, null, { timeout: 12000 }).catch(() => {});
        check((await wall.textContent('#services .svc[data-code="B"]')).includes('不动产登记今日已停止取号'),
            'the display shows why B is closed: ' + (await wall.textContent('#services .svc[data-code="B"]')));
        /* a new notice reaches the display at once */
        await page.fill('#chg-notice-zh', '下午加开7号窗口');
        await page.click('#chg-notice button[type=submit]');
        await wall.waitForFunction(() => document.getElementById('notice-text').textContent.includes('下午加开7号窗口'), null,
            { timeout: 8000 }).catch(() => {});
        check((await wall.textContent('#notice-text')).includes('下午加开7号窗口'), 'the display shows the new notice');
        eq(wall.hq.errors, [], 'no errors on the display');

        /* English */
        await page.click('#lang');
        check((await page.textContent('#changes h2')).includes('Change the hall now'), 'heading in English');
        check((await page.textContent('#overrides')).includes('closed early'), 'the list in English');
        await H.artefact(page, 'admin-changes.png');
        await page.click('#lang');

        /* revert window 7 from the list */
        await row7.locator('button.revert').click();
        await page.waitForFunction(() => !document.querySelector('#overrides tr[data-kind="window"]'), null, { timeout: 5000 }).catch(() => {});
        eq(await row7.count(), 0, 'window 7 reverted: gone from the list');
        const w7b = (await hall.status()).windows.find((w) => w.number === 7);
        eq(w7b && w7b.closed, true, 'hallqd closed window 7');
        eq(page.hq.errors, [], 'no page errors');
    });
    return done();
}

H.exitWith(main());
