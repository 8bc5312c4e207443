/*
 * assessment.js — one clerk's monthly 考核 sheet (/admin/assessment?staff=&month=YYYY-MM).
 *
 * Two calls to GET /api/v1/admin/reports for the month (by clerk, and the
 * hall for comparison) with the dashboard's manager session; every figure
 * is written as text. Printing is the browser's (A4, assessment.css).
 */
'use strict';

(function () {
    const TOKEN_KEY = 'hallq.admin.token';
    const h = HQ.h;
    const $ = HQ.$;
    const t = HQ.t;
    let data = null;

    const token = () => HQ.session(TOKEN_KEY);

    const get = (url) => HQ.request('GET', url, undefined, token());

    const mins = (s) => (s === null || s === undefined ? '—' : t((s / 60).toFixed(1) + ' 分钟', (s / 60).toFixed(1) + ' min'));
    const hours = (s) => t(((s || 0) / 3600).toFixed(1) + ' 小时', ((s || 0) / 3600).toFixed(1) + ' h');
    const pct = (x) => (x === null || x === undefined ? '—' : (x * 100).toFixed(1) + '%');
    const num = (x) => (x === null || x === undefined ? '—' : String(x));

    function rows(tbody, list) {
        HQ.fill(tbody, list.map((r) => h('tr', { 'data-fig': r[0] }, h('td', null, t(r[1], r[2])), ...r.slice(3).map((v) => h('td', null, v)))));
    }

    function render() {
        if (!data) return;
        const c = data.clerk;
        const hall = data.hall;
        HQ.text($('hall'), data.hallName);
        HQ.text($('name'), c.name);
        HQ.text($('staff'), c.key);
        HQ.text($('month'), data.month);
        rows($('service-rows'), [
            ['served', '办结量', 'Served', num(c.served), num(hall.served)],
            ['no_show', '过号', 'No-shows', num(c.no_show), num(hall.no_show)],
            ['transferred', '转移', 'Transfers', num(c.transferred), num(hall.transferred)],
            ['wait', '平均等候', 'Mean wait', mins(c.wait.mean_s), mins(hall.wait.mean_s)],
            ['handle', '平均办理时长', 'Mean handling', mins(c.handle.mean_s), mins(hall.handle.mean_s)],
            ['handle_p90', '办理时长P90', 'Handling p90', mins(c.handle.p90_s), mins(hall.handle.p90_s)],
            ['over_limit', '超时办理（件）', 'Over the time limit', num(c.handle.over_limit), num(hall.handle.over_limit)],
            ['walk', '叫号到窗时长', 'Call to start', mins(c.walk_mean_s), mins(hall.walk_mean_s)],
        ]);
        rows($('rating-rows'), [
            ['ratings', '评价数', 'Ratings', num(c.ratings.count), num(hall.ratings.count)],
            ['satisfaction', '满意率', 'Satisfied', pct(c.ratings.satisfaction), pct(hall.ratings.satisfaction)],
            ['bad', '差评', 'Bad ratings', num(c.ratings.bad), num(hall.ratings.bad)],
            ['bad_open', '差评未办结', 'Bad, follow-up open', num(c.ratings.bad_open), num(hall.ratings.bad_open)],
            ['coverage', '评价覆盖率', 'Rated / finished', pct(c.ratings.coverage), pct(hall.ratings.coverage)],
        ]);
        const at = c.attendance;
        const reasons = Object.keys(at.pause_by_reason || {});
        rows($('attendance-rows'), [
            ['signed_in', '签到在岗时长', 'Signed in', hours(at.signed_in_s)],
            ['pause', '暂停时长', 'Paused', hours(at.pause_s)],
            ...reasons.map((r) => ['pause_' + r, '　其中 ' + r, '  of which ' + r, hours(at.pause_by_reason[r])]),
            ['idle', '空岗时长（有人等候时空闲）', 'Idle while people waited', mins(at.idle_s)],
            ['per_hour', '在岗每小时办结', 'Served per hour on duty', num(at.served_per_hour)],
        ]);
        const x = c.excluded;
        const parts = [];
        if (x.absence_s) parts.push(t('批准的请假/培训/会议/外出办事 ' + hours(x.absence_s) + '（期间不计空岗）', 'approved absence ' + hours(x.absence_s) + ' (no idle time counted in it)'));
        if (x.test_tickets) parts.push(t('测试号票 ' + x.test_tickets + ' 张（不计入办件与评价）', x.test_tickets + ' test tickets (not counted)'));
        if (x.fault_waits) parts.push(t('设备故障期间的等候 ' + x.fault_waits + ' 人次', x.fault_waits + ' waits during device faults'));
        HQ.text($('excluded'), parts.length ? parts.join(t('；', '; ')) : t('无', 'None'));
    }

    async function load() {
        const q = new URLSearchParams(location.search);
        const staff = q.get('staff') || '';
        const month = /^\d{4}-\d{2}$/.test(q.get('month') || '') ? q.get('month') : HQ.hallDay().slice(0, 7);
        const y = Number(month.slice(0, 4));
        const m = Number(month.slice(5, 7));
        const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
        const range = 'from=' + month + '-01&to=' + month + '-' + (last < 10 ? '0' : '') + last;
        const [a, b, s] = await Promise.all([
            get('/api/v1/admin/reports?' + range + '&by=clerk'),
            get('/api/v1/admin/reports?' + range + '&by=hall'),
            get('/api/v1/status'),
        ]);
        if (a.status !== 200 || b.status !== 200) {
            HQ.text($('msg'), a.status === 401 ? t('请先在管理看板登录', 'sign in on the dashboard first') : t('无法读取报表', 'the report could not be read'));
            return;
        }
        const clerk = (a.body.rows || []).find((r) => r.key === staff);
        if (!clerk) {
            HQ.text($('msg'), t('该月无此工作人员的记录', 'no records of this clerk in that month'));
            return;
        }
        data = { clerk: clerk, hall: b.body.rows[0], month: month, hallName: (s.body.hall && s.body.hall.name) || '' };
        render();
        document.body.dataset.ready = '1';
    }

    function init() {
        HQ.applyI18n(document);
        HQ.langButton($('lang'));
        HQ.onLang(render);
        $('print').addEventListener('click', () => window.print());
        load();
    }

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
})();
