/*
 * bench_display.js — how fast a call reaches the hall's screens.
 *
 *   1. call → wall display: a window calls on the API; the time until the
 *      number is in /display's DOM in headless Chromium (a MutationObserver
 *      in the page stamps the change; page and bench share the epoch clock).
 *      p50/p99 over HQ_BENCH_CALLS calls (200).
 *   2. SSE fan-out: HQ_BENCH_CLIENTS (50) event-stream clients connected to
 *      /api/v1/events (plain HTTP clients: one browser caps itself at six
 *      connections per host); the time from the call until every client has
 *      the `call` event, p50/p99 over 50 calls.
 *
 * Run: HQ_BUILD=build node tests/bench/bench_display.js  (tests/bench/run.sh
 * does). Prints figures; asserts nothing about speed.
 */
'use strict';

const http = require('node:http');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const H = require(path.join(__dirname, '../web/harness.js'));

const CALLS = parseInt(process.env.HQ_BENCH_CALLS, 10) || 200;
const CLIENTS = parseInt(process.env.HQ_BENCH_CLIENTS, 10) || 50;
const FAN_CALLS = 50;
const now = () => performance.timeOrigin + performance.now();

function pct(a, p) {
    const s = a.slice().sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const fmt = (a) => 'p50 ' + pct(a, 50).toFixed(1) + ' ms, p99 ' + pct(a, 99).toFixed(1) + ' ms, max ' + Math.max(...a).toFixed(1) + ' ms';

/* One raw event-stream client: calls onCall(number, t) for each `call`. */
function sseClient(port, onCall) {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: port, path: '/api/v1/events', agent: false }, (res) => {
            if (res.statusCode !== 200) return reject(new Error('event stream: HTTP ' + res.statusCode));
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (d) => {
                buf += d;
                let i;
                while ((i = buf.indexOf('\n\n')) >= 0) {
                    const msg = buf.slice(0, i);
                    buf = buf.slice(i + 2);
                    if (/^event: status$/m.test(msg)) resolve(req);
                    if (!/^event: call$/m.test(msg)) continue;
                    const m = /^data: (.*)$/m.exec(msg);
                    if (m) onCall(JSON.parse(m[1]).ticket.number, now());
                }
            });
        });
        req.on('error', reject);
    });
}

async function main() {
    const cfg = H.baseConfig();
    cfg.http.max_clients = CLIENTS + 32;
    cfg.http.max_per_address = cfg.http.max_clients; /* every client is 127.0.0.1 */
    cfg.http.max_streams_per_address = cfg.http.max_clients;
    cfg.services[0].daily_quota = 0;
    const hall = await new H.Hall(cfg).start();
    const B = await H.browser();
    try {
        for (let i = 0; i < CALLS + FAN_CALLS + 5; i++) await hall.issue('A');
        await hall.window(1, 'login', { staff: '1001' });

        /* 1. call -> DOM */
        const page = await B.newPage({ width: 1920, height: 1080 });
        await page.goto(hall.url + '/display');
        await page.waitForFunction(() => document.getElementById('link').hidden === true);
        await page.evaluate(() => {
            window.__seen = {};
            const el = document.getElementById('now-body');
            new MutationObserver(() => {
                const m = /[A-Z]\d{3}/.exec(el.textContent);
                if (m && !window.__seen[m[0]]) window.__seen[m[0]] = performance.timeOrigin + performance.now();
            }).observe(el, { childList: true, subtree: true, characterData: true });
        });
        const dom = [];
        for (let i = 0; i < CALLS; i++) {
            if (i) await hall.window(1, 'finish');
            const t0 = now();
            const r = await hall.window(1, 'call-next');
            if (r.status !== 200) throw new Error('call-next: ' + JSON.stringify(r.body));
            const n = r.body.ticket.number;
            const t1 = await (await page.waitForFunction((x) => window.__seen[x], n, { timeout: 10000 })).jsonValue();
            dom.push(t1 - t0);
        }
        await page.close();
        console.log('call -> /display DOM (Chromium, ' + CALLS + ' calls): ' + fmt(dom));

        /* 2. fan-out to CLIENTS event streams */
        await hall.window(1, 'finish');
        const got = new Map(); /* number -> [times] */
        const reqs = [];
        for (let c = 0; c < CLIENTS; c++)
            reqs.push(await sseClient(hall.port, (n, t) => {
                if (!got.has(n)) got.set(n, []);
                got.get(n).push(t);
            }));
        const fan = [], first = [];
        for (let i = 0; i < FAN_CALLS; i++) {
            if (i) await hall.window(1, 'finish');
            const t0 = now();
            const r = await hall.window(1, 'call-next');
            const n = r.body.ticket.number;
            const deadline = Date.now() + 10000;
            while ((got.get(n) || []).length < CLIENTS) {
                if (Date.now() > deadline) throw new Error('not every client had ' + n);
                await H.sleep(1);
            }
            const ts = got.get(n);
            fan.push(Math.max(...ts) - t0);
            first.push(Math.min(...ts) - t0);
        }
        for (const r of reqs) r.destroy();
        console.log('SSE fan-out to ' + CLIENTS + ' clients, call -> last client (' + FAN_CALLS + ' calls): ' + fmt(fan));
        console.log('SSE fan-out to ' + CLIENTS + ' clients, call -> first client: ' + fmt(first));
    } finally {
        await B.close();
        await hall.close();
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
