/*
 * window.js — one window's screen (/display/window/{n}): its name, the clerk
 * on duty and staff number, the ticket called or being served, and a full
 * "暂停服务" when the clerk pauses. The window number comes from the URL;
 * each event carries the window's whole state, so a render is a replace.
 */
'use strict';

(function () {
    const h = HQ.h;
    const m = /\/window\/(\d+)\/?$/.exec(location.pathname);
    const num = m ? parseInt(m[1], 10) : 0;
    let win = null;
    let known = true; /* false when the hall has no such window */

    const STATE = {
        closed: ['暂未开放', 'Not open'],
        idle: ['欢迎光临', 'Welcome'],
        calling: ['请', 'Ticket'],
        serving: ['正在办理', 'Now serving'],
        paused: ['暂停服务', 'Paused'],
    };

    function render() {
        HQ.text(HQ.$('wno'), num || '?');
        if (!known) {
            HQ.text(HQ.$('wname'), HQ.t('未配置的窗口', 'No such window'));
            HQ.text(HQ.$('wstate'), '');
            HQ.text(HQ.$('wnum'), HQ.t('窗口 ' + num + ' 不存在', 'window ' + num + ' does not exist'));
            HQ.$('wnum').className = 'wnum none';
            return;
        }
        if (!win) return;
        HQ.text(HQ.$('wname'), HQ.windowName(win));
        document.title = HQ.windowName(win) + ' · hallq';
        const cur = win.current && win.current.number && (win.state === 'calling' || win.state === 'serving') ? win.current : null;
        const st = STATE[win.state] || [win.state, win.state];
        HQ.text(HQ.$('wstate'), cur || win.state !== 'idle' ? HQ.t(st[0], st[1]) : '');
        const n = HQ.$('wnum');
        if (cur) {
            HQ.text(n, cur.number);
            n.className = 'wnum ' + win.state;
            /* 帮办/陪同: the guide desk asked the window to help this citizen through */
            HQ.fill(HQ.$('wsvc'), HQ.serviceName(cur) + (cur.priority_label ? ' · ' + HQ.priorityText(cur) : ''),
                cur.assist ? h('span', { class: 'assist', id: 'wassist' }, HQ.t('帮办 / 陪同', 'Assisted service')) : null);
        } else {
            HQ.text(n, win.state === 'closed' ? HQ.t('本窗口暂未开放', 'This window is closed') : HQ.t('欢迎光临', 'Welcome'));
            n.className = 'wnum none';
            HQ.text(HQ.$('wsvc'), win.state === 'idle' ? HQ.t('请留意叫号', 'Please wait for your number') : '');
        }
        HQ.$('paused').hidden = win.state !== 'paused';
        const s = win.staff;
        HQ.fill(HQ.$('wstaff'), s
            ? [h('span', null, h('span', { class: 'muted' }, HQ.t('工作人员 ', 'Clerk ')), h('b', { class: 'staff-name' }, s.name)),
                h('span', null, h('span', { class: 'muted' }, HQ.t('工号 ', 'Staff no. ')), h('b', { class: 'staff-id' }, s.id))]
            : h('span', { class: 'muted' }, HQ.t('暂无工作人员', 'No clerk on duty')));
    }

    function onStatus(st) {
        win = null;
        for (const w of st.windows || []) if (w.number === num) win = w;
        known = !!win;
        render();
    }
    function onEvent(kind, d) {
        if (!d.window || d.window.number !== num) return;
        win = d.window;
        known = true;
        render();
        if (HQ.CALL_KINDS[kind]) HQ.flash(HQ.$('wmain'), 'flash');
    }

    HQ.$('wmain').addEventListener('animationend', () => HQ.$('wmain').classList.remove('flash'));
    HQ.langButton(HQ.$('lang'));
    HQ.onLang(render);
    HQ.applyI18n(document);
    HQ.clock(HQ.$('clock'), null, false);
    render();
    HQ.live({ onStatus: onStatus, onEvent: onEvent, onLink: HQ.linkBadge(HQ.$('link')) });
})();
