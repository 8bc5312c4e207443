/*
 * ticket.js — one ticket's status page (/t/{uuid}) on a citizen's phone.
 * Live while visible: the event stream tells when this ticket changes (then
 * its own JSON comes with the event) or when its queue moves (then the
 * ticket is fetched again, at most once a second). A hidden page closes
 * the stream — phones must not hold the hall's few event-stream slots — and
 * fetches once when shown again. No polling loop.
 *
 * Alerts: when the ticket comes within pages.ticket_alert_ahead places of
 * the front (/api/v1/status, display.ticket_alert_ahead) and when it is
 * called, the page beeps (WebAudio), vibrates (navigator.vibrate, where the
 * phone has it) and says so in large type, so people can sit down or step
 * out. Each alert sounds once, on the change this page saw (a page opened
 * when the ticket is already near shows the message without a beep). A
 * browser plays sound only after a touch: until the citizen taps, a button
 * offers to allow it.
 */
'use strict';

(function () {
    const m = /^\/t\/([0-9A-Za-z-]{1,64})\/?$/.exec(location.pathname);
    const key = m ? m[1] : '';
    let ticket = null;
    let missing = false;
    let fetchT = 0;
    let loading = false; /* a GET of the ticket is on its way */
    let alertAhead = 3; /* pages.ticket_alert_ahead */
    let requeue = false; /* pages.no_show_requeue */
    let seen = null; /* the state the last render showed: {status, near} */
    let dismissed = ''; /* the alert the citizen closed ("near", "called@3") */
    let audio = null;

    const STATUS = {
        waiting: ['排队等候中', 'Waiting'],
        called: ['请到 {w} 号窗口办理', 'Please go to window {w}'],
        serving: ['正在 {w} 号窗口办理', 'Being served at window {w}'],
        parked: ['暂时挂起，请留意再次叫号', 'On hold, you will be called again'],
        done: ['已办结，感谢您的耐心等候', 'Done, thank you for waiting'],
        no_show: ['已过号，请重新取号', 'Missed, please take a new ticket'],
        cancelled: ['已取消', 'Cancelled'],
        expired: ['已失效', 'Expired'],
    };

    /* ------------------------------------------------------ alerts */

    function near(t) {
        return t.status === 'waiting' && alertAhead > 0 && typeof t.ahead === 'number' && t.ahead <= alertAhead;
    }
    function audioCtx() {
        const AC = window.AudioContext || window.webkitAudioContext;
        if (!AC) return null;
        if (!audio) {
            try {
                audio = new AC();
            } catch (e) {
                return null;
            }
            /* the browser may allow or stop sound later: the button follows */
            audio.addEventListener('statechange', () => soundButton());
        }
        return audio;
    }
    function soundButton() {
        const ctx = audioCtx();
        HQ.$('tsound').hidden = !ctx || ctx.state === 'running' || !ticket || !/^(waiting|called)$/.test(ticket.status);
    }
    /* n short beeps at 880 Hz */
    function beep(n) {
        const ctx = audioCtx();
        if (!ctx) return;
        if (ctx.state !== 'running') ctx.resume().catch(() => {});
        const t0 = ctx.currentTime + 0.05;
        for (let i = 0; i < n; i++) {
            const o = ctx.createOscillator();
            const g = ctx.createGain();
            o.type = 'sine';
            o.frequency.value = 880;
            g.gain.setValueAtTime(0.0001, t0 + i * 0.45);
            g.gain.exponentialRampToValueAtTime(0.6, t0 + i * 0.45 + 0.02);
            g.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.45 + 0.3);
            o.connect(g).connect(ctx.destination);
            o.start(t0 + i * 0.45);
            o.stop(t0 + i * 0.45 + 0.32);
        }
    }
    function vibrate(pattern) {
        try {
            if (typeof navigator.vibrate === 'function') navigator.vibrate(pattern);
        } catch (e) {
            /* not allowed here: the sound and the message remain */
        }
    }
    /* The large message for the state now, and the beep and buzz when the
     * state is new to this page. */
    function renderAlert() {
        const box = HQ.$('talert');
        const t = ticket;
        const kind = !t || missing ? '' : t.status === 'called' ? 'called@' + (t.window || '') : near(t) ? 'near' : '';
        const fresh = seen !== null && kind && kind !== seen;
        seen = kind;
        if (kind && fresh) {
            dismissed = '';
            if (kind === 'near') {
                beep(2);
                vibrate([300, 150, 300]);
            } else {
                beep(4);
                vibrate([600, 200, 600, 200, 600]);
            }
        }
        box.hidden = !kind || dismissed === kind;
        box.className = 'talert ' + (kind === 'near' ? 'near' : 'called');
        if (kind === 'near') {
            HQ.text(HQ.$('talert-main'), t.ahead === 0 ? HQ.t('下一位就是您', 'You are next') : HQ.t('快到您了', 'Almost your turn'));
            HQ.text(HQ.$('talert-sub'), t.ahead === 0 ? HQ.t('请到窗口附近等候', 'Please wait near the windows')
                : HQ.t('前面还有 ' + t.ahead + ' 人，请回到大厅等候', t.ahead + ' ahead of you, please come back to the hall'));
        } else if (kind) {
            HQ.text(HQ.$('talert-main'), HQ.t('请到 ' + (t.window || '?') + ' 号窗口', 'Window ' + (t.window || '?') + ', please'));
            HQ.text(HQ.$('talert-sub'), HQ.t('轮到您了：' + t.number + ' 号', 'Your number ' + t.number + ' is called'));
        }
        soundButton();
    }

    function render() {
        const st = HQ.$('tstatus');
        renderAlert();
        HQ.text(HQ.$('tnote'), requeue ? HQ.t('请在大厅留意叫号，过号将重新排到队尾。', 'Please listen for your number in the hall. If you miss your call, you go back in the queue.')
            : HQ.t('请在大厅留意叫号，过号请重新取号。', 'Please listen for your number in the hall. If you miss your call, please take a new ticket.'));
        if (missing) {
            HQ.text(HQ.$('tnum'), '—');
            HQ.text(st, HQ.t('未找到该号票', 'No such ticket'));
            st.className = 'tstatus gone';
            HQ.$('tfacts').hidden = true;
            return;
        }
        if (!ticket) return;
        /* finished: the QR code now rates the service (/rate/{uuid}, issue 17) */
        if (ticket.status === 'done' && ticket.uuid) {
            location.replace('/rate/' + encodeURIComponent(ticket.uuid) + location.search);
            return;
        }
        HQ.text(HQ.$('tnum'), ticket.number);
        HQ.text(HQ.$('tsvc'), HQ.serviceName(ticket));
        const prio = HQ.$('tprio');
        prio.hidden = !ticket.priority_label;
        HQ.text(prio, HQ.priorityText(ticket));
        const s = STATUS[ticket.status] || [ticket.status, ticket.status];
        HQ.text(st, HQ.t(s[0], s[1]).replace('{w}', ticket.window || '?'));
        st.className = 'tstatus ' + (ticket.status === 'called' ? 'called' : ticket.status === 'serving' ? 'serving'
            : ticket.status === 'waiting' ? '' : 'gone');
        const waiting = ticket.status === 'waiting';
        HQ.$('tfacts').hidden = !waiting;
        /* sent to one window (the manager closed a window or the service early): say which */
        const rr = HQ.$('treroute');
        rr.hidden = !(waiting && ticket.target_window);
        if (!rr.hidden) HQ.text(rr, HQ.t('请到 ' + ticket.target_window + ' 号窗口办理', 'You will be served at window ' + ticket.target_window));
        HQ.text(HQ.$('tahead'), typeof ticket.ahead === 'number' ? HQ.t(ticket.ahead + ' 人', String(ticket.ahead)) : '—');
        HQ.text(HQ.$('twait'), HQ.waitText(ticket.estimated_wait_s));
        HQ.text(HQ.$('tupdated'), HQ.t('更新于 ', 'Updated ') + HQ.hhmm(HQ.hallNow(), true));
        document.title = ticket.number + ' · ' + HQ.t('排队进度', 'Queue status');
    }

    async function load() {
        if (!key) {
            missing = true;
            render();
            return;
        }
        loading = true; /* HQ.request never rejects */
        const r = await HQ.request('GET', '/api/v1/tickets/' + encodeURIComponent(key));
        loading = false;
        if (r.status === 200) {
            ticket = r.body;
            missing = false;
        } else if (r.status === 404) {
            missing = true;
        }
        render();
    }
    function loadSoon() {
        if (fetchT) return;
        fetchT = setTimeout(() => {
            fetchT = 0;
            load();
        }, 1000);
    }

    function onStatus(st) {
        const hall = st.hall || {};
        const pg = st.pages || {};
        if (typeof pg.ticket_alert_ahead === 'number') alertAhead = pg.ticket_alert_ahead;
        requeue = pg.no_show_requeue === true;
        HQ.text(HQ.$('hall-name'), HQ.t(hall.name || '', hall.name_en));
        load();
    }
    function onEvent(kind, d) {
        if (kind === 'card') return;
        if (!ticket) {
            /* the first GET is on its way: it may answer with the state from before this
             * event (a ticket finished as the phone opened its page would stay "serving",
             * never switching to its rating): one more after it settles the page */
            if (loading) loadSoon();
            return;
        }
        if (d.ticket && d.ticket.uuid === ticket.uuid) {
            if (kind === 'recall') seen = ''; /* called again: alert again */
            ticket = d.ticket;
            render();
            /* a fetch already on its way may answer with the state before
             * this event: one more after it settles the page on the truth */
            loadSoon();
        } else if (ticket.status === 'waiting' && (!d.ticket || d.ticket.service === ticket.service || kind === 'call')) {
            loadSoon(); /* the queue ahead moved */
        }
    }

    HQ.langButton(HQ.$('lang'));
    HQ.onLang(render);
    HQ.applyI18n(document);
    HQ.$('talert-ok').addEventListener('click', () => {
        dismissed = seen || '';
        HQ.$('talert').hidden = true;
        vibrate(0);
    });
    /* a touch lets the page sound: a short beep says it works */
    HQ.$('tsound').addEventListener('click', () => {
        const ctx = audioCtx();
        if (!ctx) return;
        ctx.resume().then(() => {
            beep(1);
            soundButton();
        }).catch(() => {});
    });
    HQ.$('trefresh').addEventListener('click', () => {
        load();
        if (!live.up()) live.open();
    });
    const live = HQ.live({ onStatus: onStatus, onEvent: onEvent, onLink: HQ.linkBadge(HQ.$('link')) });
    document.addEventListener('visibilitychange', () => {
        if (document.hidden) live.close();
        else {
            load();
            live.open();
        }
    });
})();
