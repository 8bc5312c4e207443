/*
 * test_rating.js — the 好差评 pages (issue 17) in headless Chromium against
 * the real hallqd:
 *   - QR page on a phone (390×844), Chinese: the ticket's status page turns
 *     into /rate/{uuid} when the window finishes; the two cases the business
 *     system bound are listed; 不满意 with a reason, an indicator and words;
 *     the call-back step (留下电话以便回访) is shown and, with no contact route
 *     in this hallqd (404), ends in thanks; two records, one per case; the
 *     page opened again says 已评价;
 *   - a ticket finished while its page's first fetch is on its way (answered with the
 *     state from before the finish, after the finish event) still turns into its rating;
 *   - QR page in English: the national levels in English, a rating stored;
 *   - window screen /pad/2 on a tablet (1280×800) with window 2's device
 *     token: idle, then the invitation after finish, a rating in Chinese and
 *     the next one in English; /pad/1 on the same tablet is refused.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const H = require('./harness.js');

const PHONE = { width: 390, height: 844 };
const TABLET = { width: 1280, height: 800 };
const DEVICE2 = 'test-device-token-win2';
const B = H.sharedBrowser();

function config() {
    const c = H.baseConfig();
    c.http.tokens.push({ token: DEVICE2, role: 'device', window: 2 });
    c.evaluation = { qr_open_h: 24 };
    return c;
}

async function serving(hall, win, svc, staff) {
    assert.equal((await hall.window(win, 'login', { staff: staff })).status, 200);
    const r = await hall.issue(svc);
    assert.equal(r.status, 201);
    const uuid = r.body.ticket ? r.body.ticket.uuid : r.body.uuid;
    assert.equal((await hall.window(win, 'call-next')).status, 200);
    assert.equal((await hall.window(win, 'start')).status, 200);
    return uuid;
}

/* Nothing wider than the screen, every button a finger can hit. */
async function fits(page, width) {
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= width, 'no sideways scrolling: ' + w + ' > ' + width);
    const small = await page.evaluate(() => Array.from(document.querySelectorAll('.rlevel, .rsubmit, .rreason'))
        .filter((b) => b.getBoundingClientRect().height < 40).length);
    assert.equal(small, 0, 'touch targets at least 40 px high');
}

test('QR page on a phone (中文): finish → rating page, 不满意 with reasons, call-back step, one record per case', async () => {
    const hall = await new H.Hall(config()).start();
    try {
        /* the hall's follow-up key, without which no number is asked for (hqd_callback.c) */
        assert.equal((await hall.post('/api/v1/admin/followup-key', { passphrase: 'follow-up passphrase 2026' }, H.MANAGER)).status, 200);
        const uuid = await serving(hall, 1, 'A', '1001');
        const cases = [
            { case_no: '330100-2026-000123', item_code: '330000-001-XK-01', item_name: '城乡居民养老保险参保登记' },
            { case_no: '330100-2026-000124', item_code: '330000-001-XK-07', item_name: '社会保障卡申领' },
        ];
        assert.equal((await hall.window(1, 'cases', { cases: cases })).status, 200);
        const page = await B.newPage(PHONE);
        await page.goto(hall.url + '/t/' + uuid);
        await page.waitForSelector('#tnum');
        assert.equal((await hall.window(1, 'finish')).status, 200);
        await page.waitForURL(/\/rate\//, { timeout: 10000 });
        assert.ok(page.url().endsWith('/rate/' + uuid), page.url());
        await page.waitForSelector('#rlevels');
        assert.deepEqual(await page.locator('.rlevel .rlname').allInnerTexts(), ['非常满意', '满意', '基本满意', '不满意', '非常不满意']);
        assert.equal(await page.locator('.rcases li').count(), 2, 'both cases listed');
        assert.ok(await page.locator('#rsubmit').isDisabled(), 'nothing to send before a level');
        await page.click('.rlevel[data-level="2"]');
        await page.waitForSelector('#rreasons');
        await page.click('.rreason[data-code="7"]');
        await page.click('#rind-attitude .rstar[data-v="1"]');
        await page.fill('#rtext', '等候时间太长');
        await fits(page, PHONE.width);
        await H.artefact(page, 'rate-phone-zh.png');
        await page.click('#rsubmit');
        await page.waitForSelector('#rcontact');
        assert.match(await page.locator('#rcontact .rsub').innerText(), /留下电话以便回访/);
        await page.fill('#rphone', '13800138000');
        await page.click('#rcontact-send');
        assert.match(await page.locator('#rnote').innerText(), /勾选同意/, 'consent is asked for');
        await page.check('#rconsent');
        await page.click('#rcontact-send');
        await page.waitForFunction(() => document.getElementById('rstate').classList.contains('thanks'));
        assert.equal(await page.locator('#rstate').innerText(), '感谢您的评价！');
        assert.match(await page.locator('#rnote').innerText(), /我们将尽快与您联系/, 'the number was taken');

        const rows = hall.db("SELECT case_no, level, channel, window, text FROM evaluations ORDER BY case_no");
        assert.deepEqual(rows, cases.map((c) => ({ case_no: c.case_no, level: 2, channel: 'qr', window: 1, text: '等候时间太长' })));
        const rec = hall.db("SELECT data FROM outbox WHERE type='evaluation' ORDER BY seq").map((r) => JSON.parse(r.data));
        assert.equal(rec.length, 2);
        assert.deepEqual(rec.map((r) => [r.version, r.reasons, r.indicators.attitude, r.channel]), [[2, [7], 1, '二维码'], [2, [7], 1, '二维码']]);

        await page.goto(hall.url + '/rate/' + uuid);
        await page.waitForFunction(() => document.getElementById('rstate').classList.contains('done'));
        assert.equal(await page.locator('#rstate').innerText(), '已评价，感谢您的参与');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('a ticket finished while its phone page is still fetching it switches to the rating all the same', async () => {
    const hall = await new H.Hall(config()).start();
    try {
        const uuid = await serving(hall, 1, 'A', '1001');
        const page = await B.newPage(PHONE);
        // The page's first GET of the ticket is answered with the state from before the
        // finish, and only after the finish event reached the page over its EventSource.
        let first = true, fetched = false, release;
        const held = new Promise((r) => { release = r; });
        await page.route('**/api/v1/tickets/*', async (route) => {
            if (!first) return route.continue();
            first = false;
            const response = await route.fetch();
            fetched = true;
            await held;
            await route.fulfill({ response });
        });
        await page.goto(hall.url + '/t/' + uuid);
        assert.ok(await H.until(() => fetched, 15000), 'the page fetched its ticket');
        assert.equal((await hall.window(1, 'finish')).status, 200);
        await H.sleep(1000); // the finish event reaches the page while its fetch is held
        release();
        await page.waitForURL(/\/rate\//, { timeout: 10000 });
        assert.ok(page.url().endsWith('/rate/' + uuid), page.url());
        await page.waitForSelector('#rlevels');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('QR page on a phone in English: the national levels in English, a rating stored', async () => {
    const hall = await new H.Hall(config()).start();
    try {
        const uuid = await serving(hall, 3, 'A', '1003');
        assert.equal((await hall.window(3, 'finish')).status, 200);
        const page = await B.newPage(PHONE);
        await page.goto(hall.url + '/rate/' + uuid + '?lang=en');
        await page.waitForSelector('#rlevels');
        assert.deepEqual(await page.locator('.rlevel .rlname').allInnerTexts(),
            ['Very satisfied', 'Satisfied', 'Fair', 'Dissatisfied', 'Very dissatisfied']);
        assert.equal(await page.locator('.rtitle').innerText(), 'Please rate this service');
        await page.click('.rlevel[data-level="5"]');
        assert.equal(await page.locator('#rreasons').count(), 0, 'no reasons for a good rating');
        await fits(page, PHONE.width);
        await H.artefact(page, 'rate-phone-en.png');
        await page.click('#rsubmit');
        await page.waitForFunction(() => document.getElementById('rstate').classList.contains('thanks'));
        assert.equal(await page.locator('#rstate').innerText(), 'Thank you for your rating!');
        assert.equal(await page.locator('#rcontact').count(), 0, 'no call-back step for a good rating');
        assert.deepEqual(hall.db('SELECT level, channel, window FROM evaluations'), [{ level: 5, channel: 'qr', window: 3 }]);
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

/* A ticket finished yesterday (the business day has rolled over) is still rated on its QR
 * page, from the store; one finished four days ago shows the closed state (评价已截止 /
 * Rating has closed) with evaluation.qr_open_h 72. The day is moved as test_rating_days.py
 * moves it: hallqd stopped, the tickets' rows shifted back, hallqd started again. */
test('QR page across business days: yesterday\'s ticket rated (中文), four days ago closed (中文, English)', async () => {
    const c = config();
    c.evaluation = { qr_open_h: 72 };
    const hall = await new H.Hall(c).start();
    try {
        const t1 = await serving(hall, 3, 'A', '1003');
        assert.equal((await hall.window(3, 'finish')).status, 200);
        const r = await hall.issue('A');
        const t2 = r.body.ticket ? r.body.ticket.uuid : r.body.uuid;
        assert.equal((await hall.window(3, 'call-next')).status, 200);
        assert.equal((await hall.window(3, 'finish')).status, 200);
        const today = hall.db(`SELECT day FROM tickets WHERE uuid='${t1}'`)[0].day;
        await hall.stop();
        const back = (uuid, s, days) => hall.db(`UPDATE tickets SET day=day-${days}, finished_at=finished_at-${s}, ` +
            `issued_at=issued_at-${s}, queued_at=queued_at-${s}, called_at=called_at-${s} WHERE uuid='${uuid}'`);
        back(t1, 26 * 3600, 2);
        back(t2, 4 * 86400, 4);
        hall.db('UPDATE windows SET rating_ticket=NULL, rating_deadline=0, current=NULL');
        await hall.start();

        const page = await B.newPage(PHONE);
        await page.goto(hall.url + '/rate/' + t1);
        await page.waitForSelector('#rlevels');
        await page.click('.rlevel[data-level="4"]');
        await page.click('#rsubmit');
        await page.waitForFunction(() => document.getElementById('rstate').classList.contains('thanks'));
        assert.deepEqual(hall.db(`SELECT day, level, channel FROM evaluations WHERE ticket='${t1}'`),
            [{ day: today - 2, level: 4, channel: 'qr' }], 'rated on its own business day');
        assert.deepEqual(page.hq.errors, []);
        await page.close();

        for (const [lang, words] of [['zh', '评价已截止'], ['en', 'Rating has closed']]) {
            const p = await B.newPage(PHONE);
            await p.goto(hall.url + '/rate/' + t2 + '?lang=' + lang);
            await p.waitForFunction((w) => document.body.innerText.includes(w), words);
            assert.equal(await p.locator('#rlevels').count(), 0, 'no levels offered once closed');
            await fits(p, PHONE.width);
            await H.artefact(p, 'rate-closed-' + lang + '.png');
            assert.deepEqual(p.hq.errors, []);
            await p.close();
        }
        assert.deepEqual(hall.db(`SELECT count(*) AS n FROM evaluations WHERE ticket='${t2}'`), [{ n: 0 }]);
    } finally {
        await hall.close();
    }
});

test('window screen /pad/2 on a tablet: idle, invitation, a rating in 中文 then in English; /pad/1 refused', async () => {
    const hall = await new H.Hall(config()).start();
    try {
        /* the hall's follow-up key, without which no number is asked for (hqd_callback.c) */
        assert.equal((await hall.post('/api/v1/admin/followup-key', { passphrase: 'follow-up passphrase 2026' }, H.MANAGER)).status, 200);
        const page = await B.newPage(TABLET);
        await page.goto(hall.url + '/pad/2#token=' + DEVICE2);
        await page.waitForFunction(() => document.getElementById('rstate').classList.contains('idle'));
        assert.ok(!page.url().includes('token'), 'the token leaves the address bar');
        assert.match(await page.locator('#rwin').innerText(), /2号窗口/);

        await serving(hall, 2, 'B', '1002');
        assert.equal((await hall.window(2, 'finish')).status, 200);
        await page.waitForSelector('#rlevels', { timeout: 10000 });
        assert.match(await page.locator('#rnum').innerText(), /^B\d{3}$/);
        const boxes = await page.locator('.rlevel').evaluateAll((bs) => bs.map((b) => b.getBoundingClientRect().top));
        assert.equal(new Set(boxes.map(Math.round)).size, 1, 'the five levels in one row on a tablet');
        await fits(page, TABLET.width);
        await H.artefact(page, 'pad-tablet-zh.png');
        await page.click('.rlevel[data-level="4"]');
        await page.click('#rsubmit');
        await page.waitForFunction(() => document.getElementById('rstate').classList.contains('thanks'));
        assert.equal(await page.locator('#rstate').innerText(), '感谢您的评价！');
        /* back to idle by itself */
        await page.waitForFunction(() => document.getElementById('rstate').classList.contains('idle'), null, { timeout: 15000 });

        await page.click('#lang');
        assert.equal((await hall.window(2, 'call-next')).status, 409, 'queue B is empty');
        const r = await hall.issue('B');
        assert.equal(r.status, 201);
        assert.equal((await hall.window(2, 'call-next')).status, 200);
        assert.equal((await hall.window(2, 'finish')).status, 200);
        await page.waitForSelector('#rlevels', { timeout: 10000 });
        assert.deepEqual(await page.locator('.rlevel .rlname').allInnerTexts(),
            ['Very satisfied', 'Satisfied', 'Fair', 'Dissatisfied', 'Very dissatisfied']);
        assert.match(await page.locator('#rwin').innerText(), /Window 2/);
        await page.click('.rlevel[data-level="1"]');
        await page.click('.rreason[data-code="1"]');
        await H.artefact(page, 'pad-tablet-en.png');
        await page.click('#rsubmit');
        await page.waitForSelector('#rcontact');
        assert.match(await page.locator('#rcontact .rsub').innerText(), /call-back/);
        await page.click('#rcontact-skip');
        await page.waitForFunction(() => document.getElementById('rstate').classList.contains('thanks'));
        assert.equal(await page.locator('#rstate').innerText(), 'Thank you for your rating!');
        assert.deepEqual(hall.db('SELECT level, channel, window, reasons FROM evaluations ORDER BY rowid'),
            [{ level: 4, channel: 'tablet', window: 2, reasons: 0 }, { level: 1, channel: 'tablet', window: 2, reasons: 1 }]);

        /* the same tablet, another window's screen: refused by hallqd */
        const other = await B.newPage(TABLET);
        await other.goto(hall.url + '/pad/1?lang=zh');
        await other.waitForFunction(() => document.getElementById('rstate').classList.contains('denied'));
        assert.equal(await other.locator('#rstate').innerText(), '本设备不是该窗口的评价屏');
        assert.equal(await other.locator('#rlevels').count(), 0);
        assert.deepEqual(page.hq.errors, []);
        await other.close();
        await page.close();
    } finally {
        await hall.close();
    }
});
