/*
 * hallq.js — what every hall page shares: the live link to hallqd (Server-Sent
 * Events with reconnect and a silence watchdog), the zh/en switch, safe DOM
 * building, times and waits. Plain ES2017, no framework, no build step: the
 * pages run on the kiosk's and wall screen's low-end ARM browser.
 *
 * Safety rule of every page: text from the daemon (names from ID cards and
 * from the configuration) only ever reaches the DOM as textContent. h() turns
 * strings into text nodes and refuses event-handler and URL attributes, so a
 * name like <img src=x onerror=...> stays text.
 */
'use strict';

(function (global) {
    const HQ = {};

    /* ------------------------------------------------------------ i18n */

    const LANG_KEY = 'hallq.lang';
    let lang = 'zh';
    try {
        const q = new URLSearchParams(location.search).get('lang');
        const saved = global.localStorage ? localStorage.getItem(LANG_KEY) : null;
        lang = q === 'en' || q === 'zh' ? q : saved === 'en' ? 'en' : 'zh';
    } catch (e) {
        lang = 'zh'; /* storage may be off on a locked-down kiosk profile */
    }
    const langListeners = [];

    HQ.lang = function () {
        return lang;
    };
    /* Chinese first: zh when the page is in Chinese, en (or zh when there is
     * no English text) otherwise. */
    HQ.t = function (zh, en) {
        return lang === 'en' && en ? en : zh;
    };
    HQ.setLang = function (l) {
        lang = l === 'en' ? 'en' : 'zh';
        try {
            localStorage.setItem(LANG_KEY, lang);
        } catch (e) {
            /* not remembered: still switched for this page */
        }
        document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
        HQ.applyI18n(document);
        for (const fn of langListeners) fn(lang);
    };
    HQ.onLang = function (fn) {
        langListeners.push(fn);
    };
    /* Static texts: an element with data-en shows its Chinese text (kept in
     * data-zh on first use) or the English one. */
    HQ.applyI18n = function (root) {
        for (const el of root.querySelectorAll('[data-en]')) {
            if (el.dataset.zh === undefined) el.dataset.zh = el.textContent;
            el.textContent = lang === 'en' ? el.dataset.en : el.dataset.zh;
        }
    };
    /* A button that flips the language; its label names the other one. */
    HQ.langButton = function (btn) {
        const label = () => {
            btn.textContent = lang === 'en' ? '中文' : 'English';
        };
        btn.addEventListener('click', () => {
            HQ.setLang(lang === 'en' ? 'zh' : 'en');
            label();
        });
        label();
    };

    /* ------------------------------------------------------------- DOM */

    /* h('div', {class: 'x', dataset: {...}}, 'text', child, ...): element with
     * text children as text nodes. Attributes that could run script or leave
     * the page are refused outright. */
    HQ.h = function (tag, props) {
        const el = document.createElement(tag);
        if (props) {
            for (const k of Object.keys(props)) {
                const v = props[k];
                if (v === undefined || v === null || v === false) continue;
                if (k === 'class') el.className = v;
                else if (k === 'text') el.textContent = String(v);
                else if (k === 'dataset') Object.assign(el.dataset, v);
                else if (/^on|^(href|src|srcdoc|action|formaction|style)$/i.test(k))
                    throw new Error('hallq: attribute ' + k + ' is not allowed');
                else el.setAttribute(k, v === true ? '' : String(v));
            }
        }
        for (let i = 2; i < arguments.length; i++) HQ.append(el, arguments[i]);
        return el;
    };
    HQ.append = function (el, c) {
        if (c === undefined || c === null || c === false) return;
        if (Array.isArray(c)) for (const x of c) HQ.append(el, x);
        else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    };
    /* Replace all children (bounded DOM: a re-render never accumulates). */
    HQ.fill = function (el) {
        const kids = [];
        for (let i = 1; i < arguments.length; i++) kids.push(arguments[i]);
        el.textContent = '';
        HQ.append(el, kids);
        return el;
    };
    HQ.text = function (el, s) {
        const v = s === undefined || s === null ? '' : String(s);
        if (el.textContent !== v) el.textContent = v;
    };
    HQ.$ = function (id) {
        return document.getElementById(id);
    };
    /* Restart a one-shot CSS animation class (a new call flashes again). */
    HQ.flash = function (el, cls) {
        el.classList.remove(cls);
        void el.offsetWidth;
        el.classList.add(cls);
    };

    /* ---------------------------------------------------- time and waits */

    let clockSkewMs = 0; /* hallqd's clock minus ours */
    let hallOffsetMin = 480; /* the hall's UTC offset, from its RFC 3339 time */

    /* Learn the hall's clock and zone from status.hall.time ("...+08:00"). */
    HQ.syncClock = function (status) {
        const t = status && status.hall && status.hall.time;
        if (!t) return;
        const ms = Date.parse(t);
        if (!isNaN(ms)) clockSkewMs = ms - Date.now();
        const m = /([+-])(\d\d):(\d\d)$/.exec(t);
        if (m) hallOffsetMin = (m[1] === '-' ? -1 : 1) * (+m[2] * 60 + +m[3]);
        else if (/Z$/.test(t)) hallOffsetMin = 0;
    };
    /* Now on hallqd's clock, in ms since 1970. */
    HQ.serverNow = function () {
        return Date.now() + clockSkewMs;
    };
    /* Now in the hall's zone, as UTC fields of a Date. */
    HQ.hallNow = function () {
        return new Date(Date.now() + clockSkewMs + hallOffsetMin * 60000);
    };
    const pad = (n) => (n < 10 ? '0' : '') + n;
    /* The hall's date now, "YYYY-MM-DD" as status.hall.day writes the
     * business day (the local date: hallqd rolls the day over at midnight). */
    HQ.hallDay = function () {
        const d = HQ.hallNow();
        return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
    };
    HQ.hhmm = function (d, secs) {
        return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + (secs ? ':' + pad(d.getUTCSeconds()) : '');
    };
    /* An RFC 3339 time from hallqd shown as HH:MM in the hall's zone. */
    HQ.timeOf = function (rfc) {
        const ms = Date.parse(rfc || '');
        if (isNaN(ms)) return '';
        return HQ.hhmm(new Date(ms + hallOffsetMin * 60000));
    };
    const WEEK_ZH = ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'];
    const WEEK_EN = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    const MON_EN = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    HQ.dateText = function (d) {
        if (lang === 'en')
            return WEEK_EN[d.getUTCDay()] + ' ' + d.getUTCDate() + ' ' + MON_EN[d.getUTCMonth()] + ' ' + d.getUTCFullYear();
        return d.getUTCFullYear() + '年' + (d.getUTCMonth() + 1) + '月' + d.getUTCDate() + '日 ' + WEEK_ZH[d.getUTCDay()];
    };
    /* Keep el (and dateEl) showing the hall's time, ticking on the second. */
    HQ.clock = function (el, dateEl, secs) {
        const show = () => {
            const d = HQ.hallNow();
            HQ.text(el, HQ.hhmm(d, secs));
            if (dateEl) HQ.text(dateEl, HQ.dateText(d));
        };
        const tick = () => {
            show();
            setTimeout(tick, 1000 - ((Date.now() + clockSkewMs) % 1000) + 5);
        };
        HQ.onLang(show); /* the date in the new language now, not at the next tick */
        tick();
    };
    /* "约 15 分钟" for an estimate in seconds; null when hallqd has none. */
    HQ.waitText = function (s) {
        if (s === null || s === undefined || s < 0) return HQ.t('暂无估计', 'no estimate');
        if (s === 0) return HQ.t('无需等待', 'no wait');
        if (s < 60) return HQ.t('不到 1 分钟', 'under 1 min');
        const min = Math.round(s / 60);
        if (min < 120) return HQ.t('约 ' + min + ' 分钟', 'about ' + min + ' min');
        const hrs = Math.round(s / 360) / 10;
        return HQ.t('约 ' + hrs + ' 小时', 'about ' + hrs + ' h');
    };
    /* A service's expected wait: nobody waiting means no wait at all -- but only while a
     * window takes it (status `windows_open`); a closed service says when it opens again
     * (`next_open`, RFC 3339 local time), if hallqd knows. */
    HQ.serviceWait = function (s) {
        if (s.open === false) return HQ.nextOpenText(s.next_open);
        if (s.windows_open === 0) return HQ.t('当前无窗口受理', 'no window now');
        return s.waiting === 0 ? HQ.t('无需等待', 'no wait') : HQ.waitText(s.estimated_wait_s);
    };
    /* "13:30 起办理" today, "3月9日 09:00 起办理" another day; '' when unknown. */
    HQ.nextOpenText = function (at) {
        if (typeof at !== 'string' || at.length < 16) return '';
        const hm = at.slice(11, 16);
        const now = new Date();
        const today = now.getFullYear() + '-' + String(now.getMonth() + 1).padStart(2, '0') + '-' +
            String(now.getDate()).padStart(2, '0');
        if (at.slice(0, 10) === today) return HQ.t(hm + ' 起办理', 'opens ' + hm);
        const m = Number(at.slice(5, 7)), d = Number(at.slice(8, 10));
        const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m - 1];
        return HQ.t(m + '月' + d + '日 ' + hm + ' 起办理', 'opens ' + mon + ' ' + d + ', ' + hm);
    };
    HQ.serviceName = function (o) {
        if (!o) return '';
        return HQ.t(o.name || o.service_name || o.code || o.service, o.name_en || o.service_name_en);
    };
    /* A ticket's priority in words (老年人优先 / Elderly); '' for none. */
    HQ.priorityText = function (t) {
        return t && t.priority_label ? HQ.t(t.priority_label, t.priority_label_en) : '';
    };
    HQ.windowName = function (w) {
        if (!w) return '';
        return HQ.t(w.name || w.number + '号窗口', w.name_en || 'Window ' + w.number);
    };

    /* ------------------------------------------------------------- HTTP */

    /* JSON request; resolves {status, body} and never rejects on an HTTP
     * error (the body then holds hallqd's {"error","message","message_en"}).
     * A staff page passes its session token (HQ.session). */
    HQ.request = async function (method, url, body, token) {
        const opt = { method: method, headers: {}, cache: 'no-store' };
        if (token) opt.headers.Authorization = 'Bearer ' + token;
        if (body !== undefined) {
            opt.headers['Content-Type'] = 'application/json';
            opt.body = JSON.stringify(body);
        }
        let res;
        try {
            res = await fetch(url, opt);
        } catch (e) {
            return {
                status: 0,
                body: { error: 'network', message: '网络连接中断，请稍后再试', message_en: 'the connection is down, please try again' },
            };
        }
        let data = null;
        try {
            data = await res.json();
        } catch (e) {
            data = null;
        }
        if (!data || typeof data !== 'object')
            data = res.ok ? {} : { error: 'http', message: '服务暂不可用（' + res.status + '）', message_en: 'service unavailable (' + res.status + ')' };
        return { status: res.status, body: data };
    };
    /* The staff session token a page keeps in sessionStorage under key
     * ('' when there is none or storage is off). */
    HQ.session = function (key) {
        try {
            return sessionStorage.getItem(key) || '';
        } catch (e) {
            return '';
        }
    };
    /* The refusal text of an error body, in the page's language first. */
    HQ.errorText = function (body) {
        const zh = (body && body.message) || '操作失败';
        const en = (body && body.message_en) || 'the request failed';
        return { zh: zh, en: en };
    };

    /* -------------------------------------------------------- live link */

    /* Every record kind hallqd publishes (api.c) and the kiosk reader's card. */
    HQ.EVENT_KINDS = ['issue', 'call', 'recall', 'start', 'no_show', 'requeue', 'park', 'call_back', 'transfer', 'pause', 'resume',
        'finish', 'cancel', 'login', 'logout', 'rate', 'unrated', 'expire', 'rollover', 'evaluation', 'ticket_closed', 'card'];
    HQ.CALL_KINDS = { call: 1, recall: 1, call_back: 1 };
    /* the manager's run-time changes (issue 16): windows opened/closed, services changed, holders re-routed */
    HQ.EVENT_KINDS.push('window_open', 'window_close', 'window_services', 'service_hours', 'service_quota', 'service_close',
        'reroute', 'override');

    /*
     * HQ.live({onStatus(status, fresh), onEvent(kind, data), onLink(up), kinds}):
     * one EventSource on /api/v1/events. Its first message is the whole
     * status, so every (re)connection re-renders from scratch. The browser
     * reconnects by itself after a network error; a refused or closed stream
     * is reopened here with a backoff. hallqd pings every 15 s with a
     * nameless message ("message" here), so a quiet hall's link stays as it
     * is; 40 s without any message reopens the stream; the page is "down"
     * until a new status arrives. `kinds`: more event names for this page
     * (the kiosk's "print_failed"). Returns
     * {refresh(), reconnect(), close(), up()}.
     */
    HQ.live = function (opts) {
        const SILENCE_MS = opts.silenceMs || 40000;
        const STATUS_WAIT_MS = 5000;
        let es = null;
        let up = false;
        let silence = 0, statusWait = 0, retry = 0, refreshT = 0;
        let backoff = 1000;
        let lastRefresh = 0;
        let closed = false;

        const setUp = (v) => {
            if (v === up) return;
            up = v;
            if (opts.onLink) opts.onLink(up);
        };
        const armSilence = () => {
            clearTimeout(silence);
            silence = setTimeout(() => {
                /* quiet too long: the link may be dead without an error */
                reopen();
                clearTimeout(statusWait);
                statusWait = setTimeout(() => setUp(false), STATUS_WAIT_MS);
            }, SILENCE_MS);
        };
        const onStatus = (ev) => {
            let st;
            try {
                st = JSON.parse(ev.data);
            } catch (e) {
                return;
            }
            backoff = 1000;
            clearTimeout(statusWait);
            armSilence();
            HQ.syncClock(st);
            if (opts.onStatus) opts.onStatus(st, true);
            setUp(true);
        };
        const onRecord = (ev) => {
            armSilence();
            let data;
            try {
                data = JSON.parse(ev.data);
            } catch (e) {
                return;
            }
            if (ev.type === 'rollover') {
                /* a new service day: counts and numbers restart; take the
                 * whole picture again rather than patching */
                reopen();
                return;
            }
            if (opts.onEvent) opts.onEvent(ev.type, data);
        };
        const open = () => {
            if (closed) return;
            es = new EventSource('/api/v1/events');
            es.addEventListener('status', onStatus);
            es.addEventListener('message', armSilence); /* hallqd's ping */
            for (const k of HQ.EVENT_KINDS.concat(opts.kinds || [])) es.addEventListener(k, onRecord);
            es.onerror = () => {
                setUp(false);
                if (es && es.readyState === EventSource.CLOSED) {
                    /* refused (e.g. too many clients) or not an event
                     * stream: the browser gives up, we do not */
                    clearTimeout(retry);
                    retry = setTimeout(reopen, backoff);
                    backoff = Math.min(backoff * 2, 30000);
                }
            };
            armSilence();
        };
        const shut = () => {
            if (!es) return;
            es.onerror = null;
            es.close();
            es = null;
        };
        const reopen = () => {
            clearTimeout(retry);
            shut();
            open();
        };
        /* Fetch the status once (e.g. for estimates that events do not
         * carry), a second after the event that asked and at most every
         * minGapMs. Its answer travels on another connection than the
         * events and may be older than the last of them: pages take only
         * what events do not carry from it (HQ.mergeRefresh). */
        const refresh = (minGapMs) => {
            if (refreshT) return;
            const gap = Math.max(1000, lastRefresh + (minGapMs || 0) - Date.now());
            refreshT = setTimeout(async () => {
                lastRefresh = Date.now();
                const r = await HQ.request('GET', '/api/v1/status');
                refreshT = 0;
                if (r.status === 200 && opts.onStatus) {
                    HQ.syncClock(r.body);
                    opts.onStatus(r.body, false);
                }
            }, gap);
        };
        if (opts.onLink) opts.onLink(false); /* down until the first status */
        open();
        return {
            refresh: refresh,
            reconnect: reopen,
            up: () => up,
            close: () => {
                closed = true;
                clearTimeout(silence);
                clearTimeout(statusWait);
                clearTimeout(retry);
                shut();
                setUp(false);
            },
            open: () => {
                closed = false;
                reopen();
            },
        };
    };

    /* Take from a refreshed status only what events do not carry: the
     * estimates, windows open, open/closed and quotas. Waiting counts and windows come
     * from the events, which are in order; issued only grows in a day. */
    HQ.mergeRefresh = function (status, fresh) {
        const by = {};
        for (const s of fresh.services || []) by[s.code] = s;
        for (const s of status.services || []) {
            const f = by[s.code];
            if (!f) continue;
            s.estimated_wait_s = f.estimated_wait_s;
            s.windows_open = f.windows_open; /* a window opened or closed: 当前无窗口受理 or not */
            s.next_open = f.next_open;
            s.open = f.open;
            s.daily_quota = f.daily_quota;
            s.closed_message = f.closed_message; /* the manager closed it early today */
            s.closed_message_en = f.closed_message_en;
            s.issued = Math.max(s.issued || 0, f.issued || 0);
        }
        status.hall = fresh.hall || status.hall;
    };

    /* The discreet "连接中断 / reconnecting" badge every live page carries. */
    HQ.linkBadge = function (el) {
        return (up) => {
            el.hidden = up;
            document.body.classList.toggle('link-down', !up);
        };
    };

    global.HQ = HQ;
})(window);
