/*
 * test_reports.js — the dashboard's 报表 section and the printable 考核 page
 * (issue 18) in headless Chromium against the real hallqd: the month's
 * figures in the table equal the API's, the drill-down from the hall to its
 * clerks, the ECharts charts fed the selected row's hours, a test ticket
 * recorded from the form and the figures saying they left it out, the XLSX
 * download, the English switch, a laptop-sized screen without a page-wide
 * scroll bar, and a clerk's monthly sheet that prints on one A4 page.
 * Screenshots go to BUILD/artefacts/reports-*.png.
 */
'use strict';

const fs = require('node:fs');
const H = require('./harness');

const { check, eq, done } = H.checks('test_reports.js');

const { MGR, MGR_PIN } = H;

async function serve(hall, w, level) {
    const r = await hall.issue('A');
    eq(r.status, 201, 'issue');
    for (const a of ['call-next', 'start', 'finish']) eq((await hall.window(w, a)).status, 200, 'window ' + w + ' ' + a);
    eq((await hall.window(w, 'rating', { level: level })).status, 200, 'rating ' + level);
    return r.body.ticket;
}

async function main() {
    const cfg = H.baseConfig();
    await H.withDashboard(cfg, async (hall, br) => {
        eq((await hall.setPin(MGR, MGR_PIN)).status, 200, 'manager PIN set');
        eq((await hall.window(1, 'login', { staff: '1001' })).status, 200, 'window 1 login');
        await serve(hall, 1, 5);
        await serve(hall, 1, 2);
        eq((await hall.window(1, 'pause')).status, 200, 'pause');
        eq((await hall.window(1, 'resume')).status, 200, 'resume');
        const test = await hall.issue('A');
        eq(test.status, 201, 'a ticket the manager will mark as a test');

        const page = await br.newPage({ width: 1600, height: 1300 });
        await page.goto(hall.url + '/admin');
        await page.locator('#login-form').waitFor({ state: 'visible', timeout: 5000 });
        await H.adminSignIn(page);
        await page.locator('#rep-rows tr[data-key="hall"]').waitFor({ timeout: 8000 });
        const token = await page.evaluate(() => sessionStorage.getItem('hallq.admin.token'));
        const from = await page.inputValue('#rep-from');
        const to = await page.inputValue('#rep-to');
        check(from.endsWith('-01'), 'the month starts on the 1st: ' + from);
        const api = await hall.get('/api/v1/admin/reports?from=' + from + '&to=' + to + '&by=hall', token);
        eq(api.status, 200, 'the same report from the API');
        const cells = await page.locator('#rep-rows tr[data-key="hall"] td').allTextContents();
        eq(cells[0], '全厅', 'the hall row named in Chinese');
        eq(cells[1], String(api.body.rows[0].arrivals), 'arrivals as the API says');
        eq(cells[2], '2', 'two served');
        eq(cells[9], '50.0%', '满意率 of a 5 and a 2');
        await H.artefact(page.locator('#reports'), 'reports-hall.png');

        /* drill down to the clerks */
        await page.click('#rep-rows tr[data-key="hall"] button.drill[data-by="clerk"]');
        await page.locator('#rep-rows tr[data-key="1001"]').waitFor({ timeout: 5000 });
        eq(await page.inputValue('#rep-by'), 'clerk', 'by clerk now');
        check((await page.textContent('#rep-crumbs')).includes('工作人员'), 'the crumbs say where we are');
        eq((await page.locator('#rep-rows tr[data-key="1001"] td').allTextContents())[0], '王芳', 'the clerk by name');
        await page.click('#rep-rows tr[data-key="1001"] td.name');
        check(await page.locator('#rep-rows tr[data-key="1001"].sel').count() === 1, 'the row selected');
        eq(await page.textContent('#rep-chart-name'), '王芳', 'the charts show the clerk');
        const served = await page.evaluate(() => {
            const c = echarts.getInstanceByDom(document.getElementById('rep-chart-hour'));
            return c.getOption().series[1].data.reduce((n, v) => n + v, 0);
        });
        eq(served, 2, 'the hour chart adds up to the clerk\'s two served');
        check(await page.locator('#rep-chart-week svg').count() === 1, 'weekday chart drawn (SVG)');
        await page.click('#rep-crumbs button[data-by="hall"]');
        await page.locator('#rep-rows tr[data-key="hall"]').waitFor({ timeout: 5000 });

        /* a test ticket marked from the form */
        await page.click('#reports details.rep-excl summary');
        await page.selectOption('#excl-kind', 'test');
        await page.fill('#excl-ticket', test.body.ticket.number);
        await page.fill('#excl-reason', '打印测试');
        await page.click('#excl-form button[type=submit]');
        await page.locator('#excl-list li[data-kind="test"]').waitFor({ timeout: 5000 });
        await page.waitForFunction(() => document.getElementById('rep-excluded').textContent.includes('测试号票 1 张'), null, { timeout: 5000 }).catch(() => {});
        check((await page.textContent('#rep-excluded')).includes('测试号票 1 张'), 'the report says it left the test ticket out');
        eq((await page.locator('#rep-rows tr[data-key="hall"] td').allTextContents())[1], '2', 'and arrivals no longer count it');

        /* marked by mistake: revoked from the list, and the ticket counts again */
        await page.click('#excl-list li[data-kind="test"] button.excl-revoke');
        await page.locator('#excl-list li[data-kind="test"]').waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
        eq(await page.locator('#excl-list li').count(), 0, 'the revoked exclusion left the list');
        await page.waitForFunction(() => document.querySelector('#rep-rows tr[data-key="hall"] td:nth-child(2)').textContent === '3', null, { timeout: 5000 }).catch(() => {});
        eq((await page.locator('#rep-rows tr[data-key="hall"] td').allTextContents())[1], '3', 'arrivals count the test ticket again');
        eq((await hall.get('/api/v1/admin/reports/exclusions?from=' + from + '&to=' + to, H.MANAGER)).body.exclusions, [], 'none left in force on hallqd');
        /* marked again for the rest of the test */
        await page.fill('#excl-ticket', test.body.ticket.number);
        await page.fill('#excl-reason', '打印测试');
        await page.click('#excl-form button[type=submit]');
        await page.locator('#excl-list li[data-kind="test"]').waitFor({ timeout: 5000 });

        /* the XLSX download */
        const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 8000 }), page.click('#rep-xlsx')]);
        const file = fs.readFileSync(await dl.path());
        eq(file.slice(0, 2).toString(), 'PK', 'an XLSX (zip) downloaded');
        check(dl.suggestedFilename().endsWith('.xlsx'), 'named .xlsx');

        /* English */
        await page.click('#lang');
        eq((await page.locator('#reports h2').first().textContent()).trim(), 'Reports', 'the section in English');
        eq((await page.locator('#rep-rows tr[data-key="hall"] td').allTextContents())[0], 'Hall', 'the hall row in English');
        await page.click('#lang');

        /* a laptop screen: the table scrolls inside its card, not the page */
        await page.setViewportSize({ width: 1024, height: 768 });
        await page.waitForTimeout(300);
        check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no page-wide horizontal scroll at 1024 px');
        await H.artefact(page.locator('#reports'), 'reports-1024.png');

        /* the clerk's monthly sheet */
        await page.setViewportSize({ width: 1400, height: 1200 });
        await page.selectOption('#rep-by', 'clerk');
        await page.locator('#rep-rows tr[data-key="1001"] button.assess').waitFor({ timeout: 5000 });
        await page.click('#rep-rows tr[data-key="1001"] button.assess');
        await page.waitForURL(/\/admin\/assessment\?staff=1001/, { timeout: 5000 });
        await page.locator('body[data-ready="1"]').waitFor({ timeout: 5000 });
        eq(await page.textContent('#name'), '王芳', 'the sheet names the clerk');
        eq(await page.textContent('#hall'), '测试大厅', 'and the hall');
        eq(await page.textContent('tr[data-fig="served"] td:nth-child(2)'), '2', 'served on the sheet');
        eq(await page.textContent('tr[data-fig="satisfaction"] td:nth-child(2)'), '50.0%', '满意率 on the sheet');
        check((await page.textContent('#attendance-rows')).includes('暂停'), 'attendance with pause time');
        await page.emulateMedia({ media: 'print' });
        check(await page.locator('.tools').isHidden(), 'the tools bar does not print');
        await H.artefact(page, 'reports-assessment.png');
        const pdf = await page.pdf({ preferCSSPageSize: true });
        fs.writeFileSync(H.ARTEFACTS + '/reports-assessment.pdf', pdf);
        const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
        eq(pages, 1, 'the monthly sheet prints on one A4 page');
        const box = pdf.toString('latin1').match(/\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)/);
        check(box && Math.abs(Number(box[1]) - 595.9) < 2 && Math.abs(Number(box[2]) - 842.9) < 2, 'A4 (595 x 842 pt): ' + (box && box.slice(1)));
        eq(page.hq.errors, [], 'no page errors');
    });
    process.exit(done());
}

main().catch((e) => {
    console.log('FAIL: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
});
