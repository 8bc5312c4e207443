/*
 * admin.js — the hall manager's dashboard (/admin).
 *
 * The page is public; the data is not. The manager signs in with staff
 * number and PIN (POST /api/v1/admin/login: a manager session, docs/API.md),
 * the page keeps the session token in sessionStorage (this tab only, gone
 * when the tab closes) and sends it as a Bearer token on every /api/v1/admin
 * call. A 401 (the session ended: idle, signed out, PIN reset) signs the
 * page out; signing out revokes the session.
 *
 * Live: the public event stream (/api/v1/events) says *that* something
 * changed; the page then fetches the overview (debounced), and `alarm` events
 * carry the whole alarm list. It never polls: it reloads on events and on
 * each (re)connection only. What moves with the clock alone is worked out
 * here from timestamps by a 1 s tick that re-renders data in hand (time in
 * state, the oldest wait, a follow-up's due date passing); the staffing
 * hints, which move when an arrival leaves the last hour, come with
 * hallqd's `staffing` event. Everything from hallqd — clerk names from the
 * configuration, notes typed by managers — reaches the DOM as text only
 * (HQ.h / textContent); charts are Apache ECharts (SVG renderer) fed
 * data, never markup strings.
 */
'use strict';

(function () {
    const TOKEN_KEY = 'hallq.admin.token';
    const h = HQ.h;
    const $ = HQ.$;
    const t = HQ.t;

    const STATE = {
        closed: ['未开窗', 'Closed'],
        idle: ['空闲', 'Idle'],
        calling: ['叫号中', 'Calling'],
        serving: ['办理中', 'Serving'],
        paused: ['暂停', 'Paused'],
    };
    const FU = {
        open: ['待回访', 'To contact'],
        contacted: ['已回访', 'Contacted'],
        rectified: ['已整改', 'Rectified'],
        closed: ['已办结', 'Closed'],
    };
    const LEVEL = {
        1: ['非常不满意', 'Very dissatisfied'],
        2: ['不满意', 'Dissatisfied'],
        3: ['基本满意', 'Fair'],
        4: ['满意', 'Satisfied'],
        5: ['非常满意', 'Very satisfied'],
    };
    const LEVEL_COLOURS = { 1: '#c8102e', 2: '#f08a24', 3: '#c9b037', 4: '#6cbf6a', 5: '#2e8b57' };
    const ALARM_KIND = {
        wait: ['预警', 'Long wait'],
        idle: ['空岗', 'Idle window'],
        device: ['设备离线', 'Device offline'],
        printer: ['打印机', 'Printer'],
        sync: ['数据上报', 'Central sync'],
        storage: ['存储', 'Storage'],
        clock: ['时钟', 'Clock'],
        pause: ['暂停超时', 'Long pause'],
        unstaffed: ['空岗', 'Unstaffed'],
        overtime: ['超时办理', 'Over time limit'],
        help: ['求助', 'Help call'],
    };
    const tr = (pair, fallback) => (pair ? t(pair[0], pair[1]) : fallback || '');

    let token = HQ.session(TOKEN_KEY);
    let live = null;
    let overview = null;
    let overviewAt = 0; /* Date.now() when it arrived: time in state ticks from here */
    let alarms = [];
    let ackError = ''; /* why the last 确认 of the storage notice failed */
    let followups = [];
    let stats = null;
    let overviewTimer = 0;
    let statsAt = 0;
    let statsTimer = 0;

    /* ------------------------------------------------------------ HTTP */

    async function api(method, url, body) {
        const r = await HQ.request(method, url, body, token);
        if (r.status === 401) signOut(true);
        return r;
    }

    const errText = (body) => t((body && body.message) || '操作失败', (body && body.message_en) || 'the request failed');

    /* ---------------------------------------------------------- formats */

    function dur(s) {
        if (s === null || s === undefined || s < 0) return '—';
        s = Math.floor(s);
        const hh = Math.floor(s / 3600);
        const mm = Math.floor((s % 3600) / 60);
        const ss = s % 60;
        const p = (n) => (n < 10 ? '0' : '') + n;
        return (hh ? hh + ':' + p(mm) : mm) + ':' + p(ss);
    }
    function minutes(s) {
        if (s === null || s === undefined || s < 0) return t('—', '—');
        if (s < 60) return t(Math.round(s) + ' 秒', Math.round(s) + ' s');
        return t(Math.round(s / 60) + ' 分钟', Math.round(s / 60) + ' min');
    }
    function localTime(rfc) {
        if (!rfc) return '';
        return rfc.slice(0, 10) + ' ' + HQ.timeOf(rfc);
    }
    const pct = (x) => (x === null || x === undefined ? '—' : Math.round(x * 100) + '%');
    const staffText = (s) => (s ? (s.name || '?') + t('（', ' (') + s.id + t('）', ')') : t('未知', 'unknown'));

    /* ------------------------------------------------------------ login */

    function showLogin(msg) {
        $('dash').hidden = true;
        $('logout').hidden = true;
        $('login').hidden = false;
        HQ.text($('login-error'), msg || '');
        $('staff').focus();
    }

    function signOut(expired) {
        if (token && !expired) {
            /* revoke the session on hallqd too; the page signs out either way */
            fetch('/api/v1/session/logout', {
                method: 'POST',
                headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
                body: '{}',
                cache: 'no-store',
            }).catch(() => {});
        }
        token = '';
        try {
            sessionStorage.removeItem(TOKEN_KEY);
        } catch (e) {
            /* nothing kept */
        }
        if (live) live.close();
        live = null;
        showLogin(expired ? t('登录已失效，请重新登录', 'Your sign-in is no longer valid; please sign in again') : '');
    }

    async function login(ev) {
        ev.preventDefault();
        const staff = $('staff').value.trim();
        const pin = $('pin').value;
        if (!staff || !pin) return;
        let res;
        try {
            res = await fetch('/api/v1/admin/login', {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ staff: staff, pin: pin }),
                cache: 'no-store',
            });
        } catch (e) {
            HQ.text($('login-error'), t('网络连接中断', 'The connection is down'));
            return;
        }
        let body = {};
        try {
            body = await res.json();
        } catch (e) {
            body = {};
        }
        if (res.status !== 200 || !body.token) {
            $('pin').value = '';
            HQ.text($('login-error'),
                res.status === 401 ? t('工号或密码错误，或不是管理员', 'Wrong staff number or PIN, or not a manager')
                    : res.status === 429 ? t('尝试次数过多，请' + (body.retry_after_s || 1) + '秒后再试', 'Too many attempts; try again in ' + (body.retry_after_s || 1) + ' s')
                        : errText(body));
            return;
        }
        token = body.token;
        try {
            sessionStorage.setItem(TOKEN_KEY, token);
        } catch (e) {
            /* kept in memory for this page only */
        }
        $('pin').value = '';
        start();
    }

    /* --------------------------------------------------------- overview */

    function scheduleOverview(delay) {
        if (overviewTimer) return;
        overviewTimer = setTimeout(loadOverview, delay === undefined ? 250 : delay);
    }

    async function loadOverview() {
        overviewTimer = 0;
        if (!token) return;
        const r = await api('GET', '/api/v1/admin/overview');
        if (r.status !== 200) return;
        overview = r.body;
        overviewAt = Date.now();
        alarms = overview.alarms || [];
        if (!$('day').value && overview.hall) {
            $('day').value = overview.hall.day;
            loadStats();
        }
        renderOverview();
        /* today's charts follow the hall, at most every 5 s */
        if (overview.hall && $('day').value === overview.hall.day && !statsTimer)
            statsTimer = setTimeout(loadStats, Math.max(0, statsAt + 5000 - Date.now()));
    }

    function renderOverview() {
        if (!overview) return;
        const hall = overview.hall || {};
        HQ.text($('hall-name'), t(hall.name, hall.name_en));
        renderAlarms();
        renderWindows();
        renderQueues();
        renderStaffing();
        renderRates();
    }

    /* 回访率 and 整改率 of this month's real-name 差评 (issue 17) */
    function renderRates() {
        const fu = overview && overview.follow_up;
        const pct = (x) => (x === null || x === undefined ? '—' : Math.round(x * 100) + '%');
        if (!fu || typeof fu !== 'object') {
            HQ.text($('fu-rates'), '');
            return;
        }
        HQ.fill($('fu-rates'), [
            h('span', { class: 'rate', dataset: { rate: 'callback' } }, t('回访率 ', 'Call-back rate ') + pct(fu.callback_rate)),
            h('span', { class: 'rate', dataset: { rate: 'rectify' } }, t('整改率 ', 'Rectification rate ') + pct(fu.rectify_rate)),
            h('span', { class: 'rate-base' },
                t('本月实名差评 ' + fu.real_name + ' 条，超期 ' + fu.overdue + ' 条',
                    'this month: ' + fu.real_name + ' real-name, ' + fu.overdue + ' overdue')),
        ]);
    }

    /* The citizen's number for the call-back: asked with the follow-up
     * passphrase each time, shown in place, never kept by the page. */
    function contactBox(e) {
        const c = e.contact || {};
        if (!c.given) return null;
        if (c.erased)
            return h('div', { class: 'fu-contact erased' }, t('回访电话已删除', 'Call-back number erased'));
        const pass = h('input', { type: 'password', name: 'passphrase', autocomplete: 'off',
            placeholder: t('回访密钥口令', 'Follow-up passphrase') });
        const out = h('span', { class: 'phone', role: 'status' });
        const btn = h('button', { type: 'submit', class: 'btn' }, t('查看回访电话', 'Show the number'));
        const form = h('form', { class: 'fu-contact' }, pass, btn, out);
        form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            btn.disabled = true;
            const r = await api('POST', '/api/v1/admin/evaluations/' + encodeURIComponent(e.uuid) + '/contact', { passphrase: pass.value });
            btn.disabled = false;
            pass.value = '';
            HQ.text(out, r.status === 200 ? r.body.phone : errText(r.body));
            out.classList.toggle('error', r.status !== 200);
        });
        return form;
    }

    /* 申诉 and its 复核 */
    function appealBox(e) {
        const a = e.appeal;
        if (!a) return null;
        const kind = a.kind === 'malicious' ? t('恶意差评', 'malicious') : t('误评', 'mistaken');
        const state = a.state === 'upheld' ? t('申诉成立（不计入满意率）', 'upheld (not counted)')
            : a.state === 'rejected' ? t('申诉驳回', 'rejected') : t('申诉待复核', 'appeal to review');
        const box = h('div', { class: 'fu-appeal', dataset: { state: a.state } },
            h('span', { class: 'state-tag' }, state), ' ', kind + t('：', ': ') + a.reason,
            a.review_reason ? h('div', null, t('复核意见：', 'Review: ') + a.review_reason) : null);
        if (a.state !== 'pending') return box;
        const reason = h('input', { type: 'text', name: 'review', maxlength: '500',
            placeholder: t('复核意见（必填）', 'Reason (required)') });
        const msg = h('span', { class: 'error', role: 'alert' });
        const send = async (uphold) => {
            if (!reason.value.trim()) {
                HQ.text(msg, t('请填写复核意见', 'Please give a reason'));
                return;
            }
            const r = await api('POST', '/api/v1/admin/evaluations/' + encodeURIComponent(e.uuid) + '/review',
                { uphold: uphold, reason: reason.value.trim() });
            if (r.status !== 200) {
                HQ.text(msg, errText(r.body));
                return;
            }
            loadFollowups();
            loadOverview();
        };
        const up = h('button', { type: 'button', class: 'btn', dataset: { review: 'uphold' } }, t('申诉成立', 'Uphold'));
        const no = h('button', { type: 'button', class: 'btn', dataset: { review: 'reject' } }, t('驳回', 'Reject'));
        up.addEventListener('click', () => send(true));
        no.addEventListener('click', () => send(false));
        box.appendChild(h('div', { class: 'fu-review' }, reason, up, no, msg));
        return box;
    }

    function renderAlarms() {
        const list = $('alarms');
        HQ.text($('alarm-count'), alarms.length ? String(alarms.length) : '');
        $('alarms-card').classList.toggle('has-alarms', alarms.length > 0);
        if (!alarms.length) {
            HQ.fill(list, h('li', { class: 'none' }, t('暂无告警', 'No alarms')));
            return;
        }
        HQ.fill(
            list,
            alarms.map((a) =>
                h('li', { class: 'alarm alarm-' + a.kind + (a.acknowledged ? ' acked' : ''), dataset: { key: a.key, kind: a.kind } },
                    h('span', { class: 'tag' }, tr(ALARM_KIND[a.kind], a.kind)),
                    h('span', { class: 'msg' }, t(a.message, a.message_en)),
                    a.key === 'storage:corrupt' ? ackButton()
                        : !a.reported ? null
                        : a.acknowledged ? h('span', { class: 'ack-box acked-note' }, t('已确认', 'Acknowledged'))
                        : alarmAckButton(a))
            )
        );
    }

    /* The corrupt-database notice stays until a manager has seen it (the old
     * file is kept for the vendor): 确认 acknowledges it
     * (POST /api/v1/admin/storage/ack). hallqd then publishes the new alarm
     * list at once, so every open dashboard drops it. The other alarms clear
     * themselves when their cause goes. */
    function ackButton() {
        const msg = h('span', { class: 'ack-msg error', role: 'alert' }, ackError);
        const btn = h('button', { type: 'button', class: 'btn ack', title: '确认 / Acknowledge' }, t('确认', 'Acknowledge'));
        btn.addEventListener('click', async () => {
            btn.disabled = true;
            ackError = '';
            HQ.text(msg, '');
            const r = await api('POST', '/api/v1/admin/storage/ack', {});
            /* 404: somebody else acknowledged it first; it is gone all the same */
            if (r.status !== 200 && r.status !== 404) {
                btn.disabled = false;
                ackError = errText(r.body); /* kept over the re-renders */
                renderAlarms();
                return;
            }
            alarms = alarms.filter((a) => a.key !== 'storage:corrupt');
            renderAlarms();
            scheduleOverview(0);
        });
        return h('span', { class: 'ack-box' }, btn, msg);
    }

    /* The supervision alarms (暂停超时, 空岗, 超时办理, 求助) are acknowledged by the manager
     * (POST /api/v1/admin/alarms/KEY/ack): a help call is answered and goes; the others stay,
     * marked 已确认, until their cause goes. hallqd publishes the new list at once. */
    const ackErrors = {};
    function alarmAckButton(a) {
        const msg = h('span', { class: 'ack-msg error', role: 'alert' }, ackErrors[a.key] || '');
        const label = a.kind === 'help' ? ['已处理', 'Answered'] : ['确认', 'Acknowledge'];
        const btn = h('button', { type: 'button', class: 'btn ack', title: label[0] + ' / ' + label[1] }, t(label[0], label[1]));
        btn.addEventListener('click', async () => {
            btn.disabled = true;
            delete ackErrors[a.key];
            const r = await api('POST', '/api/v1/admin/alarms/' + encodeURIComponent(a.key) + '/ack', {});
            /* 404: it ended, or somebody else answered first */
            if (r.status !== 200 && r.status !== 404) {
                ackErrors[a.key] = errText(r.body);
                renderAlarms();
                return;
            }
            if (a.kind === 'help' || r.status === 404) alarms = alarms.filter((x) => x.key !== a.key);
            else alarms = alarms.map((x) => (x.key === a.key ? Object.assign({}, x, { acknowledged: true }) : x));
            renderAlarms();
            renderWindows();
            scheduleOverview(0);
        });
        return h('span', { class: 'ack-box' }, btn, msg);
    }

    /* 评价覆盖率 (issue 17): rated / finished today, per window and for the hall */
    function coverageText(c) {
        if (!c || !c.finished) return t('评价 —', 'Rated —');
        return t('评价 ', 'Rated ') + c.rated + '/' + c.finished + ' (' + Math.round((c.rated * 100) / c.finished) + '%)';
    }

    function renderWindows() {
        const idle = {};
        const ALERT = { idle: 1, pause: 1, unstaffed: 1, overtime: 1, help: 1 };
        for (const a of alarms) if (ALERT[a.kind] && !a.acknowledged) idle[a.subject] = true;
        const ev = overview.evaluation || {};
        const cov = {};
        for (const c of ev.windows || []) cov[c.window] = c;
        HQ.text($('coverage'), coverageText(ev));
        HQ.fill(
            $('windows'),
            (overview.windows || []).map((w) => {
                const cur = w.current && w.current.number ? w.current.number : '';
                return h('div', { class: 'win state-' + w.state + (idle[String(w.number)] ? ' alarm' : ''), dataset: { window: w.number } },
                    h('div', { class: 'wtop' }, h('span', { class: 'wname' }, HQ.windowName(w)),
                        h('span', { class: 'wstate' }, tr(STATE[w.state], w.state),
                            w.pause_reason ? ' · ' + t(w.pause_reason_name, w.pause_reason_name_en) : '')),
                    h('div', { class: 'wclerk' }, w.staff ? staffText(w.staff) : t('无人登录', 'nobody signed in')),
                    h('div', { class: 'wbottom' }, h('span', { class: 'wticket' }, cur),
                        sinceCell('span', { class: 'wtime' }, w.time_in_state_s, dur)),
                    h('div', { class: 'wcov' }, coverageText(cov[w.number])));
            })
        );
    }

    /* A duration that grows with the clock: the overview's value in
     * seconds, counted on from when the overview arrived by tick(). */
    const FORMATS = { dur: dur, minutes: minutes };
    function sinceCell(tag, props, secs, fmt) {
        if (secs === null || secs === undefined) return h(tag, props, fmt === dur ? '' : '—');
        const since = overviewAt - secs * 1000;
        const name = fmt === dur ? 'dur' : 'minutes';
        return h(tag, Object.assign({ dataset: { since: String(since), fmt: name } }, props), fmt((Date.now() - since) / 1000));
    }

    /* Once a second, from data in hand only (no request): durations count
     * on and due dates pass. */
    function tick() {
        for (const el of document.querySelectorAll('[data-since]'))
            HQ.text(el, FORMATS[el.dataset.fmt]((Date.now() - Number(el.dataset.since)) / 1000));
        for (const el of document.querySelectorAll('.fu[data-due]')) markDue(el);
    }

    function renderQueues() {
        const waitAlarm = {};
        for (const a of alarms) if (a.kind === 'wait') waitAlarm[a.subject] = true;
        HQ.fill(
            $('queues'),
            (overview.queues || []).map((q) =>
                h('tr', { class: waitAlarm[q.code] ? 'alarm' : '', dataset: { service: q.code } },
                    h('td', null, q.code + ' ' + HQ.serviceName(q)),
                    h('td', { class: 'num' }, String(q.waiting)),
                    h('td', { class: 'num' }, q.estimated_wait_s === null ? t('无窗口受理', 'no window open') : minutes(q.estimated_wait_s)),
                    sinceCell('td', { class: 'num' }, q.oldest_wait_s, minutes),
                    h('td', { class: 'num' }, String(q.open_windows)),
                    h('td', { class: 'num' }, String(q.issued)))
            )
        );
    }

    function renderStaffing() {
        HQ.fill(
            $('staffing'),
            (overview.staffing || []).map((s) => {
                const short = s.needed_windows === null || s.needed_windows > s.open_windows;
                return h('tr', { class: short ? 'short' : '', dataset: { service: s.service } },
                    h('td', null, s.service + ' ' + HQ.serviceName(s)),
                    h('td', { class: 'num' }, String(s.arrivals_last_hour)),
                    h('td', { class: 'num' }, minutes(s.handle_s) + (s.handle_measured ? '' : t('（默认）', ' (default)'))),
                    h('td', { class: 'num' }, minutes(s.target_wait_s)),
                    h('td', { class: 'num' }, String(s.open_windows)),
                    h('td', { class: 'num need' }, s.needed_windows === null ? t('超过 99', 'over 99') : String(s.needed_windows)),
                    h('td', { class: 'num' }, s.expected_wait_open_s === null ? t('持续增长', 'grows without bound') : minutes(s.expected_wait_open_s)),
                    h('td', { class: 'num' }, s.expected_wait_needed_s === null ? '—' : minutes(s.expected_wait_needed_s)));
            })
        );
    }

    /* -------------------------------------------------------- follow-up */

    async function loadFollowups() {
        if (!token) return;
        const r = await api('GET', '/api/v1/admin/evaluations?bad=1&pending=1');
        if (r.status !== 200) return;
        let list = r.body.evaluations || [];
        if ($('fu-closed').checked && $('day').value) {
            const r2 = await api('GET', '/api/v1/admin/evaluations?bad=1&day=' + encodeURIComponent($('day').value));
            if (r2.status === 200) {
                const seen = {};
                for (const e of list) seen[e.uuid] = true;
                for (const e of r2.body.evaluations || []) if (!seen[e.uuid]) list.push(e);
            }
        }
        followups = list;
        renderFollowups();
    }

    function followupForm(e) {
        const f = e.follow_up;
        const note = h('textarea', { name: 'note', rows: '2', maxlength: '500', required: true,
            placeholder: t('回访/整改情况（必填）', 'What was done (required)') });
        const msg = h('span', { class: 'error', role: 'alert' });
        const btn = h('button', { type: 'submit', class: 'btn' }, t('记录为「', 'Record as “') + tr(FU[f.next]) + t('」', '”'));
        const form = h('form', { class: 'fu-form', dataset: { uuid: e.uuid, next: f.next } }, note, btn, msg);
        form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            const text = note.value.trim();
            if (!text) {
                HQ.text(msg, t('请填写回访/整改情况', 'Please say what was done'));
                return;
            }
            btn.disabled = true;
            const r = await api('POST', '/api/v1/admin/evaluations/' + encodeURIComponent(e.uuid) + '/follow-up', { state: f.next, note: text });
            btn.disabled = false;
            if (r.status !== 200) {
                HQ.text(msg, errText(r.body));
                return;
            }
            /* show the new state at once; the list reloads behind it */
            const i = followups.findIndex((x) => x.uuid === e.uuid);
            if (i >= 0 && r.body.evaluation) followups[i] = r.body.evaluation;
            renderFollowups();
            loadFollowups();
        });
        return form;
    }

    function renderFollowups() {
        const box = $('followups');
        const open = followups.filter((e) => e.follow_up && e.follow_up.state !== 'closed').length;
        HQ.text($('fu-count'), open ? String(open) : '');
        if (!followups.length) {
            HQ.fill(box, h('p', { class: 'none' }, t('暂无待处理差评', 'No bad ratings to follow up')));
            return;
        }
        HQ.fill(
            box,
            followups.map((e) => {
                const f = e.follow_up || {};
                const dueMs = Date.parse(f.due || '');
                const el = h('div', { class: 'fu fu-' + f.state,
                    dataset: Object.assign({ uuid: e.uuid, state: f.state }, isNaN(dueMs) ? {} : { due: String(dueMs), time: localTime(f.due) }) },
                    h('div', { class: 'fu-head' },
                        h('span', { class: 'lvl lvl-' + e.level }, e.level + ' · ' + tr(LEVEL[e.level])),
                        h('span', { class: 'fu-ticket' }, e.ticket),
                        h('span', null, localTime(e.at)),
                        h('span', null, t(e.window_name || e.window + '号窗口', 'Window ' + e.window)),
                        h('span', { class: 'fu-clerk' }, staffText(e.staff)),
                        h('span', null, e.service + ' ' + t(e.service_name, e.service_name_en))),
                    h('div', { class: 'fu-state' },
                        h('span', { class: 'state-tag' }, tr(FU[f.state], f.state)),
                        f.callback_due ? h('span', { class: 'cb-due' + (f.callback_overdue ? ' overdue' : '') },
                            t('回访期限 ', 'Call back by ') + localTime(f.callback_due) + (f.callback_overdue ? t('（已逾期）', ' (overdue)') : '')) : null,
                        h('span', { class: 'due' }, t('期限 ', 'Due ') + '—')),
                    contactBox(e),
                    appealBox(e),
                    f.note ? h('div', { class: 'fu-note' }, h('span', { class: 'label' }, t('记录：', 'Note: ')), f.note) : null,
                    f.next ? followupForm(e) : null);
                markDue(el);
                return el;
            })
        );
    }

    /* Overdue once hallqd's clock passes the due date, unless closed: set
     * in place, so a note being typed in the form stays. */
    function markDue(el) {
        if (!el.dataset.due) return;
        const over = el.dataset.state !== 'closed' && HQ.serverNow() > Number(el.dataset.due);
        el.classList.toggle('overdue', over);
        const due = el.querySelector('.due');
        due.classList.toggle('overdue', over);
        HQ.text(due, t('期限 ', 'Due ') + el.dataset.time + (over ? t('（已逾期）', ' (overdue)') : ''));
    }

    /* ------------------------------------------------------------ stats */

    async function loadStats() {
        clearTimeout(statsTimer);
        statsTimer = 0;
        statsAt = Date.now();
        const day = $('day').value;
        if (!token || !day) return;
        const r = await api('GET', '/api/v1/admin/stats?day=' + encodeURIComponent(day));
        if (r.status !== 200) return;
        stats = r.body;
        renderStats();
    }

    /* Charts are Apache ECharts (assets/vendor/echarts.min.js, a trimmed
     * build: tools/echarts-build.sh) with its SVG renderer: names reach the
     * chart as data and are drawn as SVG text nodes, never as markup. */
    function chartOf(box, height) {
        let c = echarts.getInstanceByDom(box);
        if (c && c.getHeight() !== height) {
            c.dispose();
            c = null;
        }
        if (!c) {
            HQ.fill(box);
            c = echarts.init(box, null, { renderer: 'svg', height: height });
        }
        return c;
    }

    /* Vertical bars: labels along x, one value per label. */
    function barChart(box, labels, values, colour) {
        chartOf(box, 220).setOption(
            {
                animation: false,
                grid: { left: 40, right: 12, top: 24, bottom: 28 },
                tooltip: { trigger: 'axis' },
                xAxis: { type: 'category', data: labels.map(String) },
                yAxis: { type: 'value', minInterval: 1 },
                series: [{ type: 'bar', data: values.map((v) => v || 0), itemStyle: { color: colour }, label: { show: true, position: 'top', formatter: (p) => (p.value ? p.value : '') } }],
            },
            true
        );
    }

    /* Horizontal bars stacked by level (1 red .. 5 green), one per row. */
    function ratingChart(box, rows) {
        const old = echarts.getInstanceByDom(box);
        if (!rows.length) {
            if (old) old.dispose();
            HQ.fill(box, h('p', { class: 'none' }, t('当日无评价', 'No ratings that day')));
            return;
        }
        const labels = rows.map((r) => r.label.length > 16 ? r.label.slice(0, 15) + '…' : r.label);
        const series = [];
        for (let l = 1; l <= 5; l++) {
            series.push({
                type: 'bar',
                stack: 'levels',
                name: tr(LEVEL[l]),
                itemStyle: { color: LEVEL_COLOURS[l] },
                data: rows.map((r) => (r.levels && r.levels[String(l)]) || 0),
            });
        }
        chartOf(box, rows.length * 32 + 60).setOption(
            {
                animation: false,
                legend: { bottom: 0 },
                grid: { left: 150, right: 170, top: 8, bottom: 40 },
                tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
                xAxis: { type: 'value', minInterval: 1 },
                yAxis: {
                    type: 'category',
                    inverse: true,
                    data: labels,
                    axisLabel: { width: 140, overflow: 'truncate' },
                },
                series: series.concat([{
                    /* the summary on the right of each bar */
                    type: 'bar', stack: 'levels', data: rows.map(() => 0), silent: true,
                    label: {
                        show: true, position: 'right',
                        formatter: (p) => {
                            const r = rows[p.dataIndex];
                            return t('均分 ', 'avg ') + (r.average === null ? '—' : r.average) + t(' · 满意率 ', ' · satisfied ') + pct(r.satisfaction) + ' · ' + r.count;
                        },
                    },
                }]),
            },
            true
        );
    }

    function renderStats() {
        if (!stats) return;
        const tk = stats.tickets || {};
        const tot = (stats.ratings && stats.ratings.total) || {};
        HQ.fill(
            $('stats-summary'),
            h('span', null, t('取号 ', 'Issued ') + tk.issued),
            h('span', null, t('已叫号 ', 'Called ') + tk.called),
            h('span', null, t('办结 ', 'Done ') + ((tk.by_status && tk.by_status.done) || 0)),
            h('span', null, t('平均等候 ', 'Average wait ') + minutes(tk.average_wait_s)),
            h('span', null, t('评价 ', 'Ratings ') + (tot.count || 0)),
            h('span', null, t('满意率 ', 'Satisfied ') + pct(tot.satisfaction))
        );
        const hours = [];
        for (let i = 0; i < 24; i++) hours.push(String(i));
        barChart($('chart-arrivals'), hours, stats.arrivals_per_hour || [], '#1560c4');
        const wd = stats.wait_distribution || [];
        barChart($('chart-waits'), wd.map((b) => b.minutes), wd.map((b) => b.count), '#0f4c9c');
        const r = stats.ratings || {};
        ratingChart($('chart-win'), (r.per_window || []).map((x) => Object.assign({ label: t(x.name, x.name_en) }, x)));
        ratingChart($('chart-clerk'), (r.per_clerk || []).map((x) => Object.assign({ label: staffText(x.staff) }, x)));
        HQ.fill(
            $('clerks'),
            (stats.clerks || []).map((c) =>
                h('tr', null,
                    h('td', null, staffText(c.staff)),
                    h('td', { class: 'num' }, String(c.served)),
                    h('td', { class: 'num' }, String(c.no_show)),
                    h('td', { class: 'num' }, minutes(c.average_handle_s)),
                    h('td', { class: 'num' }, minutes(c.average_wait_s)))
            )
        );
    }

    /* ------------------------------------------------------------- CSV */

    async function download(kind) {
        const day = $('day').value;
        HQ.text($('csv-msg'), '');
        let res;
        try {
            res = await fetch('/api/v1/admin/export/' + kind + '.csv?day=' + encodeURIComponent(day), {
                headers: { Authorization: 'Bearer ' + token },
                cache: 'no-store',
            });
        } catch (e) {
            HQ.text($('csv-msg'), t('网络连接中断', 'The connection is down'));
            return;
        }
        if (res.status === 401) return signOut(true);
        if (!res.ok) {
            let body = {};
            try {
                body = await res.json();
            } catch (e) {
                body = {};
            }
            HQ.text($('csv-msg'), errText(body));
            return;
        }
        /* a Blob download: the token never goes into a URL */
        const blob = await res.blob();
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = kind + '-' + day + '.csv';
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 30000);
    }

    /* ------------------------------------------------------------- live */

    function start() {
        $('login').hidden = true;
        $('dash').hidden = false;
        $('logout').hidden = false;
        HQ.text($('login-error'), '');
        loadOverview();
        loadFollowups();
        if (live) live.close();
        /* kinds of our own on the shared stream */
        for (const k of ['alarm', 'follow_up', 'staffing', 'override', 'reroute']) if (HQ.EVENT_KINDS.indexOf(k) < 0) HQ.EVENT_KINDS.push(k);
        /* the run-time changes section (admin-changes.js) follows the same stream */
        document.dispatchEvent(new CustomEvent('hq-admin-start'));
        let connected = false;
        live = HQ.live({
            /* each (re)connection: what changed while the link was down */
            onStatus: () => {
                scheduleOverview();
                if (connected) loadFollowups();
                connected = true;
            },
            onEvent: (kind, data) => {
                if (kind === 'alarm') {
                    /* ours carries the whole list; the up-link's says only
                     * that its own alarm changed */
                    if (data && Array.isArray(data.alarms)) {
                        alarms = data.alarms;
                        renderAlarms();
                        if (overview) {
                            renderWindows();
                            renderQueues();
                        }
                    }
                    scheduleOverview(1000);
                    return;
                }
                if (kind === 'follow_up' || kind === 'evaluation') loadFollowups();
                if (kind === 'override') document.dispatchEvent(new CustomEvent('hq-admin-override'));
                scheduleOverview();
            },
            onLink: HQ.linkBadge($('link')),
        });
    }

    /* ---------------------------------------------------------- reprint */

    /* A ticket of today on paper again (hallqd marks it 补打 and logs who). */
    async function reprint(ev) {
        ev.preventDefault();
        const key = $('reprint-key').value.trim().toUpperCase().replace(/^([0-9A-F-]{36})$/, (m) => m.toLowerCase());
        const msg = $('reprint-msg');
        if (!key) return;
        msg.classList.remove('bad');
        HQ.text(msg, t('正在补打…', 'printing…'));
        const r = await api('POST', '/api/v1/reprint/' + encodeURIComponent(key), {});
        if (r.status === 202) {
            HQ.text(msg, t('已补打 ' + r.body.reprinted, 'reprinted ' + r.body.reprinted));
            $('reprint-key').value = '';
        } else {
            msg.classList.add('bad');
            HQ.text(msg, r.status === 404 ? t('今日无此号票', 'no such ticket today') : errText(r.body));
        }
    }

    function init() {
        HQ.applyI18n(document);
        HQ.langButton($('lang'));
        HQ.onLang(() => {
            renderOverview();
            renderFollowups();
            renderStats();
        });
        HQ.clock($('clock'), null, true);
        $('login-form').addEventListener('submit', login);
        $('reprint-form').addEventListener('submit', reprint);
        $('logout').addEventListener('click', () => signOut(false));
        $('day').addEventListener('change', () => {
            loadStats();
            if ($('fu-closed').checked) loadFollowups();
        });
        $('fu-closed').addEventListener('change', loadFollowups);
        $('csv-tickets').addEventListener('click', () => download('tickets'));
        $('csv-evals').addEventListener('click', () => download('evaluations'));
        setInterval(tick, 1000);
        window.addEventListener('resize', () => {
            for (const id of ['chart-arrivals', 'chart-waits', 'chart-win', 'chart-clerk']) {
                const c = echarts.getInstanceByDom($(id));
                if (c) c.resize();
            }
        });
        if (token) start();
        else showLogin('');
    }

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
})();
