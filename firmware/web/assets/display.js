/*
 * display.js — the wall display: who is called to which window, now and
 * recently, how many wait per service and for how long, the hall's notice.
 *
 * It runs all day on a wall screen, so everything it keeps is bounded: the
 * call list is capped, each render replaces its part of the DOM, listeners
 * are attached once. Every (re)connection starts from hallqd's status
 * snapshot; while the link is down the page says so and dims its data.
 */
'use strict';

(function () {
    const h = HQ.h;
    const MAX_CALLS = 40; /* kept in memory */
    const params = new URLSearchParams(location.search);
    const layout = params.get('layout') === 'windows' ? 'windows' : 'calls';
    const colsParam = parseInt(params.get('cols'), 10);
    const histRows = layout === 'calls' ? 8 : 0;
    /* Calls that come together are shown one after the other, each for
     * DWELL_MS (about the time the voice takes to say one twice, ?dwell=S
     * to change it), as the voice says them in turn; a backlog is worked off
     * faster so the picture never lags the hall by more than LAG_MS. */
    const dwellParam = parseFloat(params.get('dwell'));
    const DWELL_MS = (dwellParam >= 0.2 && dwellParam <= 60 ? dwellParam : 6) * 1000;
    const LAG_MS = 30000;

    let status = null; /* the last snapshot, patched by events */
    let day = ''; /* the business day the calls belong to ("YYYY-MM-DD") */
    let calls = []; /* {uuid, number, window, at, recall}, newest first */
    let seq = 0;
    let pending = []; /* calls waiting for their turn on the big line, oldest first */
    let turnT = 0; /* the timer of the call now shown, 0 = none showing its turn */
    const flashing = {}; /* window number -> true while its tile flashes */

    document.body.classList.toggle('layout-windows', layout === 'windows');
    document.body.classList.toggle('layout-calls', layout === 'calls');
    HQ.$('windows').hidden = layout !== 'windows';

    /* ------------------------------------------------------------ state */

    function windowByNumber(n) {
        if (!status) return null;
        for (const w of status.windows || []) if (w.number === n) return w;
        return null;
    }
    function callTime(t) {
        const ms = Date.parse((t && t.called_at) || '');
        return isNaN(ms) ? 0 : ms;
    }
    function addCall(c) {
        calls = calls.filter((x) => x.uuid !== c.uuid);
        calls.unshift(c);
        if (calls.length > MAX_CALLS) calls.length = MAX_CALLS;
    }
    /* Calls the snapshot knows of (hallqd's recent calls of the day, read
     * back from its event log after a restart, and tickets now called or
     * served at a window) that this page missed, e.g. while it was
     * disconnected or before it was loaded. */
    function mergeSnapshotCalls() {
        const known = {};
        for (const c of calls) known[c.uuid + '@' + c.window] = true;
        for (const c of pending) known[c.uuid + '@' + c.window] = true;
        const add = [];
        for (const r of status.recent_calls || []) {
            if (!r || !r.uuid || known[r.uuid + '@' + r.window]) continue;
            known[r.uuid + '@' + r.window] = true;
            const at = Date.parse(r.at || '');
            add.push({ uuid: r.uuid, number: r.number, window: r.window, at: isNaN(at) ? 0 : at, seq: 0, recall: r.kind === 'recall' });
        }
        for (const w of status.windows || []) {
            const t = w.current;
            if (!t || !t.uuid || (w.state !== 'calling' && w.state !== 'serving')) continue;
            if (known[t.uuid + '@' + w.number]) continue;
            add.push({ uuid: t.uuid, number: t.number, window: w.number, at: callTime(t), seq: 0, recall: false });
        }
        if (!add.length) return;
        calls = calls.concat(add).filter((c, i, a) => a.findIndex((x) => x.uuid === c.uuid) === i);
        /* called_at has whole seconds: within one, the higher number was
         * most likely called later */
        calls.sort((a, b) => b.at - a.at || b.seq - a.seq || (b.number > a.number ? 1 : b.number < a.number ? -1 : 0));
        if (calls.length > MAX_CALLS) calls.length = MAX_CALLS;
    }

    /* A later business day: yesterday's calls are no one's to come to now.
     * Forget them and what flashes; true when the day moved on. The day
     * only moves forward (hallqd never rolls a day back). */
    function newDay(d) {
        if (!d || d <= day) return false;
        const had = day !== '';
        day = d;
        if (!had) return false;
        calls = [];
        pending = [];
        clearTimeout(turnT);
        turnT = 0;
        seq = 0;
        for (const k of Object.keys(flashing)) delete flashing[k];
        HQ.$('now').classList.remove('flash');
        return true;
    }
    /* The hall's midnight on the page's own clock (learned from hallqd's):
     * with the link up the rollover event follows within a second; with it
     * down nothing would come, so do what the rollover does to the picture
     * in hand: no window calls or serves anyone, nobody waits, nothing
     * issued yet. */
    function rollOver() {
        for (const w of status.windows || []) {
            w.current = null;
            if (w.state === 'calling' || w.state === 'serving') w.state = 'idle';
        }
        for (const s of status.services || []) {
            s.waiting = 0;
            s.issued = 0;
        }
        renderAll();
    }
    function checkMidnight() {
        if (status && newDay(HQ.hallDay())) rollOver();
    }

    /* ---------------------------------------------------------- render */

    function renderHall() {
        const hall = (status && status.hall) || {};
        HQ.text(HQ.$('hall-name'), HQ.t(hall.name || '政务服务中心', hall.name_en));
        document.title = HQ.t('叫号大屏', 'Queue display') + ' · ' + HQ.t(hall.name || '', hall.name_en || hall.name || '');
        const zh = hall.notice || '';
        const en = hall.notice_en || '';
        const text = HQ.lang() === 'en' ? en || zh : zh + (en ? '　　' + en : '');
        const el = HQ.$('notice-text');
        if (el.textContent !== text) {
            el.textContent = text;
            /* the same reading speed for short and long notices */
            el.style.animationDuration = Math.max(20, Math.round(text.length * 0.35)) + 's';
        }
        document.querySelector('.notice').hidden = !text;
    }

    function callLine(c) {
        const win = windowByNumber(c.window);
        const en = HQ.lang() === 'en';
        const line1 = en
            ? h('div', { class: 'call-line' }, h('span', { class: 'call-word' }, 'Ticket'), h('span', { class: 'call-num' }, c.number))
            : h('div', { class: 'call-line' }, h('span', { class: 'call-word' }, '请'), h('span', { class: 'call-num' }, c.number),
                h('span', { class: 'call-word' }, '号'));
        const line2 = en
            ? h('div', { class: 'call-line' }, h('span', { class: 'call-word' }, 'to window'), h('span', { class: 'call-win' }, c.window))
            : h('div', { class: 'call-line' }, h('span', { class: 'call-word' }, '到'), h('span', { class: 'call-win' }, c.window),
                h('span', { class: 'call-word' }, '号窗口'));
        const name = win ? HQ.windowName(win) : '';
        const plain = en ? 'Window ' + c.window : c.window + '号窗口';
        return [line1, line2, name && name !== plain ? h('div', { class: 'call-sub' }, name) : null];
    }

    function renderNow() {
        const body = HQ.$('now-body');
        const c = calls[0];
        if (!c) {
            HQ.fill(body, h('div', { class: 'idle' }, HQ.t('欢迎光临', 'Welcome')),
                h('div', { class: 'idle-sub' }, HQ.t('请留意叫号，按号就座等候', 'Please wait for your number to be called')));
            fitNow();
            return;
        }
        const parts = callLine(c);
        if (c.recall) parts.push(h('div', { class: 'call-tag' }, HQ.t('重复呼叫', 'Called again')));
        if (layout === 'windows') HQ.fill(body, h('div', { class: 'call-line' }, parts.slice(0, 2)));
        else HQ.fill(body, parts);
        fitNow();
    }

    function renderHistory() {
        if (!histRows) return;
        const rows = [];
        for (const c of calls.slice(1, 1 + histRows)) {
            rows.push(h('li', { dataset: { uuid: c.uuid } }, h('span', { class: 'h-num' }, c.number),
                h('span', { class: 'h-win' }, HQ.t(c.window + ' 号窗口', 'Window ' + c.window))));
        }
        if (!rows.length) rows.push(h('li', { class: 'h-empty' }, HQ.t('暂无', 'none yet')));
        const ol = HQ.$('history');
        HQ.fill(ol, rows);
        /* only whole rows: the column is as tall as the services row leaves it */
        const bottom = ol.getBoundingClientRect().top + ol.clientTop + ol.clientHeight;
        while (ol.children.length > 1 && ol.lastElementChild.getBoundingClientRect().bottom > bottom + 1) ol.lastElementChild.remove();
    }

    function renderServices() {
        const box = HQ.$('services');
        const tiles = [];
        for (const s of (status && status.services) || []) {
            const closed = s.open === false;
            tiles.push(h('div', { class: 'svc' + (closed ? ' closed' : ''), dataset: { code: s.code } },
                h('div', { class: 'svc-name' }, HQ.serviceName(s)),
                HQ.lang() === 'en' ? h('div', { class: 'svc-wait' }, 'waiting', h('b', null, s.waiting))
                    : h('div', { class: 'svc-wait' }, '等候', h('b', null, s.waiting), '人'),
                h('div', { class: 'svc-est' }, closed ? (s.closed_message ? HQ.t(s.closed_message, s.closed_message_en || s.closed_message)
                    : HQ.t('暂停取号', 'closed now')) : HQ.serviceWait(s))));
        }
        HQ.fill(box, tiles);
        if (layout !== 'calls') return;
        /* tiles that do not stand side by side under the latest call take the whole width */
        const wrapped = () => tiles.length > 1 && tiles[tiles.length - 1].offsetTop > tiles[0].offsetTop;
        document.body.classList.remove('svc-wide');
        if (wrapped()) document.body.classList.add('svc-wide');
    }

    const STATE_TEXT = {
        closed: ['未开放', 'Closed'],
        idle: ['空闲', 'Available'],
        calling: ['请到本窗口', 'Please come'],
        serving: ['正在办理', 'Serving'],
        paused: ['暂停服务', 'Paused'],
    };
    function tile(w) {
        const cur = w.current && w.current.number && (w.state === 'calling' || w.state === 'serving') ? w.current.number : '';
        const st = STATE_TEXT[w.state] || [w.state, w.state];
        /* the head shows the clerk on duty, on every tile alike; a window
         * with a name of its own (8号综合窗口) shows it while nobody is there */
        let name = w.staff && w.state !== 'closed' ? w.staff.name : HQ.windowName(w);
        if (name === w.number + '号窗口' || name === 'Window ' + w.number) name = '';
        const el = h('div', { class: 'tile ' + w.state, dataset: { window: w.number } },
            h('div', { class: 'tile-head' }, h('span', { class: 'tile-no' }, w.number), h('span', { class: 'tile-name' }, name)),
            h('div', { class: 'tile-num' }, cur || '—'),
            h('div', { class: 'tile-state' }, w.state === 'calling' ? HQ.t('请 ' + cur + ' 号', cur + ' please') : HQ.t(st[0], st[1])));
        el.addEventListener('animationend', () => {
            el.classList.remove('flash');
            delete flashing[w.number];
        });
        if (flashing[w.number]) el.classList.add('flash');
        return el;
    }
    /* The tile grid. In units of the number's font size f (--num in
     * display.css, which draws the tiles with the same figures) a tile is
     * TILE.h tall, TILE.hState with its state line, and TILE.ch a
     * character of its number plus TILE.w wide; TILE.px is its border. The
     * grid is the one of all row counts that gives f the largest. */
    const TILE = { h: 1.81, hState: 2.2, ch: 0.6, w: 0.28, px: 4 };
    const STATE_MIN = 30; /* the state line shows from this size (1920x1080 px) */
    function labelChars() {
        let n = 4;
        for (const s of (status && status.services) || []) n = Math.max(n, (s.prefix || '').length + 3);
        for (const w of (status && status.windows) || []) if (w.current && w.current.number) n = Math.max(n, w.current.number.length);
        return n;
    }
    function bestGrid(n, width, height, gap, hEm) {
        const chars = labelChars();
        let best = null;
        const fixed = colsParam >= 1 && colsParam <= 60;
        for (let cols = fixed ? colsParam : 1; cols <= (fixed ? colsParam : n); cols++) {
            const rows = Math.ceil(n / cols);
            if (!fixed && cols > 1 && Math.ceil(n / (cols - 1)) === rows) continue; /* as many rows, wider tiles */
            const tw = (width - gap * (cols - 1)) / cols - TILE.px;
            const th = (height - gap * (rows - 1)) / rows - TILE.px;
            const f = Math.min(th / hEm, tw / (chars * TILE.ch + TILE.w));
            if (!best || f > best.f) best = { cols: cols, rows: rows, f: f };
        }
        return best;
    }
    function sizeGrid() {
        const box = HQ.$('windows');
        const n = box.children.length || 1;
        const gap = parseFloat(getComputedStyle(box).rowGap) || 0;
        const u = Math.min(innerWidth / 1920, innerHeight / 1080);
        let g = bestGrid(n, box.clientWidth, box.clientHeight, gap, TILE.hState);
        const roomy = g.f * 0.3 >= STATE_MIN * u;
        if (!roomy) g = bestGrid(n, box.clientWidth, box.clientHeight, gap, TILE.h);
        box.style.gridTemplateColumns = 'repeat(' + g.cols + ', minmax(0, 1fr))';
        box.style.gridTemplateRows = 'repeat(' + g.rows + ', minmax(0, 1fr))';
        box.style.setProperty('--num', Math.max(8, Math.floor(g.f)) + 'px');
        box.classList.toggle('small', !roomy);
        fitNumbers(box.querySelectorAll('.tile-num'));
    }
    /* A number wider than its tile (a long prefix, a 4-digit number) is
     * set smaller, never cut: all the widths are read before any is set. */
    function fitNumbers(els) {
        for (const e of els) e.style.fontSize = '';
        const wide = [];
        for (const e of els) if (e.scrollWidth > e.clientWidth) wide.push([e, e.clientWidth / e.scrollWidth]);
        for (const [e, k] of wide) e.style.fontSize = 'calc(var(--num) * ' + k.toFixed(3) + ')';
    }
    /* The same for the latest call in its box (gaps do not shrink with
     * the type: a second look corrects for them). */
    function fitNow() {
        const body = HQ.$('now-body');
        body.style.removeProperty('--fit');
        const cs = getComputedStyle(body);
        const room = body.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        const roomH = body.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
        let fit = 1;
        for (let i = 0; i < 3; i++) {
            let need = 0;
            let high = 0;
            for (const c of body.children) {
                need = Math.max(need, c.scrollWidth);
                high += c.offsetHeight;
            }
            high += parseFloat(cs.rowGap || '0') * Math.max(0, body.children.length - 1);
            /* and in height (the calls layout's box has a set height: a second
             * row of service tiles takes some of it) */
            const k = Math.min(room / Math.max(need, 1), layout === 'windows' ? 1 : roomH / Math.max(high, 1));
            if (k >= 1) break;
            fit *= k * 0.99;
            body.style.setProperty('--fit', fit.toFixed(4));
        }
    }
    function renderWindows() {
        if (layout !== 'windows') return;
        const box = HQ.$('windows');
        HQ.fill(box, ((status && status.windows) || []).map(tile));
        sizeGrid();
    }
    function renderWindow(n) {
        if (layout !== 'windows') return;
        const w = windowByNumber(n);
        const old = document.querySelector('.tile[data-window="' + n + '"]');
        if (w && old) {
            const t = tile(w);
            old.replaceWith(t);
            fitNumbers(t.querySelectorAll('.tile-num'));
        } else renderWindows();
    }

    /* The next waiting call on the big line, flashing, for its turn. */
    function nextTurn() {
        turnT = 0;
        const c = pending.shift();
        if (!c) return;
        addCall(c);
        renderNow();
        renderHistory();
        HQ.flash(HQ.$('now'), 'flash');
        turnT = setTimeout(nextTurn, pending.length ? Math.min(DWELL_MS, Math.max(1500, LAG_MS / pending.length)) : DWELL_MS);
    }

    function renderAll() {
        renderHall();
        renderNow();
        renderHistory();
        renderServices();
        renderWindows();
    }

    /* ------------------------------------------------------------ live */

    function onStatus(st, fresh) {
        const later = newDay(st.hall && st.hall.day);
        if (later && !fresh && status) {
            /* a refresh from a new day: take the whole picture again */
            rollOver();
            live.reconnect();
            return;
        }
        if (fresh || !status) {
            status = st;
            mergeSnapshotCalls();
            renderAll();
            return;
        }
        /* a refresh for the estimates; windows and counts come from events */
        HQ.mergeRefresh(status, st);
        renderHall();
        renderServices();
    }

    function onEvent(kind, d) {
        if (!status || kind === 'card') return;
        if (kind === 'override' && status.hall) {
            /* the manager changed the notice (or something else: the refresh below brings it) */
            status.hall.notice = d.notice || '';
            status.hall.notice_en = d.notice_en || '';
            renderHall();
        }
        if (d.window && typeof d.window.number === 'number') {
            const ws = status.windows || [];
            const i = ws.findIndex((w) => w.number === d.window.number);
            if (i >= 0) ws[i] = d.window;
            else ws.push(d.window);
        }
        if (d.waiting) {
            for (const s of status.services || []) if (d.waiting[s.code] !== undefined) s.waiting = d.waiting[s.code];
        }
        if (HQ.CALL_KINDS[kind] && d.ticket && d.ticket.number && d.window) {
            const at = Date.parse(d.at || '');
            const c = { uuid: d.ticket.uuid, number: d.ticket.number, window: d.window.number, at: isNaN(at) ? Date.now() : at,
                seq: ++seq, recall: kind === 'recall' };
            flashing[d.window.number] = true;
            /* a newer call at the same window replaces its waiting one, as the voice does */
            pending = pending.filter((p) => p.window !== c.window && p.uuid !== c.uuid);
            pending.push(c);
            if (!turnT) nextTurn();
        }
        if (d.window) renderWindow(d.window.number);
        renderServices();
        /* estimated waits are not in events: fetch them, at most every 5 s */
        live.refresh(5000);
    }

    HQ.$('now').addEventListener('animationend', () => HQ.$('now').classList.remove('flash'));
    window.addEventListener('resize', () => {
        if (layout === 'calls') renderServices(); /* another aspect: do they still stand side by side */
        fitNow();
        if (layout === 'windows') sizeGrid();
    });
    /* the service tiles' height (a name or an estimate on a second line)
     * sets what the latest call and the history have left */
    if (window.ResizeObserver) {
        new ResizeObserver(() => fitNow()).observe(HQ.$('now'));
        if (layout === 'calls') new ResizeObserver(() => renderHistory()).observe(HQ.$('history-box'));
    }
    HQ.langButton(HQ.$('lang'));
    HQ.onLang(() => {
        document.body.classList.toggle('lang-en', HQ.lang() === 'en');
        renderAll();
    });
    document.body.classList.toggle('lang-en', HQ.lang() === 'en');
    HQ.applyI18n(document);
    HQ.clock(HQ.$('clock'), HQ.$('date'), false);
    setInterval(checkMidnight, 1000); /* the page's own data only */
    renderAll();
    const live = HQ.live({ onStatus: onStatus, onEvent: onEvent, onLink: HQ.linkBadge(HQ.$('link')) });
})();
