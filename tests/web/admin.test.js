/*
 * admin.test.js — the manager dashboard (/admin) in headless Chromium against
 * the real hallqd: the token sign-in, a long wait raising 预警 live, a 差评 in
 * the follow-up list moved on by the form (and the database agreeing), an
 * overdue due date in red, a clerk named <script>… shown as text only,
 * charts, the CSV download, the English switch and signing out. Then
 * (storageAck) hallqd restarts on a corrupt database file: the notice that
 * the file was moved aside shows a 确认 / Acknowledge button on two open
 * dashboards; pressing it on one clears the alarm there, in the status and
 * in the database, and the other dashboard drops it without a reload.
 * (idleDashboard) The dashboard never polls: idle for 35 s after loading it
 * sends hallqd no request at all, while time in state and the oldest wait
 * count on and a due date passing turns 逾期 from the page's own clock;
 * an arrival leaving the last hour comes as hallqd's `staffing` event and
 * the staffing row follows it.
 * Screenshots go to BUILD/artefacts/admin-*.png.
 */
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const H = require('./harness');

const { check, eq, done } = H.checks('admin.test.js');

const EVIL = '<script>alert(1)</script>';
/* The dashboard signs in a manager of the roster with a PIN (a session). */
const { MGR, MGR_PIN } = H;

async function main() {
    const cfg = H.baseConfig();
    cfg.alarms = { wait_s: 60, idle_s: 3600 };
    cfg.services[0].handle_s = 3600; /* A: an hour per citizen, so 3 waiting is a long wait */
    cfg.staff[2].name = EVIL;
    await H.withDashboard(cfg, async (hall, br) => {
        eq((await hall.setPin(MGR, MGR_PIN)).status, 200, 'manager PIN set');
        eq((await hall.setPin('1001', '1111')).status, 200, 'clerk PIN set');
        /* before the page: two clerks at work, one 差评 for the <script> clerk */
        eq((await hall.window(1, 'login', { staff: '1001' })).status, 200, 'window 1 login');
        eq((await hall.window(2, 'login', { staff: '1003' })).status, 200, 'window 2 login');
        eq((await hall.issue('B')).status, 201, 'issue B');
        for (const a of ['call-next', 'start', 'finish']) eq((await hall.window(2, a)).status, 200, 'window 2 ' + a);
        eq((await hall.window(2, 'rating', { level: 1 })).status, 200, 'rating 1 at window 2');

        const page = await br.newPage({ width: 1600, height: 1400 });
        await page.goto(hall.url + '/admin');
        await page.locator('#login-form').waitFor({ state: 'visible', timeout: 5000 });
        check(await page.locator('#dash').isHidden(), 'the dashboard is hidden before sign-in');

        /* a clerk (right PIN, not a manager) is refused at the form */
        await page.fill('#staff', '1001');
        await page.fill('#pin', '1111');
        await page.click('#login-form button[type=submit]');
        await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0, null, { timeout: 5000 });
        check((await page.textContent('#login-error')).includes('不是管理员'), 'clerk refused with a Chinese message');
        check(await page.locator('#dash').isHidden(), 'still signed out');

        await H.adminSignIn(page);
        await page.locator('#dash').waitFor({ state: 'visible', timeout: 5000 });
        await page.locator('#windows .win').first().waitFor({ timeout: 5000 });
        eq(await page.locator('#windows .win').count(), 3, 'three window tiles');
        const stored = await page.evaluate(() => sessionStorage.getItem('hallq.admin.token'));
        check(/^hqs_/.test(stored || ''), 'the session token kept in sessionStorage');
        const me = await hall.get('/api/v1/session', stored);
        eq([me.status, me.body.role, me.body.staff && me.body.staff.id], [200, 'manager', MGR], 'the page holds a manager session');
        await page.locator('#alarms li.none').waitFor({ timeout: 5000 });
        eq(await page.locator('#alarms li.alarm').count(), 0, 'no alarms before the queue grows');

        /* <script> as a clerk name stays text */
        const w2 = page.locator('#windows .win[data-window="2"] .wclerk');
        check((await w2.textContent()).includes(EVIL), 'the clerk name is shown literally');
        eq(await page.locator('#windows script, #followups script, #alarms script').count(), 0, 'no script element from data');
        eq(await page.evaluate(() => document.scripts.length), 5, 'only the page\'s own five scripts (hallq, ECharts, admin, admin-changes, reports)');
        check((await page.locator('#windows .win[data-window="1"]').getAttribute('class')).includes('state-idle'), 'window 1 tile is idle');
        check((await page.textContent('#windows .win[data-window="1"] .wclerk')).includes('王芳'), 'window 1 clerk');
        /* 评价覆盖率: window 2 finished one and it was rated; window 1 finished none */
        eq(await page.textContent('#windows .win[data-window="2"] .wcov'), '评价 1/1 (100%)', 'window 2 coverage');
        eq(await page.textContent('#windows .win[data-window="1"] .wcov'), '评价 —', 'window 1 has nothing to cover');
        eq(await page.textContent('#coverage'), '评价 1/1 (100%)', 'hall coverage');

        /* 预警 raised live by a long wait: 3 × 3600 s / 2 windows over 60 s */
        for (let i = 0; i < 3; i++) eq((await hall.issue('A')).status, 201, 'issue A');
        const wait = page.locator('#alarms li.alarm-wait');
        await wait.waitFor({ timeout: 8000 }).catch(() => {});
        check(await wait.count() === 1, '预警 appears without a reload');
        if (await wait.count()) {
            const txt = await wait.textContent();
            check(txt.includes('预警') && txt.includes('等候超时'), '预警 text: ' + txt);
        }
        await page.waitForFunction(() => {
            const r = document.querySelector('#queues tr[data-service="A"]');
            return r && r.classList.contains('alarm') && r.children[1].textContent === '3';
        }, null, { timeout: 5000 }).catch(() => {});
        check(await page.locator('#queues tr[data-service="A"].alarm').count() === 1, 'queue A row marked and shows 3 waiting');
        eq(await page.textContent('#alarm-count'), '1', 'alarm count badge');
        check((await page.textContent('#staffing tr[data-service="A"]')).length > 0, 'staffing row for A');

        /* the 差评 and its follow-up through the form */
        const fu = page.locator('#followups .fu');
        await fu.first().waitFor({ timeout: 5000 });
        eq(await fu.count(), 1, 'one 差评 to follow up');
        eq(await fu.first().getAttribute('data-state'), 'open', 'it is open');
        check((await fu.first().textContent()).includes(EVIL), 'the follow-up names the clerk as text');
        check((await fu.first().textContent()).includes('非常不满意'), 'level in words');
        await H.artefact(page, 'admin-dashboard.png');

        const note = '已电话回访，群众表示理解 <b>不是粗体</b>';
        await fu.first().locator('textarea').fill(note);
        await fu.first().locator('button[type=submit]').click();
        await page.waitForFunction(() => {
            const el = document.querySelector('#followups .fu');
            return el && el.dataset.state === 'contacted';
        }, null, { timeout: 5000 }).catch(() => {});
        eq(await fu.first().getAttribute('data-state'), 'contacted', 'the form moved it to contacted');
        check((await fu.first().locator('.state-tag').textContent()) === '已回访', 'state shown in Chinese');
        check((await fu.first().locator('.fu-note').textContent()).includes(note), 'the note is shown as text');
        eq(await page.locator('#followups b').count(), 0, 'markup in a note stays text');
        const rows = hall.db("SELECT follow_up_state, follow_up_note FROM evaluations WHERE level<=2");
        eq(rows, [{ follow_up_state: 'contacted', follow_up_note: note }], 'the database holds the step');
        const out = hall.db("SELECT json_extract(data,'$.state') AS s FROM outbox WHERE json_extract(data,'$.kind')='follow_up'");
        eq(out, [{ s: 'contacted' }], 'one outbox record for the step');
        check((await fu.first().locator('button[type=submit]').textContent()).includes('已整改'), 'the next step offered is rectified');

        /* an empty note is refused at the form, nothing sent */
        await fu.first().locator('textarea').fill('   ');
        await fu.first().locator('button[type=submit]').click();
        await page.waitForTimeout(300);
        eq(await fu.first().getAttribute('data-state'), 'contacted', 'blank note: no step');

        /* overdue: the due date passes */
        hall.db("UPDATE evaluations SET follow_up_due=" + (Math.floor(Date.now() / 1000) - 3600) + " WHERE level<=2");
        await page.check('#fu-closed');
        await page.locator('#followups .fu.overdue').waitFor({ timeout: 5000 }).catch(() => {});
        const due = page.locator('#followups .fu .due.overdue');
        check(await due.count() === 1, 'overdue due date marked');
        if (await due.count()) {
            eq(await due.evaluate((el) => getComputedStyle(el).color), 'rgb(200, 16, 46)', 'overdue is red');
            check((await due.textContent()).includes('已逾期'), 'overdue said in words');
        }
        await H.artefact(page.locator('.followups-card'), 'admin-followup.png');

        /* charts of today: Apache ECharts, read through its instances */
        const series = (id) => page.evaluate((i) => {
            const c = echarts.getInstanceByDom(document.getElementById(i));
            return c ? c.getOption().series[0].data : [];
        }, id);
        await page.waitForFunction(() => {
            const c = echarts.getInstanceByDom(document.getElementById('chart-arrivals'));
            return c && c.getOption().series[0].data.length === 24;
        }, null, { timeout: 5000 }).catch(() => {});
        eq((await series('chart-arrivals')).length, 24, 'arrivals chart: 24 hourly bars');
        eq((await series('chart-waits')).length, 6, 'waiting-time chart: 6 buckets');
        check(await page.locator('#chart-arrivals svg').count() === 1, 'drawn as SVG');
        check(await page.locator('#chart-clerk svg text').filter({ hasText: EVIL.slice(0, 15) }).count() >= 1, 'clerk chart label is text');
        eq(await page.locator('#chart-clerk script').count(), 0, 'and never markup');
        /* today's charts follow the hall (refreshed at most every 5 s) */
        const sum = async () => (await series('chart-arrivals')).reduce((n, v) => n + Number(v), 0);
        await page.waitForFunction(() => {
            const c = echarts.getInstanceByDom(document.getElementById('chart-arrivals'));
            return c && c.getOption().series[0].data.reduce((n, v) => n + Number(v), 0) === 4;
        }, null, { timeout: 12000 }).catch(() => {});
        eq(await sum(), 4, 'arrivals chart adds up to the 4 tickets issued');

        /* CSV through a Blob download */
        const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 5000 }), page.click('#csv-tickets')]);
        const file = await dl.path();
        const csv = fs.readFileSync(file);
        check(csv[0] === 0xef && csv[1] === 0xbb && csv[2] === 0xbf, 'CSV starts with the BOM');
        const text = csv.toString('utf8');
        check(text.includes('号码 Number'), 'CSV header');
        eq(text.trim().split('\r\n').length, 5, 'CSV: header and 4 tickets');
        check(/^tickets-\d{4}-\d\d-\d\d\.csv$/.test(dl.suggestedFilename()), 'CSV file name ' + dl.suggestedFilename());

        /* English second */
        await page.click('#lang');
        check((await page.textContent('.atitle .sub')) === 'Manager dashboard', 'English title');
        if (await wait.count()) check((await wait.textContent()).includes('long wait'), 'alarm in English');
        check((await fu.first().locator('.state-tag').textContent()) === 'Contacted', 'follow-up state in English');
        await H.artefact(page, 'admin-en.png');
        await page.click('#lang');

        /* sign out */
        await page.click('#logout');
        await page.locator('#login-form').waitFor({ state: 'visible', timeout: 5000 });
        eq(await page.evaluate(() => sessionStorage.getItem('hallq.admin.token')), null, 'token forgotten');
        let revoked = false;
        for (let i = 0; i < 50 && !revoked; i++) {
            revoked = (await hall.get('/api/v1/session', stored)).status === 401;
            if (!revoked) await H.sleep(100);
        }
        check(revoked, 'signing out revoked the session');
        check(await page.locator('#dash').isHidden(), 'dashboard hidden after sign-out');

        eq(page.hq.dialogs, [], 'no dialog ever opened (no script ran from data)');
        eq(page.hq.errors, [], 'no page errors');
    });
    await storageAck();
    await supervision();
    await boxAlarms();
    await idleDashboard();
    return done();
}

const pinSet = new WeakSet(); /* a second setPin would end the first page's session */
async function signIn(page, hall) {
    if (!pinSet.has(hall)) {
        if ((await hall.setPin(MGR, MGR_PIN)).status !== 200) throw new Error('manager PIN not set');
        pinSet.add(hall);
    }
    await page.goto(hall.url + '/admin');
    await page.locator('#login-form').waitFor({ state: 'visible', timeout: 5000 });
    await H.adminSignIn(page);
    await page.locator('#dash').waitFor({ state: 'visible', timeout: 5000 });
}

/* The supervision alarms (issue 16): a clerk's help call reaches the open dashboard at once in
 * words and the manager answers it; 空岗 is acknowledged and stays, marked, in both languages;
 * a paused window's tile names the reason. */
async function supervision() {
    const cfg = H.baseConfig();
    cfg.alarms = { unstaffed_s: 1, wait_s: 0, idle_s: 0 };
    await H.withDashboard(cfg, async (hall, br) => {
        const page = await br.newPage({ width: 1400, height: 900 });
        await signIn(page, hall);
        await page.locator('#alarms li.none').waitFor({ timeout: 5000 });
        eq((await hall.window(1, 'login', { staff: '1001' })).status, 200, 'window 1 login');
        eq((await hall.window(1, 'help')).status, 200, 'window 1 calls for help');
        const help = page.locator('#alarms li[data-key="help:1"]');
        /* the SSE alarm event comes at once, not at the 5 s tick */
        await help.waitFor({ timeout: 4000 }).catch(() => {});
        if (check(await help.count() === 1, 'the help call is on the dashboard')) {
            const txt = await help.textContent();
            check(txt.includes('求助') && txt.includes('请求协助') && txt.includes('王芳'), 'in words: ' + txt);
            const btn = help.locator('button.ack');
            eq(await btn.textContent(), '已处理', 'the help call is answered with 已处理');
            await H.artefact(page.locator('#alarms-card'), 'admin-help.png');
            await btn.click();
            await help.waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
            eq(await help.count(), 0, 'answered: gone');
            eq((await hall.status()).windows[0].help_since, null, 'the window\'s call is closed');
        }
        /* 空岗: window 2 opened and left while A waits */
        eq((await hall.window(2, 'login', { staff: '1002' })).status, 200, 'window 2 login');
        eq((await hall.window(2, 'logout')).status, 200, 'window 2 logout');
        eq((await hall.issue('A')).status, 201, 'issue A');
        const un = page.locator('#alarms li[data-key="unstaffed:2"]');
        await un.waitFor({ timeout: 9000 }).catch(() => {});
        if (check(await un.count() === 1, '空岗 on the dashboard')) {
            check((await un.textContent()).includes('空岗'), '空岗 in words');
            await un.locator('button.ack').click();
            await page.waitForFunction(() => {
                const li = document.querySelector('#alarms li[data-key="unstaffed:2"]');
                return li && li.classList.contains('acked');
            }, null, { timeout: 5000 }).catch(() => {});
            check((await un.getAttribute('class')).includes('acked'), 'acknowledged, still listed');
            check((await un.textContent()).includes('已确认'), 'marked 已确认');
            await page.click('#lang');
            check((await un.textContent()).includes('Unstaffed') && (await un.textContent()).includes('Acknowledged'),
                'in English: ' + (await un.textContent()));
            await page.click('#lang');
        }
        /* a paused window's tile names its reason */
        eq((await hall.window(1, 'pause', { reason: 'meeting' })).status, 200, 'window 1 pauses for a meeting');
        const st = page.locator('#windows .win[data-window="1"] .wstate');
        await page.waitForFunction(() => document.querySelector('#windows .win[data-window="1"] .wstate').textContent.includes('会议'),
            null, { timeout: 5000 }).catch(() => {});
        eq(await st.textContent(), '暂停 · 会议', 'the tile says 暂停 · 会议');
        eq(page.hq.errors, [], 'no page errors');
    });
}

/* The corrupt-database notice and its acknowledgement from the dashboard. */
async function storageAck() {
    await H.withDashboard(H.baseConfig(), async (hall, br) => {
        for (let i = 0; i < 5; i++) eq((await hall.issue('A')).status, 201, 'issue before the damage');
        await hall.stop();
        /* garbage over the header: SQLite no longer knows the file */
        const fd = fs.openSync(hall.dbPath, 'r+');
        fs.writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
        fs.closeSync(fd);
        await hall.start();
        const corrupt = (await hall.status()).storage.corrupt;
        if (!check(corrupt && corrupt.moved_to, 'hallqd moved the corrupt file aside: ' + JSON.stringify(corrupt))) return;
        check(fs.existsSync(corrupt.moved_to), 'the old file is kept');

        const page = await br.newPage({ width: 1400, height: 900 });
        const other = await br.newPage({ width: 1400, height: 900 });
        await signIn(page, hall);
        await signIn(other, hall);
        const sel = '#alarms li[data-key="storage:corrupt"]';
        const alarm = page.locator(sel);
        await alarm.waitFor({ timeout: 5000 }).catch(() => {});
        if (!check(await alarm.count() === 1, 'the corrupt-database alarm is on the dashboard')) return;
        const txt = await alarm.textContent();
        check(txt.includes('数据库文件损坏') && txt.includes(corrupt.moved_to), 'the alarm names the kept file: ' + txt);
        const btn = alarm.locator('button.ack');
        eq(await btn.count(), 1, 'the alarm has a button');
        eq(await btn.textContent(), '确认', 'the button says 确认');
        eq(await btn.getAttribute('title'), '确认 / Acknowledge', 'its title says both');
        eq(await page.locator('#alarms button.ack').count(), 1, 'no other alarm has the button');
        await other.locator(sel).waitFor({ timeout: 5000 }).catch(() => {});
        eq(await other.locator(sel).count(), 1, 'the second dashboard shows the alarm too');
        await H.artefact(page.locator('#alarms-card'), 'admin-storage-ack.png');
        await H.artefact(page, 'admin-storage-alarm.png');

        await page.click('#lang');
        eq(await btn.textContent(), 'Acknowledge', 'the button in English');
        await page.click('#lang');

        await btn.click();
        await alarm.waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
        eq(await alarm.count(), 0, 'the alarm is gone after 确认');
        await page.locator('#alarms li.none').waitFor({ timeout: 5000 }).catch(() => {});
        eq(await page.locator('#alarms li.none').count(), 1, 'no alarms left');
        eq((await hall.status()).storage.corrupt, null, 'the status has no notice');
        eq(hall.db("SELECT count(*) AS n FROM meta WHERE key='corrupt_moved'"), [{ n: 0 }], 'the notice is gone from the database');
        check(hall.readLog().includes('the corrupt-database notice was acknowledged'), 'the log says who-what: acknowledged');
        /* the other dashboard hears it on the event stream (alarm list) or its
         * next overview, without a reload */
        await other.locator(sel).waitFor({ state: 'detached', timeout: 8000 }).catch(() => {});
        eq(await other.locator(sel).count(), 0, 'the second dashboard dropped the alarm');
        check(fs.existsSync(corrupt.moved_to), 'the old file is still kept');
        /* after a restart it stays acknowledged */
        await hall.stop();
        await hall.start();
        eq((await hall.status()).storage.corrupt, null, 'still acknowledged after a restart');
        eq(page.hq.errors.concat(other.hq.errors), [], 'no page errors');
    });
}

/* The box's own alarms: the database's disk below store.disk_alarm_mib (存储空间不足) and a
 * clock behind the newest record (时钟), as the dashboard shows them, in both languages. */
async function boxAlarms() {
    const cfg = H.baseConfig();
    cfg.store.disk_alarm_mib = 16777216; /* 16 TiB: more than any disk here has free */
    await H.withDashboard(cfg, async (hall, br) => {
        eq((await hall.issue('A')).status, 201, 'issue');
        await hall.stop();
        hall.db('UPDATE events SET at = at + 3 * 3600'); /* recorded 3 h "in the future" */
        await hall.start();
        const page = await br.newPage({ width: 1400, height: 900 });
        await signIn(page, hall);
        const disk = page.locator('#alarms li[data-key="storage:disk_low"]');
        const clock = page.locator('#alarms li[data-key="clock:behind"]');
        await disk.waitFor({ timeout: 8000 }).catch(() => {});
        await clock.waitFor({ timeout: 8000 }).catch(() => {});
        if (check(await disk.count() === 1, 'the disk alarm is on the dashboard')) {
            eq(await disk.locator('.tag').textContent(), '存储', 'its tag');
            check((await disk.locator('.msg').textContent()).startsWith('存储空间不足：剩余 '), 'its text');
        }
        if (check(await clock.count() === 1, 'the clock alarm is on the dashboard')) {
            eq(await clock.locator('.tag').textContent(), '时钟', 'its tag');
            check((await clock.locator('.msg').textContent()).startsWith('系统时钟比已记录的时间慢 18'), 'its text');
            /* the list is re-rendered when the overview follows the alarm event: an element read
             * just as it is replaced has no style, so read the one in the page now */
            const tagColour = () => page.evaluate(() => {
                const el = document.querySelector('#alarms li[data-key="clock:behind"] .tag');
                return el ? getComputedStyle(el).backgroundColor : '';
            });
            await page.waitForFunction(() => {
                const el = document.querySelector('#alarms li[data-key="clock:behind"] .tag');
                return el && getComputedStyle(el).backgroundColor !== '';
            }, null, { timeout: 5000 }).catch(() => {});
            eq(await tagColour(), 'rgb(180, 83, 9)', 'its own tag colour');
        }
        await H.artefact(page.locator('#alarms-card'), 'admin-box-alarms.png');
        await page.click('#lang');
        if (await clock.count()) {
            eq(await clock.locator('.tag').textContent(), 'Clock', 'the tag in English');
            check((await clock.locator('.msg').textContent()).includes('min behind the newest record'), 'the text in English');
        }
        await page.click('#lang');
        eq(page.hq.errors, [], 'no page errors');
    });
}

/* The next `event` on hallqd's public stream within ms (true), or false. */
function nextEvent(hall, event, ms) {
    return new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: hall.port, path: '/api/v1/events' }, (res) => {
            let buf = '';
            res.on('data', (c) => {
                buf += c.toString('utf8');
                if (buf.includes('\nevent: ' + event + '\n')) done(true);
            });
        });
        const done = (v) => {
            clearTimeout(timer);
            req.destroy();
            resolve(v);
        };
        const timer = setTimeout(() => done(false), ms);
        req.on('error', () => done(false));
    });
}

async function idleDashboard() {
    await H.withDashboard(H.baseConfig(), async (hall, br) => {
        /* a 差评 due 20 s from now, two citizens waiting for A, a clerk idle at window 1 */
        eq((await hall.window(2, 'login', { staff: '1003' })).status, 200, 'window 2 login');
        eq((await hall.issue('B')).status, 201, 'issue B');
        for (const a of ['call-next', 'start', 'finish']) eq((await hall.window(2, a)).status, 200, 'window 2 ' + a);
        eq((await hall.window(2, 'rating', { level: 1 })).status, 200, 'rating 1');
        hall.db('UPDATE evaluations SET follow_up_due=' + (Math.floor(Date.now() / 1000) + 20) + ' WHERE level<=2');
        for (let i = 0; i < 2; i++) eq((await hall.issue('A')).status, 201, 'issue A');
        eq((await hall.window(1, 'login', { staff: '1001' })).status, 200, 'window 1 login');

        const page = await br.newPage({ width: 1400, height: 1200 });
        await signIn(page, hall);
        await page.locator('#followups .fu').waitFor({ timeout: 5000 });
        await page.locator('#queues tr[data-service="A"]').waitFor({ timeout: 5000 });
        /* the sign-in's own loads are done (today's charts follow an
         * overview within 5 s) */
        await page.waitForTimeout(6000);
        const asked = [];
        page.on('request', (r) => {
            const u = new URL(r.url());
            if (u.pathname.startsWith('/api/')) asked.push(u.pathname + u.search);
        });
        const inState = () => page.textContent('#windows .win[data-window="1"] .wtime');
        const oldest = () => page.textContent('#queues tr[data-service="A"] td:nth-child(4)');
        const t0 = await inState();
        const o0 = await oldest();
        check(!(await page.locator('#followups .fu.overdue').count()), 'not overdue before its due date');
        await page.waitForTimeout(35000);
        /* the one thing that happened in those 35 s is the 差评 passing its
         * due date: hallqd raises the follow_up:overdue alarm (issue 17),
         * whose `alarm` event reloads the overview once (and its charts);
         * nothing is polled */
        eq(asked.filter((p) => p.startsWith('/api/v1/admin/overview')), ['/api/v1/admin/overview'],
            'one overview request in 35 s idle: the overdue alarm\'s');
        eq(asked.filter((p) => !p.startsWith('/api/v1/admin/overview') && !p.startsWith('/api/v1/admin/stats')), [],
            'no other request in 35 s idle');
        check(await page.locator('#alarms li[data-key="follow_up:overdue"]').count() === 1, 'the overdue alarm is shown');
        const t1 = await inState();
        check(t1 !== t0 && /^\d+:\d\d$/.test(t1), 'time in state counts on: ' + t0 + ' -> ' + t1);
        check((await oldest()) !== o0, 'the oldest wait counts on: ' + o0 + ' -> ' + (await oldest()));
        const fu = page.locator('#followups .fu.overdue .due.overdue');
        eq(await fu.count(), 1, 'the due date passed on the page\'s clock: 逾期');
        if (await fu.count()) check((await fu.textContent()).includes('已逾期'), 'overdue said in words');

        /* the tickets were issued an hour ago, 25 s from now: hallqd's
         * `staffing` event reloads the overview and arrivals fall to 0 */
        const arrivals = () => page.textContent('#staffing tr[data-service="A"] td:nth-child(2)');
        eq(await arrivals(), '2', 'two arrivals of A in the last hour');
        await hall.stop();
        hall.db('UPDATE tickets SET issued_at=' + (Math.floor(Date.now() / 1000) - 3600 + 25));
        await hall.start();
        check(await nextEvent(hall, 'staffing', 45000), 'hallqd published staffing when the arrivals left the hour');
        await page.waitForFunction(() => document.querySelector('#staffing tr[data-service="A"] td:nth-child(2)').textContent === '0', null,
            { timeout: 8000 }).catch(() => {});
        eq(await arrivals(), '0', 'the staffing row follows without a reload');
        eq(page.hq.errors, [], 'no page errors');
    });
}

H.exitWith(main());
