/*
 * desk.js — the guide desk (/desk, 导服台): sign in with a desk session, issue tickets with a
 * priority class, the 帮办/陪同 flag and a real-name identity (the desk's card reader or a
 * typed ID number), reprint, cancel with a reason, re-register a paper number, and watch every
 * service's queue with the windows serving it. The session token stays in sessionStorage
 * (this tab only) and goes as a Bearer token; a typed ID number leaves the page's input as soon
 * as it is sent and is never kept.
 */
'use strict';

(function () {
    const h = HQ.h;
    const TOKEN_KEY = 'hallq.desk.token';
    let token = HQ.session(TOKEN_KEY);
    let status = null;
    let service = '';
    let live = null;
    let lastIssue = null; /* {ticket} or {error} shown under the form */
    let lastMsg = null; /* {zh, en, bad} under the ticket actions */
    let me = null;

    const STATE = {
        closed: ['未开放', 'closed'],
        idle: ['空闲', 'idle'],
        calling: ['叫号中', 'calling'],
        serving: ['办理中', 'serving'],
        paused: ['暂停', 'paused'],
    };

    async function api(method, url, body) {
        const r = await HQ.request(method, url, body, token);
        if (r.status === 401 && token) signedOut();
        return r;
    }

    function errText(b) {
        const e = HQ.errorText(b);
        return HQ.t(e.zh, e.en);
    }

    /* ------------------------------------------------------------ sign-in */

    function showSignin(err) {
        HQ.$('signin').hidden = false;
        HQ.$('main').hidden = true;
        HQ.$('who').hidden = true;
        HQ.$('signout').hidden = true;
        const el = HQ.$('si-err');
        el.hidden = !err;
        if (err) HQ.text(el, err);
        HQ.$('si-staff').focus();
    }
    function signedOut() {
        token = '';
        me = null;
        try {
            sessionStorage.removeItem(TOKEN_KEY);
        } catch (e) {
            /* storage off */
        }
        if (live) {
            live.close();
            live = null;
        }
        showSignin(HQ.t('登录已失效，请重新登录', 'the session has ended: please sign in again'));
    }
    async function start() {
        const r = await api('GET', '/api/v1/session');
        if (r.status !== 200) return showSignin('');
        me = r.body;
        HQ.$('signin').hidden = true;
        HQ.$('main').hidden = false;
        HQ.$('who').hidden = false;
        HQ.$('signout').hidden = false;
        renderWho();
        if (!live) live = HQ.live({ onStatus: onStatus, onEvent: onEvent, onLink: HQ.linkBadge(HQ.$('link')) });
    }
    function renderWho() {
        if (!me || !me.staff) return;
        HQ.text(HQ.$('who'), HQ.t('导服人员 ', 'Desk: ') + me.staff.name + ' (' + me.staff.id + ')');
    }
    HQ.$('signin-form').addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const staff = HQ.$('si-staff').value.trim();
        const pin = HQ.$('si-pin').value;
        HQ.$('si-pin').value = '';
        const r = await HQ.request('POST', '/api/v1/session', { staff: staff, pin: pin, desk: true });
        /* 401 is the same answer for every wrong credential (docs/API.md); 429 says how long */
        if (r.status === 401) return showSignin(HQ.t('工号或密码不对，或该工号不能登录导服台', 'wrong staff number or PIN, or not a guide-desk person'));
        if (r.status !== 200 || !r.body.token) return showSignin(errText(r.body));
        token = r.body.token;
        try {
            sessionStorage.setItem(TOKEN_KEY, token);
        } catch (e) {
            /* storage off: this page only */
        }
        start();
    });
    HQ.$('signout').addEventListener('click', async () => {
        await api('POST', '/api/v1/session/logout', {});
        token = '';
        signedOut();
        showSignin('');
    });

    /* -------------------------------------------------------------- issue */

    function renderServices() {
        const box = HQ.$('svcs');
        const svcs = (status && status.services) || [];
        if (!service && svcs.length) service = svcs[0].code;
        HQ.fill(box, svcs.map((s) => h('button', {
            type: 'button', class: 'svc' + (s.code === service ? ' on' : ''), role: 'radio',
            'aria-checked': s.code === service ? 'true' : 'false', dataset: { code: s.code },
        }, h('b', null, s.prefix || s.code), ' ', HQ.serviceName(s))));
    }
    HQ.$('svcs').addEventListener('click', (ev) => {
        const b = ev.target.closest('.svc');
        if (!b) return;
        service = b.dataset.code;
        renderServices();
    });

    function renderIssued() {
        const err = HQ.$('issue-err');
        const box = HQ.$('issued');
        err.hidden = !(lastIssue && lastIssue.error);
        box.hidden = !(lastIssue && lastIssue.ticket);
        if (lastIssue && lastIssue.error) HQ.text(err, errText(lastIssue.error));
        if (!lastIssue || !lastIssue.ticket) return;
        const t = lastIssue.ticket;
        HQ.text(HQ.$('issued-num'), t.number);
        const bits = [HQ.serviceName(t)];
        if (t.priority_label) bits.push(HQ.priorityText(t));
        if (t.assist) bits.push(HQ.t('帮办/陪同', 'Assisted'));
        if (t.channel && lastIssue.realName) bits.push(HQ.t('实名', 'Real name') + (t.name_masked ? ' ' + t.name_masked : ''));
        if (typeof t.ahead === 'number') bits.push(HQ.t('前面 ' + t.ahead + ' 人', t.ahead + ' ahead'));
        HQ.fill(HQ.$('issued-desc'), bits.join(' · '));
    }

    let issuing = false;
    let answers = 0;
    HQ.$('issue-btn').addEventListener('click', async () => {
        if (issuing || !service) return;
        issuing = true;
        const body = { service: service, priority: HQ.$('prio').value, assist: HQ.$('assist').checked };
        const idIn = HQ.$('idnum');
        const typed = idIn.value.trim();
        idIn.value = ''; /* the number is not kept on the page, whatever the answer */
        if (typed) body.id_number = typed;
        else if (HQ.$('usecard').checked) body.card = true;
        const r = await api('POST', '/api/v1/desk/issue', body);
        body.id_number = '';
        issuing = false;
        HQ.$('issue-btn').dataset.answers = ++answers; /* one more answer shown (tests wait on it) */
        lastIssue = r.status === 201 ? { ticket: r.body.ticket, realName: !!(typed || body.card) } : { error: r.body };
        if (r.status === 201) {
            HQ.$('assist').checked = false;
            HQ.$('prio').value = 'normal';
            HQ.$('usecard').checked = false;
            HQ.$('tk-num').value = r.body.ticket.number;
        }
        renderIssued();
    });

    /* ------------------------------------------------------------ tickets */

    function say(zh, en, bad) {
        lastMsg = { zh: zh, en: en, bad: bad };
        renderMsg();
    }
    function renderMsg() {
        const el = HQ.$('tk-msg');
        el.hidden = !lastMsg;
        if (!lastMsg) return;
        el.className = 'msg' + (lastMsg.bad ? ' bad' : ' good');
        HQ.text(el, HQ.t(lastMsg.zh, lastMsg.en));
    }
    function number() {
        const n = HQ.$('tk-num').value.trim().toUpperCase();
        if (!n) say('请输入号码', 'type the number first', true);
        return n;
    }
    function refused(r) {
        const e = HQ.errorText(r.body);
        say(e.zh, e.en, true);
    }
    HQ.$('tk-reprint').addEventListener('click', async () => {
        const n = number();
        if (!n) return;
        const r = await api('POST', '/api/v1/reprint/' + encodeURIComponent(n), { kiosk: 'desk' });
        if (r.status >= 300) return refused(r);
        say('已补打 ' + n, n + ' reprinted', false);
    });
    HQ.$('tk-cancel').addEventListener('click', async () => {
        const n = number();
        if (!n) return;
        const reason = HQ.$('tk-reason').value.trim();
        const r = await api('POST', '/api/v1/tickets/' + encodeURIComponent(n) + '/cancel', { reason: reason });
        if (r.status >= 300) return refused(r);
        HQ.$('tk-reason').value = '';
        say('已取消 ' + n + '（' + reason + '）', n + ' cancelled (' + reason + ')', false);
    });
    HQ.$('tk-rereg').addEventListener('click', async () => {
        const n = number();
        if (!n) return;
        const r = await api('POST', '/api/v1/tickets/reregister', { number: n });
        if (r.status === 409) return say(n + ' 仍在队列中，无需补登记', n + ' is still in the queue: nothing to re-register', true);
        if (r.status >= 300) return refused(r);
        const t = r.body.ticket || {};
        say('已补登记 ' + t.number + '，前面 ' + (t.ahead || 0) + ' 人',
            t.number + ' re-registered, ' + (t.ahead || 0) + ' ahead', false);
    });

    /* ------------------------------------------------------------- queues */

    function renderQueues() {
        if (!status) return;
        HQ.text(HQ.$('hall'), HQ.t(status.hall.name, status.hall.name_en || status.hall.name));
        const wins = status.windows || [];
        HQ.fill(HQ.$('queues'), (status.services || []).map((s) => {
            const serving = wins.filter((w) => (w.services || []).indexOf(s.code) >= 0);
            return h('tr', { dataset: { code: s.code }, class: s.open ? '' : 'shut' },
                h('td', null, h('b', null, s.prefix || s.code), ' ', HQ.serviceName(s),
                    s.open ? null : h('span', { class: 'tag' }, HQ.t('已停止取号', 'closed'))),
                h('td', { class: 'wait' }, String(s.waiting)),
                h('td', { class: 'wins' }, serving.length ? serving.map((w) => {
                    const st = STATE[w.state] || [w.state, w.state];
                    return h('span', { class: 'win ' + w.state, dataset: { window: w.number } },
                        HQ.windowName(w), ' ', h('small', null, HQ.t(st[0], st[1])));
                }) : h('span', { class: 'muted' }, HQ.t('无', 'none'))));
        }));
    }
    /* The desk's own reader (devices.card_readers[].kiosk "desk"): what lies on it, masked. */
    let card = null; /* null: no reader for the desk */
    function renderCard() {
        const el = HQ.$('card-state');
        if (!card) HQ.text(el, HQ.t('本台未配置身份证阅读器', 'no card reader at this desk'));
        else if (card.present) HQ.text(el, HQ.t('读卡器上的证件：', 'Card on the reader: ') + (card.name_masked || '') +
            (card.elderly ? HQ.t('（老年人优先）', ' (elderly)') : ''));
        else if (card.error) HQ.text(el, HQ.t(card.message || '读卡失败，请重新放置', card.message_en || 'read failed: place the card again'));
        else HQ.text(el, HQ.t('读卡器上没有证件', 'no card on the reader'));
        HQ.$('usecard').disabled = !card;
    }
    function onCard(d) {
        if (!d || d.kiosk !== 'desk') return;
        const was = card && card.present;
        card = d;
        if (d.present && !was) HQ.$('usecard').checked = true; /* a card just placed: use it */
        if (!d.present) HQ.$('usecard').checked = false;
        renderCard();
    }

    function onStatus(st) {
        status = st;
        card = null;
        for (const c of st.cards || []) if (c.kiosk === 'desk') card = c;
        renderCard();
        HQ.syncClock(st);
        renderServices();
        renderQueues();
    }
    function onEvent(kind, d) {
        if (kind === 'card') return onCard(d);
        if (!status) return;
        if (d.waiting) for (const s of status.services) if (d.waiting[s.code] !== undefined) s.waiting = d.waiting[s.code];
        if (d.window) status.windows = status.windows.map((w) => (w.number === d.window.number ? d.window : w));
        renderQueues();
    }

    function renderAll() {
        renderWho();
        renderServices();
        renderQueues();
        renderIssued();
        renderMsg();
        renderCard();
    }
    HQ.langButton(HQ.$('lang'));
    HQ.onLang(() => {
        HQ.applyI18n(document);
        renderAll();
    });
    HQ.applyI18n(document);
    HQ.clock(HQ.$('clock'), null, false);
    if (token) start();
    else showSignin('');
})();
