// Drives Debian's headless Chromium through a list of visits and prints what it saw as JSON;
// tests/browser.rs decides what must hold. A visit opens a URL (or a file), optionally
// removes every <style> block (as a client that drops them would), runs axe-core, fills and
// clicks like a reader, measures the layout, and keeps a screenshot.
//
//   node drive.mjs JOB.json     JOB = { "visits": [ { "url", "width", "height", "scheme",
//   "timezone", "stripStyle", "axe", "actions": [{"fill": sel, "value"} | {"click": sel} |
//   {"wait": ms}],
//   "screenshot": "path.png", "fullPage", "scrollTo": selector } ] }
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const browser = await chromium.launch({
  executablePath: process.env.MORNINGPOST_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'],
});
const results = [];
try {
  for (const visit of job.visits) {
    results.push(await run(visit));
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results, null, 1) + '\n');

async function run(visit) {
  const context = await browser.newContext({
    viewport: { width: visit.width ?? 1024, height: visit.height ?? 800 },
    colorScheme: visit.scheme ?? 'light',
    timezoneId: visit.timezone ?? 'UTC',
    deviceScaleFactor: 1,
    // axe is injected as a script: the pages' Content-Security-Policy allows only their own.
    bypassCSP: true,
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const response = await page.goto(visit.url, { waitUntil: 'load' });
  if (visit.stripStyle) {
    await page.evaluate(() => document.querySelectorAll('style').forEach((s) => s.remove()));
  }
  const before = await look(page, visit, response);
  let after = null;
  if (visit.actions?.length) {
    let navigation = null;
    for (const action of visit.actions) {
      if (action.wait) await page.waitForTimeout(action.wait);
      if (action.fill) await page.fill(action.fill, action.value);
      if (action.click) {
        [navigation] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(action.click)]);
      }
    }
    after = await look(page, visit, navigation);
  }
  if (visit.screenshot) {
    mkdirSync(dirname(visit.screenshot), { recursive: true });
    if (visit.scrollTo) await page.locator(visit.scrollTo).first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: visit.screenshot, fullPage: visit.fullPage === true });
  }
  await context.close();
  return { url: visit.url, before, after, errors };
}

async function look(page, visit, response) {
  const facts = await page.evaluate(measure);
  facts.status = response ? response.status() : null;
  if (visit.axe) {
    await page.addScriptTag({ content: axeSource });
    facts.axe = await page.evaluate(async () => {
      const r = await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      });
      return r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
      }));
    });
  }
  return facts;
}

// Runs in the page.
function measure() {
  const vw = document.documentElement.clientWidth;
  const visible = (el) => {
    const s = getComputedStyle(el);
    return el.getClientRects().length > 0 && s.visibility !== 'hidden' && s.display !== 'none' && s.opacity !== '0';
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim().split(/\s+/).join('.') : '');
  const ownText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0)) return c.slice(0, 3);
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? [18, 18, 18] : [255, 255, 255];
  };

  const all = [...document.querySelectorAll('body *')].filter(visible);
  const wide = all.filter((e) => e.getBoundingClientRect().right > vw + 0.5).slice(0, 5).map(describe);
  const textSizes = {};
  let smallestText = Infinity;
  let smallestBodyText = Infinity;
  for (const el of all.filter(ownText)) {
    const size = parseFloat(getComputedStyle(el).fontSize);
    const key = describe(el);
    textSizes[key] = Math.min(textSizes[key] ?? Infinity, size);
    smallestText = Math.min(smallestText, size);
    if (el.matches('.story p:not([class]), .section p:not([class]), .story li, .section li')) {
      smallestBodyText = Math.min(smallestBodyText, size);
    }
  }
  const box = (el) => { const r = el.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top + scrollY, width: r.width, height: r.height }; };
  const links = [...document.querySelectorAll('a')].filter(visible).map((a) => ({ text: a.textContent.trim(), href: a.getAttribute('href'), ...box(a) }));
  const targets = [...document.querySelectorAll('.footer-links a, .topbar a')].filter(visible).map((a) => ({ text: a.textContent.trim(), ...box(a) }));
  const rules = [];
  const rule = (selector, side) => {
    for (const el of document.querySelectorAll(selector)) {
      if (!visible(el)) continue;
      const s = getComputedStyle(el);
      if (parseFloat(s[`border${side}Width`]) === 0 || s[`border${side}Style`] === 'none') continue;
      rules.push({ what: `${describe(el)} ${side.toLowerCase()} border`, ratio: contrast(rgb(s[`border${side}Color`]), background(el)) });
    }
  };
  rule('.masthead', 'Bottom');
  rule('.footer', 'Top');
  rule('.card', 'Left');
  rule('blockquote', 'Left');
  const fields = {};
  for (const input of document.querySelectorAll('input[id]')) fields[input.id] = input.value;
  const color = (sel) => { const el = document.querySelector(sel); return el ? getComputedStyle(el).color : null; };
  return {
    title: document.title,
    text: document.body.innerText,
    viewport: vw,
    overflow: document.documentElement.scrollWidth - vw,
    wide,
    smallestText: Number.isFinite(smallestText) ? smallestText : null,
    smallestBodyText: Number.isFinite(smallestBodyText) ? smallestBodyText : null,
    textSizes,
    links,
    targets,
    rules,
    fields,
    colors: { kicker: color('.kicker'), sectionTitle: color('.section-title'), body: color('.story p') },
    feeds: [...document.querySelectorAll('link[rel=alternate][type="application/atom+xml"]')].map((l) => l.href),
  };
}
