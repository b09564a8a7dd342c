// Screenshots for a person to look at (target/dashboard/desktop.png, 1280 wide, and phone.png,
// 390 wide, both the full page), and the phone layout: the sections in one column, the cards at
// most two a row and each wide enough to read, no sideways scrolling.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { A, SHOTS, launch, open, userToken } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function shot(width, height, name) {
    const page = await open(browser, { token: userToken([A]), width, height });
    const path = join(SHOTS, name);
    await page.screenshot({ path, fullPage: true });
    assert.ok(statSync(path).size > 10_000, `${path} holds a picture`);
    return page;
}

test('desktop (1280 px): a full-page screenshot; the cards sit side by side', async () => {
    const page = await shot(1280, 900, 'desktop.png');
    const tops = await page.$$eval('#summary .card', (cs) => cs.map((c) => Math.round(c.getBoundingClientRect().top)));
    assert.ok(new Set(tops).size < tops.length, `some cards share a row (tops ${tops})`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no sideways scrolling');
    await page.close();
});

test('phone (390 px): a full-page screenshot, sections in one column, cards two a row at most, no sideways scrolling, the chart fits', async () => {
    const page = await shot(390, 844, 'phone.png');
    const layout = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth, innerWidth,
        cards: [...document.querySelectorAll('#summary .card')].map((c) => { const r = c.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; }),
        sections: [...document.querySelectorAll('main section')].map((s) => Math.round(s.getBoundingClientRect().left)),
        chart: (() => { const r = document.querySelector('svg.trend-chart')?.getBoundingClientRect(); return r && [r.left, r.right, r.height]; })(),
    }));
    assert.ok(layout.scrollWidth <= layout.innerWidth, `scrollWidth ${layout.scrollWidth} <= ${layout.innerWidth}`);
    assert.ok(layout.sections.length >= 5, `the sections are there (${layout.sections})`);
    assert.equal(new Set(layout.sections).size, 1, `the sections stack in one column (lefts ${layout.sections})`);
    assert.ok(new Set(layout.cards.map(([l]) => l)).size <= 2, `at most two cards a row (${JSON.stringify(layout.cards)})`);
    assert.ok(layout.cards.every(([l, r]) => l >= 0 && r <= layout.innerWidth && r - l >= 150),
        `each card is inside the screen and at least 150 px wide (${JSON.stringify(layout.cards)})`);
    assert.ok(layout.chart, 'the trend chart is drawn');
    assert.ok(layout.chart[0] >= 0 && layout.chart[1] <= 390 && layout.chart[2] >= 120, `the chart fits the width and stays tall enough: ${layout.chart}`);
    await page.close();
});
