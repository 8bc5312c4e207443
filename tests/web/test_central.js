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
 *   - a hall's page lists its day.
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
