import { describe, expect, it } from 'vitest';
import { MAX_LIST_PAGES, listInPages, type ListPage } from '../../../src/kube/list-pages.js';

// Issue 9, memory: a worker starting on 1,000 nodes x 30 pods listed every pod in one answer and held it whole
// while slimming it. Lists now come in pages, each slimmed before the next is asked for.

interface Obj {
  name: string;
  big?: string;
}

function pager(all: Obj[], rv = '42') {
  const asked: { limit: number; _continue?: string }[] = [];
  const seenBeforeEachPage: number[] = [];
  let slimmed = 0;
  const page = async (opts: { limit: number; _continue?: string }): Promise<ListPage<Obj>> => {
    asked.push(opts);
    seenBeforeEachPage.push(slimmed);
    const from = opts._continue ? Number(opts._continue) : 0;
    const to = Math.min(all.length, from + opts.limit);
    return {
      items: all.slice(from, to).map((o) => ({ ...o })),
      metadata: { resourceVersion: from === 0 ? rv : `${rv}-later`, _continue: to < all.length ? String(to) : '' },
    };
  };
  const slim = (o: Obj): Obj => {
    slimmed += 1;
    return { name: o.name };
  };
  return { page, slim, asked, seenBeforeEachPage };
}

describe('listInPages', () => {
  const all = Array.from({ length: 7 }, (_, i) => ({ name: `o${i}`, big: 'x'.repeat(100) }));

  it('asks page after page with the continue token, slims each page before the next, keeps every object', async () => {
    const p = pager(all);
    const list = await listInPages(p.page, p.slim, 3);
    expect(list.items).toEqual(all.map((o) => ({ name: o.name })));
    expect(p.asked).toEqual([{ limit: 3 }, { limit: 3, _continue: '3' }, { limit: 3, _continue: '6' }]);
    expect(p.seenBeforeEachPage).toEqual([0, 3, 6]);
  });

  it("uses the first page's resourceVersion, the list's snapshot", async () => {
    const p = pager(all, '100');
    expect((await listInPages(p.page, p.slim, 3)).metadata).toEqual({ resourceVersion: '100' });
  });

  it('answers an empty list with no resourceVersion as such', async () => {
    const list = await listInPages(
      async () => ({ items: [] as Obj[] }),
      (o) => o,
    );
    expect(list).toEqual({ items: [], metadata: {} });
  });

  it('fails the whole list when a page fails (an expired continue token), so the informer lists again', async () => {
    let calls = 0;
    const failing = async (opts: { limit: number; _continue?: string }): Promise<ListPage<Obj>> => {
      calls += 1;
      if (opts._continue) throw Object.assign(new Error('Gone: the continue token expired'), { code: 410 });
      return { items: all.slice(0, 2), metadata: { resourceVersion: '1', _continue: '2' } };
    };
    await expect(listInPages(failing, (o) => o, 2)).rejects.toThrow(/expired/);
    expect(calls).toBe(2);
  });

  it('refuses a list that never ends instead of holding it all', async () => {
    let calls = 0;
    const endless = async (): Promise<ListPage<Obj>> => {
      calls += 1;
      return { items: [{ name: 'same' }], metadata: { _continue: 'again' } };
    };
    await expect(listInPages(endless, (o) => o, 1)).rejects.toThrow(/did not end after 2000 pages/);
    expect(calls).toBe(MAX_LIST_PAGES);
  });
});
