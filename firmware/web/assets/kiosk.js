/*
 * kiosk.js — the touch kiosk. A citizen taps a service and gets a ticket
 * (hallqd prints it; the screen shows it with a QR of its status page), or
 * checks in an appointment with a booking code. With an ID card on the
 * reader (SSE `card` events from the kiosk's reader) every ticket is issued
 * with it: real name, elderly priority; a service that needs the card waits
 * for one. Every refusal shows hallqd's own message (error JSON `message`,
 * `message_en`) in large type. On the ticket screen "补打号票 / Reprint"
 * asks hallqd for the paper again (POST /api/v1/reprint/{uuid}, the kiosk's
 * allowance: once, within minutes, while it waits); when the printer failed
 * on it (SSE print_failed with its uuid) the screen says so and the number
 * and QR stay on screen longer.
 *
 * The kiosk is a public machine: nothing here links out, the context menu,
 * selection, dragging and navigation keys are blocked, the back gesture is
 * trapped, and any screen returns to the start after a while untouched.
 */
'use strict';

(function () {
    const h = HQ.h;
    const params = new URLSearchParams(location.search);
    const IDLE_S = Math.max(3, parseInt(params.get('idle'), 10) || 60);
    const TICKET_S = Math.min(IDLE_S, 25);
    const ERROR_S = Math.min(IDLE_S, 12);
    const CARD_WAIT_S = Math.min(IDLE_S, 45);
    const LARGE_DEFAULT = params.get('large') === '1';
    /* Which kiosk this page runs on (/kiosk?kiosk=k1, devices.card_readers[].kiosk): it then
     * hears only its own reader, and its card tickets take only that reader's card. With no
     * kiosk given (a hall with one reader) any reader's card is this kiosk's. */
    const KIOSK = /^[A-Za-z0-9_.-]{1,31}$/.test(params.get('kiosk') || '') ? params.get('kiosk') : '';
    function mine(c) {
        return !KIOSK || (c && c.kiosk === KIOSK);
    }
    function withKiosk(body) {
        if (KIOSK) body.kiosk = KIOSK;
        return body;
    }

    let status = null;
    let card = { present: false }; /* the kiosk reader's card, from SSE */
    let cardAppt = null; /* its appointment today: {service, service_name, slot_start, slot_end} */
    let page = 0;
    let large = LARGE_DEFAULT;
    let screen = 'home';
    let idleT = 0, countT = 0;
    let busy = false;
    let waitingService = null; /* the service waiting for a card */
    let code = '';
    let letters = false;
    let shown = null; /* the ticket on the ticket screen */

    /* ------------------------------------------------------ lock-down */

    const stop = (e) => e.preventDefault();
    for (const ev of ['contextmenu', 'selectstart', 'dragstart', 'drop', 'auxclick', 'gesturestart'])
        document.addEventListener(ev, stop, { capture: true });
    /* pinch or ctrl+wheel zoom would push the buttons off the screen */
    document.addEventListener('wheel', (e) => e.ctrlKey && e.preventDefault(), { passive: false, capture: true });
    document.addEventListener('touchmove', (e) => e.touches.length > 1 && e.preventDefault(), { passive: false, capture: true });
    /* the back gesture and the back key land on this same page again */
    history.pushState({ kiosk: 1 }, '', location.href);
    window.addEventListener('popstate', () => history.pushState({ kiosk: 1 }, '', location.href));
    document.addEventListener('keydown', (e) => {
        poke();
        const nav = e.ctrlKey || e.metaKey || e.altKey || /^(F\d+|Browser\w+|Escape|Tab|ContextMenu|Home|End|PageUp|PageDown)$/.test(e.key);
        if (screen === 'checkin' && !nav) {
            /* a USB barcode scanner types the booking code */
            if (e.key === 'Enter') checkin();
            else if (e.key === 'Backspace') typeKey('⌫');
            else if (/^[0-9A-Za-z-]$/.test(e.key)) typeKey(e.key.toUpperCase());
        }
        e.preventDefault();
    }, { capture: true });
    document.addEventListener('pointerdown', poke, { capture: true });

    /* ------------------------------------------------------- screens */

    const SCREENS = ['home', 'card', 'checkin', 'busy', 'ticket', 'error'];
    function show(name, seconds) {
        screen = name;
        for (const s of SCREENS) HQ.$('screen-' + s).hidden = s !== name;
        clearInterval(countT);
        HQ.text(HQ.$('tk-count'), '');
        HQ.text(HQ.$('err-count'), '');
        if (name !== 'card') waitingService = null;
        poke(seconds);
    }
    /* Any touch restarts the countdown back to the start screen. */
    let idleFor = IDLE_S;
    function poke(seconds) {
        if (typeof seconds === 'number') idleFor = seconds;
        else if (seconds !== undefined) idleFor = screen === 'ticket' ? TICKET_S : screen === 'error' ? ERROR_S : IDLE_S;
        clearTimeout(idleT);
        if (screen === 'home' && page === 0 && large === LARGE_DEFAULT) return;
        if (screen === 'busy') return; /* the answer decides */
        idleT = setTimeout(home, idleFor * 1000);
    }
    function countdown(el, seconds) {
        let left = seconds;
        HQ.text(el, '(' + left + ')');
        clearInterval(countT);
        countT = setInterval(() => {
            left--;
            HQ.text(el, left > 0 ? '(' + left + ')' : '');
            if (left <= 0) clearInterval(countT);
        }, 1000);
    }
    /* Back to the start, as the next citizen expects it. */
    function home() {
        page = 0;
        code = '';
        if (large !== LARGE_DEFAULT) setLarge(LARGE_DEFAULT);
        show('home', IDLE_S);
        renderServices();
    }

    function setLarge(on) {
        large = on;
        document.body.classList.toggle('large', large);
        HQ.$('large').setAttribute('aria-pressed', large ? 'true' : 'false');
        page = 0;
        renderServices();
        poke(IDLE_S); /* the next citizen finds the normal size again */
    }

    /* ------------------------------------------------------- render */

    function perPage() {
        return large ? 4 : 8;
    }
    function renderHall() {
        const hall = (status && status.hall) || {};
        HQ.text(HQ.$('hall-name'), HQ.t(hall.name || '政务服务中心', hall.name_en));
    }
    function serviceButton(s) {
        const full = s.daily_quota > 0 && s.issued >= s.daily_quota;
        const off = s.open === false || full;
        const badge = s.open === false ? HQ.t('暂停取号', 'Closed') : full ? HQ.t('今日已满', 'Full today')
            : s.id_required ? HQ.t('需刷身份证', 'ID card needed') : null;
        const b = h('button', { class: 'svc-btn' + (off ? ' off' : '') + (badge ? ' badged' : ''), type: 'button', dataset: { code: s.code } },
            badge ? h('span', { class: 'svc-badge' }, badge) : null,
            h('span', { class: 'svc-name' }, HQ.serviceName(s)),
            HQ.lang() === 'en' ? h('span', { class: 'svc-sub' }, s.name) : null,
            h('span', { class: 'svc-info' }, HQ.t('等候', 'Waiting'), h('b', null, s.waiting), HQ.t('人 · ', ' · '),
                full ? '' : HQ.serviceWait(s)));
        /* a closed or full service still answers a touch: hallqd says why */
        b.addEventListener('click', () => choose(s.code));
        return b;
    }
    /* A service's name is shown whole (issue 14: never an ellipsis): on as
     * many lines as it takes. One that would take more than nameLines() of
     * them (a long English name in a narrow tile) gets its type set a step
     * smaller until it fits them, but never below NAME_MIN of the size
     * kiosk.css gives it: from there it takes another line instead, and the
     * row grows (renderServices then shows fewer rows if they do not fit). */
    const NAME_MIN = 0.8;
    let tight = false; /* renderServices: the page's tiles fit only with names on two lines */
    function nameLines() {
        return large || tight ? 2 : 3;
    }
    function fitNames(grid) {
        /* its lines: the box's height over the line's (the glyphs' overhang
         * below is the padding kiosk.css keeps for it, not a line) */
        const lines = (e) => {
            const cs = getComputedStyle(e);
            return Math.round((e.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom)) / parseFloat(cs.lineHeight));
        };
        for (const e of grid.querySelectorAll('.svc-name')) {
            e.style.fontSize = '';
            const base = parseFloat(getComputedStyle(e).fontSize);
            if (!(base > 0)) continue;
            for (let px = base - 2; px >= base * NAME_MIN && !(lines(e) <= nameLines()); px -= 2) e.style.fontSize = px + 'px';
        }
    }
    /* The pages of tiles: each perPage() of them, or as many whole rows as
     * the screen has room for (an ID card's banner on a small or landscape
     * screen took height, or long names made rows taller: kiosk.css makes
     * a row as tall as its tiles' content), so the tiles never run under
     * the pager and the check-in button. Each page is filled in turn from
     * where the one before it ended, so a page of short names is not cut
     * to the count a page of long ones needs, and no service is skipped. */
    function renderServices() {
        const svcs = (status && status.services) || [];
        const grid = HQ.$('services');
        const cols = Math.max(1, getComputedStyle(grid).gridTemplateColumns.split(' ').length);
        const show = (from, n, many) => {
            grid.style.setProperty('--rows', String(Math.ceil(n / cols)));
            HQ.fill(grid, svcs.slice(from, from + n).map(serviceButton));
            fitNames(grid);
            HQ.$('pager').hidden = !many;
        };
        const fits = (from, n) => {
            show(from, n, from > 0 || from + n < svcs.length);
            return grid.scrollHeight <= grid.clientHeight + 1;
        };
        /* Each page as full as it fits: with names on up to three lines,
         * else (normal mode) on two at a slightly smaller type, else one
         * row fewer. */
        const pages = [];
        for (let from = 0; from < svcs.length || !pages.length;) {
            let n = perPage();
            for (;;) {
                tight = false;
                if (fits(from, n)) break;
                tight = !large;
                if (tight && fits(from, n)) break;
                if (n <= cols) break;
                n -= cols;
            }
            pages.push({ from: from, n: n, tight: tight });
            from += n;
        }
        page = Math.min(page, pages.length - 1);
        const pg = pages[page];
        tight = pg.tight;
        show(pg.from, pg.n, pages.length > 1);
        HQ.$('prev').disabled = page === 0;
        HQ.$('next').disabled = page >= pages.length - 1;
        HQ.text(HQ.$('page-no'), page + 1 + ' / ' + pages.length);
    }
    function renderCard() {
        const el = HQ.$('card');
        const was = el.hidden;
        el.hidden = !card.present;
        if (!card.present) {
            if (!was && screen === 'home') renderServices(); /* the height is back */
            return;
        }
        const who = card.name_masked || '';
        const prio = card.elderly ? HQ.t(' · 老年人优先', ' · elderly priority') : '';
        /* the card holder's appointment today: one big button before the
         * service list (place card -> the matching appointment -> ticket) */
        const appt = cardAppt
            ? h('button', { id: 'card-appt', class: 'card-appt', type: 'button' },
                HQ.t('您今天有预约：', 'Your appointment today: ') +
                    HQ.serviceName({ name: cardAppt.service_name, name_en: cardAppt.service_name_en }) +
                    ' ' + cardAppt.slot_start + '–' + cardAppt.slot_end,
                h('small', null, HQ.t('点此签到取号', 'Tap to check in')))
            : null;
        HQ.fill(el, HQ.t('已读取身份证：', 'ID card read: ') + who + prio,
            h('small', null, HQ.t('请选择业务，将实名取号', 'Choose a service: the ticket will carry your name')),
            appt);
        if (appt) appt.addEventListener('click', checkinCard);
        if (screen === 'home') renderServices(); /* the banner took height: as many tiles as fit */
    }
    /* Ask hallqd whether the card on the reader has an appointment today. */
    async function lookupAppointment() {
        cardAppt = null;
        if (!card.present) return renderCard();
        const r = await HQ.request('GET', '/api/v1/appointments/card' + (KIOSK ? '?kiosk=' + encodeURIComponent(KIOSK) : ''));
        cardAppt = r.status === 200 && r.body && r.body.appointment ? r.body.appointment : null;
        renderCard();
    }
    function renderAll() {
        renderHall();
        renderServices();
        renderCard();
        if (screen === 'checkin') renderCode();
    }

    /* ------------------------------------------------------ tickets */

    function serviceOf(code) {
        for (const s of (status && status.services) || []) if (s.code === code) return s;
        return null;
    }
    function choose(codeS) {
        if (busy) return;
        const s = serviceOf(codeS);
        if (s && s.id_required && !card.present && s.open !== false) {
            show('card', CARD_WAIT_S);
            waitingService = codeS;
            HQ.text(HQ.$('card-svc'), HQ.serviceName(s));
            return;
        }
        issue(codeS);
    }
    async function issue(codeS) {
        if (busy) return;
        busy = true;
        show('busy');
        const body = withKiosk({ service: codeS, channel: 'kiosk' });
        if (card.present) body.card = true;
        const r = await HQ.request('POST', '/api/v1/tickets', body);
        busy = false;
        if (r.status === 201 && r.body.ticket) {
            showTicket(r.body.ticket);
        } else if (r.body && r.body.error === 'id_required' && !card.present) {
            /* the card went away between the touch and the answer */
            show('card', CARD_WAIT_S);
            waitingService = codeS;
        } else {
            showError(r.body);
        }
        live.refresh(0);
    }
    function showTicket(t) {
        HQ.text(HQ.$('tk-num'), t.number);
        HQ.text(HQ.$('tk-svc'), HQ.serviceName(t));
        const prio = HQ.$('tk-prio');
        prio.hidden = !t.priority_label;
        HQ.text(prio, HQ.priorityText(t));
        HQ.text(HQ.$('tk-ahead'), typeof t.ahead === 'number' ? HQ.t(t.ahead + ' 人', String(t.ahead)) : '—');
        const svc = serviceOf(t.service);
        HQ.text(HQ.$('tk-wait'), svc && svc.windows_open === 0
            ? HQ.t('当前无窗口受理', 'no window now') : HQ.waitText(t.estimated_wait_s));
        shown = t;
        note(null);
        const rp = HQ.$('tk-reprint');
        rp.hidden = !hasPrinter();
        rp.disabled = false;
        const url = t.status_url || location.origin + '/t/' + t.uuid;
        HQ.text(HQ.$('tk-url'), url);
        /* hallqd draws the QR (libqrencode, keyed by the uuid); without it
         * the URL is still there as text */
        const qr = HQ.$('tk-qr');
        qr.hidden = !t.uuid;
        qr.onerror = () => (qr.hidden = true);
        if (t.uuid) qr.src = '/t/' + encodeURIComponent(t.uuid) + '/qr.svg';
        show('ticket', TICKET_S);
        countdown(HQ.$('tk-count'), TICKET_S);
    }
    function hasPrinter() {
        return !!(status && Array.isArray(status.printers) && status.printers.length);
    }
    function note(zh, en, bad) {
        const el = HQ.$('tk-note');
        el.hidden = !zh;
        el.classList.toggle('bad', !!bad);
        HQ.text(el, zh ? HQ.t(zh, en) : '');
    }
    /* The paper again, marked 补打 by the printer; hallqd decides whether
     * this kiosk may (its refusal is shown under the ticket). */
    async function reprint() {
        if (!shown || busy) return;
        const rp = HQ.$('tk-reprint');
        rp.disabled = true;
        const r = await HQ.request('POST', '/api/v1/reprint/' + encodeURIComponent(shown.uuid),
            withKiosk({})); /* at this kiosk's own printer (printer.kiosks) */
        if (screen !== 'ticket') return;
        if (r.status === 202) {
            note('已补打，请取走号票', 'Printed again, please take your ticket');
        } else {
            const m = HQ.errorText(r.body);
            note(m.zh, m.en, true);
            rp.disabled = r.status !== 503; /* only a printer fault may pass */
        }
        show('ticket', TICKET_S);
        countdown(HQ.$('tk-count'), TICKET_S);
    }
    function showError(body) {
        const m = HQ.errorText(body);
        const en = HQ.lang() === 'en';
        HQ.text(HQ.$('err-main'), en ? m.en : m.zh);
        HQ.text(HQ.$('err-sub'), en ? m.zh : m.en);
        show('error', ERROR_S);
        countdown(HQ.$('err-count'), ERROR_S);
    }

    /* --------------------------------------------------- check-in */

    const DIGITS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'ABC', '0', '⌫'];
    const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').concat(['123', '⌫', '清除']);
    function renderKeypad() {
        const keys = letters ? LETTERS : DIGITS;
        HQ.$('keypad').className = 'keypad' + (letters ? ' letters' : '');
        HQ.fill(HQ.$('keypad'), keys.map((k) => {
            const b = h('button', { class: 'key' + (k.length > 1 || k === '⌫' ? ' fn' : ''), type: 'button', dataset: { key: k } },
                k === '清除' ? HQ.t('清除', 'Clear') : k);
            b.addEventListener('click', () => typeKey(k));
            return b;
        }));
    }
    function renderCode() {
        HQ.text(HQ.$('code'), code);
        HQ.$('checkin-ok').disabled = code.length < 1;
    }
    function typeKey(k) {
        if (k === 'ABC' || k === '123') {
            letters = k === 'ABC';
            renderKeypad();
            return;
        }
        if (k === '⌫') code = code.slice(0, -1);
        else if (k === '清除') code = '';
        else if (code.length < 32) code += k;
        renderCode();
    }
    async function checkinCard() {
        if (busy) return;
        busy = true;
        show('busy');
        const r = await HQ.request('POST', '/api/v1/appointments/checkin', withKiosk({ card: true }));
        busy = false;
        cardAppt = null;
        if (r.status >= 200 && r.status < 300 && r.body && r.body.ticket) showTicket(r.body.ticket);
        else showError(r.body);
        live.refresh(0);
    }
    async function checkin() {
        if (busy || !code) return;
        busy = true;
        show('busy');
        const r = await HQ.request('POST', '/api/v1/appointments/checkin', withKiosk({ booking_code: code }));
        busy = false;
        code = '';
        if (r.status >= 200 && r.status < 300) {
            if (r.body && r.body.ticket) showTicket(r.body.ticket);
            else showError({ message: (r.body && r.body.message) || '签到成功', message_en: (r.body && r.body.message_en) || 'checked in' });
        } else {
            showError(r.body);
        }
        live.refresh(0);
    }

    /* ------------------------------------------------------- wiring */

    HQ.$('prev').addEventListener('click', () => {
        if (page > 0) page--;
        renderServices();
        poke(IDLE_S);
    });
    HQ.$('next').addEventListener('click', () => {
        page++;
        renderServices();
        poke(IDLE_S);
    });
    HQ.$('large').addEventListener('click', () => setLarge(!large));
    HQ.$('checkin-btn').addEventListener('click', () => {
        code = '';
        letters = false;
        renderKeypad();
        renderCode();
        show('checkin', IDLE_S);
    });
    HQ.$('checkin-cancel').addEventListener('click', home);
    HQ.$('checkin-ok').addEventListener('click', checkin);
    HQ.$('card-cancel').addEventListener('click', home);
    HQ.$('tk-done').addEventListener('click', home);
    HQ.$('tk-reprint').addEventListener('click', reprint);
    HQ.$('err-back').addEventListener('click', home);

    function onStatus(st, fresh) {
        if (!fresh && status) {
            HQ.mergeRefresh(status, st);
            renderAll();
            return;
        }
        status = st;
        /* the reader's card when the page (re)loads while a card lies there */
        if (KIOSK && Array.isArray(st.cards)) {
            const own = st.cards.filter((c) => c && c.kiosk === KIOSK)[0];
            card = own && own.present ? own : { present: false };
        } else if (st.card && typeof st.card === 'object') {
            card = st.card;
        }
        renderAll();
        if (card.present && !cardAppt) lookupAppointment();
    }
    function onEvent(kind, d) {
        if (kind === 'card') {
            if (!mine(d)) return; /* another kiosk's reader */
            card = d && d.present ? d : { present: false };
            cardAppt = null;
            renderCard();
            lookupAppointment();
            /* the reader tried three times: ask for the card again, and say why */
            if (d && d.error && (screen === 'home' || screen === 'card'))
                showError({ message: d.message + (d.reason ? '（' + d.reason + '）' : ''),
                    message_en: d.message_en + (d.reason_en ? ' (' + d.reason_en + ')' : '') });
            /* a service was waiting for this card: issue now */
            if (card.present && screen === 'card' && waitingService) issue(waitingService);
            return;
        }
        if (kind === 'print_failed') {
            if (screen === 'ticket' && shown && d && d.uuid === shown.uuid) {
                note('号票未能打印，请记下屏幕上的号码或扫码，也可点击“补打号票”',
                    'Your ticket could not be printed: note the number or scan the code, or tap Reprint', true);
                show('ticket', Math.max(TICKET_S, 45)); /* time to write it down */
                countdown(HQ.$('tk-count'), Math.max(TICKET_S, 45));
            }
            return;
        }
        if (!status) return;
        if (d.waiting) for (const s of status.services || []) if (d.waiting[s.code] !== undefined) s.waiting = d.waiting[s.code];
        if (kind === 'issue' && d.ticket) {
            const s = serviceOf(d.ticket.service);
            if (s) s.issued = (s.issued || 0) + 1;
        }
        if (screen === 'home') renderServices();
        live.refresh(5000);
    }

    document.body.classList.toggle('large', large);
    /* what fits changes with the room the start screen has (a resize, the
     * card banner) and with the type once the fonts are in */
    const refit = () => screen === 'home' && status && renderServices();
    if (window.ResizeObserver) new ResizeObserver(refit).observe(HQ.$('screen-home'));
    if (document.fonts) document.fonts.addEventListener('loadingdone', refit);
    HQ.langButton(HQ.$('lang'));
    HQ.onLang(() => {
        HQ.applyI18n(document);
        renderAll();
    });
    HQ.applyI18n(document);
    HQ.clock(HQ.$('clock'), HQ.$('date'), false);
    renderKeypad();
    show('home', IDLE_S);
    const live = HQ.live({ onStatus: onStatus, onEvent: onEvent, onLink: HQ.linkBadge(HQ.$('link')), kinds: ['print_failed'] });
})();
