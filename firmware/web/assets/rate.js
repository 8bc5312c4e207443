/*
 * rate.js — the rating form of the ticket's QR page (/rate/{uuid}, a
 * citizen's phone) and of a window's rating screen (/pad/{n}, a tablet at
 * the window). Same form, two ways in:
 *   - QR: GET/POST /api/v1/rate/{uuid}; open once the ticket is finished,
 *     for evaluation.qr_open_h hours, one rating per ticket (hallqd answers
 *     409 "rated" 已评价 to any second one);
 *   - pad: GET/POST /api/v1/pad/{n} with the window's device token (given
 *     once as #token=… and kept in localStorage, never in the URL after) or
 *     from the address evaluation.pads binds to the window; the screen
 *     waits idle until the window finishes a service and invites a rating.
 * Levels in the national wording (非常满意 … 非常不满意), the offline
 * indicators (服务效率, 服务水平, 服务态度; 整体满意度 is the level), reason codes
 * for 1–2 from GET …'s "form" (versioned in the configuration), optional
 * words. After a bad rating: the call-back step (留下电话以便回访), sent to
 * POST /api/v1/evaluations/{uuid}/contact; skipped quietly when hallqd has
 * no such route (404).
 */
'use strict';

(function () {
    const mode = document.body.dataset.mode === 'pad' ? 'pad' : 'qr';
    const path = location.pathname;
    const m = mode === 'pad' ? /^\/pad\/(\d{1,5})\/?$/.exec(path) : /^\/rate\/([0-9A-Za-z-]{1,64})\/?$/.exec(path);
    const key = m ? m[1] : '';
    const TOKEN_KEY = 'hallq.pad.token.' + key;
    let token = '';
    if (mode === 'pad') {
        const h = /(?:^#|&)token=([^&]+)/.exec(location.hash);
        try {
            if (h) localStorage.setItem(TOKEN_KEY, decodeURIComponent(h[1]));
            token = localStorage.getItem(TOKEN_KEY) || '';
        } catch (e) {
            token = h ? decodeURIComponent(h[1]) : '';
        }
        if (h) history.replaceState(null, '', location.pathname + location.search);
    }

    /* page state */
    let info = null; /* the last GET answer */
    let view = 'loading'; /* loading, missing, denied, waiting, idle, form, contact, thanks, done, closed */
    let note = null; /* [zh, en] under the form: a refusal */
    let ticketKey = ''; /* the ticket the form is for (pad: a new one resets it) */
    let sel = null; /* {level, ind:{}, reasons:Set, text} */
    let evaluation = ''; /* uuid the call-back step names */
    const callback = { phone: '', consent: false }; /* the step's inputs across re-renders */
    let busy = false;
    let gen = 0; /* bumped by every submit: a GET answered across one is stale */
    let idleT = 0;

    const api = async function (method, body) {
        const url = mode === 'pad' ? '/api/v1/pad/' + key : '/api/v1/rate/' + encodeURIComponent(key);
        const opt = { method: method, headers: {}, cache: 'no-store' };
        if (token) opt.headers.Authorization = 'Bearer ' + token;
        if (body !== undefined) {
            opt.headers['Content-Type'] = 'application/json';
            opt.body = JSON.stringify(body);
        }
        try {
            const r = await fetch(url, opt);
            let b = null;
            try {
                b = await r.json();
            } catch (e) {
                b = {};
            }
            return { status: r.status, body: b || {} };
        } catch (e) {
            return { status: 0, body: { message: '网络连接中断，请稍后再试', message_en: 'The connection is down, please try again' } };
        }
    };

    const h = HQ.h;
    const t = HQ.t;

    function fresh() {
        sel = { level: 0, ind: {}, reasons: new Set(), text: '' };
        note = null;
    }

    function levelButtons() {
        const f = info.form;
        return h('div', { class: 'rlevels', id: 'rlevels', role: 'radiogroup' },
            f.levels.map((l) => {
                const b = h('button', { type: 'button', class: 'rlevel l' + l.level + (sel.level === l.level ? ' on' : ''),
                    dataset: { level: String(l.level) }, 'aria-pressed': sel.level === l.level ? 'true' : 'false' },
                h('span', { class: 'rstars' }, '★'.repeat(l.level)), h('span', { class: 'rlname' }, t(l.zh, l.en)));
                b.addEventListener('click', () => {
                    sel.level = l.level;
                    if (l.level > 2) sel.reasons.clear();
                    note = null;
                    render();
                });
                return b;
            }));
    }

    function indicators() {
        const f = info.form;
        return h('div', { class: 'rinds' },
            h('div', { class: 'rsub' }, t('分项评价（可选）', 'By aspect (optional)')),
            f.indicators.map((ind) => h('div', { class: 'rind', id: 'rind-' + ind.key },
                h('span', { class: 'rindname' }, t(ind.zh, ind.en)),
                h('span', { class: 'rindstars' }, [1, 2, 3, 4, 5].map((v) => {
                    const b = h('button', { type: 'button', class: 'rstar' + ((sel.ind[ind.key] || 0) >= v ? ' on' : ''),
                        dataset: { v: String(v) }, 'aria-label': String(v) }, '★');
                    b.addEventListener('click', () => {
                        sel.ind[ind.key] = v;
                        render();
                    });
                    return b;
                })))));
    }

    function reasons() {
        const f = info.form;
        return h('div', { class: 'rreasons', id: 'rreasons' },
            h('div', { class: 'rsub' }, t('请选择不满意的原因', 'What went wrong?')),
            f.reasons.map((r) => {
                const b = h('button', { type: 'button', class: 'rreason' + (sel.reasons.has(r.code) ? ' on' : ''),
                    dataset: { code: String(r.code) }, 'aria-pressed': sel.reasons.has(r.code) ? 'true' : 'false' }, t(r.zh, r.en));
                b.addEventListener('click', () => {
                    if (sel.reasons.has(r.code)) sel.reasons.delete(r.code);
                    else sel.reasons.add(r.code);
                    render();
                });
                return b;
            }));
    }

    async function submit() {
        if (busy || !sel.level) return;
        busy = true;
        gen++;
        const body = { level: sel.level };
        if (Object.keys(sel.ind).length) body.indicators = sel.ind;
        if (sel.level <= 2 && sel.reasons.size) body.reasons = Array.from(sel.reasons).sort((a, b) => a - b);
        if (sel.text.trim()) body.text = sel.text.trim();
        const r = await api('POST', body);
        busy = false;
        if (r.status === 200) {
            evaluation = r.body.evaluation || '';
            view = sel.level <= 2 && evaluation ? 'contact' : 'thanks';
            note = null;
        } else if (r.status === 409 && r.body.reason === 'rated') {
            view = 'done';
            note = null;
        } else {
            note = [r.body.message || '提交失败', r.body.message_en || r.body.message || 'Not sent'];
        }
        render();
    }

    function form() {
        const text = h('textarea', { id: 'rtext', class: 'rtext', maxlength: '100', rows: '3',
            placeholder: t('其他意见或建议（可选）', 'Anything else? (optional)') });
        text.value = sel.text;
        text.addEventListener('input', () => {
            sel.text = text.value;
        });
        const send = h('button', { type: 'button', id: 'rsubmit', class: 'rsubmit' }, t('提交评价', 'Submit'));
        send.disabled = !sel.level || busy;
        send.addEventListener('click', submit);
        const cases = (info.cases || (info.rating && info.rating.cases) || []);
        return [
            cases.length ? h('ul', { class: 'rcases' }, cases.map((c) => h('li', null, c.item_name, h('span', { class: 'rcaseno' }, c.case_no)))) : null,
            levelButtons(),
            sel.level ? indicators() : null,
            sel.level && sel.level <= 2 ? reasons() : null,
            sel.level ? text : null,
            note ? h('div', { class: 'rnote', id: 'rnote', role: 'alert' }, t(note[0], note[1])) : null,
            send,
        ];
    }

    async function sendContact() {
        const phone = callback.phone.replace(/[\s-]/g, '');
        const consent = callback.consent;
        if (!/^\+?\d{5,20}$/.test(phone)) {
            note = ['请输入正确的电话号码', 'Please enter a valid phone number'];
            return render();
        }
        if (!consent) {
            note = ['请勾选同意回访', 'Please tick the consent line'];
            return render();
        }
        busy = true;
        const r = await fetch('/api/v1/evaluations/' + encodeURIComponent(evaluation) + '/contact', {
            method: 'POST', cache: 'no-store', headers: Object.assign({ 'Content-Type': 'application/json' },
                token ? { Authorization: 'Bearer ' + token } : {}),
            body: JSON.stringify({ phone: phone, consent: true }),
        }).then((x) => x.json().catch(() => ({})).then((b) => ({ status: x.status, body: b })), () => ({ status: 0, body: {} }));
        busy = false;
        callback.phone = ''; /* not kept in the page once sent */
        /* 404: this hallqd takes no call-back numbers; the rating stands */
        if ((r.status >= 200 && r.status < 300) || r.status === 404) {
            view = 'thanks';
            note = r.status === 404 ? null : ['我们将尽快与您联系', 'We will call you back soon'];
        } else {
            note = [r.body.message || '提交失败', r.body.message_en || r.body.message || 'Not sent'];
        }
        render();
    }

    function contact() {
        const phone = h('input', { id: 'rphone', class: 'rphone', type: 'tel', inputmode: 'tel', autocomplete: 'tel',
            maxlength: '20', placeholder: t('手机或固定电话', 'Mobile or landline') });
        const consent = h('input', { id: 'rconsent', type: 'checkbox' });
        phone.value = callback.phone;
        consent.checked = callback.consent;
        phone.addEventListener('input', () => {
            callback.phone = phone.value;
        });
        consent.addEventListener('change', () => {
            callback.consent = consent.checked;
        });
        const send = h('button', { type: 'button', id: 'rcontact-send', class: 'rsubmit' }, t('提交', 'Send'));
        const skip = h('button', { type: 'button', id: 'rcontact-skip', class: 'rskip' }, t('跳过', 'Skip'));
        send.addEventListener('click', sendContact);
        skip.addEventListener('click', () => {
            view = 'thanks';
            note = null;
            render();
        });
        return h('div', { class: 'rcontact', id: 'rcontact' },
            h('div', { class: 'rsub' }, t('留下电话以便回访', 'Leave a phone number for a call-back')),
            h('p', { class: 'rhint' }, t('感谢您的反馈，我们会认真整改。如愿意，请留下电话，工作人员将回访。',
                'Thank you, we will put this right. If you like, leave a number and we will call you back.')),
            phone,
            h('label', { class: 'rconsent' }, consent,
                t('我同意工作人员通过此号码就本次评价回访；号码加密保存，仅用于回访，回访结束后删除。',
                    'I agree to be called back about this rating at this number; it is kept encrypted, used only for the call-back and deleted afterwards.')),
            note ? h('div', { class: 'rnote', id: 'rnote', role: 'alert' }, t(note[0], note[1])) : null,
            h('div', { class: 'rbtns' }, send, skip));
    }

    const STATES = {
        loading: ['正在加载…', 'Loading…'],
        missing: ['未找到该号，或评价已过期', 'No such ticket, or its rating has closed'],
        denied: ['本设备不是该窗口的评价屏', "This device is not this window's rating screen"],
        waiting: ['服务办结后即可在此评价', 'You can rate here once the service is finished'],
        idle: ['欢迎光临。办理完毕后，请在此对我们的服务进行评价', 'Welcome. When your service is finished, please rate it here'],
        thanks: ['感谢您的评价！', 'Thank you for your rating!'],
        done: ['已评价，感谢您的参与', 'Already rated, thank you'],
        closed: ['评价已截止', 'Rating has closed'],
        form: ['', ''],
        contact: ['', ''],
    };

    function render() {
        const body = HQ.$('rbody');
        const s = STATES[view] || ['', ''];
        const st = HQ.$('rstate');
        HQ.text(st, t(s[0], s[1]));
        st.className = 'rstate ' + view;
        st.hidden = !s[0];
        const num = info ? (mode === 'pad' ? (info.rating ? info.rating.number : '') : info.number) : '';
        HQ.text(HQ.$('rnum'), num || '');
        if (mode === 'pad' && info && info.window) HQ.text(HQ.$('rwin'), t(info.window + '号窗口', 'Window ' + info.window));
        if (view === 'form') HQ.fill(body, form());
        else if (view === 'contact') HQ.fill(body, contact());
        else if (view === 'thanks' && note) HQ.fill(body, h('div', { class: 'rnote ok', id: 'rnote' }, t(note[0], note[1])));
        else HQ.fill(body);
        document.title = t('服务评价', 'Rate the service');
    }

    async function load() {
        if (!key) {
            view = 'missing';
            return render();
        }
        if (view === 'contact' || view === 'thanks' && mode === 'qr') return;
        const g = gen;
        const r = await api('GET');
        /* a rating sent while this was on its way decides the view */
        if (g !== gen || busy || view === 'contact') return;
        if (r.status === 401 || r.status === 403) {
            view = 'denied';
            info = null;
        } else if (r.status === 404) {
            view = 'missing';
        } else if (r.status === 200) {
            info = r.body;
            if (mode === 'qr') {
                if (info.rated) view = view === 'thanks' ? 'thanks' : 'done';
                else if (!info.finished) view = 'waiting';
                else if (!info.open) view = 'closed';
                else if (view !== 'form') {
                    fresh();
                    view = 'form';
                }
            } else if (!info.rating) {
                if (view !== 'thanks') view = 'idle';
            } else if (view !== 'form' || ticketKey !== info.rating.ticket) {
                ticketKey = info.rating.ticket;
                fresh();
                view = 'form';
            }
        }
        render();
    }

    function onStatus(st) {
        const hall = st.hall || {};
        HQ.text(HQ.$('hall-name'), t(hall.name || '', hall.name_en));
    }

    HQ.langButton(HQ.$('lang'));
    HQ.onLang(render);
    HQ.applyI18n(document);
    render();
    fetch('/api/v1/status', { cache: 'no-store' }).then((r) => r.json()).then(onStatus, () => {});
    load();
    if (mode === 'pad') {
        /* a window's screen: follows the window (its events) and looks again
         * every few seconds, so an invitation or its end shows at once; after
         * the thanks it goes back to idle */
        const live = HQ.live({
            onStatus: onStatus,
            onEvent: () => load(),
            onLink: HQ.linkBadge(HQ.$('link')),
        });
        void live;
        setInterval(() => {
            if (view === 'thanks' || view === 'done') {
                if (!idleT) idleT = Date.now();
                if (Date.now() - idleT < 6000) return;
                view = 'idle';
            }
            idleT = 0;
            if (view !== 'contact') load();
        }, 2000);
    } else {
        /* the phone waits for the end of the service on the status page; a
         * page opened early looks again while it is visible */
        setInterval(() => {
            if (!document.hidden && (view === 'waiting' || view === 'loading')) load();
        }, 5000);
    }
})();
