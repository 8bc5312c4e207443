/*
 * console.js — the window console (/console, issue 16): a clerk's caller in
 * the browser. The session token (POST /api/v1/session with staff, PIN and
 * window) lives in localStorage: hallqd keeps sessions hashed on disk, so a
 * reload, a hallqd restart or a network drop leaves the clerk signed in; only
 * a 401 (signed out, expired, signed in elsewhere) shows the sign-in again.
 *
 * The public event stream (HQ.live) says *that* something changed; what the
 * clerk alone may see (the masked name, the window's queue, parked tickets,
 * today's own figures) is fetched with the token from GET /api/v1/windows/N
 * and GET /api/v1/windows/N/today, coalesced so a busy hall costs at most a
 * few requests a second.
 *
 * One action at a time: a button press disables every action until hallqd
 * answered, and a call waits a further second, so a double click on 叫下一位
 * calls one citizen, not two.
 */
'use strict';

(function () {
    const h = HQ.h;
    const TOKEN_KEY = 'hallq.console.token';
    const CALL_COOLDOWN_MS = 1000;
    const CALLS = { 'call-next': 1, call: 1, 'call-back': 1 };

    let token = '';
    try {
        token = localStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
        token = '';
    }
    let me = null; /* GET /api/v1/session */
    let status = null; /* the latest whole status (public) */
    let win = null; /* GET /api/v1/windows/N (with the masked name) */
    let today = null; /* GET /api/v1/windows/N/today */
    let busy = false;
    let live = null;
    let msg = null; /* {zh, en, kind} */
    let pendingFetch = 0;

    const STATE = {
        closed: ['未登录', 'Closed'],
        idle: ['空闲', 'Idle'],
        calling: ['叫号中', 'Calling'],
        serving: ['办理中', 'Serving'],
        paused: ['暂停', 'Paused'],
    };

    /* ---------------------------------------------------------- HTTP */

    async function api(method, url, body) {
        const r = await HQ.request(method, url, body, token);
        if (r.status === 401 && token && url !== '/api/v1/session') {
            /* the session is over (signed out elsewhere, expired, PIN changed) */
            signedOut({ zh: '登录已失效，请重新登录', en: 'your session ended: please sign in again' });
        }
        return r;
    }

    function saveToken(t) {
        token = t || '';
        try {
            if (token) localStorage.setItem(TOKEN_KEY, token);
            else localStorage.removeItem(TOKEN_KEY);
        } catch (e) {
            /* not remembered: the console still works until the tab closes */
        }
    }

    /* ------------------------------------------------------- sign-in */

    function fillWindows() {
        const sel = HQ.$('window');
        const keep = sel.value;
        const ws = (status && status.windows) || [];
        if (sel.options.length === ws.length && ws.length) return;
        HQ.fill(sel, ws.map((w) => h('option', { value: w.number }, w.number + ' · ' + HQ.windowName(w))));
        if (keep) sel.value = keep;
        const remembered = (() => {
            try {
                return localStorage.getItem('hallq.console.window');
            } catch (e) {
                return null;
            }
        })();
        if (!keep && remembered) sel.value = remembered;
    }

    function showLogin(err) {
        HQ.$('login').hidden = false;
        HQ.$('desk').hidden = true;
        HQ.$('logout').hidden = true;
        HQ.text(HQ.$('who'), '');
        HQ.text(HQ.$('win-name'), '');
        HQ.text(HQ.$('win-state'), '');
        HQ.text(HQ.$('login-error'), err ? HQ.t(err.zh, err.en) : '');
        fillWindows();
        closePanels();
    }

    function signedOut(err) {
        saveToken('');
        me = null;
        win = null;
        today = null;
        showLogin(err);
    }

    async function onLogin(ev) {
        ev.preventDefault();
        const btn = HQ.$('login-btn');
        if (btn.disabled) return;
        btn.disabled = true;
        const body = { staff: HQ.$('staff').value.trim(), pin: HQ.$('pin').value, window: parseInt(HQ.$('window').value, 10) };
        const r = await api('POST', '/api/v1/session', body);
        btn.disabled = false;
        HQ.$('pin').value = '';
        if (r.status !== 200 || !r.body.token) {
            let e = HQ.errorText(r.body);
            if (r.status === 401) e = { zh: '工号或密码错误', en: 'wrong staff number or PIN' };
            if (r.status === 429 && r.body.retry_after_s)
                e = { zh: '尝试次数过多，请 ' + r.body.retry_after_s + ' 秒后再试', en: 'too many attempts: try again in ' + r.body.retry_after_s + ' s' };
            HQ.text(HQ.$('login-error'), HQ.t(e.zh, e.en));
            return;
        }
        try {
            localStorage.setItem('hallq.console.window', String(body.window));
        } catch (e) {
            /* not remembered */
        }
        saveToken(r.body.token);
        me = r.body;
        started();
    }

    /* Check the stored token (a reload, a restart): 401 = sign in again;
     * no answer = hallqd is away: keep the token and try again. */
    async function resume() {
        if (!token) return showLogin();
        const r = await api('GET', '/api/v1/session');
        if (r.status === 200 && r.body.role === 'clerk' && r.body.window) {
            me = r.body;
            started();
        } else if (r.status === 0 || r.status >= 500) {
            setTimeout(resume, 2000);
        } else {
            signedOut(r.status === 401 ? { zh: '登录已失效，请重新登录', en: 'your session ended: please sign in again' } : null);
        }
    }

    function started() {
        HQ.$('login').hidden = true;
        HQ.$('desk').hidden = false;
        HQ.$('logout').hidden = false;
        HQ.text(HQ.$('login-error'), '');
        setMsg(null);
        fetchMine(0);
        render();
    }

    async function onLogout() {
        const r = await api('POST', '/api/v1/session/logout', {});
        if (r.status === 0) {
            setMsg({ zh: '网络连接中断，未能退出', en: 'the connection is down: not signed out', kind: 'error' });
            return;
        }
        signedOut(null);
    }

    /* --------------------------------------------------- window data */

    /* The clerk's own view of the window, at most every 300 ms. */
    function fetchMine(delay) {
        if (!me || pendingFetch) return;
        pendingFetch = setTimeout(async () => {
            const n = me.window;
            const [w, t] = await Promise.all([api('GET', '/api/v1/windows/' + n), api('GET', '/api/v1/windows/' + n + '/today')]);
            pendingFetch = 0;
            if (!me || me.window !== n) return;
            if (w.status === 200) win = w.body;
            if (t.status === 200) today = t.body;
            render();
        }, delay === undefined ? 300 : delay);
    }

    function onStatus(st, fresh) {
        if (fresh || !status) status = st;
        else HQ.mergeRefresh(status, st);
        HQ.text(HQ.$('hall-name'), HQ.t(status.hall.name, status.hall.name_en));
        if (!me) fillWindows();
        /* a whole new picture (a reconnect, a restart): the session may have
         * ended meanwhile, and the window may have changed */
        if (fresh && token && !me) resume();
        fetchMine(0);
        render();
    }

    function onEvent(kind, d) {
        if (!status) return;
        if (d && d.window && status.windows) {
            for (let i = 0; i < status.windows.length; i++) if (status.windows[i].number === d.window.number) status.windows[i] = d.window;
        }
        if (kind === 'help' && d && d.window && me && d.window === me.window) return;
        fetchMine();
    }

    /* ------------------------------------------------------- actions */

    function setMsg(m) {
        msg = m;
        const el = HQ.$('msg');
        HQ.text(el, m ? HQ.t(m.zh, m.en) : '');
        el.className = 'msg' + (m && m.kind ? ' ' + m.kind : '');
    }

    async function act(action, body) {
        if (busy || !me) return null;
        busy = true;
        renderButtons();
        const r = await api('POST', '/api/v1/windows/' + me.window + '/' + action, body || {});
        if (CALLS[action] && r.status === 200) await new Promise((res) => setTimeout(res, CALL_COOLDOWN_MS));
        busy = false;
        if (r.status === 200) {
            if (r.body && r.body.window) win = Object.assign({}, win || {}, r.body.window);
            const done = DONE[action];
            setMsg(done ? { zh: done[0], en: done[1], kind: 'ok' } : null);
        } else if (r.status !== 401) {
            const e = HQ.errorText(r.body);
            setMsg({ zh: e.zh, en: e.en, kind: 'error' });
        }
        fetchMine(0);
        renderButtons();
        return r;
    }

    const DONE = {
        'call-next': ['已叫号', 'Called'],
        call: ['已叫号', 'Called'],
        recall: ['已重呼', 'Called again'],
        start: ['开始办理', 'Service started'],
        finish: ['已办结', 'Finished'],
        'no-show': ['已过号', 'Marked as no-show'],
        park: ['已挂起', 'Parked'],
        'call-back': ['已回呼', 'Called back'],
        transfer: ['已转移', 'Transferred'],
        pause: ['已暂停', 'Paused'],
        resume: ['已恢复服务', 'Resumed'],
        help: ['已通知值班长', 'The hall manager has been called'],
    };

    function onAction(name) {
        if (!me || busy) return;
        const st = win && win.state;
        if (name === 'transfer') return openTransfer();
        if (name === 'pause') return st === 'paused' ? act('resume') : openPause();
        if (name === 'no-show') {
            const req = status && status.pages && status.pages.no_show_requeue;
            return act('no-show', req ? { requeue: HQ.$('requeue').checked } : {});
        }
        return act(name);
    }

    function onCallNumber(ev) {
        ev.preventDefault();
        const v = HQ.$('callnum').value.trim().toUpperCase();
        if (!v) {
            HQ.$('callnum').focus();
            return;
        }
        act('call', { number: v }).then((r) => {
            if (r && r.status === 200) {
                /* back to the shortcuts: the next key is an action again */
                HQ.$('callnum').value = '';
                HQ.$('callnum').blur();
            }
        });
    }

    /* ----------------------------------------------------- transfer */

    function openPanel(id) {
        HQ.$('panel-back').hidden = false;
        for (const p of ['transfer-panel', 'pause-panel']) HQ.$(p).hidden = p !== id;
    }
    function closePanels() {
        HQ.$('panel-back').hidden = true;
        HQ.$('transfer-panel').hidden = true;
        HQ.$('pause-panel').hidden = true;
    }
    function panelOpen() {
        return !HQ.$('panel-back').hidden;
    }

    function openTransfer() {
        if (!status) return;
        HQ.fill(HQ.$('tr-service'), (status.services || []).map((s) => h('option', { value: s.code }, s.prefix + ' · ' + HQ.serviceName(s))));
        HQ.fill(HQ.$('tr-window'), (status.windows || []).filter((w) => !me || w.number !== me.window).map((w) => {
            const st = STATE[w.state] || [w.state, w.state];
            return h('option', { value: w.number }, w.number + ' · ' + HQ.windowName(w) + '（' + HQ.t(st[0], st[1]) + '）');
        }));
        HQ.text(HQ.$('tr-error'), '');
        openPanel('transfer-panel');
        HQ.$('tr-service').focus();
    }

    async function doTransfer() {
        const kind = document.querySelector('input[name=tr-kind]:checked').value;
        const front = document.querySelector('input[name=tr-pos]:checked').value === 'front';
        const body = { front: front };
        if (kind === 'service') body.service = HQ.$('tr-service').value;
        else body.window = parseInt(HQ.$('tr-window').value, 10);
        const r = await act('transfer', body);
        if (!r) return;
        if (r.status === 200) closePanels();
        else {
            const e = HQ.errorText(r.body);
            HQ.text(HQ.$('tr-error'), HQ.t(e.zh, e.en));
        }
    }

    /* -------------------------------------------------------- pause */

    function openPause() {
        const reasons = (status && status.pause_reasons) || [];
        const list = reasons.length ? reasons : [{ code: '', name: '暂停服务', name_en: 'Pause' }];
        HQ.fill(HQ.$('pa-reasons'), list.map((r, i) => h('button', { class: 'act reason', type: 'button', dataset: { reason: r.code } },
            h('span', null, HQ.t(r.name, r.name_en) + (r.max_min ? HQ.t('（' + r.max_min + ' 分钟）', ' (' + r.max_min + ' min)') : '')),
            i < 9 ? h('kbd', null, String(i + 1)) : null)));
        HQ.text(HQ.$('pa-error'), '');
        openPanel('pause-panel');
    }

    async function doPause(code) {
        const r = await act('pause', code ? { reason: code } : {});
        if (!r) return;
        if (r.status === 200) closePanels();
        else {
            const e = HQ.errorText(r.body);
            HQ.text(HQ.$('pa-error'), HQ.t(e.zh, e.en));
        }
    }

    /* ------------------------------------------------------- render */

    function mins(s) {
        if (s === null || s === undefined || s < 0) return '—';
        const m = Math.floor(s / 60), r = Math.floor(s % 60);
        return m + ':' + (r < 10 ? '0' : '') + r;
    }
    function since(rfc) {
        const t = Date.parse(rfc || '');
        return isNaN(t) ? null : Math.max(0, (HQ.serverNow() - t) / 1000);
    }
    function between(a, b) {
        const x = Date.parse(a || ''), y = Date.parse(b || '');
        return isNaN(x) || isNaN(y) ? null : Math.max(0, (y - x) / 1000);
    }

    function currentTicket() {
        const w = win;
        if (!w || !w.current || !w.current.number) return null;
        return w.state === 'calling' || w.state === 'serving' ? w.current : null;
    }

    function renderCurrent() {
        const t = currentTicket();
        const el = HQ.$('current');
        if (!t) {
            const st = win ? win.state : 'closed';
            /* closed while the session lives: the keypad's logout (or the manager) closed the
             * window; only signing in again opens it */
            const none = st === 'paused' ? HQ.t('暂停服务中', 'Paused')
                : st === 'closed' ? HQ.t('窗口已退出登录，请点“退出”后重新登录', 'The window was signed out: sign out and in again')
                    : HQ.t('暂无号票 · 按 N 叫下一位', 'No ticket · press N to call the next');
            HQ.fill(el, h('div', { class: 'cur-none' }, none));
            if (st === 'paused' && status) {
                const sw = win.pause_reason ? win : (status.windows || []).find((x) => me && x.number === me.window);
                if (sw && (sw.pause_reason_name || sw.pause_reason))
                    el.appendChild(h('div', { class: 'cur-line', id: 'pause-reason' }, HQ.t('原因：', 'Reason: ') + HQ.t(sw.pause_reason_name || sw.pause_reason, sw.pause_reason_name_en) +
                        (sw.paused_since ? HQ.t('，自 ', ', since ') + HQ.timeOf(sw.paused_since) : '')));
            }
            return;
        }
        const waited = between(t.issued_at, t.called_at);
        const atWin = since(t.called_at);
        const lim = status && status.pages ? status.pages.recall_limit : null;
        HQ.fill(el,
            h('div', { class: 'cur-top' },
                h('span', { class: 'cur-num', id: 'cur-num' }, t.number),
                h('span', { class: 'cur-state ' + win.state }, HQ.t(STATE[win.state][0], STATE[win.state][1]))),
            h('div', { class: 'cur-line' }, h('b', null, HQ.serviceName(t)),
                t.priority && t.priority !== 'normal' ? h('span', { class: 'tag prio', id: 'cur-prio' }, HQ.priorityText(t)) : null,
                t.assist ? h('span', { class: 'tag assist', id: 'cur-assist' }, HQ.t('帮办', 'Assisted')) : null,
                t.flags && t.flags.indexOf && t.flags.indexOf('transferred') >= 0 ? h('span', { class: 'tag' }, HQ.t('转入', 'Transferred')) : null),
            h('div', { class: 'cur-line' },
                h('span', { id: 'cur-name' }, t.name_masked ? HQ.t('姓名 ', 'Name ') + t.name_masked : HQ.t('未实名', 'No name on the ticket'))),
            h('div', { class: 'cur-line muted' },
                h('span', null, HQ.t('取号 ', 'Issued ') + HQ.timeOf(t.issued_at)),
                h('span', { id: 'cur-wait' }, HQ.t(' · 等候 ', ' · waited ') + mins(waited)),
                h('span', null, HQ.t(' · 已叫 ', ' · called ') + mins(atWin)),
                h('span', { id: 'cur-recalls' }, HQ.t(' · 重呼 ', ' · recalls ') + (t.recalls || 0) + (lim !== null && lim !== undefined ? '/' + lim : ''))));
    }

    function ticketRow(t, withName) {
        const w = since(t.issued_at);
        return h('li', { class: 'qrow', dataset: { number: t.number } },
            h('span', { class: 'qnum' }, t.number),
            t.priority && t.priority !== 'normal' ? h('span', { class: 'tag prio' }, HQ.priorityText(t)) : null,
            t.assist ? h('span', { class: 'tag assist' }, HQ.t('帮办', 'Assisted')) : null,
            withName && t.name_masked ? h('span', { class: 'qname' }, t.name_masked) : null,
            h('span', { class: 'qwait' }, mins(w)));
    }

    function renderQueue() {
        const groups = (today && today.waiting) || [];
        let total = 0;
        HQ.fill(HQ.$('queue'), groups.map((g) => {
            total += g.count;
            return h('div', { class: 'qgroup', dataset: { service: g.service } },
                h('h3', null, HQ.t(g.service_name, g.service_name_en) + ' ', h('span', { class: 'count' }, String(g.count))),
                h('ol', { class: 'qlist' }, g.tickets.map((t) => ticketRow(t, true))));
        }));
        HQ.text(HQ.$('wait-total'), today ? String(total) : '');
        const parked = (today && today.parked) || [];
        HQ.text(HQ.$('parked-count'), String(parked.length));
        HQ.fill(HQ.$('parked'), parked.length ? parked.map((t) => h('li', { class: 'prow' }, h('span', { class: 'qnum' }, t.number), h('span', null, HQ.serviceName(t)),
            h('span', { class: 'qwait' }, HQ.t('挂起 ', 'parked ') + mins(since(t.called_at)))))
            : h('li', { class: 'muted' }, HQ.t('无', 'None')));
    }

    function renderFigures() {
        const f = today;
        const rt = f && f.ratings;
        const row = (id, zh, en, v) => [h('dt', null, HQ.t(zh, en)), h('dd', { id: id }, v)];
        HQ.fill(HQ.$('figures'), f ? [
            row('f-served', '已办结', 'Served', String(f.served)),
            row('f-avg', '平均办理', 'Average handling', f.handle_avg_s === null ? '—' : mins(f.handle_avg_s)),
            row('f-noshow', '过号', 'No-shows', String(f.no_shows)),
            row('f-rating', '评价', 'Ratings', rt && rt.count ? rt.count + HQ.t(' 次 · 平均 ', ' · average ') + rt.average.toFixed(1) : '0'),
        ] : []);
    }

    function renderButtons() {
        const st = win ? win.state : 'closed';
        const cur = currentTicket();
        const parked = (today && today.parked) || [];
        const can = {
            'call-next': st === 'idle' || st === 'calling' || st === 'serving',
            recall: st === 'calling',
            start: st === 'calling',
            finish: !!cur,
            'no-show': st === 'calling',
            park: !!cur,
            'call-back': parked.length > 0 && st !== 'paused' && st !== 'closed',
            transfer: !!cur,
            pause: st === 'idle' || st === 'paused',
            help: !!me,
        };
        for (const b of document.querySelectorAll('#actions .act')) b.disabled = busy || !can[b.dataset.act];
        HQ.$('b-callnum').disabled = busy || !can['call-next'];
        HQ.text(HQ.$('pause-label'), st === 'paused' ? HQ.t('恢复服务', 'Resume') : HQ.t('暂停', 'Pause'));
        const lim = status && status.pages ? status.pages.recall_limit : null;
        HQ.text(HQ.$('recall-count'), cur && st === 'calling' ? (cur.recalls || 0) + (lim !== null && lim !== undefined ? '/' + lim : '') : '');
        HQ.$('requeue-box').hidden = !(status && status.pages && status.pages.no_show_requeue);
    }

    function render() {
        if (!me) return;
        const w = win;
        const sw = status && (status.windows || []).find((x) => x.number === me.window);
        HQ.text(HQ.$('win-name'), sw ? HQ.windowName(sw) : HQ.t('窗口 ', 'Window ') + me.window);
        const st = STATE[w ? w.state : 'closed'] || ['', ''];
        HQ.text(HQ.$('win-state'), HQ.t(st[0], st[1]));
        HQ.$('win-state').className = 'win-state ' + (w ? w.state : 'closed');
        HQ.text(HQ.$('who'), me.staff ? HQ.t('工号 ', 'Staff ') + me.staff.id + ' ' + me.staff.name : '');
        if (status && status.hall) HQ.text(HQ.$('hall-name'), HQ.t(status.hall.name, status.hall.name_en));
        /* an open help call stays shown until the manager answers it (help_since, issue 16) */
        const help = win ? win.help_since : sw && sw.help_since; /* win: refetched after every event */
        HQ.$('help-state').hidden = !help;
        if (help) HQ.text(HQ.$('help-state'), HQ.t('求助已发出 ' + HQ.timeOf(help) + ' · 等待值班长', 'Help called at ' + HQ.timeOf(help) + ' · waiting for the hall manager'));
        HQ.$('b-help').classList.toggle('on', !!help);
        renderCurrent();
        renderQueue();
        renderFigures();
        renderButtons();
        if (msg) setMsg(msg);
    }

    /* ---------------------------------------------------- keyboard */

    function onKey(ev) {
        if (ev.ctrlKey || ev.altKey || ev.metaKey) return;
        if (panelOpen()) {
            if (ev.key === 'Escape') {
                closePanels();
                ev.preventDefault();
            } else if (!HQ.$('pause-panel').hidden && /^[1-9]$/.test(ev.key)) {
                const b = HQ.$('pa-reasons').children[+ev.key - 1];
                if (b) {
                    ev.preventDefault();
                    b.click();
                }
            } else if (!HQ.$('transfer-panel').hidden && ev.key === 'Enter' && ev.target.tagName !== 'BUTTON') {
                ev.preventDefault();
                doTransfer();
            }
            return;
        }
        if (!me || HQ.$('desk').hidden) return;
        const tag = ev.target && ev.target.tagName;
        if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') {
            if (ev.key === 'Escape') ev.target.blur();
            return;
        }
        const k = ev.key.length === 1 ? ev.key.toUpperCase() : ev.key;
        if (k === 'G') {
            ev.preventDefault();
            HQ.$('callnum').focus();
            return;
        }
        const b = document.querySelector('#actions .act[data-key="' + k + '"]');
        if (!b) return;
        ev.preventDefault();
        if (!b.disabled) b.click();
    }

    /* --------------------------------------------------------- wire */

    for (const b of document.querySelectorAll('#actions .act')) b.addEventListener('click', () => onAction(b.dataset.act));
    HQ.$('login-form').addEventListener('submit', onLogin);
    HQ.$('logout').addEventListener('click', onLogout);
    HQ.$('callnum-form').addEventListener('submit', onCallNumber);
    HQ.$('tr-ok').addEventListener('click', doTransfer);
    HQ.$('tr-cancel').addEventListener('click', closePanels);
    HQ.$('pa-cancel').addEventListener('click', closePanels);
    HQ.$('pa-reasons').addEventListener('click', (ev) => {
        const b = ev.target.closest('button');
        if (b) doPause(b.dataset.reason);
    });
    HQ.$('tr-service').addEventListener('change', () => (document.querySelector('input[name=tr-kind][value=service]').checked = true));
    HQ.$('tr-window').addEventListener('change', () => (document.querySelector('input[name=tr-kind][value=window]').checked = true));
    document.addEventListener('keydown', onKey);
    HQ.langButton(HQ.$('lang'));
    HQ.onLang(() => {
        render();
        if (!me) showLogin(null);
    });
    HQ.applyI18n(document);
    HQ.clock(HQ.$('clock'), null, false);
    setInterval(() => {
        if (me) {
            renderCurrent();
            if (today) renderQueue();
        }
    }, 1000);
    live = HQ.live({
        onStatus: onStatus,
        onEvent: onEvent,
        onLink: (up) => {
            HQ.linkBadge(HQ.$('link'))(up);
            if (up) fetchMine(0);
        },
        kinds: ['help', 'help_ack', 'alarm'],
    });
    resume();
})();
