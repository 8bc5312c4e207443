/*
 * harness.js — page tests' harness (the JS twin of tests/integration/hallq.py):
 * start the real hallqd on a temporary config and database with the pages of
 * firmware/web, talk to it over HTTP, kill and restart it; drive the system's
 * Chromium headless through playwright-core (never a downloaded browser: the
 * hall and the CI have no internet); an optional proxy in front of hallqd
 * that can add Server-Sent Events (the kiosk reader's `card`) and records
 * what pages send.
 *
 * Environment (set by ctest): HQ_BUILD = the CMake build dir, HQ_SOURCE = the
 * source tree.
 */
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const BUILD = path.resolve(process.env.HQ_BUILD || path.join(__dirname, '../../build'));
const SOURCE = path.resolve(process.env.HQ_SOURCE || path.join(__dirname, '../..'));
const HALLQD = path.join(BUILD, 'hallqd');
const WEB_ROOT = path.join(SOURCE, 'firmware/web');
const ARTEFACTS = path.join(BUILD, 'artefacts');
const CHROMIUM = process.env.HQ_CHROMIUM || '/usr/bin/chromium';

const CLERK = 'test-clerk-token-0001';
const MANAGER = 'test-manager-token-01';
const ALL_DAY = { all: ['00:00-24:00'] };

function loadPlaywright() {
    try {
        return require(path.join(__dirname, 'node_modules/playwright-core'));
    } catch (e) {
        throw new Error('playwright-core is missing: run `npm ci` in tests/web (tools/hallq build does)');
    }
}

function baseConfig() {
    return {
        hall: { id: 'test-hall', name: '测试大厅', name_en: 'Test Hall', log_level: 'info' },
        http: {
            listen: '127.0.0.1:0',
            public_url: 'http://127.0.0.1',
            web_root: WEB_ROOT,
            max_body: 4096,
            max_clients: 16,
            tokens: [
                { token: CLERK, role: 'clerk' },
                { token: MANAGER, role: 'manager' },
            ],
            /* every page and request comes from 127.0.0.1, faster than a kiosk: the
             * per-address budgets are off here (tests/integration/test_net.py checks them) */
            max_per_address: 16,
            max_streams_per_address: 16,
            issue_per_minute: 0,
        },
        store: { database: 'hall.db', synchronous: 'normal', disk_alarm_mib: 0 }, // not /tmp's fill
        display: { notice: '请保管好随身物品，过号请重新取号。', notice_en: 'Please keep your belongings with you.' },
        privacy: { id_hash_key: 'test-id-hash-key-0123456789' },
        queue: { recall_limit: 2, no_show_requeue: false, rating_timeout_s: 60 },
        services: [
            { code: 'A', name: '社保业务', name_en: 'Social insurance', prefix: 'A', range: [1, 999], digits: 3, daily_quota: 5000,
                priorities: ['elderly', 'disabled', 'green'], hours: ALL_DAY },
            { code: 'B', name: '不动产登记', name_en: 'Real estate', prefix: 'B', range: [1, 999], digits: 3, daily_quota: 3, hours: ALL_DAY },
            { code: 'C', name: '出入境', name_en: 'Exit and entry', prefix: 'C', range: [1, 999], digits: 3, id_required: true, hours: ALL_DAY },
        ],
        windows: [
            { number: 1, name: '1号窗口', name_en: 'Window 1', services: ['A'] },
            { number: 2, name: '2号窗口', name_en: 'Window 2', services: ['B', 'A'] },
            { number: 3, name: '3号窗口', name_en: 'Window 3', services: ['A', 'B', 'C'] },
        ],
        staff: [
            { id: '1001', name: '王芳' },
            { id: '1002', name: '李娜' },
            { id: '1003', name: '张伟' },
        ],
    };
}

/* A utc_offset ("+HH:MM") that puts the hall's midnight at a whole UTC
 * minute leadS..leadS+60 s from now (tests/integration/test_rollover.py's
 * way), and that midnight's time in ms. */
function offsetForMidnight(leadS) {
    const now = new Date();
    const sod = now.getUTCHours() * 3600 + now.getUTCMinutes() * 60 + now.getUTCSeconds();
    const m = Math.floor((sod + (leadS || 10) + 59) / 60); /* the UTC minute of day of the local midnight */
    let off = (((-m) % 1440) + 1440) % 1440;
    if (off > 840) off -= 1440;
    const pad = (n) => (n < 10 ? '0' : '') + n;
    const offset = (off < 0 ? '-' : '+') + pad(Math.floor(Math.abs(off) / 60)) + ':' + pad(Math.abs(off) % 60);
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + m * 60000;
    return { offset: offset, midnight: midnight };
}

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, '127.0.0.1', () => {
            const p = s.address().port;
            s.close(() => resolve(p));
        });
        s.on('error', reject);
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* One HTTP request; resolves {status, body} with body parsed when JSON. */
function request(port, method, p, body, token, timeoutMs) {
    return new Promise((resolve, reject) => {
        const headers = {};
        let data;
        if (body !== undefined) {
            data = Buffer.from(JSON.stringify(body));
            headers['Content-Type'] = 'application/json';
            headers['Content-Length'] = data.length;
        }
        if (token) headers.Authorization = 'Bearer ' + token;
        const req = http.request({ host: '127.0.0.1', port: port, method: method, path: p, headers: headers }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const raw = Buffer.concat(chunks);
                let b = raw;
                if ((res.headers['content-type'] || '').startsWith('application/json')) b = JSON.parse(raw.toString('utf8'));
                resolve({ status: res.statusCode, body: b, headers: res.headers });
            });
        });
        req.setTimeout(timeoutMs || 10000, () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

class Hall {
    constructor(config) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hallq-web-'));
        this.config = config || baseConfig();
        this.cfgPath = path.join(this.dir, 'hall.json');
        this.dbPath = path.join(this.dir, this.config.store.database);
        this.logPath = path.join(this.dir, 'hallqd.log');
        this.proc = null;
    }

    get url() {
        return 'http://127.0.0.1:' + this.port;
    }

    async start(timeoutMs) {
        if (!fs.existsSync(HALLQD)) throw new Error('no hallqd at ' + HALLQD + ' (set HQ_BUILD)');
        if (!this.port) this.port = await freePort();
        this.config.http.listen = '127.0.0.1:' + this.port;
        this.config.http.public_url = 'http://127.0.0.1:' + this.port;
        fs.writeFileSync(this.cfgPath, JSON.stringify(this.config, null, 1));
        const log = fs.openSync(this.logPath, 'a');
        this.proc = spawn(HALLQD, ['--config', this.cfgPath], { stdio: ['ignore', log, log] });
        fs.closeSync(log);
        let exited = null;
        this.proc.on('exit', (code, sig) => {
            exited = code === null ? sig : code;
        });
        const deadline = Date.now() + (timeoutMs || 10000);
        while (Date.now() < deadline) {
            if (exited !== null) throw new Error('hallqd exited (' + exited + '): ' + this.readLog());
            try {
                const r = await this.get('/api/v1/status');
                if (r.status === 200) return this;
            } catch (e) {
                /* not listening yet */
            }
            await sleep(50);
        }
        throw new Error('hallqd did not become ready: ' + this.readLog());
    }

    readLog() {
        try {
            return fs.readFileSync(this.logPath, 'utf8').slice(-4000);
        } catch (e) {
            return '';
        }
    }

    /* Stop with sig (SIGTERM; SIGKILL for a crash) and wait for the exit. */
    async stop(sig) {
        const p = this.proc;
        this.proc = null;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const done = new Promise((r) => p.once('exit', r));
        p.kill(sig || 'SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 10000);
        await done;
        clearTimeout(t);
    }

    kill() {
        return this.stop('SIGKILL');
    }

    async close() {
        await this.stop();
        if (!process.env.HQ_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
    }

    request(method, p, body, token) {
        return request(this.port, method, p, body, token);
    }
    get(p, token) {
        return this.request('GET', p, undefined, token);
    }
    post(p, body, token) {
        return this.request('POST', p, body || {}, token);
    }
    issue(service, extra) {
        return this.post('/api/v1/tickets', Object.assign({ service: service }, extra || {}));
    }
    window(n, action, body, token) {
        return this.post('/api/v1/windows/' + n + '/' + action, body || {}, token || CLERK);
    }
    /* A staff member's PIN, set as the manager would (POST /api/v1/admin/staff/ID/pin). */
    setPin(staff, pin) {
        return this.post('/api/v1/admin/staff/' + staff + '/pin', { pin: pin }, MANAGER);
    }
    /* Sign in (POST /api/v1/session): extra is { window: N } or { desk: true }. */
    signIn(staff, pin, extra) {
        return this.post('/api/v1/session', Object.assign({ staff: staff, pin: pin }, extra || {}));
    }
    async status() {
        const r = await this.get('/api/v1/status');
        if (r.status !== 200) throw new Error('status ' + r.status);
        return r.body;
    }
    /* Rows of a query on the hall's database (the sqlite3 program, JSON). */
    db(sql) {
        const out = execFileSync('sqlite3', ['-json', this.dbPath, sql], { encoding: 'utf8' });
        return out.trim() ? JSON.parse(out) : [];
    }
}

/* A proxy in front of hallqd: pages talk to it, it forwards everything,
 * remembers each request's method, path and body, and can add events to
 * every /api/v1/events stream passing through (inject). */
class Proxy {
    constructor(hall) {
        this.hall = hall;
        this.streams = new Set();
        this.requests = [];
    }
    get url() {
        return 'http://127.0.0.1:' + this.port;
    }
    async start() {
        this.port = await freePort();
        this.server = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const body = Buffer.concat(chunks);
                this.requests.push({ method: req.method, url: req.url, body: body.toString('utf8') });
                const up = http.request({ host: '127.0.0.1', port: this.hall.port, method: req.method, path: req.url, headers: req.headers },
                    (ur) => {
                        res.writeHead(ur.statusCode, ur.headers);
                        if (req.url.startsWith('/api/v1/events') && ur.statusCode === 200) {
                            this.streams.add(res);
                            res.on('close', () => this.streams.delete(res));
                        }
                        ur.pipe(res);
                    });
                up.on('error', () => {
                    res.destroy();
                });
                /* a page that goes away ends its stream to hallqd too (else each closed
                 * page's event stream would hold one of hallqd's per-address slots) */
                res.on('close', () => up.destroy());
                up.end(body);
            });
        });
        await new Promise((r) => this.server.listen(this.port, '127.0.0.1', r));
        return this;
    }
    /* Send `event` with data to every page's event stream now open. */
    inject(event, data) {
        const msg = 'event: ' + event + '\ndata: ' + JSON.stringify(data) + '\n\n';
        for (const s of this.streams) s.write(msg);
        return this.streams.size;
    }
    async close() {
        for (const s of this.streams) s.destroy();
        this.server.closeAllConnections();
        await new Promise((r) => this.server.close(r));
    }
}

/* Headless Chromium with a fresh profile. Returns {context, newPage(viewport),
 * close()}; every page collects console errors and dialogs it met. */
async function browser() {
    if (!fs.existsSync(CHROMIUM)) throw new Error('no Chromium at ' + CHROMIUM + ' (apt-get install chromium)');
    const { chromium } = loadPlaywright();
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hallq-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--no-first-run'],
        viewport: { width: 1920, height: 1080 },
    });
    return {
        context: context,
        async newPage(viewport) {
            const page = await context.newPage();
            if (viewport) await page.setViewportSize(viewport);
            page.hq = { errors: [], dialogs: [] };
            page.on('pageerror', (e) => page.hq.errors.push(String(e)));
            page.on('console', (m) => {
                if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|EventSource/.test(m.text()))
                    page.hq.errors.push(m.text());
            });
            page.on('dialog', (d) => {
                page.hq.dialogs.push(d.message());
                d.dismiss().catch(() => {});
            });
            return page;
        },
        async close() {
            await context.close();
            fs.rmSync(profile, { recursive: true, force: true });
        },
    };
}

/* One headless Chromium (playwright Browser) for tests that need a fresh
 * context per screen size: browser.newContext({viewport}) each. */
async function launch() {
    if (!fs.existsSync(CHROMIUM)) throw new Error('no Chromium at ' + CHROMIUM + ' (apt-get install chromium)');
    const { chromium } = loadPlaywright();
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--no-first-run'],
    });
}

/* One browser() for a whole node:test file: launched in test.before, closed in
 * test.after (call this at the top level of the file). Returns a handle whose
 * newPage(viewport) and context are the open browser's. */
function sharedBrowser() {
    const test = require('node:test');
    let b = null;
    test.before(async () => {
        b = await browser();
    });
    test.after(async () => {
        if (b) await b.close();
    });
    return {
        get context() {
            return b.context;
        },
        newPage(viewport) {
            return b.newPage(viewport);
        },
    };
}

/* Wait until the page's live link is up (#link hidden: the first status
 * arrived), within ms (10 s unless told). */
async function linkUp(page, ms) {
    await page.waitForFunction(() => document.getElementById('link').hidden === true, null, { timeout: ms || 10000 });
}

/* Each kiosk of sizes x zh/en x normal and large text at url + '/kiosk', in a browser of its
 * own (a context per size, given to opts.context(context) first when there is one): yields
 * {page, where, size, lang, large} with the kiosk's live link up (and two frames drawn when
 * opts.frames), then asserts the page met no script error and closes it. */
async function* kiosks(url, sizes, opts) {
    const assert = require('node:assert/strict');
    opts = opts || {};
    const b = await launch();
    try {
        for (const size of sizes) {
            const context = await b.newContext({ viewport: size });
            if (opts.context) await opts.context(context);
            for (const lang of ['zh', 'en']) {
                for (const large of [false, true]) {
                    const where = size.width + 'x' + size.height + ' ' + lang + (large ? ' large' : '');
                    const page = await context.newPage();
                    const errors = [];
                    page.on('pageerror', (e) => errors.push(String(e)));
                    await page.goto(url + '/kiosk?lang=' + lang + (large ? '&large=1' : ''));
                    await linkUp(page);
                    if (opts.frames) await frames(page);
                    yield { page: page, where: where, size: size, lang: lang, large: large };
                    assert.deepEqual(errors, [], where);
                    await page.close();
                }
            }
            await context.close();
        }
    } finally {
        await b.close();
    }
}

/* Two animation frames: whatever the page laid out or drew last is on screen. */
function frames(page) {
    return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/* The dashboard's manager: a member of the roster who signs in with a PIN (a session). */
const MGR = '9001';
const MGR_PIN = '2468-13579';
function withManager(cfg) {
    cfg.staff.push({ id: MGR, name: '赵主任', role: 'manager' });
    return cfg;
}

/* Sign in on the dashboard's form (a page at /admin): the manager unless told. */
async function adminSignIn(page, staff, pin) {
    await page.fill('#staff', staff || MGR);
    await page.fill('#pin', pin || MGR_PIN);
    await page.click('#login-form button[type=submit]');
}

/* A dashboard script's hall and browser (scripts run as `node FILE` with counted checks):
 * hallqd on cfg with the manager in its roster, and a browser(); body(hall, br) runs between
 * them, and both are closed after it, whatever it did. */
async function withDashboard(cfg, body) {
    const hall = new Hall(withManager(cfg));
    await hall.start();
    const br = await browser();
    try {
        await body(hall, br);
    } finally {
        await br.close();
        await hall.close();
    }
}

/* End a script: the process exits with the code main resolves to, 1 when it throws. */
function exitWith(main) {
    main.then(
        (rc) => process.exit(rc),
        (e) => {
            console.error(e);
            process.exit(1);
        }
    );
}

/* Keep a screenshot as a test artefact in BUILD/artefacts. */
async function artefact(pageOrLocator, name) {
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    const file = path.join(ARTEFACTS, name);
    await pageOrLocator.screenshot({ path: file });
    return file;
}

/* Counted checks for a test script: check(cond, what) and eq(got, want, what)
 * print FAIL lines and go on; done() prints the count and gives the exit code. */
function checks(name) {
    let n = 0;
    let bad = 0;
    const check = (cond, what) => {
        n++;
        if (!cond) {
            bad++;
            console.log('FAIL: ' + what);
        }
        return cond;
    };
    const eq = (got, want, what) => check(JSON.stringify(got) === JSON.stringify(want), what + ': got ' + JSON.stringify(got) + ', want ' + JSON.stringify(want));
    const done = () => {
        console.log(name + ': ' + n + ' checks, ' + bad + ' failed');
        return bad ? 1 : 0;
    };
    return { check, eq, done };
}

/* true as soon as fn() is (it may be async), false after ms. */
async function until(fn, ms) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (await fn()) return true;
        await sleep(50);
    }
    return false;
}

/* First match of re in a child's stdout, within ms. */
function childLine(child, re, ms) {
    return new Promise((resolve, reject) => {
        let buf = '';
        const t = setTimeout(() => reject(new Error('no ' + re + ' in ' + buf)), ms);
        child.stdout.on('data', (c) => {
            buf += c;
            const m = buf.match(re);
            if (m) {
                clearTimeout(t);
                resolve(m);
            }
        });
    });
}

/* The ticket printer of a page test: the printer simulator (hallq-sim printer, which
 * writes each ticket as DIR/printer/ticket-N.json) behind a private cupsd with a queue
 * "kiosk". config(c) gives hallqd's config its printer section; paper(what) talks to
 * the simulator; stop() ends both and removes the folder. */
async function printerRig(prefix) {
    const { spawn } = require('node:child_process');
    const sim = [path.join(BUILD, 'tools', 'hallq-sim'), path.join(BUILD, 'hallq-sim')].find((p) => fs.existsSync(p));
    const tmp = fs.mkdtempSync(path.join('/tmp', prefix));
    fs.chmodSync(tmp, 0o755);
    const out = path.join(tmp, 'printer');
    const rig = { tmp: tmp };
    rig.sim = spawn(sim, ['printer', '--out', out, '--port', '0', '--width', '80'], { stdio: ['pipe', 'pipe', 'ignore'] });
    rig.port = parseInt((await childLine(rig.sim, /listening on [\d.]+:(\d+)/, 5000))[1], 10);
    rig.cups = spawn('python3', [path.join(SOURCE, 'tests/integration/cupsd.py'), 'serve', path.join(tmp, 'cups'),
        '--queue', 'kiosk=socket://127.0.0.1:' + rig.port], { stdio: ['ignore', 'pipe', 'inherit'] });
    rig.socket = (await childLine(rig.cups, /^ready (\S+)/m, 30000))[1];
    rig.config = (c) => {
        c.printer = { queue: 'kiosk', cups_server: rig.socket, status_link: 'tcp://127.0.0.1:' + rig.port, status_interval_s: 1,
            job_timeout_s: 10 };
        return c;
    };
    rig.path = (n) => path.join(out, 'ticket-' + n + '.json');
    rig.count = () => fs.readdirSync(out).filter((f) => /^ticket-\d+\.json$/.test(f)).length;
    rig.lines = (n) => JSON.parse(fs.readFileSync(rig.path(n), 'utf8')).lines.filter((l) => 'text' in l).map((l) => l.text);
    rig.paper = (what) => rig.sim.stdin.write('paper ' + what + '\n');
    rig.stop = async () => {
        for (const p of [rig.cups, rig.sim]) if (p && p.exitCode === null) p.kill('SIGTERM');
        await sleep(1500);
        fs.rmSync(tmp, { recursive: true, force: true });
    };
    return rig;
}

module.exports = { checks, until, childLine, printerRig, BUILD, SOURCE, WEB_ROOT, ARTEFACTS, CLERK, MANAGER, ALL_DAY, baseConfig, offsetForMidnight, freePort, sleep, request, Hall, Proxy,
    browser, launch, artefact, sharedBrowser, linkUp, frames, kiosks, MGR, MGR_PIN, withManager, adminSignIn, withDashboard, exitWith };
