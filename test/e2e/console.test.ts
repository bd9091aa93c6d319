// The web console end to end, in headless Chromium against the real local stack (started as a
// developer does, like the integration tests): a newcomer's first backup and restore entirely in
// the browser, the restore picker's refusals, a failed restore's reason, what a reader does not
// see, an admin's status reset, paging through more shares than a page holds; axe-core on every page, screenshots of each.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from '../integration/helpers/stack.ts';
import { compareDirectories } from '../integration/helpers/trees.ts';
import { formatBytes } from '../../console/src/format.ts';
import { CHROMIUM, launchChromium, screenshot, seriousViolations, type RunningBrowser } from './browser.ts';

// Skipped only on a developer's machine without Chromium; under CI (.ci/run installs it) a missing
// browser fails the run instead of passing it silently.
const hasChromium = existsSync(CHROMIUM) || process.env.CI === 'true';
const project = `e2e${randomBytes(3).toString('hex')}`;

// the default driver, and one that restores only onto a backup's own share
const DRIVERS = {
  default_driver: 'nfs',
  drivers: [
    { name: 'nfs', support_restore_to_target: true, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
    { name: 'legacy', support_restore_to_target: false, backup_protocols: ['NFS'], restore_protocols: ['NFS'] },
  ],
};

let stack: TestStack;
let chromium: RunningBrowser;
/** what the newcomer flow made, for the tests after it */
const made: { alpha?: { id: string; path: string }; tiny?: string; backupId?: string } = {};

const newPage = (width?: number) => chromium.newPage(width);

async function signIn(page: Page, role: 'reader' | 'member' | 'admin', as = project): Promise<void> {
  await page.goto(`${stack.apiUrl}/console/`);
  await page.getByLabel('Project').fill(as);
  await page.getByLabel('Role').selectOption(role);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Shares' }).waitFor();
}

async function expectAccessible(page: Page, name: string): Promise<void> {
  const violations = await seriousViolations(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

async function createShareInUi(page: Page, name: string, size: number): Promise<string> {
  await page.getByRole('button', { name: 'Create share' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create share' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Size (GiB)').fill(String(size));
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'detached' });
  const row = page.locator('tr', { has: page.getByRole('rowheader', { name: new RegExp(`^${name}`) }) });
  await row.getByText('available', { exact: true }).waitFor({ timeout: 60_000 });
  return (await row.getAttribute('data-share-id'))!;
}

async function apiAs(role: string) {
  const token = await stack.token(project, role === 'admin' ? ['admin', 'member'] : [role]);
  return async (method: string, path: string, body?: unknown) => {
    const res = await stack.request(method, path, { token, body });
    return res.json as any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test code reads free-form JSON
  };
}

describe.skipIf(!hasChromium)('web console in Chromium', () => {
  beforeAll(async () => {
    [stack, chromium] = await Promise.all([startStack({ drivers: DRIVERS }), launchChromium()]);
  });
  afterAll(async () => {
    await chromium?.close();
    await stack?.stop();
  });

  it('a newcomer creates two shares, backs one up and restores it onto the other through the picker', async () => {
    const page = await newPage();
    await page.goto(`${stack.apiUrl}/console/`);
    await page.getByRole('heading', { name: 'Share backups console' }).waitFor();
    await page.getByText('Local sign-in.').waitFor();
    await screenshot(page, 'sign-in');
    await expectAccessible(page, 'sign-in');
    await signIn(page, 'member');

    const alphaId = await createShareInUi(page, 'alpha', 2);
    const betaId = await createShareInUi(page, 'beta', 2);
    const tinyId = await createShareInUi(page, 'tiny', 1);
    const alphaPath = (await page.locator(`tr[data-share-id="${alphaId}"] .export code`).textContent())!;
    const betaPath = (await page.locator(`tr[data-share-id="${betaId}"] .export code`).textContent())!;
    // files into the first share's export folder, from outside the browser, as a mount would
    mkdirSync(join(alphaPath, 'docs', 'deep'), { recursive: true });
    writeFileSync(join(alphaPath, 'readme.txt'), 'hello from the console test\n');
    writeFileSync(join(alphaPath, 'docs', 'deep', 'data.bin'), randomBytes(300_000));
    for (let i = 0; i < 20; i++) writeFileSync(join(alphaPath, 'docs', `note-${i}.txt`), `note ${i}\n`.repeat(i + 1));
    await screenshot(page, 'shares');
    await expectAccessible(page, 'shares');

    // back it up, from the share's backups page
    await page.getByRole('link', { name: 'Backups of alpha' }).click();
    await page.getByRole('heading', { level: 1, name: 'Backups of alpha' }).waitFor();
    await page.getByRole('button', { name: 'Create backup' }).click();
    const create = page.getByRole('dialog', { name: 'Create backup' });
    await create.getByLabel('Name').fill('first');
    await create.getByRole('button', { name: 'Back up' }).click();
    await create.waitFor({ state: 'detached' });
    const backupRow = page.locator('tr', { has: page.getByRole('rowheader', { name: /^first/ }) });
    await backupRow.getByText('available', { exact: true }).waitFor({ timeout: 90_000 });
    const backupId = (await backupRow.getAttribute('data-backup-id'))!;
    await screenshot(page, 'backups');
    await expectAccessible(page, 'backups');

    // restore onto beta through the picker: tiny is listed, not selectable, with the API's reason
    await page.getByRole('button', { name: 'Restore first' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore backup first' });
    await dialog.getByLabel('Another share').check();
    await dialog.getByLabel('Search shares by name or id').fill('');
    const tinyChoice = dialog.locator(`[data-target-id="${tinyId}"]`);
    await expect(tinyChoice.getByRole('radio').isDisabled()).resolves.toBe(true);
    await expect(tinyChoice.locator('.reason').textContent()).resolves.toBe('Share size 1 is too small to restore backup of size 2.');
    await screenshot(page, 'restore-picker');
    await expectAccessible(page, 'restore picker');
    await dialog.getByLabel('Search shares by name or id').fill('bet');
    await expect(dialog.locator(`[data-target-id="${tinyId}"]`).count()).resolves.toBe(0);
    await dialog.locator(`[data-target-id="${betaId}"]`).getByRole('radio').check();
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await expect(dialog.locator('.overwrite').textContent()).resolves.toContain(`This overwrites share beta (${betaId})`);
    await dialog.getByRole('button', { name: 'Overwrite beta and restore' }).click();
    await dialog.locator('[data-restore-status="succeeded"]').waitFor({ timeout: 90_000 });
    await expect(dialog.getByTestId('restore-percent').textContent()).resolves.toBe('100 %');
    await expect(dialog.getByRole('status').textContent()).resolves.toContain('Restore complete: 22 files');
    await screenshot(page, 'restore-progress');
    await expectAccessible(page, 'restore progress');

    expect(await compareDirectories(alphaPath, betaPath)).toEqual([]);

    // the history, and the restore in detail with its report
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('link', { name: 'Restores', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Restores' }).waitFor();
    await page.getByText('succeeded', { exact: true }).first().waitFor();
    await screenshot(page, 'restores');
    await expectAccessible(page, 'restores');
    await page.locator('tbody tr th a').first().click();
    await page.getByRole('heading', { level: 2, name: 'Report' }).waitFor();
    await page.getByText(/Nothing to report|#/).first().waitFor();
    await screenshot(page, 'restore-detail');
    await expectAccessible(page, 'restore detail');

    // usable at 360 px: nothing wider than the screen but the tables' own scrolling regions
    const narrow = await newPage(360);
    await signIn(narrow, 'member');
    await narrow.locator('tbody tr').first().waitFor();
    await screenshot(narrow, 'shares-360px');
    const overflow = await narrow.evaluate(() => {
      const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number }; querySelectorAll(s: string): ArrayLike<{ tagName: string; className: string; closest(s: string): unknown; getBoundingClientRect(): { right: number } }> } }).document;
      const wide = Array.from(doc.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > 361 && !e.closest('.table-wrap'));
      return { width: doc.documentElement.scrollWidth, wide: wide.slice(0, 5).map((e) => `${e.tagName}.${e.className}`) };
    });
    expect(overflow.width, JSON.stringify(overflow.wide)).toBeLessThanOrEqual(360);
    await narrow.close();
    await page.close();
    Object.assign(made, { alpha: { id: alphaId, path: alphaPath }, tiny: tinyId, backupId });
  });

  it('creates a new share from a backup and fills it', async () => {
    expect(made.backupId, 'needs the newcomer flow').toBeDefined();
    const page = await newPage();
    await signIn(page, 'member');
    await page.goto(`${stack.apiUrl}/console/#/backups?share=${made.alpha!.id}`);
    await page.getByRole('button', { name: 'Restore first' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore backup first' });
    await dialog.getByLabel('A new share made from this backup').check();
    await dialog.getByLabel('Name of the new share').fill('gamma');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await expect(dialog.getByText('Nothing existing is overwritten.').count()).resolves.toBe(1);
    await dialog.getByRole('button', { name: 'Create and restore' }).click();
    await dialog.locator('[data-restore-status="succeeded"]').waitFor({ timeout: 90_000 });
    const api = await apiAs('member');
    const gamma = (await api('GET', '/v2/shares/detail?name=gamma')).shares[0];
    expect(gamma.source_backup_id).toBe(made.backupId);
    expect(await compareDirectories(made.alpha!.path, gamma.export_locations[0].path)).toEqual([]);

    // "Used": what alpha's latest available backup measured; gamma has no backup, so none
    const first = (await api('GET', `/v2/share-backups/${made.backupId}`)).share_backup;
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('link', { name: 'Shares', exact: true }).click();
    const alphaUsed = page.locator(`tr[data-share-id="${made.alpha!.id}"] td.used`);
    await alphaUsed.getByText(/at last backup/).waitFor();
    await expect(alphaUsed.textContent()).resolves.toMatch(new RegExp(`^${formatBytes(first.bytes).replace('.', '\\.')} at last backup, `));
    const gammaUsed = page.locator(`tr[data-share-id="${gamma.id}"] td.used span`);
    await expect(gammaUsed.textContent()).resolves.toBe('—');
    await expect(gammaUsed.getAttribute('aria-description')).resolves.toBe('not measured: no backup yet');
    await expectAccessible(page, 'shares with used');
    await page.close();
  });

  it("shows in the picker that a backup's driver restores only onto its own share", async () => {
    expect(made.alpha, 'needs the newcomer flow').toBeDefined();
    const api = await apiAs('member');
    const created = await api('POST', '/v2/share-backups', { share_backup: { share_id: made.alpha!.id, name: 'old-style', backup_options: { backup_type: 'legacy' } } });
    await stack.waitFor(async () => (await api('GET', `/v2/share-backups/${created.share_backup.id}`)).share_backup.status === 'available', { timeoutMs: 90_000 });
    await stack.waitFor(async () => (await api('GET', `/v2/shares/${made.alpha!.id}`)).share.status === 'available', { timeoutMs: 30_000 });
    const page = await newPage();
    await signIn(page, 'member');
    await page.goto(`${stack.apiUrl}/console/#/backups`);
    await page.getByRole('button', { name: 'Restore old-style' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore backup old-style' });
    await dialog.getByLabel('Another share').check();
    const reason = dialog.locator('.target-list .reason').first();
    await expect(reason.textContent()).resolves.toMatch(/^Backup driver legacy does not support restoring to another share/);
    await expect(dialog.locator('.target-list input[type=radio]:not([disabled])').count()).resolves.toBe(0);
    // nor a new share made from it: greyed out, with the API's reason as its description
    const fresh = dialog.getByLabel('A new share made from this backup');
    await expect(fresh.isDisabled()).resolves.toBe(true);
    await expect(dialog.locator('#reason-target-new').textContent()).resolves.toBe(
      `Backup driver legacy does not support restoring to another share (support_restore_to_target is false), so it cannot create a share from backup ${created.share_backup.id}.`);
    await expect(fresh.getAttribute('aria-describedby')).resolves.toBe('reason-target-new');
    await expectAccessible(page, 'restore of a legacy backup');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // a refusal shows the API's own message: a share with backups cannot be deleted
    await page.getByRole('link', { name: 'Shares', exact: true }).click();
    await page.getByRole('button', { name: 'Delete alpha' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete share' });
    await expect(confirm.textContent()).resolves.toContain('Delete share alpha and every file in it?');
    await confirm.getByRole('button', { name: 'Delete share' }).click();
    await expect(confirm.getByRole('alert').textContent()).resolves.toMatch(/^Share still has \d+ dependent backups\.$/);
    await page.close();
  });

  it('shows a failed restore with its reason', async () => {
    expect(made.alpha, 'needs the newcomer flow').toBeDefined();
    const api = await apiAs('member');
    const created = await api('POST', '/v2/share-backups', { share_backup: { share_id: made.alpha!.id, name: 'broken' } });
    const backupId = created.share_backup.id as string;
    await stack.waitFor(async () => (await api('GET', `/v2/share-backups/${backupId}`)).share_backup.status === 'available', { timeoutMs: 90_000 });
    await stack.waitFor(async () => (await api('GET', `/v2/shares/${made.alpha!.id}`)).share.status === 'available', { timeoutMs: 30_000 });
    // the backup's data vanishes from its storage: the restore cannot succeed
    const stored = join(stack.storageRoot, 'backups', backupId);
    for (const entry of readdirSync(stored)) rmSync(join(stored, entry), { recursive: true, force: true });

    const page = await newPage();
    await signIn(page, 'member');
    await page.goto(`${stack.apiUrl}/console/#/backups`);
    await page.getByRole('button', { name: 'Restore broken' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore backup broken' });
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.getByRole('button', { name: /^Overwrite alpha and restore$/ }).click();
    await dialog.locator('[data-restore-status="failed"]').waitFor({ timeout: 90_000 });
    const restoreId = (await dialog.locator('[data-restore-id]').getAttribute('data-restore-id'))!;
    const record = (await api('GET', `/v2/share-restores/${restoreId}`)).share_restore;
    expect(record.fail_reason).toBeTruthy();
    await expect(dialog.getByTestId('fail-reason').textContent()).resolves.toBe(record.fail_reason);
    await expect(dialog.getByRole('alert').textContent()).resolves.toContain('Next: the backup is untouched');
    await screenshot(page, 'restore-failed');
    await expectAccessible(page, 'failed restore');
    await page.close();
  });

  it('does not show a reader the buttons a reader may not use', async () => {
    expect(made.backupId, 'needs the newcomer flow').toBeDefined();
    const page = await newPage();
    await signIn(page, 'reader');
    await page.locator('tbody tr').first().waitFor();
    await expect(page.getByRole('button', { name: 'Create share' }).count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: /^(Rename|Resize|Delete)/ }).count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: /^Copy export location/ }).count()).resolves.toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Backups', exact: true }).click();
    await page.locator(`tr[data-backup-id="${made.backupId}"]`).waitFor();
    await expect(page.getByRole('button', { name: /^(Create backup|Restore|Rename|Delete)/ }).count()).resolves.toBe(0);
    await expect(page.getByRole('link', { name: 'Admin' }).count()).resolves.toBe(0);
    await screenshot(page, 'backups-reader');
    await expectAccessible(page, 'backups as reader');
    await page.close();
  });

  it('works with the keyboard alone', async () => {
    const page = await newPage();
    await page.goto(`${stack.apiUrl}/console/`);
    await page.getByLabel('Project').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(project);
    await page.keyboard.press('Tab'); // the role
    await page.keyboard.press('Tab'); // "Sign in"
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Shares' }).waitFor();
    // Tab reaches "Create share"; Enter opens its dialog with the focus inside; Escape closes it
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document.activeElement?.textContent === 'Create share')) break;
    }
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Create share' });
    await dialog.waitFor();
    await expect(dialog.getByLabel('Name').evaluate((e) => e === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)).resolves.toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.close();
  });

  it('lets an admin see every project and reset a status', async () => {
    expect(made.tiny, 'needs the newcomer flow').toBeDefined();
    const page = await newPage();
    await signIn(page, 'admin', `${project}-ops`);
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { level: 1, name: 'Admin: every project' }).waitFor();
    const row = page.locator(`tr[data-share-id="${made.tiny}"]`);
    await row.getByRole('cell', { name: project, exact: true }).waitFor();
    await screenshot(page, 'admin');
    await expectAccessible(page, 'admin');
    await row.getByRole('button', { name: 'Reset status of share tiny' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset share status' });
    await dialog.getByLabel('New status').selectOption('error');
    await expectAccessible(page, 'reset dialog');
    await dialog.getByRole('button', { name: 'Reset status' }).click();
    await dialog.waitFor({ state: 'detached' });
    await row.getByText('error', { exact: true }).waitFor();
    const api = await apiAs('member');
    expect((await api('GET', `/v2/shares/${made.tiny}`)).share.status).toBe('error');
    await page.close();
  });

  it('pages through more shares than one page holds, with labelled page controls', async () => {
    // last, and in a project of its own: the other tests' lists (the admin's spans every project) stay on one page
    const many = `${project}-pages`;
    const token = await stack.token(many, ['member']);
    const call = async (method: string, path: string, body?: unknown) => (await stack.request(method, path, { token, body })).json as any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test code reads free-form JSON
    const names = Array.from({ length: 25 }, (_, i) => `page-share-${String(i).padStart(2, '0')}`);
    for (const name of names) await call('POST', '/v2/shares', { share: { name, share_proto: 'NFS', size: 1 } });
    await stack.waitFor(async () => (await call('GET', '/v2/shares/detail?limit=1000')).shares.every((s: { status: string }) => s.status === 'available'), { timeoutMs: 60_000 });

    const page = await newPage();
    await signIn(page, 'member', many);
    const shown = async () => (await page.locator('tbody tr th[scope=row]').allTextContents()).map((t) => t.replace(/[0-9a-f-]{36}$/, ''));
    await page.locator('tbody tr').first().waitFor();
    const pager = page.getByRole('navigation', { name: 'Shares pages' });
    await expect(pager.getByText('Page 1').count()).resolves.toBe(1);
    await expect(pager.getByRole('button', { name: 'Previous page' }).isDisabled()).resolves.toBe(true);
    const first = await shown();
    expect(first).toHaveLength(20);

    // to the next page with the keyboard: focus "Next page", Enter (the first row is read before the
    // key: read after "Page 2" shows, it may already be page 2's, and no change would ever come)
    const firstRowOfPage1 = await page.locator('tbody tr th[scope=row]').first().textContent();
    await pager.getByRole('button', { name: 'Next page' }).focus();
    await page.keyboard.press('Enter');
    await pager.getByText('Page 2').waitFor();
    await page.waitForFunction((before) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document;
      return doc.querySelector('tbody tr th[scope=row]')?.textContent !== before;
    }, firstRowOfPage1);
    const second = await shown();
    expect(second).toHaveLength(5);
    expect(second.filter((n) => first.includes(n))).toEqual([]);
    expect([...first, ...second].sort()).toEqual(names);
    await expect(pager.getByRole('button', { name: 'Next page' }).isDisabled()).resolves.toBe(true);
    await screenshot(page, 'shares-page-2');
    await expectAccessible(page, 'shares, page 2');

    // and back, with a click
    await pager.getByRole('button', { name: 'Previous page' }).click();
    await pager.getByText('Page 1').waitFor();
    await page.locator('tbody tr').nth(19).waitFor();
    expect(await shown()).toEqual(first);
    await expectAccessible(page, 'shares, page 1 again');
    await page.close();
  });
});
