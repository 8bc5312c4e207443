/*
 * callback.test.js — the dashboard's part of issue 17 in headless Chromium
 * against the real hallqd: 回访率 and 整改率 in the follow-up card, a
 * real-name 差评 whose number the manager opens with the follow-up
 * passphrase (a wrong one refused, the number shown in place and not kept
 * in the page), the 回访 due date, and a clerk's appeal reviewed from the
 * card (upheld: marked, no longer counted). Chinese first, then English.
 * Screenshots go to BUILD/artefacts/callback-*.png.
 */
'use strict';

const path = require('node:path');
const H = require('./harness');

const { check, eq, done } = H.checks('callback.test.js');

const { MGR, MGR_PIN } = H;
const PASS = 'follow-up passphrase 2026';
const PHONE = '13912345678';

async function rate(hall, level, token) {
    eq((await hall.issue('A')).status, 201, 'issue');
    for (const a of ['call-next', 'start', 'finish']) eq((await hall.window(1, a, {}, token)).status, 200, a);
    eq((await hall.window(1, 'rating', { level: level })).status, 200, 'rating ' + level);
    return hall.db('SELECT uuid FROM evaluations ORDER BY rowid DESC LIMIT 1')[0].uuid;
}

async function main() {
    const cfg = H.baseConfig();
    await H.withDashboard(cfg, async (hall, br) => {
        eq((await hall.setPin(MGR, MGR_PIN)).status, 200, 'manager PIN');
        eq((await hall.setPin('1001', '1111')).status, 200, 'clerk PIN');
        eq((await hall.post('/api/v1/admin/followup-key', { passphrase: PASS }, H.MANAGER)).status, 200, 'follow-up key set up');
        const s = await hall.signIn('1001', '1111', { window: 1 });
        eq(s.status, 200, 'the clerk signs in at window 1');
        const clerk = s.body.token;
        const real = await rate(hall, 1, clerk);
        eq((await hall.post('/api/v1/evaluations/' + real + '/contact', { phone: PHONE, consent: true })).status, 200, 'the citizen leaves a number');
        const appealed = await rate(hall, 2, clerk);
        eq((await hall.post('/api/v1/evaluations/' + appealed + '/appeal', { kind: 'malicious', reason: '群众迁怒窗口' }, clerk)).status, 200,
            'the clerk appeals the 不满意');

        const page = await br.newPage({ width: 1400, height: 1300 });
        await page.goto(hall.url + '/admin');
        await H.adminSignIn(page);
        await page.locator('#followups .fu').first().waitFor({ timeout: 5000 });
        await page.locator('#fu-rates .rate').first().waitFor({ timeout: 5000 });
        const rates = await page.textContent('#fu-rates');
        check(rates.includes('回访率 0%') && rates.includes('整改率 0%'), 'rates in Chinese: ' + rates);
        check(rates.includes('实名差评 1 条'), 'one real-name 差评 this month: ' + rates);

        const card = page.locator('#followups .fu[data-uuid="' + real + '"]');
        check((await card.locator('.cb-due').textContent()).startsWith('回访期限 '), 'the 回访 due date is shown');
        check(!(await page.content()).includes(PHONE), 'no number in the page before it is asked for');
        /* a wrong passphrase opens nothing */
        await card.locator('.fu-contact input[name=passphrase]').fill('not the passphrase');
        await card.locator('.fu-contact button').click();
        await page.waitForFunction((u) => document.querySelector('.fu[data-uuid="' + u + '"] .fu-contact .phone').textContent.length > 0, real, { timeout: 10000 });
        check(!(await card.locator('.fu-contact .phone').textContent()).includes(PHONE), 'a wrong passphrase shows no number');
        check(await card.locator('.fu-contact .phone.error').count() === 1, 'said as an error');
        /* the right one (the back-off allows a few tries) */
        await card.locator('.fu-contact input[name=passphrase]').fill(PASS);
        await card.locator('.fu-contact button').click();
        await page.waitForFunction((u) => document.querySelector('.fu[data-uuid="' + u + '"] .fu-contact .phone').textContent.includes('139'), real,
            { timeout: 10000 }).catch(() => {});
        eq(await card.locator('.fu-contact .phone').textContent(), PHONE, 'the manager sees the number');
        eq(await card.locator('.fu-contact input[name=passphrase]').inputValue(), '', 'the passphrase field is cleared');
        await page.screenshot({ path: path.join(H.ARTEFACTS, 'callback-zh.png'), fullPage: true });

        /* the appeal: pending, then upheld from the card */
        const ac = page.locator('#followups .fu[data-uuid="' + appealed + '"] .fu-appeal');
        check((await ac.textContent()).includes('申诉待复核'), 'the appeal waits for review');
        await ac.locator('button[data-review=uphold]').click();
        check((await ac.locator('.error').textContent()).includes('复核意见'), 'a review needs its reason');
        await ac.locator('input[name=review]').fill('调取录像核实');
        await ac.locator('button[data-review=uphold]').click();
        await page.waitForFunction((u) => {
            const el = document.querySelector('.fu[data-uuid="' + u + '"] .fu-appeal');
            return el && el.dataset.state === 'upheld';
        }, appealed, { timeout: 8000 }).catch(() => {});
        check((await page.locator('#followups .fu[data-uuid="' + appealed + '"] .fu-appeal').textContent()).includes('申诉成立'),
            'upheld, said on the card');
        eq(hall.db("SELECT state FROM eval_appeals WHERE evaluation='" + appealed + "'"), [{ state: 'upheld' }], 'and in the database');

        /* English second */
        await page.click('#lang');
        await page.waitForFunction(() => document.getElementById('fu-rates').textContent.includes('Call-back rate'), null, { timeout: 5000 }).catch(() => {});
        const en = await page.textContent('#fu-rates');
        check(en.includes('Call-back rate 0%') && en.includes('Rectification rate 0%'), 'rates in English: ' + en);
        check((await page.locator('#followups .fu[data-uuid="' + appealed + '"] .fu-appeal').textContent()).includes('upheld'), 'appeal in English');
        await page.screenshot({ path: path.join(H.ARTEFACTS, 'callback-en.png'), fullPage: true });
        eq(page.hq ? page.hq.errors : [], [], 'no page errors');
    });
    return done();
}

H.exitWith(main());
