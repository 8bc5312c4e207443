/*
 * test_central.js — the view of every hall on hallq-central, in headless
 * Chromium against the real hallq-central (SQLite store; the same queries run
 * on PostgreSQL in central_pg_halls):
 *   - the page asks a manager to sign in; a wrong password is refused on the page;
 *   - the Guangzhou city manager sees Guangzhou's halls, not Shenzhen's (the row
 *     is absent, and #hall/SZ-NS shows nothing of it), Chinese first on every heading;
 *   - a row carries today's tickets, average wait, ratings, follow-ups and alarms:
 *     a hall holding records above a gap is "积压 · falling behind", one never heard
 *     from is "失联 · silent";
 *   - a batch arriving updates the row live (SSE), without a reload;
 *   - a hall's page lists its day;
 *   - the period figures (firmware/figures.c on the server) per hall of the city and the
 *     region's total, Chinese first, another city's hall absent, a CSV link;
 *   - a hall whose ratings wait for the provincial platform longer than the mapping's
 *     alarm_after_s shows "省平台未送达 · province behind" (1920 and 1366 wide), and the
 *     badge goes once the reference receiver holds the record.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('./harness.js');

const CENTRAL = process.env.HQ_CENTRAL || path.join(H.BUILD, 'tools', 'hallq-central');
let tmp, db, proc, port, toks = {};

function cli(args, input) {
    return execFileSync(CENTRAL, [...args, '--db', db], { input: input || '', encoding: 'utf8' });
}

function today(hms) {
    const d = new Date();
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${hms}+08:00`;
}

async function push(hall, records) {
    const r = await H.request(port, 'POST', `/v1/halls/${hall}/records`, { hall_id: hall, records }, toks[hall]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
}

test.before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hallq-web-central-'));
    db = path.join(tmp, 'central.db');
    for (const [h, region, name] of [['GZ-TH', '广东省/广州市/天河区', '天河政务服务中心'], ['GZ-YX', '广东省/广州市/越秀区', '越秀政务服务中心'],
        ['SZ-NS', '广东省/深圳市/南山区', '南山政务服务中心']]) {
        toks[h] = cli(['hall', 'add', h, '--region', region, '--name', name]).trim().split(' ').pop();
    }
    cli(['manager', 'add', 'gz', '--region', '广东省/广州市', '--name', '广州市管理员'], 'gz-pass-1234\n');
    proc = spawn(CENTRAL, ['--listen', '127.0.0.1:0', '--db', db, '--provisioned-only'], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise((resolve, reject) => {
        let buf = '';
        proc.stdout.on('data', (c) => {
            buf += c;
            const m = buf.match(/ready http [\d.]+:(\d+)/);
            if (m) resolve(Number(m[1]));
        });
        proc.on('exit', (code) => reject(new Error('hallq-central exited ' + code)));
    });
    await push('GZ-TH', [
        { seq: 1, uuid: 't1', type: 'ticket', at: today('09:00:00'), data: { number: 'A001', service: 'A', wait_s: 300 } },
        { seq: 2, uuid: 't2', type: 'ticket', at: today('09:05:00'), data: { number: 'A002', service: 'A', wait_s: 900 } },
        { seq: 3, uuid: 'e1', type: 'evaluation', at: today('09:20:00'),
            data: { ticket: 'A001', level: 1, follow_up_due: '2000-01-01T00:00:00+08:00' } },
    ]);
    // Shenzhen has records too (never shown to Guangzhou); GZ-YX is never heard from.
    await push('SZ-NS', [{ seq: 1, uuid: 's1', type: 'ticket', at: today('09:00:00'), data: { number: 'B001' } },
        { seq: 3, uuid: 's3', type: 'ticket', at: today('09:01:00'), data: { number: 'B003' } }]);
});

test.after(async () => {
    if (proc) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.on('exit', r));
    }
    fs.rmSync(tmp, { recursive: true, force: true });
});

test('the city manager sees the halls of the city, live, and a hall\'s day', async () => {
    const b = await H.browser();
    try {
        const page = await b.newPage({ width: 1600, height: 900 });
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForSelector('#login:not([hidden])');
        assert.match(await page.locator('h1').innerText(), /^大厅总览\s+All halls/);
        await page.fill('#user', 'gz');
        await page.fill('#pass', 'wrong-password');
        await page.click('#login button');
        await page.waitForFunction(() => document.getElementById('error').textContent.length > 0);
        assert.match(await page.locator('#error').innerText(), /^用户名或密码错误/);
        await page.fill('#pass', 'gz-pass-1234');
        await page.click('#login button');
        await page.waitForSelector('#list:not([hidden]) tbody tr');
        const halls = await page.$$eval('#halls tr', (trs) => trs.map((t) => t.dataset.hall));
        assert.deepEqual(halls, ['GZ-TH', 'GZ-YX']);
        assert.equal(await page.locator('body').innerText().then((t) => t.includes('南山')), false);
        // Headings: Chinese first, English second.
        const heads = await page.$$eval('#list th', (ths) => ths.map((t) => t.innerText.replace(/\s+/g, ' ')));
        assert.deepEqual(heads.slice(0, 3), ['大厅 Hall', '地区 Region', '最后联系 Last contact']);
        const row = (h) => page.locator(`#halls tr[data-hall="${h}"]`);
        const cells = await row('GZ-TH').locator('td').allInnerTexts();
        assert.match(cells[2], /^\d+ 秒前$/); // last contact: seconds ago
        assert.equal(cells[3], '0'); // backlog
        assert.equal(cells[4], '2'); // tickets today
        assert.equal(cells[5], '10 分钟'); // (5 + 15) / 2 minutes
        assert.equal(cells[6], '1 (1.0)');
        assert.match(cells[7], /^1 \/ 超期 1/);
        assert.match(cells[8], /回访超期/);
        assert.ok(await row('GZ-YX').locator('[data-alarm="silent"]').count() === 1, 'GZ-YX never heard from: silent');
        await H.artefact(page, 'web_central_list.png');

        // Live: a batch with a gap reaches the row without a reload (SSE).
        await push('GZ-TH', [{ seq: 5, uuid: 't5', type: 'ticket', at: today('10:00:00'), data: { number: 'A005', service: 'A', wait_s: 60 } }]);
        await page.waitForFunction(() => {
            const tr = document.querySelector('#halls tr[data-hall="GZ-TH"]');
            return tr && tr.querySelectorAll('td')[4].textContent === '3';
        }, null, { timeout: 20000 });
        assert.equal(await row('GZ-TH').locator('[data-alarm="falling behind"]').count(), 1);

        // A hall's day.
        await row('GZ-TH').locator('a').click();
        await page.waitForSelector('#hall:not([hidden]) #day tr');
        assert.match(await page.locator('#hall-title').innerText(), /^天河政务服务中心 · 广东省 › 广州市 › 天河区/);
        const day = await page.$$eval('#day tr', (trs) => trs.map((t) => t.querySelectorAll('td')[2].textContent));
        assert.deepEqual(day, ['A001', 'A002', 'A001', 'A005']);
        await H.artefact(page, 'web_central_hall.png');

        // Another city's hall by its address: nothing of it is shown.
        await page.goto(`http://127.0.0.1:${port}/#hall/SZ-NS`);
        await page.waitForSelector('#list:not([hidden]) tbody tr');
        assert.equal(await page.locator('body').innerText().then((t) => t.includes('南山')), false);
        assert.deepEqual(page.hq.errors, []);
    } finally {
        await b.close();
    }
});

test('the period figures of the city\'s halls and their total', async () => {
    const day = today('00:00:00').slice(0, 10);
    const t = (hms) => today(hms);
    await push('GZ-YX', [
        { seq: 1, uuid: 'y1', type: 'ticket', at: t('09:15:00'), data: { uuid: 'y1', day, number: 'A010', service: 'A', issued_for: 'A',
            status: 'done', window: 1, staff: '1001', issued_at: t('09:00:00'), called_at: t('09:05:00'),
            served_at: t('09:05:00'), finished_at: t('09:15:00'), wait_s: 300 } },
        { seq: 2, uuid: 'y2', type: 'ticket', at: t('09:40:00'), data: { uuid: 'y2', day, number: 'A011', service: 'A', issued_for: 'A',
            status: 'done', window: 1, staff: '1001', issued_at: t('09:10:00'), called_at: t('09:25:00'),
            served_at: t('09:25:00'), finished_at: t('09:40:00'), wait_s: 900 } },
        { seq: 3, uuid: 'ye1', type: 'evaluation', at: t('09:16:00'), data: { uuid: 'ye1', ticket_uuid: 'y1', ticket: 'A010', service: 'A', window: 1, staff: '1001', level: 5 } },
    ]);
    const b = await H.browser();
    try {
        const page = await b.newPage({ width: 1366, height: 768 });
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForSelector('#login:not([hidden])');
        await page.fill('#user', 'gz');
        await page.fill('#pass', 'gz-pass-1234');
        await page.click('#login button');
        await page.waitForSelector('#fig-rows tr');
        assert.match(await page.locator('#figures h2').innerText(), /^期间指标\s+Figures over a period/);
        const heads = await page.$$eval('#figures th', (ths) => ths.map((x) => x.innerText.replace(/\s+/g, ' ')));
        assert.deepEqual(heads.slice(0, 3), ['大厅 Hall', '到达 Arrivals', '办结 Served']);
        await page.fill('#fig-from', day);
        await page.fill('#fig-to', day);
        await page.click('#fig-form button');
        await page.waitForFunction(() => {
            const tr = document.querySelector('#fig-rows tr[data-hall="GZ-YX"]');
            return tr && tr.querySelectorAll('td')[2].textContent === '2';
        }, null, { timeout: 20000 });
        const halls = await page.$$eval('#fig-rows tr', (trs) => trs.map((x) => x.dataset.hall));
        assert.deepEqual(halls, ['GZ-TH', 'GZ-YX'], 'the city\'s halls, not Shenzhen');
        const yx = await page.locator('#fig-rows tr[data-hall="GZ-YX"] td').allInnerTexts();
        assert.equal(yx[0], '越秀政务服务中心');
        assert.equal(yx[1], '2'); // arrivals
        assert.equal(yx[4], '10.0 分钟'); // mean wait (5 + 15) / 2
        assert.equal(yx[8], '1'); // ratings
        assert.equal(yx[9], '100.0%'); // satisfaction
        assert.equal(yx[10], '50.0%'); // one of two served rated
        const total = await page.locator('#fig-total td').allInnerTexts();
        assert.match(total[0], /^辖区合计\s+Region total/);
        assert.equal(total[2], '2'); // GZ-TH's records carry no business day: counted nowhere
        assert.match(await page.locator('#fig-csv').getAttribute('href'), /format=csv/);
        assert.equal(await page.locator('#figures').innerText().then((x) => x.includes('南山')), false);
        await H.artefact(page, 'web_central_figures.png');
        // The hall's page: its figures by service over the same period.
        await page.locator('#halls tr[data-hall="GZ-YX"] a').click();
        await page.waitForSelector('#hall:not([hidden]) #hall-fig-rows tr');
        const svc = await page.locator('#hall-fig-rows tr[data-key="A"] td').allInnerTexts();
        assert.match(svc[0], /^A\s+A$/); // no configuration file given: the code names it
        assert.equal(svc[2], '2'); // served
        assert.match(await page.locator('#hall-fig-total td').first().innerText(), /^全厅\s+Whole hall/);
        assert.equal(await page.locator('#hall-fig-period').innerText(), `${day} — ${day}`);
        await H.artefact(page, 'web_central_hall_figures.png');
        assert.deepEqual(page.hq.errors, []);
    } finally {
        await b.close();
    }
});

/* Open the view and sign in as the Guangzhou manager, unless the browser's session already is. */
async function signIn(page, p) {
    await page.goto(`http://127.0.0.1:${p}/`);
    await page.waitForSelector('#login:not([hidden]), #list:not([hidden])');
    if (await page.locator('#login:not([hidden])').count()) {
        await page.fill('#user', 'gz');
        await page.fill('#pass', 'gz-pass-1234');
        await page.click('#login button');
    }
}

test('a hall whose ratings have not reached the provincial platform shows it, until they do', async () => {
    // Its own hallq-central (and database) forwarding to a platform that is not there yet.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hallq-web-province-'));
    const pdb = path.join(dir, 'central.db');
    const pcli = (args, input) => execFileSync(CENTRAL, [...args, '--db', pdb], { input: input || '', encoding: 'utf8' });
    const ptok = {};
    for (const [h, region, name] of [['GZ-TH', '广东省/广州市/天河区', '天河政务服务中心'], ['GZ-YX', '广东省/广州市/越秀区', '越秀政务服务中心']])
        ptok[h] = pcli(['hall', 'add', h, '--region', region, '--name', name]).trim().split(' ').pop();
    pcli(['manager', 'add', 'gz', '--region', '广东省/广州市', '--name', '广州市管理员'], 'gz-pass-1234\n');
    const rxPort = await H.freePort();
    const mapping = JSON.parse(fs.readFileSync(path.join(H.SOURCE, 'config', 'province', 'mapping.example.json'), 'utf8'));
    Object.assign(mapping, { endpoint: `http://127.0.0.1:${rxPort}/api/evaluation`, alarm_after_s: 1, workers: 1,
        retry: { first_s: 0.2, max_s: 1 }, timeout_s: 5 });
    delete mapping.token_file;
    fs.writeFileSync(path.join(dir, 'mapping.json'), JSON.stringify(mapping));
    const central = spawn(CENTRAL, ['--listen', '127.0.0.1:0', '--db', pdb, '--provisioned-only', '--province', path.join(dir, 'mapping.json')],
        { stdio: ['ignore', 'pipe', 'inherit'] });
    let rx = null;
    try {
        const cport = await H.childLine(central, /ready http [\d.]+:(\d+)/, 15000).then((m) => Number(m[1]));
        const day = today('00:00:00').slice(0, 10);
        const eid = require('node:crypto').randomUUID(); // the platform's schema wants a UUID
        const r = await H.request(cport, 'POST', '/v1/halls/GZ-TH/records', { hall_id: 'GZ-TH', records: [
            { seq: 1, uuid: 'pe1-record', type: 'evaluation', at: today('09:20:00'),
                data: { version: 2, uuid: eid, day, case_no: 'GZ-TH-0001', ticket: 'A001', service: 'A', task_code: 'TASK-1',
                    window: 1, staff: '1001', level: 4, gbt39046_code: 2, channel: '政务大厅其他终端', reasons: [], text: '',
                    assess_number: 1, case_bound: false } },
        ] }, ptok['GZ-TH']);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const r2 = await H.request(cport, 'POST', '/v1/halls/GZ-YX/records', { hall_id: 'GZ-YX', records: [
            { seq: 1, uuid: 'py1', type: 'ticket', at: today('09:00:00'), data: { number: 'A001' } }] }, ptok['GZ-YX']);
        assert.equal(r2.status, 200, JSON.stringify(r2.body));

        const b = await H.browser();
        try {
            for (const [w, h] of [[1920, 1080], [1366, 768]]) {
                const page = await b.newPage({ width: w, height: h });
                await signIn(page, cport);
                // The evaluation waits longer than alarm_after_s: GZ-TH's row says so, Chinese first.
                const badge = '#halls tr[data-hall="GZ-TH"] [data-alarm="province behind"]';
                assert.ok(await H.until(async () => {
                    await H.sleep(500);
                    await page.reload();
                    await page.waitForSelector('#list:not([hidden]) tbody tr');
                    return (await page.locator(badge).count()) === 1;
                }, 20000), 'the province badge on GZ-TH');
                assert.equal(await page.locator(badge).innerText(), '省平台未送达 · province behind');
                assert.equal(await page.locator('#halls tr[data-hall="GZ-YX"] [data-alarm="province behind"]').count(), 0,
                    'a hall with nothing waiting for the platform has no such badge');
                await H.artefact(page, `web_central_province_${w}.png`);
                assert.deepEqual(page.hq.errors, []);
                await page.close();
            }
            // The platform comes up: the record is delivered and the badge goes.
            rx = spawn('python3', [path.join(H.SOURCE, 'tests', 'integration', 'province_receiver.py'), String(rxPort)],
                { stdio: ['ignore', 'pipe', 'inherit'] });
            const got = await H.childLine(rx, new RegExp(`^\\{.*"evaluationId": "${eid}".*\\}$`, 'm'), 30000);
            assert.ok(got, 'the receiver holds the evaluation');
            const page = await b.newPage({ width: 1366, height: 768 });
            await signIn(page, cport);
            // (the receiver prints the record before its answer reaches hallq-central)
            assert.ok(await H.until(async () => {
                await page.reload();
                await page.waitForSelector('#list:not([hidden]) tbody tr[data-hall="GZ-TH"]');
                if ((await page.locator('#halls tr[data-hall="GZ-TH"] [data-alarm="province behind"]').count()) === 0) return true;
                await H.sleep(500);
                return false;
            }, 20000), 'the badge goes once the platform holds the record');
            assert.deepEqual(page.hq.errors, []);
        } finally {
            await b.close();
        }
    } finally {
        for (const p of [central, rx]) {
            if (p && p.exitCode === null) {
                p.kill('SIGTERM');
                await new Promise((res) => p.on('exit', res));
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
