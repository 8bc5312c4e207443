/*
 * reports.js — the dashboard's 报表 section (/admin, issue 18).
 *
 * Figures of any period (day, week, month, year, from–to) from
 * GET /api/v1/admin/reports, as a table and Apache ECharts charts, with a
 * drill-down from the hall to its services, windows and clerks, the
 * exports (XLSX, CSV), the managers' exclusions (approved absences, test
 * tickets, device faults) and a link to each clerk's printable monthly 考核
 * page (/admin/assessment, in the same tab: the session is the tab's). It shares the manager session of admin.js (the
 * token in sessionStorage) and starts when the dashboard shows. Every name
 * reaches the DOM as text (HQ.h) and the charts as data.
 */
'use strict';

(function () {
    const TOKEN_KEY = 'hallq.admin.token';
    const h = HQ.h;
    const $ = HQ.$;
    const t = HQ.t;
    const BY = { hall: ['全厅', 'Hall'], service: ['业务', 'Services'], window: ['窗口', 'Windows'], clerk: ['工作人员', 'Clerks'] };
    const WEEK = [['日', 'Sun'], ['一', 'Mon'], ['二', 'Tue'], ['三', 'Wed'], ['四', 'Thu'], ['五', 'Fri'], ['六', 'Sat']];

    let report = null;
    let selected = null; /* the row whose hours and weekdays the charts show */
    let exclusions = [];
    let started = false;

    const token = () => HQ.session(TOKEN_KEY);

    const api = (method, url, body) => HQ.request(method, url, body, token());
    const errText = (b) => t((b && b.message) || '操作失败', (b && b.message_en) || 'the request failed');

    /* ------------------------------------------------------- the period */

    const iso = (d) => d.toISOString().slice(0, 10);
    const parse = (s) => new Date(s + 'T00:00:00Z');

    function period() {
        const kind = $('rep-period').value;
        let from = parse($('rep-from').value || HQ.hallDay());
        let to = parse($('rep-to').value || $('rep-from').value || HQ.hallDay());
        if (kind === 'day') to = new Date(from);
        if (kind === 'week') {
            from.setUTCDate(from.getUTCDate() - ((from.getUTCDay() + 6) % 7)); /* Monday */
            to = new Date(from);
            to.setUTCDate(to.getUTCDate() + 6);
        }
        if (kind === 'month') {
            from = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1));
            to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 0));
        }
        if (kind === 'year') {
            from = new Date(Date.UTC(from.getUTCFullYear(), 0, 1));
            to = new Date(Date.UTC(from.getUTCFullYear(), 11, 31));
        }
        if (to < from) to = new Date(from);
        return { from: iso(from), to: iso(to) };
    }

    function query(extra) {
        const p = period();
        return '/api/v1/admin/reports?from=' + p.from + '&to=' + p.to + '&by=' + $('rep-by').value + (extra || '');
    }

    /* ---------------------------------------------------------- formats */

    function mins(s) {
        if (s === null || s === undefined) return '—';
        return s < 60 ? t(Math.round(s) + ' 秒', Math.round(s) + ' s') : t((s / 60).toFixed(1) + ' 分', (s / 60).toFixed(1) + ' min');
    }
    const hours = (s) => (s ? t((s / 3600).toFixed(1) + ' 小时', (s / 3600).toFixed(1) + ' h') : '—');
    const pct = (x) => (x === null || x === undefined ? '—' : (x * 100).toFixed(1) + '%');
    const nameOf = (r) => t(r.name, r.name_en || r.name);

    /* ------------------------------------------------------------ load */

    async function load() {
        const p = period();
        $('rep-from').value = p.from;
        $('rep-to').value = p.to;
        HQ.text($('rep-msg'), '');
        const r = await api('GET', query());
        if (r.status !== 200) {
            HQ.text($('rep-msg'), errText(r.body));
            return;
        }
        report = r.body;
        selected = report.rows.length ? report.rows[0].key : null;
        render();
        loadExclusions();
    }

    async function loadExclusions() {
        const p = period();
        const r = await api('GET', '/api/v1/admin/reports/exclusions?from=' + p.from + '&to=' + p.to);
        exclusions = r.status === 200 ? r.body.exclusions || [] : [];
        renderExclusions();
    }

    /* ---------------------------------------------------------- render */

    function drill(by) {
        $('rep-by').value = by;
        load();
    }

    function crumbs() {
        const by = report ? report.by : $('rep-by').value;
        const items = [h('button', { type: 'button', class: 'crumb' + (by === 'hall' ? ' on' : ''), 'data-by': 'hall' }, t('全厅', 'Hall'))];
        if (by !== 'hall') items.push(h('span', null, ' › '), h('span', { class: 'crumb on' }, t(BY[by][0], BY[by][1])));
        HQ.fill($('rep-crumbs'), items);
    }

    function excludedText(tot) {
        const x = tot.excluded || {};
        const parts = [];
        if (x.test_tickets) parts.push(t('测试号票 ' + x.test_tickets + ' 张', x.test_tickets + ' test tickets'));
        if (x.fault_waits) parts.push(t('故障期间等候 ' + x.fault_waits + ' 人次', x.fault_waits + ' waits in device faults'));
        if (x.absence_s) parts.push(t('请假等 ' + hours(x.absence_s), 'approved absence ' + hours(x.absence_s)));
        if (x.fault_s) parts.push(t('设备故障 ' + hours(x.fault_s), 'device faults ' + hours(x.fault_s)));
        return parts.length ? t('已按规定排除：', 'Excluded as the rules say: ') + parts.join(t('；', '; ')) : '';
    }

    function render() {
        crumbs();
        if (!report) return;
        HQ.text($('rep-excluded'), excludedText(report.total || {}));
        const by = report.by;
        HQ.fill(
            $('rep-rows'),
            report.rows.map((r) => {
                const at = r.attendance || {};
                const actions = [];
                if (by === 'hall') {
                    for (const b of ['service', 'window', 'clerk'])
                        actions.push(h('button', { type: 'button', class: 'btn-ghost drill', 'data-by': b }, t('按' + BY[b][0], 'by ' + BY[b][1].toLowerCase())));
                }
                if (by === 'clerk') {
                    const month = report.from.slice(0, 7);
                    actions.push(h('button', { type: 'button', class: 'btn-ghost assess', 'data-staff': r.key, 'data-month': month }, t('考核表', 'Assessment')));
                }
                return h('tr', { 'data-key': r.key, class: r.key === selected ? 'sel' : '' },
                    h('td', { class: 'name' }, nameOf(r)),
                    h('td', { class: 'num' }, String(r.arrivals)),
                    h('td', { class: 'num' }, String(r.served)),
                    h('td', { class: 'num' }, String(r.no_show)),
                    h('td', { class: 'num' }, String(r.transferred)),
                    h('td', { class: 'num' }, mins(r.wait.mean_s)),
                    h('td', { class: 'num' }, mins(r.wait.p90_s)),
                    h('td', { class: 'num' }, pct(r.wait.over_share)),
                    h('td', { class: 'num' }, mins(r.handle.mean_s)),
                    h('td', { class: 'num' }, pct(r.ratings.satisfaction)),
                    h('td', { class: 'num' }, r.ratings.bad + t('（', ' (') + r.ratings.bad_open + t('）', ')')),
                    h('td', { class: 'num' }, pct(r.ratings.coverage)),
                    h('td', { class: 'num' }, hours(at.signed_in_s)),
                    h('td', { class: 'num' }, hours(at.pause_s)),
                    h('td', { class: 'num idle' }, at.idle_s ? mins(at.idle_s) : '—'),
                    h('td', { class: 'num' }, at.served_per_hour === null ? '—' : String(at.served_per_hour)),
                    h('td', { class: 'acts' }, actions));
            })
        );
        renderCharts();
    }

    function chartOf(id, height) {
        const box = $(id);
        let c = echarts.getInstanceByDom(box);
        if (!c) {
            HQ.fill(box);
            c = echarts.init(box, null, { renderer: 'svg', height: height });
        }
        return c;
    }

    function renderCharts() {
        const row = report.rows.find((r) => r.key === selected) || report.total;
        HQ.text($('rep-chart-name'), row ? nameOf(row) : '');
        const legend = [t('取号', 'Arrivals'), t('办结', 'Served')];
        const hourLabels = [];
        for (let i = 0; i < 24; i++) hourLabels.push(String(i));
        chartOf('rep-chart-hour', 240).setOption({
            animation: false,
            legend: { data: legend, top: 0 },
            tooltip: { trigger: 'axis' },
            grid: { left: 44, right: 12, top: 30, bottom: 28 },
            xAxis: { type: 'category', data: hourLabels },
            yAxis: { type: 'value', minInterval: 1 },
            series: [
                { name: legend[0], type: 'bar', data: row.by_hour.arrivals, itemStyle: { color: '#1560c4' } },
                { name: legend[1], type: 'bar', data: row.by_hour.served, itemStyle: { color: '#2e8b57' } },
            ],
        }, true);
        /* Monday first, as a Chinese week */
        const order = [1, 2, 3, 4, 5, 6, 0];
        chartOf('rep-chart-week', 240).setOption({
            animation: false,
            legend: { data: legend, top: 0 },
            tooltip: { trigger: 'axis' },
            grid: { left: 44, right: 12, top: 30, bottom: 28 },
            xAxis: { type: 'category', data: order.map((d) => t('周' + WEEK[d][0], WEEK[d][1])) },
            yAxis: { type: 'value', minInterval: 1 },
            series: [
                { name: legend[0], type: 'bar', data: order.map((d) => row.by_weekday.arrivals[d]), itemStyle: { color: '#1560c4' } },
                { name: legend[1], type: 'bar', data: order.map((d) => row.by_weekday.served[d]), itemStyle: { color: '#2e8b57' } },
            ],
        }, true);
        const rows = report.rows;
        chartOf('rep-chart-rows', 260).setOption({
            animation: false,
            legend: { top: 0 },
            tooltip: { trigger: 'axis' },
            grid: { left: 44, right: 44, top: 30, bottom: 40 },
            xAxis: { type: 'category', data: rows.map(nameOf), axisLabel: { interval: 0, rotate: rows.length > 8 ? 30 : 0, width: 90, overflow: 'truncate' } },
            yAxis: [{ type: 'value', minInterval: 1 }, { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } }],
            series: [
                { name: t('办结', 'Served'), type: 'bar', data: rows.map((r) => r.served), itemStyle: { color: '#0f4c9c' } },
                { name: t('满意率', 'Satisfied'), type: 'line', yAxisIndex: 1, data: rows.map((r) => (r.ratings.satisfaction === null ? null : Math.round(r.ratings.satisfaction * 1000) / 10)), itemStyle: { color: '#2e8b57' } },
            ],
        }, true);
    }

    const KIND = { absence: ['请假/培训/外出', 'Approved absence'], test: ['测试号票', 'Test ticket'], fault: ['设备故障', 'Device fault'] };

    function renderExclusions() {
        const fmt = (s) => {
            const d = new Date(s * 1000 + 8 * 3600 * 1000);
            return d.toISOString().slice(0, 16).replace('T', ' ');
        };
        HQ.fill(
            $('excl-list'),
            exclusions.map((e) =>
                h('li', { 'data-kind': e.kind },
                    h('b', null, t(KIND[e.kind][0], KIND[e.kind][1])), ' ',
                    e.staff ? t('工号 ', 'staff ') + e.staff + ' ' : '',
                    e.window ? t(e.window + '号窗口 ', 'window ' + e.window + ' ') : '',
                    e.ticket ? e.ticket + ' ' : '',
                    fmt(e.from) + ' – ' + fmt(e.to) + ' · ' + e.reason,
                    h('span', { class: 'by' }, ' (' + (e.created_by || '') + ') '),
                    h('button', { class: 'btn-ghost excl-revoke', type: 'button', dataset: { id: String(e.id) } }, t('撤销', 'Revoke'))))
        );
    }

    /* An exclusion recorded by mistake: revoked (kept on the box with who and when), and the
     * days it touched are counted again. */
    async function revokeExclusion(id) {
        const r = await api('POST', '/api/v1/admin/reports/exclusions/' + encodeURIComponent(id) + '/revoke', {});
        const msg = $('excl-msg');
        if (r.status === 200) {
            HQ.text(msg, t('已撤销', 'revoked'));
            load();
        } else {
            HQ.text(msg, errText(r.body));
        }
    }

    async function addExclusion(ev) {
        ev.preventDefault();
        const body = {
            kind: $('excl-kind').value,
            from: $('excl-from').value,
            to: $('excl-to').value || $('excl-from').value,
            reason: $('excl-reason').value.trim(),
        };
        if ($('excl-staff').value.trim()) body.staff = $('excl-staff').value.trim();
        if ($('excl-window').value.trim()) body.window = Number($('excl-window').value.trim());
        if ($('excl-ticket').value.trim()) body.ticket = $('excl-ticket').value.trim().toUpperCase();
        const r = await api('POST', '/api/v1/admin/reports/exclusions', body);
        const msg = $('excl-msg');
        if (r.status === 200) {
            HQ.text(msg, t('已登记，重算 ' + r.body.rebuilt_days + ' 天', 'recorded; ' + r.body.rebuilt_days + ' day(s) recalculated'));
            $('excl-reason').value = '';
            load();
        } else {
            HQ.text(msg, errText(r.body));
        }
    }

    async function download(fmt) {
        const p = period();
        let res;
        try {
            res = await fetch(query('&format=' + fmt), { headers: { Authorization: 'Bearer ' + token() }, cache: 'no-store' });
        } catch (e) {
            res = null;
        }
        if (!res || res.status !== 200) {
            HQ.text($('rep-msg'), t('导出失败', 'export failed'));
            return;
        }
        const url = URL.createObjectURL(await res.blob());
        const a = document.createElement('a');
        a.href = url;
        a.download = '报表-' + $('rep-by').value + '-' + p.from + '_' + p.to + '.' + fmt;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 30000);
    }

    function init() {
        $('rep-from').value = HQ.hallDay();
        $('excl-from').value = HQ.hallDay();
        $('rep-go').addEventListener('click', load);
        $('rep-by').addEventListener('change', load);
        $('rep-period').addEventListener('change', load);
        $('rep-xlsx').addEventListener('click', () => download('xlsx'));
        $('rep-csv').addEventListener('click', () => download('csv'));
        $('excl-form').addEventListener('submit', addExclusion);
        $('excl-list').addEventListener('click', (ev) => {
            const b = ev.target.closest('button.excl-revoke');
            if (b) revokeExclusion(b.dataset.id);
        });
        $('rep-crumbs').addEventListener('click', (ev) => {
            const b = ev.target.closest('button[data-by]');
            if (b) drill(b.dataset.by);
        });
        $('rep-rows').addEventListener('click', (ev) => {
            const b = ev.target.closest('button.drill');
            if (b) {
                drill(b.dataset.by);
                return;
            }
            const a = ev.target.closest('button.assess');
            if (a) {
                /* same tab: the session is this tab's (sessionStorage) */
                location.assign('/admin/assessment?staff=' + encodeURIComponent(a.dataset.staff) + '&month=' + encodeURIComponent(a.dataset.month));
                return;
            }
            const tr = ev.target.closest('tr[data-key]');
            if (tr) {
                selected = tr.dataset.key;
                render();
            }
        });
        HQ.onLang(render);
        window.addEventListener('resize', () => {
            for (const id of ['rep-chart-hour', 'rep-chart-week', 'rep-chart-rows']) {
                const c = echarts.getInstanceByDom($(id));
                if (c) c.resize();
            }
        });
        /* the dashboard shows once signed in: load then (admin.js owns the session) */
        const dash = $('dash');
        const maybe = () => {
            if (!dash.hidden && token() && !started) {
                started = true;
                load();
            }
            if (dash.hidden) started = false;
        };
        new MutationObserver(maybe).observe(dash, { attributes: true, attributeFilter: ['hidden'] });
        maybe();
    }

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
})();
