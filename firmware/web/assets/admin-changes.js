/*
 * admin-changes.js — the dashboard's "运行时调整" section (issue 16): open and close a window,
 * (with its own keypad, rating pad and LED bar addresses, as a devices.windows[] entry of the
 * file), a window's services, a service's hours / quota / early close today, the display's notice,
 * and the list of what differs from the configuration file with a 撤销 / Revert button each.
 *
 * Every change is a POST to /api/v1/admin/... with the manager's session token (the one
 * admin.js keeps in sessionStorage); a refusal shows hallqd's own words (people_waiting:
 * "仍有群众等候，请指定改派窗口"). The list reloads after each change and on hallqd's
 * `override` event (admin.js passes it on as `hq-admin-override`). Text from hallqd reaches
 * the DOM as text only (HQ.h).
 */
'use strict';

(function () {
    const TOKEN_KEY = 'hallq.admin.token';
    const h = HQ.h;
    const $ = HQ.$;
    const t = HQ.t;
    const KIND = {
        window: ['窗口', 'Window'],
        hours: ['今日时间', "Today's hours"],
        quota: ['每日号源', 'Daily quota'],
        notice: ['大屏公告', 'Display notice'],
    };
    let overrides = [];
    let services = [];
    let buses = []; /* the device lines from /api/v1/status: {id, type} (hall_bus, led_bus) */

    const token = () => HQ.session(TOKEN_KEY);

    const api = (method, url, body) => HQ.request(method, url, body, token());

    function say(ok, body) {
        const el = $('chg-msg');
        el.classList.toggle('ok', !!ok);
        if (ok) HQ.text(el, t('已保存', 'Saved'));
        else HQ.text(el, t((body && body.message) || '操作失败', (body && body.message_en) || 'the request failed') +
            (body && body.detail ? ' (' + body.detail + ')' : ''));
    }

    const codes = (s) => s.split(/[,，\s]+/).map((x) => x.trim().toUpperCase()).filter((x) => x);
    const num = (id) => {
        const v = $(id).value.trim();
        return v === '' ? undefined : Number(v);
    };

    async function send(url, body) {
        const r = await api('POST', url, body);
        say(r.status === 200, r.body);
        if (r.status === 200 && Array.isArray(r.body.overrides)) {
            overrides = r.body.overrides;
            render();
        }
        return r.status === 200;
    }

    /* A temporary window's own devices as its override row keeps them (a devices.windows[]
     * entry): " · 呼叫器 7 · 评价器 37 · 窗口屏 7". */
    function devicesText(d) {
        if (!d) return '';
        const part = (zh, en, addr, bus) => addr ? ' · ' + t(zh, en) + ' ' + addr + (bus ? ' (' + bus + ')' : '') : '';
        return part('呼叫器', 'keypad', d.keypad, d.bus) + part('评价器', 'rating pad', d.pad, d.bus) +
            part('窗口屏', 'LED bar', d.bar, d.led_bus);
    }

    /* The bus choices of the open form: "" is the only bus of that kind (as in the file). */
    function renderBuses() {
        const fill = (id, type) => {
            const sel = $(id);
            const keep = sel.value;
            const mine = buses.filter((b) => b.type === type);
            const opts = [h('option', { value: '' }, mine.length === 1 ? mine[0].id : t('（请选择）', '(choose)'))];
            if (mine.length > 1) for (const b of mine) opts.push(h('option', { value: b.id }, b.id));
            HQ.fill(sel, opts);
            if (keep) sel.value = keep;
        };
        fill('chg-open-bus', 'hall_bus');
        fill('chg-open-led-bus', 'led_bus');
        $('chg-open-dev').hidden = !buses.length;
    }

    /* The device keys the form was given, as a devices.windows[] entry, or undefined. */
    function openDevices() {
        const d = {};
        for (const k of ['keypad', 'pad', 'bar']) {
            const v = num('chg-open-' + k);
            if (v !== undefined) d[k] = v;
        }
        if (d.keypad || d.pad) {
            const b = $('chg-open-bus').value;
            if (b) d.bus = b;
        }
        if (d.bar) {
            const b = $('chg-open-led-bus').value;
            if (b) d.led_bus = b;
        }
        return Object.keys(d).length ? d : undefined;
    }

    function valueText(o) {
        const v = o.value || {};
        if (o.kind === 'window') {
            const s = (v.services || []).join(', ');
            if (v.closed) return t('已关闭', 'closed');
            return (v.temporary ? t('临时窗口 ', 'temporary ') : '') + (v.name ? v.name + ' · ' : '') + s +
                devicesText(v.devices);
        }
        if (o.kind === 'hours') {
            if (v.closed) return t('提前停办：', 'closed early: ') + t(v.message || '', v.message_en || v.message || '');
            const hm = (m) => String(Math.floor(m / 60)).padStart(2, '0') + ':' + String(m % 60).padStart(2, '0');
            return hm(v.open) + '–' + hm(v.close);
        }
        if (o.kind === 'quota') return String(v.daily_quota);
        if (o.kind === 'notice') return t(v.notice || '', v.notice_en || v.notice || '');
        return JSON.stringify(v);
    }

    function render() {
        const rows = overrides.map((o) => {
            const k = KIND[o.kind] || [o.kind, o.kind];
            const target = o.kind === 'window' ? t(o.target + '号窗口', 'Window ' + o.target) : o.target;
            const btn = h('button', { type: 'button', class: 'btn-ghost revert', dataset: { id: String(o.id) } }, t('撤销', 'Revert'));
            btn.addEventListener('click', () => {
                const rr = num('chg-close-reroute');
                send('/api/v1/admin/overrides/' + o.id + '/revert', rr ? { reroute_to: rr } : {});
            });
            return h('tr', { dataset: { kind: o.kind, target: o.target } },
                h('td', null, t(k[0], k[1]) + (target ? ' · ' + target : '')),
                h('td', null, valueText(o)),
                h('td', null, o.actor || ''),
                h('td', null, (o.at || '').slice(11, 16)),
                h('td', null, btn));
        });
        if (!rows.length) rows.push(h('tr', null, h('td', { colspan: '5', class: 'hint' }, t('无，与配置文件一致', 'None: as the configuration file says'))));
        HQ.fill($('overrides'), rows);
        const sel = $('chg-svc-code');
        const keep = sel.value;
        HQ.fill(sel, services.map((s) => h('option', { value: s.code }, s.code + ' ' + t(s.name, s.name_en || s.name))));
        if (keep) sel.value = keep;
    }

    async function load() {
        const st = await api('GET', '/api/v1/status');
        if (st.status === 200 && Array.isArray(st.body.services)) services = st.body.services;
        if (st.status === 200 && Array.isArray(st.body.devices))
            buses = st.body.devices.filter((d) => d.type === 'hall_bus' || d.type === 'led_bus')
                .map((d) => ({ id: String(d.id).replace(/^bus:/, ''), type: d.type }));
        renderBuses();
        const r = await api('GET', '/api/v1/admin/overrides');
        if (r.status === 200) overrides = r.body.overrides || [];
        render();
    }

    function showFields() {
        const what = $('chg-svc-what').value;
        $('chg-svc-open').hidden = $('chg-svc-close').hidden = what !== 'hours';
        $('chg-svc-quota').hidden = what !== 'quota';
        $('chg-svc-msg').hidden = $('chg-svc-reroute').hidden = what !== 'close';
    }

    function init() {
        if (!$('changes')) return;
        const on = (id, fn) => $(id).addEventListener('submit', (ev) => {
            ev.preventDefault();
            fn();
        });
        on('chg-open', () => {
            const body = { number: num('chg-open-number'), services: codes($('chg-open-services').value) };
            const name = $('chg-open-name').value.trim();
            if (name) body.name = name;
            const dev = openDevices();
            if (dev) body.devices = dev;
            send('/api/v1/admin/windows', body);
        });
        on('chg-close', () => {
            const rr = num('chg-close-reroute');
            send('/api/v1/admin/windows/' + num('chg-close-number') + '/close', rr ? { reroute_to: rr } : {});
        });
        on('chg-wsvc', () => send('/api/v1/admin/windows/' + num('chg-wsvc-number') + '/services',
            { services: codes($('chg-wsvc-services').value) }));
        on('chg-svc', () => {
            const what = $('chg-svc-what').value;
            let body;
            if (what === 'hours') body = { hours: { open: $('chg-svc-open').value, close: $('chg-svc-close').value } };
            else if (what === 'quota') body = { daily_quota: num('chg-svc-quota') };
            else {
                body = { close: true, message: $('chg-svc-msg').value.trim() };
                const rr = num('chg-svc-reroute');
                if (rr) body.reroute_to = rr;
            }
            send('/api/v1/admin/services/' + encodeURIComponent($('chg-svc-code').value), body);
        });
        on('chg-notice', () => send('/api/v1/admin/notice', { notice: $('chg-notice-zh').value, notice_en: $('chg-notice-en').value }));
        $('chg-svc-what').addEventListener('change', showFields);
        showFields();
        document.addEventListener('hq-admin-start', load);
        document.addEventListener('hq-admin-override', load);
        HQ.onLang(() => {
            render();
            renderBuses();
        });
        if (token()) load();
    }

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
})();
