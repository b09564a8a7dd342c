// Screenshots for a person to look at (target/dashboard/desktop.png, 1280 wide, and phone.png,
// 390 wide, both the full page), and the phone layout: one column, no sideways scrolling.
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

test('phone (390 px): a full-page screenshot, one column, no sideways scrolling, the chart fits', async () => {
    const page = await shot(390, 844, 'phone.png');
    const layout = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth, innerWidth,
        cards: [...document.querySelectorAll('#summary .card')].map((c) => { const r = c.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; }),
        chart: (() => { const r = document.querySelector('svg.trend-chart')?.getBoundingClientRect(); return r && [r.left, r.right, r.height]; })(),
    }));
    assert.ok(layout.scrollWidth <= layout.innerWidth, `scrollWidth ${layout.scrollWidth} <= ${layout.innerWidth}`);
    assert.equal(new Set(layout.cards.map(([l]) => l)).size, 1, `one column of cards (${JSON.stringify(layout.cards)})`);
    assert.ok(layout.chart, 'the trend chart is drawn');
    assert.ok(layout.chart[0] >= 0 && layout.chart[1] <= 390 && layout.chart[2] >= 120, `the chart fits the width and stays tall enough: ${layout.chart}`);
    await page.close();
});
