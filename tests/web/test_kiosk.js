/*
 * test_kiosk.js — the touch kiosk in headless Chromium (1080x1920) against
 * the real hallqd:
 *   - a touch issues a ticket: the number on screen is in the API and the
 *     database, and the QR on screen decodes (zbarimg) to its status URL;
 *   - refusals show hallqd's own message: daily quota, ID card required;
 *     large on a screen of their own: a service outside its opening hours,
 *     and the per-person limit with a real card on a simulated reader
 *     (hallq-sim idcard) (the printer out of paper: test_print_reprint.js);
 *   - an ID card on the reader (SSE `card`, injected through a proxy) is
 *     announced and every ticket is then asked for with it; a service that
 *     needs the card issues as soon as one is placed;
 *   - appointment check-in shows what the API answered;
 *   - large mode toggles (bigger type, fewer buttons per screen);
 *   - nothing on the kiosk leaves /kiosk; it returns to the start when idle.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const H = require('./harness.js');

const KIOSK = { width: 1080, height: 1920 };
const B = H.sharedBrowser();

const linkUp = H.linkUp;
async function visible(page, id) {
    await page.waitForFunction((x) => !document.getElementById(x).hidden, id, { timeout: 8000 });
}
const text = (page, sel) => page.locator(sel).innerText();

/* The refusal screen: hallqd's message for the touch, large (a citizen
 * reads it from a step back), in Chinese first with the English under it. */
async function refusal(page, body) {
    await visible(page, 'screen-error');
    assert.equal(await text(page, '#err-main'), body.message);
    assert.equal(await text(page, '#err-sub'), body.message_en);
    const px = await page.evaluate(() => parseFloat(getComputedStyle(document.getElementById('err-main')).fontSize));
    assert.ok(px >= 60, 'the message is large: ' + px + ' px');
    assert.ok(await page.locator('#err-main').isVisible());
    assert.ok(await page.locator('#err-back').isVisible(), 'and a way back');
}

/* Tap sel and, once the ticket or the refusal screen shows, what the kiosk POSTed to url
 * through the proxy since the tap. */
async function tapPosts(page, proxy, sel, url) {
    proxy.requests.length = 0;
    await page.click(sel);
    await page.waitForFunction(() => !document.getElementById('screen-ticket').hidden || !document.getElementById('screen-error').hidden,
        null, { timeout: 8000 });
    return proxy.requests.filter((r) => r.method === 'POST' && r.url === url);
}

/* hallqd on opts.cfg (the base configuration unless given), behind a proxy when opts.proxy
 * (cards are injected there), and a kiosk page at /kiosk + opts.q on it with its link up:
 * body(page, hall, proxy), then the proxy and hallqd are closed. */
async function withKiosk(opts, body) {
    const hall = await new H.Hall(opts.cfg).start();
    const proxy = opts.proxy ? await new H.Proxy(hall).start() : undefined;
    try {
        const page = await B.newPage(KIOSK);
        await page.goto((proxy || hall).url + '/kiosk' + (opts.q || ''));
        await linkUp(page);
        await body(page, hall, proxy);
    } finally {
        if (proxy) await proxy.close();
        await hall.close();
    }
}

test('a touch issues a ticket that hallqd has, with a QR of its status page', async () => {
    await withKiosk({}, async (page, hall) => {
        assert.equal(await page.locator('.svc-btn').count(), 3);
        await H.artefact(page, 'kiosk-home.png');

        await page.click('.svc-btn[data-code="A"]');
        await visible(page, 'screen-ticket');
        const number = await text(page, '#tk-num');
        assert.match(number, /^A\d{3}$/);
        assert.match(await text(page, '#tk-svc'), /社保业务/);
        assert.match(await text(page, '#tk-ahead'), /^0 人$/);

        const r = await hall.get('/api/v1/tickets/' + number, H.CLERK); /* by number: staff see it all */
        assert.equal(r.status, 200);
        assert.equal(r.body.channel, 'kiosk');
        const rows = hall.db("SELECT label, channel, status FROM tickets WHERE label = '" + number + "'");
        assert.deepEqual(rows, [{ label: number, channel: 'kiosk', status: 'waiting' }]);
        assert.equal(await text(page, '#tk-url'), r.body.status_url);

        /* the QR on screen is the status URL, drawn by hallqd from the uuid */
        await page.waitForFunction(() => document.getElementById('tk-qr').complete && document.getElementById('tk-qr').naturalWidth > 0, null,
            { timeout: 5000 });
        const uuid = r.body.status_url.split('/t/')[1];
        assert.equal(new URL(await page.locator('#tk-qr').evaluate((e) => e.src)).pathname, '/t/' + uuid + '/qr.svg');
        const png = await H.artefact(page.locator('#tk-qr'), 'kiosk-qr.png');
        const decoded = execFileSync('zbarimg', ['-q', '--raw', png], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
        assert.equal(decoded, r.body.status_url);
        await H.artefact(page, 'kiosk-ticket.png');

        /* the home screen counts it; 完成 returns there */
        await page.click('#tk-done');
        await visible(page, 'screen-home');
        await page.waitForFunction(() => document.querySelector('.svc-btn[data-code="A"] .svc-info b').textContent === '1', null,
            { timeout: 5000 });
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    });
});

test('refusals show the message hallqd gives', async () => {
    const hall = await new H.Hall().start();
    try {
        for (let i = 0; i < 3; i++) assert.equal((await hall.issue('B')).status, 201); /* B's quota is 3 */
        const refused = await hall.issue('B', { channel: 'kiosk' });
        assert.equal(refused.status, 409);
        const page = await B.newPage(KIOSK);
        await page.goto(hall.url + '/kiosk');
        await linkUp(page);
        assert.match(await text(page, '.svc-btn[data-code="B"]'), /今日已满/);
        await page.click('.svc-btn[data-code="B"]');
        await refusal(page, refused.body);
        assert.match(refused.body.message, /号源/);
        await H.artefact(page, 'kiosk-refused.png');
        await page.click('#err-back');
        await visible(page, 'screen-home');

        /* English first when the page is in English */
        await page.click('#lang');
        await page.click('.svc-btn[data-code="B"]');
        await visible(page, 'screen-error');
        assert.equal(await text(page, '#err-main'), refused.body.message_en);
        await page.click('#err-back');
        await page.click('#lang');

        /* a service that needs the ID card asks for it, and goes back */
        await page.click('.svc-btn[data-code="C"]');
        await visible(page, 'screen-card');
        assert.match(await text(page, '#screen-card'), /请将身份证放在读卡区/);
        assert.match(await text(page, '#card-svc'), /出入境/);
        await page.click('#card-cancel');
        await visible(page, 'screen-home');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('a card with an appointment today: the kiosk offers a one-tap check-in', async () => {
    const hall = await new H.Hall().start();
    const proxy = await new H.Proxy(hall).start();
    try {
        const page = await B.newPage(KIOSK);
        /* hallqd answers for the card really on its reader; here the reader is
         * simulated by the SSE proxy, so its appointment look-up is too */
        let lookups = 0;
        await page.route('**/api/v1/appointments/card', (route) => {
            lookups++;
            route.fulfill({
                status: 200,
                contentType: 'application/json',
                body: JSON.stringify({ appointment: { service: 'A', service_name: '社保<b>业务</b>', service_name_en: 'Social', slot_start: '09:00', slot_end: '09:30' } }),
            });
        });
        await page.goto(proxy.url + '/kiosk');
        await linkUp(page);
        proxy.inject('card', { present: true, name_masked: '王**', elderly: false });
        await page.waitForSelector('#card-appt', { state: 'visible', timeout: 5000 });
        const btn = await text(page, '#card-appt');
        assert.match(btn, /您今天有预约：社保<b>业务<\/b> 09:00–09:30/);
        assert.equal(await page.locator('#card-appt b').count(), 0); /* names are text, never markup */
        assert.ok(lookups >= 1);
        await H.artefact(page, 'kiosk-card-appointment.png');

        const posts = await tapPosts(page, proxy, '#card-appt', '/api/v1/appointments/checkin');
        assert.equal(posts.length, 1);
        assert.deepEqual(JSON.parse(posts[0].body), { card: true });
        /* hallqd has no card on its own reader: its refusal is what the citizen reads */
        const direct = await hall.post('/api/v1/appointments/checkin', { card: true });
        assert.equal(direct.status, 409);
        assert.equal(await text(page, '#err-main'), direct.body.message);
    } finally {
        await proxy.close();
        await hall.close();
    }
});

test('a kiosk with an id hears only its own reader and names itself in its requests', async () => {
    await withKiosk({ proxy: true, q: '?kiosk=k2' }, async (page, hall, proxy) => {
        /* the card lies on kiosk k1's reader: not this kiosk's */
        assert.ok(proxy.inject('card', { kiosk: 'k1', present: true, name_masked: '张*', elderly: false }) >= 1);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(await page.locator('#card').isHidden(), true);
        /* its own reader */
        proxy.inject('card', { kiosk: 'k2', present: true, name_masked: '李*', elderly: false });
        await visible(page, 'card');
        assert.match(await text(page, '#card'), /李\*/);
        /* k1's card going away does not clear k2's */
        proxy.inject('card', { kiosk: 'k1', present: false });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await page.locator('#card').isHidden(), false);
        /* its appointment look-up asks for its own reader's card */
        const looks = proxy.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/api/v1/appointments/card'));
        assert.ok(looks.length >= 1);
        assert.deepEqual([...new Set(looks.map((r) => r.url))], ['/api/v1/appointments/card?kiosk=k2']);

        const posts = await tapPosts(page, proxy, '.svc-btn[data-code="A"]', '/api/v1/tickets');
        assert.equal(posts.length, 1);
        assert.deepEqual(JSON.parse(posts[0].body), { service: 'A', channel: 'kiosk', kiosk: 'k2', card: true });
    });
});

test('an ID card on the reader: announced, and tickets are asked for with it', async () => {
    await withKiosk({ proxy: true }, async (page, hall, proxy) => {
        assert.ok(proxy.inject('card', { present: true, name_masked: '王*<img src=x onerror=alert(7)>', elderly: true }) >= 1);
        await visible(page, 'card');
        const banner = await text(page, '#card');
        assert.match(banner, /已读取身份证：王\*<img src=x onerror=alert\(7\)>/);
        assert.match(banner, /老年人优先/);
        await H.artefact(page, 'kiosk-card.png');

        const posts = await tapPosts(page, proxy, '.svc-btn[data-code="A"]', '/api/v1/tickets');
        assert.equal(posts.length, 1);
        assert.deepEqual(JSON.parse(posts[0].body), { service: 'A', channel: 'kiosk', card: true });
        /* whatever hallqd answered (a ticket, or no card on its reader) is on screen */
        const direct = await hall.issue('A', { channel: 'kiosk', card: true });
        if (direct.status === 409) assert.equal(await text(page, '#err-main'), direct.body.message);
        else assert.match(await text(page, '#tk-num'), /^A\d{3}$/);

        proxy.inject('card', { present: false });
        await page.waitForFunction(() => document.getElementById('card').hidden, null, { timeout: 5000 });
        await page.click(direct.status === 409 ? '#err-back' : '#tk-done');
        await visible(page, 'screen-home');

        /* a service that needs the card waits for one, then issues by itself */
        await page.click('.svc-btn[data-code="C"]');
        await visible(page, 'screen-card');
        proxy.requests.length = 0;
        proxy.inject('card', { present: true, name_masked: '李*', elderly: false });
        await page.waitForFunction(() => document.getElementById('screen-card').hidden, null, { timeout: 8000 });
        /* the card screen goes as the request leaves: the proxy logs it a moment later (a
         * count taken at once failed under CI's load); then make sure it stays one */
        const ticketPosts = () => proxy.requests.filter((r) => r.method === 'POST' && r.url === '/api/v1/tickets');
        for (const end = Date.now() + 8000; ticketPosts().length < 1 && Date.now() < end; ) await H.sleep(50);
        await H.sleep(300);
        const c = ticketPosts();
        assert.equal(c.length, 1);
        assert.deepEqual(JSON.parse(c[0].body), { service: 'C', channel: 'kiosk', card: true });
        assert.deepEqual(page.hq.dialogs, []);
        assert.equal(await page.locator('img:not(#tk-qr)').count(), 0, 'no image from the name (the QR is the page\'s own)');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    });
});

test('appointment check-in shows what the API answered', async () => {
    await withKiosk({}, async (page, hall) => {
        await page.click('#checkin-btn');
        await visible(page, 'screen-checkin');
        for (const k of ['9', '0', '7', '⌫', '1']) await page.click('.key[data-key="' + k + '"]');
        await page.click('.key[data-key="ABC"]');
        await page.click('.key[data-key="Q"]');
        assert.equal(await text(page, '#code'), '901Q');
        await H.artefact(page, 'kiosk-checkin.png');
        await page.click('#checkin-ok');
        await page.waitForFunction(() => !document.getElementById('screen-ticket').hidden || !document.getElementById('screen-error').hidden,
            null, { timeout: 8000 });
        const direct = await hall.post('/api/v1/appointments/checkin', { booking_code: '901Q' });
        if (direct.status >= 400) {
            assert.equal(await text(page, '#err-main'), direct.body.message);
        } else if (direct.body.ticket) {
            assert.match(await text(page, '#tk-num'), /\d/);
        }
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    });
});

test('large mode: bigger type, fewer buttons per screen', async () => {
    const cfg = H.baseConfig();
    for (const code of ['D', 'E', 'F'])
        cfg.services.push({ code: code, name: '综合业务' + code, name_en: 'General ' + code, prefix: code, range: [1, 999], digits: 3,
            hours: H.ALL_DAY });
    await withKiosk({ cfg: cfg }, async (page, hall) => {
        const size = () => page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('.svc-name')).fontSize));
        const cols = () => page.evaluate(() => getComputedStyle(document.getElementById('services')).gridTemplateColumns.split(' ').length);
        assert.equal(await page.locator('.svc-btn').count(), 6);
        assert.equal(await cols(), 2);
        const normal = await size();
        await page.click('#large');
        assert.ok(await page.evaluate(() => document.body.classList.contains('large')));
        assert.ok((await size()) >= normal * 1.4, 'type grows in large mode');
        assert.equal(await cols(), 1);
        assert.equal(await page.locator('.svc-btn').count(), 4);
        assert.ok(await page.locator('#pager').isVisible());
        await page.click('#next');
        assert.equal(await page.locator('.svc-btn').count(), 2);
        assert.equal(await text(page, '#page-no'), '2 / 2');
        await H.artefact(page, 'kiosk-large.png');
        await page.click('#large');
        assert.equal(await page.locator('.svc-btn').count(), 6);
        assert.ok(Math.abs((await size()) - normal) < 0.5);
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    });
});

test('nothing on the kiosk leaves /kiosk, and it returns to the start when idle', async () => {
    const hall = await new H.Hall().start();
    try {
        const page = await B.newPage(KIOSK);
        const origin = hall.url;
        const url = origin + '/kiosk?idle=3';
        await page.goto(url);
        await linkUp(page);
        const stays = async (what) => {
            const u = new URL(page.url());
            assert.equal(u.origin + u.pathname, origin + '/kiosk', what + ' navigated to ' + page.url());
        };
        assert.equal(await page.locator('body a, body form, body iframe, body [href], body [target]').count(), 0, 'no links or forms');
        assert.equal(await page.evaluate(() => getComputedStyle(document.body).userSelect), 'none');
        const blocked = await page.evaluate(() => ['contextmenu', 'selectstart', 'dragstart'].map((t) =>
            document.body.dispatchEvent(new MouseEvent(t, { bubbles: true, cancelable: true }))));
        assert.deepEqual(blocked, [false, false, false], 'context menu, selection and drag are cancelled');

        /* every button on every screen the kiosk can reach by touch */
        const clickAll = async (where) => {
            const n = await page.locator('button:visible').count();
            for (let i = 0; i < n; i++) {
                const b = page.locator('button:visible').nth(i);
                if (!(await b.count()) || (await b.isDisabled())) continue;
                await b.click({ timeout: 2000 }).catch(() => {});
                await stays(where + ' button ' + i);
            }
        };
        await clickAll('home');
        await page.goto(url);
        await linkUp(page);
        await page.click('#checkin-btn');
        await clickAll('check-in');
        for (const keys of ['Alt+ArrowLeft', 'Alt+Home', 'Backspace', 'Control+l', 'BrowserBack', 'Escape', 'F6']) {
            await page.keyboard.press(keys).catch(() => {});
            await page.waitForTimeout(100);
            await stays('key ' + keys);
        }
        await page.goBack({ timeout: 2000 }).catch(() => {});
        await page.waitForTimeout(300);
        await stays('history back');
        await page.mouse.click(540, 960, { button: 'middle' });
        await stays('middle click');

        /* idle: any screen goes back to the start */
        await page.goto(url);
        await linkUp(page);
        await page.click('#checkin-btn');
        await visible(page, 'screen-checkin');
        await page.waitForFunction(() => !document.getElementById('screen-home').hidden, null, { timeout: 6000 });
        await page.click('#large');
        await page.waitForFunction(() => !document.body.classList.contains('large'), null, { timeout: 6000 });
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        await hall.close();
    }
});

test('a service outside its opening hours: the kiosk says so, large, and issues nothing', async () => {
    const cfg = H.baseConfig();
    /* an hour of the hall's day (+08:00) that is not now */
    const hour = new Date(Date.now() + 8 * 3600000).getUTCHours();
    cfg.services.push({ code: 'D', name: '公积金', name_en: 'Housing fund', prefix: 'D', range: [1, 999], digits: 3,
        hours: { all: [hour < 12 ? '18:00-19:00' : '06:00-07:00'] } });
    await withKiosk({ cfg: cfg }, async (page, hall) => {
        assert.match(await text(page, '.svc-btn[data-code="D"]'), /暂停取号/);
        await page.click('.svc-btn[data-code="D"]');
        const direct = await hall.issue('D', { channel: 'kiosk' });
        assert.equal(direct.status, 409);
        assert.equal(direct.body.error, 'closed');
        await refusal(page, direct.body);
        assert.match(await text(page, '#err-main'), /不在办理时间/);
        await H.artefact(page, 'kiosk-closed.png');
        assert.deepEqual(hall.db("SELECT count(*) AS n FROM tickets WHERE service = 'D'"), [{ n: 0 }]);
        await page.click('#err-back');
        await visible(page, 'screen-home');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    });
});

test('the per-person limit: a second ticket on the same ID card is refused on screen', async () => {
    const SIM = [path.join(H.BUILD, 'tools', 'hallq-sim'), path.join(H.BUILD, 'hallq-sim')].find((p) => fs.existsSync(p));
    assert.ok(SIM, 'hallq-sim is built');
    const cfg = H.baseConfig();
    cfg.services[0].per_person_limit = 1;
    const hall = new H.Hall(cfg);
    const tty = path.join(hall.dir, 'card.tty');
    cfg.devices = { card_readers: [{ kiosk: 'k1', port: 'pty:' + tty }] };
    await hall.start();
    /* the reader with a card on it (tests/data/idcard: an adult resident) */
    const sim = spawn(SIM, ['idcard', '--pty', tty, '--card', path.join(H.SOURCE, 'tests/data/idcard/resident_adult.bin'),
        '--log', path.join(hall.dir, 'card.log')], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
        await H.childLine(sim, /^ready/m, 5000); /* hallq-sim idcard is up */
        const page = await B.newPage(KIOSK);
        await page.goto(hall.url + '/kiosk?kiosk=k1');
        await linkUp(page);
        await visible(page, 'card'); /* hallqd read it and said so */
        assert.match(await text(page, '#card'), /已读取身份证/);

        await page.click('.svc-btn[data-code="A"]');
        await visible(page, 'screen-ticket');
        const first = await text(page, '#tk-num');
        const t = (await hall.get('/api/v1/tickets/' + first, H.CLERK)).body;
        assert.ok(t.name_masked, 'a real-name ticket');
        await page.click('#tk-done');
        await visible(page, 'screen-home');

        /* the same card, the same service: refused */
        await page.click('.svc-btn[data-code="A"]');
        const direct = await hall.issue('A', { channel: 'kiosk', card: true, kiosk: 'k1' });
        assert.equal(direct.status, 409);
        assert.equal(direct.body.error, 'person_limit');
        await refusal(page, direct.body);
        assert.match(await text(page, '#err-main'), /取号次数已达上限/);
        await H.artefact(page, 'kiosk-person-limit.png');
        assert.deepEqual(hall.db("SELECT count(*) AS n FROM tickets WHERE service = 'A'"), [{ n: 1 }]);
        /* in English the English message comes first */
        await page.click('#err-back');
        await page.click('#lang');
        await page.click('.svc-btn[data-code="A"]');
        await visible(page, 'screen-error');
        assert.equal(await text(page, '#err-main'), direct.body.message_en);
        await page.click('#err-back');
        await page.click('#lang');
        assert.deepEqual(page.hq.errors, []);
        await page.close();
    } finally {
        sim.kill('SIGTERM');
        await hall.close();
    }
});

/* Every control the citizen can see, in the viewport and the topmost thing
 * under its centre (nothing such as the footer lies over it), without
 * scrolling: each failure as "what: why". */
async function unreachable(page, sel) {
    return page.evaluate((sel) => {
        const bad = [];
        for (const el of document.querySelectorAll(sel)) {
            if (!el.checkVisibility()) continue;
            const r = el.getBoundingClientRect();
            const name = el.id || (el.dataset.code ? 'service ' + el.dataset.code : el.dataset.key ? 'key ' + el.dataset.key : el.textContent.trim().slice(0, 12));
            if (r.width < 1 || r.height < 1) {
                bad.push(name + ': no size');
                continue;
            }
            if (r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5) {
                bad.push(name + ': outside the screen ' + JSON.stringify([r.left, r.top, r.right, r.bottom].map(Math.round)));
                continue;
            }
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            if (!hit || !(hit === el || el.contains(hit))) bad.push(name + ': covered by ' + (hit ? hit.className || hit.tagName : 'nothing'));
        }
        return bad;
    }, sel);
}

test('every control is visible and clickable at 1080x1920, 1920x1080, 1366x768, 1280x800 and 800x1280, in both languages and large mode',
    async () => {
        const cfg = H.baseConfig();
        /* eight services: a full page in normal mode, two pages in large mode */
        const more = [['D', '公积金提取', 'Housing provident fund withdrawal'], ['E', '医保报销', 'Medical insurance claims'],
            ['F', '户籍办理', 'Household registration'], ['G', '税务登记', 'Tax registration'], ['H', '营业执照', 'Business licence']];
        for (const [code, name, en] of more)
            cfg.services.push({ code: code, name: name, name_en: en, prefix: code, range: [1, 999], digits: 3, hours: H.ALL_DAY });
        const hall = await new H.Hall(cfg).start();
        const proxy = await new H.Proxy(hall).start(); /* an ID card on the reader, injected */
        const problems = [];
        try {
            for (let i = 0; i < 3; i++) assert.equal((await hall.issue('B')).status, 201); /* B is full: the refusal screen */
            const sizes = [{ width: 1080, height: 1920 }, { width: 1920, height: 1080 }, { width: 1366, height: 768 },
                { width: 1280, height: 800 }, { width: 800, height: 1280 }];
            /* each context finds an appointment for the card */
            const appointment = (context) => context.route('**/api/v1/appointments/card', (route) => route.fulfill({ status: 200,
                contentType: 'application/json', body: JSON.stringify({ appointment: { service: 'A', service_name: '社保业务',
                    service_name_en: 'Social insurance', slot_start: '09:00', slot_end: '09:30' } }) }));
            for await (const { page, where, large } of H.kiosks(proxy.url, sizes, { context: appointment })) {
                const check = async (screen, sel) => {
                    for (const p of await unreachable(page, sel || 'button')) problems.push(where + ' ' + screen + ': ' + p);
                };
                await check('home');
                await H.artefact(page, 'kiosk-' + where.replace(/ /g, '-') + '.png');
                /* every service on some page, every page's controls reachable */
                const codes = () => page.$$eval('.svc-btn', (bs) => bs.map((b) => b.dataset.code));
                const seen = new Set(await codes());
                const first = seen.size;
                assert.ok(first >= (large ? 2 : 6), where + ': ' + first + ' tiles on the first page');
                if (!large) assert.equal(first, 8, where + ': all eight on one page');
                let pages = 1;
                while (await page.locator('#next').isVisible() && await page.locator('#next').isEnabled()) {
                    await page.click('#next');
                    pages++;
                    await check('home page ' + pages);
                    for (const c of await codes()) seen.add(c);
                    assert.ok(pages < 9, where + ': pages end');
                }
                assert.equal(seen.size, 8, where + ': every service reachable');
                while (await page.locator('#prev').isVisible() && await page.locator('#prev').isEnabled()) await page.click('#prev');
                /* a card on the reader with an appointment: its banner and button too */
                proxy.inject('card', { present: true, name_masked: '王**', elderly: true });
                await page.waitForSelector('#card-appt', { state: 'visible', timeout: 5000 });
                await check('home with a card', 'button, #card');
                await H.artefact(page, 'kiosk-card-' + where.replace(/ /g, '-') + '.png');
                proxy.inject('card', { present: false });
                await page.waitForFunction(() => document.getElementById('card').hidden, null, { timeout: 5000 });
                await page.click('#checkin-btn');
                await visible(page, 'screen-checkin');
                await page.click('.key[data-key="1"]');
                await check('check-in', 'button, #code');
                await page.click('.key[data-key="ABC"]');
                await check('check-in letters', 'button, #code');
                await page.click('#checkin-cancel');
                await visible(page, 'screen-home');
                /* a tile on whichever page holds it: a long English name takes two
                 * lines in large mode now (issue 14: never cut to one with "…"),
                 * so a large landscape page may hold two tiles and C is on the
                 * second; every service on some page is asserted above */
                const tile = async (c) => {
                    while (await page.locator('#prev').isVisible() && await page.locator('#prev').isEnabled()) await page.click('#prev');
                    for (let i = 0; i < 9 && !(await page.locator('.svc-btn[data-code="' + c + '"]').count()); i++) await page.click('#next');
                    await page.click('.svc-btn[data-code="' + c + '"]');
                };
                await tile('C');
                await visible(page, 'screen-card');
                await check('ID card');
                await page.click('#card-cancel');
                await visible(page, 'screen-home');
                await tile('B');
                await visible(page, 'screen-error');
                await check('refusal', 'button, #err-main');
                await page.click('#err-back');
                await visible(page, 'screen-home');
                await tile('A');
                await visible(page, 'screen-ticket');
                await check('ticket', 'button, #tk-num, #tk-qr, .tk-take');
                await H.artefact(page, 'kiosk-ticket-' + where.replace(/ /g, '-') + '.png');
                await page.click('#tk-done');
                await visible(page, 'screen-home');
            }
            assert.deepEqual(problems, []);
        } finally {
            await proxy.close();
            await hall.close();
        }
    });

test('hallqd draws the QR as SVG (libqrencode), by the ticket\'s uuid only, and the page encoder is gone', async () => {
    const hall = await new H.Hall().start();
    try {
        const t = (await hall.issue('A')).body.ticket;
        const uuid = t.status_url.split('/t/')[1];
        const r = await hall.get('/t/' + uuid + '/qr.svg');
        assert.equal(r.status, 200);
        assert.match(r.headers['content-type'], /^image\/svg\+xml/);
        const svg = r.body.toString('utf8');
        assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
        assert.ok(!svg.includes(uuid) && !svg.includes(t.number), 'the SVG holds modules, not text');
        /* rendered by Chromium at a phone camera's size, it decodes to the status URL */
        const page = await B.newPage({ width: 400, height: 400 });
        await page.setContent('<body style="margin:0;background:#fff"><img id="q" src="' + hall.url + '/t/' + uuid +
            '/qr.svg" style="width:330px;height:330px;margin:35px"></body>');
        await page.waitForFunction(() => document.getElementById('q').complete && document.getElementById('q').naturalWidth > 0, null,
            { timeout: 5000 });
        const png = await H.artefact(page, 'qr-svg.png');
        const decoded = execFileSync('zbarimg', ['-q', '--raw', png], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
        assert.equal(decoded, t.status_url);
        await page.close();
        /* never by number; an unknown uuid or another path under it is no QR */
        for (const p of ['/t/' + t.number + '/qr.svg', '/t/00000000-0000-4000-8000-000000000000/qr.svg', '/t/' + uuid + '/qr.png',
            '/t/' + uuid + '/x/qr.svg']) {
            const x = await hall.get(p);
            assert.equal(x.status, 404, p);
        }
        /* the ticket page itself still loads, and the hand-written encoder is not served */
        assert.equal((await hall.get('/t/' + uuid)).status, 200);
        assert.equal((await hall.get('/assets/qr.js')).status, 404);
    } finally {
        await hall.close();
    }
});
