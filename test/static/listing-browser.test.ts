// The directory listing as a person sees it: Debian's chromium, headless, through playwright-core,
// against the real engine. Leaves a screenshot in test/artifacts/ (git-ignored) to look at.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { staticFiles } from '../../src/handlers/static/index.ts';
import type { Server } from '../../src/server.ts';
import { serve } from '../../src/server.ts';
import type { Tree } from './helpers.ts';
import { makeTree } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `chromium is not installed at ${CHROMIUM} (apt-get install chromium)`;
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));

let t: Tree;
let server: Server;

describe('directory listing in a real browser', { skip }, () => {
  before(async () => {
    t = makeTree();
    writeFileSync(join(t.root, 'sub', '<b>not bold</b>.txt'.replace('/', '∕')), 'x');
    server = await serve({
      fetch: staticFiles(t.root, { listing: true, index: false }),
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
    });
  });
  after(async () => {
    await server?.close();
    t?.cleanup();
  });

  test('shows a sortable, escaped table of entries and navigates into directories', async () => {
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'foyer-chromium-'));
    // A new, empty profile per run: playwright takes it as userDataDir rather than as an argument.
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1000, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto(`${server.url}/`);
      assert.equal(await page.title(), 'Index of /');
      const names = await page.locator('td.name a').allInnerTexts();
      assert.ok(names.some((n) => n.includes('with space.txt')));
      assert.ok(names.some((n) => n.includes('ünïcödé.txt')));
      assert.ok(!names.some((n) => n.includes('.env')));
      // Directories first.
      assert.match(names[0]!, /\/$/);

      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'static-listing.png'), fullPage: true });

      await page.click('th.size a');
      assert.match(page.url(), /sort=size&order=asc/);
      await page.click('th.size a');
      assert.match(page.url(), /sort=size&order=desc/);
      assert.equal(await page.locator('th.size').getAttribute('aria-sort'), 'descending');
      const firstFile = await page.locator('tr.file td.name a').first().textContent();
      assert.match(firstFile ?? '', /big\.bin/);

      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: join(artifacts, 'static-listing-dark-by-size.png') });
      await page.emulateMedia({ colorScheme: 'light' });

      await page.click('text=sub/');
      assert.match(page.url(), /\/sub\/$/);
      assert.ok((await page.content()).includes('&lt;b&gt;not bold&lt;∕b&gt;.txt'));
      assert.equal(await page.locator('td.name b').count(), 0, 'a name is never markup');

      await page.goto(`${server.url}/`);
      await page.click('text=hash#tag.txt');
      assert.equal((await page.locator('body').textContent())?.trim(), 'content of hash#tag.txt');
      assert.deepEqual(dialogs, []);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
