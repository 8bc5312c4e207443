/*
 * ticket.js — one ticket's status page (/t/{uuid}) on a citizen's phone.
 * Live while visible: the event stream tells when this ticket changes (then
 * its own JSON comes with the event) or when its queue moves (then the
 * ticket is fetched again, at most once a second). A hidden page closes
 * the stream — phones must not hold the hall's few event-stream slots — and
 * fetches once when shown again. No polling loop.
 */
'use strict';

(function () {
    const m = /^\/t\/([0-9A-Za-z-]{1,64})\/?$/.exec(location.pathname);
    const key = m ? m[1] : '';
    let ticket = null;
    let missing = false;
    let fetchT = 0;

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

    function render() {
        const st = HQ.$('tstatus');
        if (missing) {
            HQ.text(HQ.$('tnum'), '—');
            HQ.text(st, HQ.t('未找到该号票', 'No such ticket'));
            st.className = 'tstatus gone';
            HQ.$('tfacts').hidden = true;
            return;
        }
        if (!ticket) return;
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
        const r = await HQ.request('GET', '/api/v1/tickets/' + encodeURIComponent(key));
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
        HQ.text(HQ.$('hall-name'), HQ.t(hall.name || '', hall.name_en));
        load();
    }
    function onEvent(kind, d) {
        if (!ticket || kind === 'card') return;
        if (d.ticket && d.ticket.uuid === ticket.uuid) {
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
